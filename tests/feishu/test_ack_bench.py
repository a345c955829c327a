"""``bench/ack_bench.py --platform feishu`` still runs end to end (small), issue 19: kpibot's
Feishu callback URL and the bare lark-oapi handler both answer every card callback and
message, the review forms kpibot sent are submitted, and the figures are printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_feishu_ack_bench_sends_every_kind_and_prints_its_figures() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ack_bench.py"),
            "--platform",
            "feishu",
            "--requests",
            "90",
            "--concurrency",
            "10",
            "--rounds",
            "2",
            "--forms",
            "4",
        ],
        cwd=ROOT,
        env={**os.environ, "ROUTER_PROCESSES": "1"},  # as in production (tests say 0)
        capture_output=True,
        text=True,
        timeout=560,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["platform"] == "feishu" and figures["requests"] == 90
    assert {"p99_ms", "ratio_p99", "late_acks", "bare_p99_ms", "per_kind", "goals_met"} <= set(
        figures
    )
    assert figures["p99_ms"] > 0 and figures["bare_p99_ms"] > 0
    # the router's workers are the zygote's children: their CPU counted (was 0.0)
    assert figures["cpu_ms_per_request"]["workers"] > 0, figures["cpu_ms_per_request"]
    assert set(figures["per_kind"]) == {"message", "press", "submit"}, "review forms were opened"
    assert any("4 review form cards opened first" in line for line in lines), lines
    assert not any("not answered 200" in line for line in lines), done.stdout

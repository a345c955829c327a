"""``bench/ack_bench.py`` still runs end to end (small): a benchmark that rots unnoticed
measures nothing. Its figures are the README's; here only that it works and reports them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_the_ack_bench_opens_every_modal_sends_every_kind_and_prints_its_figures() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ack_bench.py"),
            "--requests",
            "90",
            "--concurrency",
            "10",
            "--rounds",
            "2",
        ],
        cwd=ROOT,
        env={**os.environ, "ROUTER_PROCESSES": "1"},  # as in production (tests say 0)
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert {"p99_ms", "ratio_p99", "late_acks", "bare_p99_ms", "cpu_ms_per_request"} <= set(figures)
    assert figures["requests"] == 90 and figures["late_acks"] == 0
    assert figures["p99_ms"] > 0 and figures["ratio_p99"] > 0
    # the router's workers are the zygote's children: their CPU counted (was 0.0)
    assert figures["cpu_ms_per_request"]["workers"] > 0, figures["cpu_ms_per_request"]
    assert any("20 review modals opened first" in line for line in lines), (
        "every agent's review modal opened (a name the command cannot parse leaves the views out)"
    )
    assert any("'view': 30" in line for line in lines)
    assert not any("not answered 200" in line for line in lines), done.stdout

"""``bench/peak_bench.py`` still runs end to end (small): kpibot in a process of its own
(``kpibot run``), the strict fake Slack in another, the clients in the bench's. Its figures
are the README's; here only that the flow goes through and the figures are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_the_peak_bench_runs_kpibot_in_its_own_process_and_prints_both_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peak_bench.py"), "--agents", "12", "--teams", "3",
         "--window", "2", "--router-processes", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    on, off, figures = (json.loads(line) for line in done.stdout.strip().splitlines()[-3:])
    assert (on["limits"], off["limits"]) == ("on", "off")
    for run in (on, off):
        assert run["agents"] == 12 and run["presses"] == 36, run
        # every agent's four questions reached their DM, from kpibot's own process: the two
        # after a press in place of the pressed one (its response_url), the others posted
        by_method = run["calls_by_method"]
        assert by_method.get("response_url", 0) >= 24, run
        assert by_method.get("chat.postMessage", 0) + by_method.get("response_url", 0) >= 48, run
        assert not [k for k in run["refused_by_method"] if k.startswith("response_url")], run
        assert run["kpibot_cpu_s"] > 0
    assert {"p99_s", "unlimited_p99_s", "ratio_p99", "share_429", "cpu_ms_per_request"} <= set(
        figures
    )
    assert figures["share_429"] <= 0.01

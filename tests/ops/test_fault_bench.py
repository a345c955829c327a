"""``bench/fault_bench.py`` still runs end to end (small): its figures are the README's; here
only that it runs the matrix it is asked for and reports each fault's figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
@pytest.mark.postgres
def test_the_fault_bench_runs_its_faults_and_prints_lost_duplicated_and_drain_time_per_fault(
    _pg_admin: object,
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fault_bench.py"), "--rows", "30", "--outage", "3.5",
         "--only", "db_cut_mid,telegram_late", "--late", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures["faults"]) == {"db_cut_mid", "telegram_late"}
    for got in figures["faults"].values():
        assert {"lost", "duplicated", "ambiguous", "drain_s", "stop_s", "goal_met"} <= set(got)
        assert got["drain_s"] >= 0  # the outbox may drain before the fault ends: 0.0 s is a figure
    assert figures["faults"]["telegram_late"]["ambiguous"] == 2
    assert figures["goals_met"] is True and figures["duplicated"] == 0

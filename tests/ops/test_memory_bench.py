"""``bench/memory_bench.py`` still runs end to end (small): a real ``kpibot run`` with the
fakes, a broadcast of a few charted results through its own outbox sender, the PSS of its
processes. Its figures are the README's; here that the flow goes through, the figures are
reported, and a second worker forked from the zygote costs a fraction of a spawned one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SPAWNED_WORKER_MB = 100.0
"""A spawned worker's PSS beside its replica (measured 128 MB): a forked one must cost less."""


@pytest.mark.slow
def test_the_memory_bench_measures_a_replica_idle_and_after_a_broadcast() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "memory_bench.py"), "--results", "6",
         "--processes", "1,2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["workers"] == {"1": 1, "2": 2}
    assert figures["broadcast_pss_mb"] > 0 and figures["bare_pss_mb"] > 0
    assert {"ratio_idle", "ratio_broadcast", "goals_met"} <= set(figures)
    names = [p["name"] for p in figures["processes"]["broadcast"]]
    assert sorted(names) == ["kpibot", "kpibot-router", "kpibot-zygote", "resource-tracker"]
    # Measured across two replicas started one after the other: a forked worker's few MB
    # plus the noise between two starts of the front process (seen -2.6 MB under load 7),
    # so only the upper bound is a claim; a worker's own pages are measured within one run.
    assert figures["per_extra_worker_mb"]["2"] < SPAWNED_WORKER_MB, figures
    routers = [p for p in figures["processes"]["idle"] if p["name"] == "kpibot-router"]
    assert routers and all(0 < p["private_mb"] < SPAWNED_WORKER_MB for p in routers), routers

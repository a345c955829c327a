"""``bench/scoring_bench.py`` still runs end to end (small): the arithmetic against the NumPy
reference and the whole path to stored rows against plain rows, each checked against the other
(totals, ranks, row order). Its figures are the README's; here only that they are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_scoring_bench_reports_wall_and_cpu_ratios_the_collector_and_the_load() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scoring_bench.py"), "--agents", "300",
         "--repeat", "3", "--rows-repeat", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("ratio_numpy", "cpu_ratio_numpy", "ratio_rows", "cpu_ratio_rows"):
        assert figures[key] > 0, key
    assert figures["rows_gc_seconds"] >= 0 and figures["reference_rows_gc_seconds"] >= 0
    assert figures["ranks_agree"] is True and figures["frozen"] is True
    assert isinstance(figures["goals_met"], bool) and len(figures["load_average"]) == 2

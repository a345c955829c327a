"""``bench/commands_bench.py`` still runs end to end (small): every command through the router
against its bare select, on SQLite (and PostgreSQL when the test server answers). Its figures
are the README's; here only that every command answers as expected and the figures are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
COMMANDS = ("me", "rank", "review_open", "preview", "status", "export")


@pytest.mark.slow
def test_the_commands_bench_times_every_command_against_a_bare_select() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "commands_bench.py"), "--team", "30", "--org", "40",
         "--org-teams", "4", "--requests", "6"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert "sqlite" in figures["databases"]
    for command in COMMANDS:
        assert figures[f"ratio_{command}"] > 0 and figures[f"p99_ms_{command}"] > 0, command
    assert isinstance(figures["goals_met"], bool) and len(figures["load_average"]) == 2
    for size in ("team", "org"):
        assert f"== sqlite/{size}" in done.stdout

"""``make soak``'s small version (issue 20 item 4): ``bench/soak.py`` for 50 agents in 5 teams, on
Slack and Telegram people, for the review window and the days after it, through the strict
fakes: no error reply, every queued reminder delivered once, a p99 per command per day and the
memory by day reported (the full month for 10,000 agents is ``make soak``, not in the suite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DAYS = 9


@pytest.mark.slow
def test_a_small_soak_has_no_error_reply_and_delivers_every_message_once() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--teams", "5", "--agents-per-team", "10",
         "--days", str(DAYS)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["agents"] == 50 and figures["teams"] == 5
    assert figures["errors"] == 0
    assert figures["self_reviews"] == 50  # every agent submitted through the chat
    # the two reminders of 50 agents (and their managers) queued, sent and delivered once
    assert (
        figures["sent"] > 0 and figures["delivered"] == figures["sent"] and figures["failed"] == 0
    )
    assert len(figures["rss_mb"]) == DAYS and all(m > 0 for m in figures["rss_mb"])
    for command in ("me", "rank", "status", "other"):
        days = figures["p99_ms"][command]
        assert len(days) == DAYS and all(v is not None and v > 0 for v in days), command
    assert isinstance(figures["goals_met"], bool) and len(figures["load_average"]) == 2

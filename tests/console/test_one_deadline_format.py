"""One deadline, one way (issue 17, small wording): a review window that closes at midnight reads
as the day before's ``23:59`` in every reply (the admin opening the period, /status, the
reminders, the self-review, the schedule), never as the next day's ``00:00``; the one home
is :meth:`commands.people.TeamClock.deadline`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.console import ConsoleChat
from commands import schedule_admin
from commands.context import AppConfig
from commands.people import TeamClock
from commands.router import Router
from scoring.cycle_rules import CycleRules
from tests.conversations.world import build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC)
DAY = (NOW.astimezone(SHANGHAI) + timedelta(days=3)).date()
"""The last day of the window (Shanghai); it closes at the next midnight."""
CLOSES = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
LAST = f"{DAY.isoformat()} 23:59"
NEXT_MIDNIGHT = f"{(DAY + timedelta(days=1)).isoformat()} 00:00"


@pytest.fixture
def router(engine: Engine) -> Router:
    build_world(engine, opens=NOW - timedelta(days=1), closes=CLOSES)
    return Router(engine, AppConfig(), lambda: NOW)


def test_the_clock_shows_an_end_at_midnight_as_the_last_minute_before_it() -> None:
    clock = TeamClock.of("Asia/Shanghai")
    midnight = datetime(2026, 11, 14, 0, 0, tzinfo=SHANGHAI)
    assert clock.deadline(midnight) == "2026-11-13 23:59"
    assert clock.deadline(midnight.astimezone(UTC)) == "2026-11-13 23:59"
    assert clock.deadline(datetime(2026, 11, 13, 23, 59, 59, tzinfo=SHANGHAI)) == "2026-11-13 23:59"
    assert clock.deadline(datetime(2026, 11, 13, 18, 0, tzinfo=SHANGHAI)) == "2026-11-13 18:00"
    assert clock.deadline(midnight, "%Y-%m-%d") == "2026-11-13"
    assert clock.deadline(None) == "—"


def test_the_deadline_reads_the_same_in_every_chinese_reply(router: Router, media: Path) -> None:
    admin = ConsoleChat(router, "周人事", media)
    status = admin.send("/status demo")
    assert f"评价截止 {LAST}）" in status, status
    admin.send("/runstep remind.1 demo 2026-10")
    waiting = admin.send("/inbox")
    assert f"· 李娜：提醒：你还没有提交 2026-10 的自评，截止时间 {LAST}。" in waiting, waiting
    # the manager's reminder names them with 、 and calls it 主管评价, as /status does
    assert (
        f"· 王经理：提醒：2026-10 还缺少对李娜、张伟、刘洋、陈静的主管评价，截止时间 {LAST}。"
        in waiting
    )
    intro = ConsoleChat(router, "李娜", media).send("/selfreview")
    assert f"请在 {LAST} 前完成。" in intro, intro
    for text in (status, waiting, intro):
        assert NEXT_MIDNIGHT not in text and "00:00" not in text, text


def test_the_deadline_reads_the_same_in_every_english_reply(router: Router, media: Path) -> None:
    mary = ConsoleChat(router, "Mary", media)
    status = mary.send("/status")
    assert f"reviews close {LAST})" in status, status
    assert mary.send("1").startswith("Reminder sent to Alice, Bob, Carol, Dave.")
    waiting = mary.send("/inbox Alice")
    assert f"the window closes {LAST}. Send /selfreview." in waiting, waiting
    intro = ConsoleChat(router, "Alice", media).send("/selfreview")
    assert f"Please finish by {LAST}." in intro, intro
    for text in (status, waiting, intro):
        assert NEXT_MIDNIGHT not in text and "00:00" not in text, text


def test_an_admin_opening_a_period_reads_the_deadline_the_team_will_see(
    router: Router, media: Path
) -> None:
    admin = ConsoleChat(router, "周人事", media)
    admin.send("/lang en")
    # the deadline is days ahead of the real clock the router reads: a fixed date went stale
    opened = admin.send(f"/period open london 2026-11 until={DAY.isoformat()}")
    assert opened == f"Period 2026-11 of london is open. Reviews are due by {LAST}."


def test_the_schedule_shows_a_close_at_midnight_as_the_deadline_replies_show(
    router: Router, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheme whose window closes at the start of the 5th (``closes_at = "00:00"``): the
    schedule's close step reads the 4th, 23:59, as the reminders and /status do."""
    rules = CycleRules(closes_day=5, closes_at=time(0), publish_day=6)
    monkeypatch.setattr(schedule_admin, "rules_for", lambda team, session: (rules, "month"))
    admin = ConsoleChat(router, "周人事", media)
    shown = admin.send("/schedule demo")
    assert re.search(r"· \d{4}-\d\d-04 周. 23:59 \d{4}-\d\d 截止评价", shown), shown
    assert "00:00" not in shown, shown
    admin.send("/lang en")
    shown = admin.send("/schedule demo")
    assert re.search(r"· \d{4}-\d\d-04 [A-Z][a-z]{2} 23:59 \d{4}-\d\d closing", shown), shown
    assert "00:00" not in shown, shown

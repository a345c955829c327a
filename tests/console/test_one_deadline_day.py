"""One deadline, one day (issue 17, small wording): where a reply names only the day of a
deadline (an improvement plan's ``due 2026-11-13``, the result message's appeal date, the
export's due cell) it is the day of the deadline's last minute, the day its ``23:59`` is on
(:meth:`commands.people.TeamClock.deadline_date`), never the next day for an end stored at
midnight, which ``results.deadline_day`` showed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from commands import export, improve, results
from commands.appeal import appeal_window_end
from commands.people import TeamClock
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2026, 11, 14, 0, 0, tzinfo=SHANGHAI)
"""A deadline stored as an exclusive end: the plan is due by the end of 2026-11-13."""
NOW = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)


def test_the_day_of_a_deadline_is_the_day_its_last_minute_is_on() -> None:
    clock = TeamClock.of("Asia/Shanghai")
    assert clock.deadline_date(MIDNIGHT).isoformat() == "2026-11-13"
    assert clock.deadline_date(MIDNIGHT.astimezone(UTC)).isoformat() == "2026-11-13"
    assert clock.deadline_date(datetime(2026, 11, 13, 23, 59, tzinfo=SHANGHAI)).isoformat() == (
        "2026-11-13"
    )
    assert clock.deadline_date(datetime(2026, 11, 13, 18, 0, tzinfo=SHANGHAI)).isoformat() == (
        "2026-11-13"
    )


def test_a_plan_due_at_midnight_is_due_the_same_day_in_its_request_reminder_and_export(
    engine: Engine,
) -> None:
    build_world(engine)
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None and team.timezone == "Asia/Shanghai"
        period = repo.get_period(session=session, team=team, key="2026-10")
        member = repo.get_member_by_name(session=session, team=team, name="李娜")
        assert period is not None and member is not None
        assert results.deadline_day(team, MIDNIGHT.astimezone(UTC)) == "2026-11-13"
        improve.request_plan(
            session, team, period, member, due_at=MIDNIGHT.astimezone(UTC), now=NOW
        )
        improve.follow_up(session, now=MIDNIGHT.astimezone(UTC) - timedelta(hours=3), team=team)
        said = [
            str(m.reply.get("text", ""))
            for m in store.list_messages(session=session, team_id=team.id)
        ]
        (cell,) = [
            row[2] for row in export.build_sheets(session, team, period)["improvement_plans"][1:]
        ]
    request, reminder = said
    assert request.endswith("整改方案：请分析原因，并在 2026-11-13 前提交。"), request  # was 11-14
    assert reminder == "提醒：你的整改方案截止时间为 2026-11-13 23:59。"
    assert cell == datetime(2026, 11, 13, 23, 59), cell  # was 2026-11-14 00:00


def test_the_result_messages_appeal_day_is_the_day_appeal_closes() -> None:
    team = type("T", (), {"timezone": "Asia/Shanghai"})()
    end = appeal_window_end(team, NOW, 7)  # type: ignore[arg-type]
    assert TeamClock.of("Asia/Shanghai").deadline(end) == "2026-11-13 23:59"
    assert TeamClock.of("Asia/Shanghai").deadline_date(end).isoformat() == "2026-11-13"

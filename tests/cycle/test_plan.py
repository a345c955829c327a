"""When the steps happen: local times in two time zones, never a reminder at night or at the
weekend."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from commands.cycle_plan import due_steps, is_quiet, next_steps, plan, window_month
from scoring.cycle_rules import CycleRules

SHANGHAI, NEW_YORK = "Asia/Shanghai", "America/New_York"


def local_plan(rules: CycleRules, zone: str, key: str) -> list[tuple[str, str]]:
    return [(s.step, s.local.strftime("%a %Y-%m-%d %H:%M %z")) for s in plan(rules, zone, key)]


def test_the_default_window_in_shanghai_has_one_reminder_before_it_closes_on_the_4th() -> None:
    assert local_plan(CycleRules(), SHANGHAI, "2026-10") == [
        ("open", "Sun 2026-11-01 09:00 +0800"),
        ("remind.1", "Wed 2026-11-04 09:00 +0800"),  # day 5 would fall after the close: dropped
        ("close", "Wed 2026-11-04 18:00 +0800"),
        ("publish", "Thu 2026-11-05 10:00 +0800"),
    ]


def test_a_longer_window_gets_both_reminders_at_the_local_opening_hour() -> None:
    rules = CycleRules(closes_day=8, publish_day=9)
    steps = plan(rules, SHANGHAI, "2026-10")
    assert local_plan(rules, SHANGHAI, "2026-10")[1:3] == [
        ("remind.1", "Wed 2026-11-04 09:00 +0800"),
        ("remind.2", "Fri 2026-11-06 09:00 +0800"),
    ]
    assert steps[0].at == datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def test_in_new_york_night_reminders_wait_for_the_morning_and_friday_nights_for_monday() -> None:
    rules = CycleRules(opens_at=time(21, 0), closes_day=10, publish_day=11)
    assert local_plan(rules, NEW_YORK, "2026-10") == [
        ("open", "Sun 2026-11-01 21:00 -0500"),  # daylight saving time ended that morning
        ("remind.1", "Thu 2026-11-05 09:00 -0500"),  # Wed 21:00 is night
        ("remind.2", "Mon 2026-11-09 09:00 -0500"),  # Fri 21:00 is night, then the weekend
        ("close", "Tue 2026-11-10 18:00 -0500"),
        ("publish", "Wed 2026-11-11 10:00 -0500"),
    ]


def test_two_reminders_pushed_to_the_same_morning_are_one() -> None:
    rules = CycleRules(opens_at=time(21, 0), reminder_days=(5, 6), closes_day=12, publish_day=13)
    names = [s.step for s in plan(rules, NEW_YORK, "2026-10")]
    assert names == ["open", "remind.1", "close", "publish"]  # Fri night and Sat both → Monday


def test_a_quarter_is_reviewed_in_the_month_after_it() -> None:
    assert window_month("2026-Q4").isoformat() == "2027-01-01"
    assert plan(CycleRules(), SHANGHAI, "2026-Q4")[0].local.date().isoformat() == "2027-01-01"


def test_due_and_next_steps_split_the_plan_at_now() -> None:
    now = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)  # Wed 10:00 in Shanghai
    due = [(s.period_key, s.step) for s in due_steps(CycleRules(), SHANGHAI, "month", now)]
    upcoming = [(s.period_key, s.step) for s in next_steps(CycleRules(), SHANGHAI, "month", now)]
    assert due[-2:] == [("2026-10", "open"), ("2026-10", "remind.1")]
    assert ("2026-09", "publish") in due
    assert upcoming[:2] == [("2026-10", "close"), ("2026-10", "publish")]
    assert ("2026-11", "open") in upcoming


def test_steps_older_than_the_team_are_not_due() -> None:
    now = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    since = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    due = [
        (s.period_key, s.step) for s in due_steps(CycleRules(), SHANGHAI, "month", now, since=since)
    ]
    assert due == [("2026-10", "remind.1")]


@st.composite
def rules(draw: st.DrawFn) -> CycleRules:
    opens_day = draw(st.integers(1, 10))
    closes_day = draw(st.integers(opens_day + 1, 20))
    publish_day = draw(st.integers(closes_day, 28))
    clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
    weekend = draw(st.sampled_from([(6, 7), (5, 6), (7,), ()]))
    return CycleRules(
        opens_day=opens_day,
        opens_at=draw(clock),
        closes_day=closes_day,
        closes_at=draw(clock),
        publish_day=publish_day,
        publish_at=time(23, 59) if publish_day == closes_day else draw(clock),
        reminder_days=tuple(sorted(draw(st.sets(st.integers(1, 15), max_size=4)))),
        quiet_from=draw(clock),
        quiet_until=draw(clock),
        weekend=weekend,
    )


@given(rules(), st.sampled_from([SHANGHAI, NEW_YORK, "Europe/London", "UTC"]),
       st.integers(2026, 2028), st.integers(1, 12))  # fmt: skip
def test_no_reminder_is_ever_at_night_on_a_weekend_twice_a_day_or_after_the_close(
    rule: CycleRules, zone: str, year: int, month: int
) -> None:
    steps = plan(rule, zone, f"{year}-{month:02d}")
    reminders = [s for s in steps if s.base == "remind"]
    close = next(s for s in steps if s.step == "close")
    for s in reminders:
        local = s.at.astimezone(ZoneInfo(zone))
        if rule.quiet_from != rule.quiet_until:
            assert not is_quiet(rule, local)
        assert s.at < close.at and s.at > steps[0].at - timedelta(seconds=1)
    assert len({s.local.date() for s in reminders}) == len(reminders)
    assert [s.at for s in steps] == sorted(s.at for s in steps)

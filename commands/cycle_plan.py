"""When each step of a team's monthly cycle happens, from the scheme's ``[cycle]`` rules.

Pure functions of (rules, time zone, period key, now): no database, no clock of their own.

A period's review window is in the month after the period ends (a month ``2026-10`` →
November; a quarter ``2026-Q4`` → January): it opens on ``opens_day`` at ``opens_at``
local time, reminders go ``reminder_days`` days after the opening, it closes on
``closes_day`` at ``closes_at``, and results are published on ``publish_day`` at
``publish_at``. A reminder that falls at night (``quiet_from``–``quiet_until``) or on a
weekend day moves to the next working morning (``quiet_until``); one that then falls on
or after the close is dropped; two on the same day are one (at most one a day).

Step names: ``open``, ``remind.1`` … ``remind.N`` (numbered by the day they were planned
for), ``close``, ``publish``. Times are aware datetimes in UTC (``PlannedStep.at``) and in
the team's zone (``PlannedStep.local``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from commands.people import TeamClock, zone_of
from scoring.cycle_rules import CycleRules
from storage.repo import period_bounds

STEP_ORDER = ("open", "remind", "close", "publish")


@dataclass(frozen=True)
class PlannedStep:
    period_key: str
    step: str
    at: datetime
    local: datetime

    @property
    def base(self) -> str:
        """``remind.2`` → ``remind``."""
        return self.step.split(".")[0]


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_end(period_key: str) -> date:
    """The last day of ``2026-10`` or ``2026-Q4``."""
    return period_bounds(period_key)[1]


def window_month(period_key: str) -> date:
    """The first day of the month in which the period's review window runs."""
    return _next_month(period_end(period_key))


def period_for_window(month: date, kind: str) -> str | None:
    """The period whose window runs in ``month`` (``None`` for a month after a non-quarter-end)."""
    last = month - timedelta(days=1)
    if kind == "quarter":
        if last.month % 3:
            return None
        return f"{last.year:04d}-Q{last.month // 3}"
    return f"{last.year:04d}-{last.month:02d}"


def _local(zone: tzinfo, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def is_quiet(rules: CycleRules, moment: datetime) -> bool:
    """At night or on a weekend day, in the moment's own (local) time (``TeamClock``'s rule)."""
    return TeamClock(moment.tzinfo or UTC).in_quiet_hours(moment, rules)


def next_working_moment(rules: CycleRules, moment: datetime) -> datetime:
    """``moment`` if it is not quiet, else the next morning (``quiet_until``) on a working day."""
    if not is_quiet(rules, moment):
        return moment
    day = moment.date()
    zone = moment.tzinfo
    candidate = datetime.combine(day, rules.quiet_until, tzinfo=zone)
    if candidate <= moment:
        candidate = datetime.combine(day + timedelta(days=1), rules.quiet_until, tzinfo=zone)
    for _ in range(8):
        if not is_quiet(rules, candidate):
            return candidate
        candidate = datetime.combine(
            candidate.date() + timedelta(days=1), rules.quiet_until, tzinfo=zone
        )
    return candidate


def plan(rules: CycleRules, timezone: str, period_key: str) -> list[PlannedStep]:
    """Every step of one period's window, in time order."""
    zone = zone_of(timezone)
    month = window_month(period_key)
    opens = _local(zone, month.replace(day=rules.opens_day), rules.opens_at)
    closes = _local(zone, month.replace(day=rules.closes_day), rules.closes_at)
    publish = _local(zone, month.replace(day=rules.publish_day), rules.publish_at)
    steps = [("open", opens)]
    seen_days: set[date] = set()
    for n, days in enumerate(rules.reminder_days, start=1):
        moment = next_working_moment(rules, opens + timedelta(days=days))
        if moment >= closes or moment.date() in seen_days:
            continue
        seen_days.add(moment.date())
        steps.append((f"remind.{n}", moment))
    steps += [("close", closes), ("publish", publish)]
    return [PlannedStep(period_key, name, local.astimezone(UTC), local) for name, local in steps]


def recent_periods(timezone: str, kind: str, now: datetime, *, back: int = 2) -> list[str]:
    """Keys of the periods whose windows run this month or ran in the ``back - 1`` months before."""
    today = now.astimezone(zone_of(timezone)).date().replace(day=1)
    keys: list[str] = []
    month = today
    for _ in range(back + (2 if kind == "quarter" else 0)):
        key = period_for_window(month, kind)
        if key is not None and key not in keys:
            keys.append(key)
        month = (month - timedelta(days=1)).replace(day=1)
    return sorted(keys)


def upcoming_periods(timezone: str, kind: str, now: datetime, *, ahead: int = 2) -> list[str]:
    """Keys of the periods whose windows run this month and in the next ``ahead - 1`` months."""
    month = now.astimezone(zone_of(timezone)).date().replace(day=1)
    keys: list[str] = []
    for _ in range(ahead + (2 if kind == "quarter" else 0)):
        key = period_for_window(month, kind)
        if key is not None:
            keys.append(key)
        month = _next_month(month)
    return keys


def due_steps(
    rules: CycleRules, timezone: str, kind: str, now: datetime, *, since: datetime | None = None
) -> list[PlannedStep]:
    """Steps of recent periods whose time has come (and not before ``since``), oldest first."""
    out = [
        step
        for key in recent_periods(timezone, kind, now)
        for step in plan(rules, timezone, key)
        if step.at <= now and (since is None or step.at >= since)
    ]
    return sorted(out, key=lambda s: s.at)


def next_steps(rules: CycleRules, timezone: str, kind: str, now: datetime) -> list[PlannedStep]:
    """Steps still to come in this month's and next month's windows, soonest first."""
    keys = sorted(
        set(recent_periods(timezone, kind, now)) | set(upcoming_periods(timezone, kind, now))
    )
    out = [step for key in keys for step in plan(rules, timezone, key) if step.at > now]
    return sorted(out, key=lambda s: s.at)

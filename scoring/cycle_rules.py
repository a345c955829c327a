"""The ``[cycle]`` table of a scheme: when the review window opens and closes, when reminders
go out, and when results are published. Pure: days and clock times, no clock, no I/O.

    [cycle]
    opens_day = 1            # day of the month after the period, local time of the team
    opens_at = "09:00"
    closes_day = 4
    closes_at = "18:00"
    publish_day = 5
    publish_at = "10:00"
    reminder_days = [3, 5]   # days after the window opens; only those before it closes
    quiet_from = "20:00"     # no reminder from here …
    quiet_until = "09:00"    # … until here, nor on the weekend days
    weekend = [6, 7]         # ISO weekdays: 6 Saturday, 7 Sunday

Between the close and the publication the scores are calibrated and locked. Problems are
reported like every scheme problem: ``where`` = ``cycle``, a ``field``, a ``code``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Any

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LAST_DAY = 28  # every month has it


@dataclass(frozen=True)
class CycleRules:
    opens_day: int = 1
    opens_at: time = time(9, 0)
    closes_day: int = 4
    closes_at: time = time(18, 0)
    publish_day: int = 5
    publish_at: time = time(10, 0)
    reminder_days: tuple[int, ...] = (3, 5)
    quiet_from: time = time(20, 0)
    quiet_until: time = time(9, 0)
    weekend: tuple[int, ...] = (6, 7)


Problem = tuple[str, str, dict[str, Any]]
"""(field, code, params) — the parser turns these into scheme problems at ``cycle``."""


def _clock(raw: dict[str, Any], key: str, default: time, problems: list[Problem]) -> time:
    value = raw.get(key)
    if value is None:
        return default
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        problems.append((key, "bad_clock_time", {"value": str(value)}))
        return default
    return time(int(match[1]), int(match[2]))


def _day(raw: dict[str, Any], key: str, default: int, problems: list[Problem]) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LAST_DAY:
        problems.append((key, "bad_day_of_month", {"value": str(value), "last": LAST_DAY}))
        return default
    return value


def _ints(
    raw: dict[str, Any],
    key: str,
    default: tuple[int, ...],
    low: int,
    high: int,
    problems: list[Problem],
) -> tuple[int, ...]:
    value = raw.get(key)
    if value is None:
        return default
    ok = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
    )
    if not ok:
        problems.append((key, "bad_day_list", {"value": str(value), "low": low, "high": high}))
        return default
    return tuple(sorted(set(value)))


CYCLE_KEYS: tuple[str, ...] = (
    "opens_day",
    "opens_at",
    "closes_day",
    "closes_at",
    "publish_day",
    "publish_at",
    "reminder_days",
    "quiet_from",
    "quiet_until",
    "weekend",
)


def parse_cycle_rules(raw: Any) -> tuple[CycleRules, list[Problem]]:
    """The ``[cycle]`` table (missing → the defaults) and its problems."""
    problems: list[Problem] = []
    if raw is None:
        return CycleRules(), problems
    if not isinstance(raw, dict):
        return CycleRules(), [("cycle", "expected_table", {})]
    # unknown keys are reported (with their line and the closest key) by scoring.scheme_keys
    rules = CycleRules(
        opens_day=_day(raw, "opens_day", 1, problems),
        opens_at=_clock(raw, "opens_at", time(9, 0), problems),
        closes_day=_day(raw, "closes_day", 4, problems),
        closes_at=_clock(raw, "closes_at", time(18, 0), problems),
        publish_day=_day(raw, "publish_day", 5, problems),
        publish_at=_clock(raw, "publish_at", time(10, 0), problems),
        reminder_days=_ints(raw, "reminder_days", (3, 5), 1, LAST_DAY, problems),
        quiet_from=_clock(raw, "quiet_from", time(20, 0), problems),
        quiet_until=_clock(raw, "quiet_until", time(9, 0), problems),
        weekend=_ints(raw, "weekend", (6, 7), 1, 7, problems),
    )
    opens = (rules.opens_day, rules.opens_at)
    closes = (rules.closes_day, rules.closes_at)
    publish = (rules.publish_day, rules.publish_at)
    if not opens < closes:
        problems.append(
            (
                "closes_day",
                "window_order",
                {"first": "opens_day + opens_at", "then": "closes_day + closes_at"},
            )
        )
    if not closes <= publish:
        problems.append(
            (
                "publish_day",
                "window_order",
                {"first": "closes_day + closes_at", "then": "publish_day + publish_at"},
            )
        )
    if len(rules.weekend) >= 7:
        problems.append(("weekend", "no_working_day", {}))
    return rules, problems

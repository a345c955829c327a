"""The scheme's [cycle] table: defaults, every field read, and one problem per mistake."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from scoring.cycle_rules import CycleRules
from scoring.scheme import SchemeError
from scoring.scheme_parser import parse_scheme

ONLINE_SHOP = (Path(__file__).parents[2] / "schemes" / "online_shop.toml").read_text("utf-8")


def test_a_scheme_without_a_cycle_table_gets_the_defaults() -> None:
    rules = parse_scheme(ONLINE_SHOP).cycle
    assert rules == CycleRules()
    assert (rules.opens_day, rules.opens_at, rules.publish_day, rules.publish_at) == (
        1,
        time(9),
        5,
        time(10),
    )
    assert rules.reminder_days == (3, 5) and rules.weekend == (6, 7)


def test_every_cycle_field_is_read() -> None:
    text = (
        ONLINE_SHOP
        + """
[cycle]
opens_day = 2
opens_at = "08:30"
closes_day = 9
closes_at = "17:00"
publish_day = 10
publish_at = "11:15"
reminder_days = [4, 2]
quiet_from = "19:00"
quiet_until = "08:00"
weekend = [5, 6]
"""
    )
    assert parse_scheme(text).cycle == CycleRules(
        opens_day=2,
        opens_at=time(8, 30),
        closes_day=9,
        closes_at=time(17),
        publish_day=10,
        publish_at=time(11, 15),
        reminder_days=(2, 4),
        quiet_from=time(19),
        quiet_until=time(8),
        weekend=(5, 6),
    )


@pytest.mark.parametrize(
    ("table", "field", "code"),
    [
        ('opens_at = "9am"', "opens_at", "bad_clock_time"),
        ("publish_day = 31", "publish_day", "bad_day_of_month"),
        ("reminder_days = [0, 3]", "reminder_days", "bad_day_list"),
        ("weekend = [1, 2, 3, 4, 5, 6, 7]", "weekend", "no_working_day"),
        ("closes_day = 6", "publish_day", "window_order"),
        ('opens_day = 4\nopens_at = "19:00"', "closes_day", "window_order"),
        ("remind_days = [3]", "remind_days", "unknown_key_close"),
    ],
)
def test_a_mistake_in_the_cycle_table_is_one_problem(table: str, field: str, code: str) -> None:
    with pytest.raises(SchemeError) as info:
        parse_scheme(ONLINE_SHOP + "\n[cycle]\n" + table + "\n")
    assert [(p.where, p.field, p.code) for p in info.value.problems] == [("cycle", field, code)]
    assert info.value.problems[0].message  # an English sentence, every parameter filled in

"""Cell values as exports write them: flags, durations, percents, thousands and currency."""

from __future__ import annotations

import math
from datetime import time, timedelta

import pandas as pd
import pytest

from commands.importing.mapping import parse_mapping
from commands.importing.parsing import (
    parse_flag,
    parse_number,
    parse_period,
    parse_ratio,
    parse_seconds,
    parse_time,
    period_bounds,
)

MAPPING = parse_mapping(
    """
name = "t"
kind = "sessions"
[columns]
agent = "Agent"
time = "Start"
handle_s = { column = "H", unit = "mm:ss" }
wait_s = { column = "W", unit = "min" }
first_response_s = "F"
resolved = "R"
"""
)
SUMMARY = parse_mapping(
    """
name = "s"
kind = "summary"
[columns]
agent = "Agent"
conversion_rate = "C"
payment_ratio = { column = "P", percent = "percent" }
paid_amount = "A"
"""
)


def _values(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in series]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", 1.0),
        ("否", 0.0),
        ("Y", 1.0),
        ("n", 0.0),
        ("1", 1.0),
        ("0", 0.0),
        ("yes", 1.0),
        ("TRUE", 1.0),
        (" 是 ", 1.0),
        (None, None),
    ],
)
def test_yes_no_spellings_read_as_flags(cell: str | None, expected: float | None) -> None:
    values, bad = parse_flag(pd.Series([cell], dtype="str"), MAPPING.column("resolved"))  # type: ignore[arg-type]
    assert _values(values) == [expected]
    assert not bad.any()


def test_a_value_that_is_not_yes_or_no_is_unreadable() -> None:
    values, bad = parse_flag(pd.Series(["maybe", "是"], dtype="str"), MAPPING.column("resolved"))  # type: ignore[arg-type]
    assert bad.tolist() == [True, False]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("04:30", 270.0),
        ("1:02:03", 3723.0),
        ("90", 90.0),
        ("12秒", 12.0),
        ("00:07.5", 7.5),
        (time(0, 4, 30), 270.0),
        (timedelta(minutes=2), 120.0),
    ],
)
def test_durations_read_as_seconds(cell: object, expected: float) -> None:
    values, bad = parse_seconds(
        pd.Series([cell], dtype=object), MAPPING.column("handle_s"), MAPPING
    )  # type: ignore[arg-type]
    assert _values(values) == [expected]
    assert not bad.any()


def test_minutes_are_converted_to_seconds() -> None:
    values, _bad = parse_seconds(pd.Series([1.5, 2.0]), MAPPING.column("wait_s"), MAPPING)  # type: ignore[arg-type]
    assert _values(values) == [90.0, 120.0]


def test_text_that_is_not_a_duration_is_unreadable() -> None:
    _values_, bad = parse_seconds(
        pd.Series(["ten minutes", "3:xx"], dtype="str"), MAPPING.column("handle_s"), MAPPING
    )  # type: ignore[arg-type]
    assert bad.tolist() == [True, True]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("12.5%", 0.125), ("0.3", 0.3), (" 40 % ", 0.4), ("100%", 1.0)],
)
def test_percent_strings_become_fractions(cell: str, expected: float) -> None:
    values, bad = parse_ratio(
        pd.Series([cell], dtype="str"), SUMMARY.column("conversion_rate"), SUMMARY
    )  # type: ignore[arg-type]
    assert _values(values) == [pytest.approx(expected)]
    assert not bad.any()


def test_a_mapping_can_say_bare_numbers_are_percents() -> None:
    values, _bad = parse_ratio(pd.Series([25, 80.0]), SUMMARY.column("payment_ratio"), SUMMARY)  # type: ignore[arg-type]
    assert _values(values) == [0.25, 0.8]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,234", 1234.0),
        ("¥12,500.00", 12500.0),
        ("￥625", 625.0),
        ("$3.5", 3.5),
        ("88元", 88.0),
        ("RMB 1,000", 1000.0),
        ("-", None),
        ("", None),
    ],
)
def test_money_with_thousands_separators_and_currency_signs(
    cell: str, expected: float | None
) -> None:
    values, bad, _percent = parse_number(pd.Series([cell], dtype="str"), SUMMARY)
    assert _values(values) == [expected]
    assert not bad.any()


def test_text_in_a_number_column_is_unreadable() -> None:
    _v, bad, _p = parse_number(pd.Series(["很多", "12"], dtype="str"), SUMMARY)
    assert bad.tolist() == [True, False]


@pytest.mark.parametrize(
    "cell",
    [
        "2026-10-03 09:15:00",
        "2026/10/03 09:15",
        "2026-10-03T09:15:00",
        "2026年10月3日 09:15",
        "2026/10/3 9:15",
    ],
)
def test_common_date_time_spellings_are_read(cell: str) -> None:
    values, bad = parse_time(pd.Series([cell], dtype="str"), MAPPING.column("time"))  # type: ignore[arg-type]
    assert not bad.any()
    stamp = values.iloc[0]
    assert (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute) == (2026, 10, 3, 9, 15)


@pytest.mark.parametrize(
    ("cell", "first", "last"),
    [
        ("2026-10", "2026-10-01", "2026-10-31"),
        ("2026年10月", "2026-10-01", "2026-10-31"),
        ("202610", "2026-10-01", "2026-10-31"),
        ("2026-Q4", "2026-10-01", "2026-12-31"),
        ("2026-10-15", "2026-10-15", "2026-10-15"),
    ],
)
def test_period_cells_name_their_days(cell: str, first: str, last: str) -> None:
    bounds = parse_period(cell)
    assert bounds is not None
    assert (bounds[0].isoformat(), bounds[1].isoformat()) == (first, last)


def test_a_period_key_that_is_not_a_month_or_quarter_is_refused() -> None:
    assert period_bounds("2026-13") is None
    assert period_bounds("October") is None
    assert period_bounds("2026-02") is not None and math.isclose(
        period_bounds("2026-02")[1].day, 28
    )  # type: ignore[index]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("75:30", 4530.0),
        ("01:02:03", 3723.0),
        ("4:05", 245.0),
        ("00:07.5", 7.5),
        ("1:2:3:4", None),
        ("90", 90.0),
        ("abc", None),
    ],
)
def test_long_and_odd_clock_durations(cell: str, expected: float | None) -> None:
    column = pd.Series([cell, "02:00"], dtype="str")
    values, bad = parse_seconds(column, MAPPING.column("handle_s"), MAPPING)  # type: ignore[arg-type]
    assert _values(values) == [expected, 120.0]
    assert bad.tolist() == [expected is None, False]


def test_flags_with_gaps_stay_missing_not_false() -> None:
    values, bad = parse_flag(pd.Series(["Y", None, "N"], dtype="str"), MAPPING.column("resolved"))  # type: ignore[arg-type]
    assert values.tolist()[0] is True and values.tolist()[2] is False
    assert pd.isna(values.tolist()[1])
    assert not bad.any()

"""Cell values as exports write them → numbers, flags, seconds and times, vectorised.

Each parser takes a column (any dtype: typed by pyarrow, strings, or the mixed
objects of an .xlsx sheet) and returns the parsed values plus a boolean mask of
the cells it could not read. Empty cells are NaN/NaT and never an error here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta

import numpy as np
import pandas as pd

from commands.importing.mapping import ColumnSpec, Mapping
from commands.importing.reading import NULL_VALUES

Parsed = tuple[pd.Series, pd.Series]  # (values, unreadable mask)
_NULLS = set(NULL_VALUES)
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "mm:ss": 1.0}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,3}):(\d{1,2}(?:\.\d+)?)$")
_PERIOD_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$|^(\d{4})(\d{2})$")
_PERIOD_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


def as_text(column: pd.Series) -> pd.Series:
    """Strings, stripped, with the export's spellings of "nothing" as missing."""
    if column.dtype == object:
        column = column.map(lambda v: v if v is None or isinstance(v, str) else _plain(v))
    text = column.astype("str").str.strip() if column.dtype != "str" else column.str.strip()
    return text.mask(text.isin(_NULLS) | column.isna())


def _plain(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def parse_number(column: pd.Series, mapping: Mapping, *, allow_percent: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(values, unreadable, had a % sign)``; thousands separators and currency signs removed."""
    if is_numeric(column):
        values = column.astype("float64")
        false = pd.Series(False, index=column.index)
        return values, false, false
    text = as_text(column)
    if mapping.thousands and mapping.thousands != mapping.decimal:
        text = text.str.replace(mapping.thousands, "", regex=False)
    if mapping.currency:
        signs = "|".join(re.escape(s) for s in sorted(mapping.currency, key=len, reverse=True))
        text = text.str.replace(signs, "", regex=True).str.strip()
    if mapping.decimal != ".":
        text = text.str.replace(mapping.decimal, ".", regex=False)
    percent = text.str.endswith("%").fillna(False).astype(bool)
    if allow_percent and percent.any():
        text = text.str.rstrip("%").str.strip()
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    unreadable = text.notna() & values.isna()
    return values, unreadable, percent


def parse_ratio(column: pd.Series, spec: ColumnSpec, mapping: Mapping) -> Parsed:
    """``12.5%`` → 0.125; a bare number is a fraction or a percent as the mapping says."""
    values, unreadable, percent = parse_number(column, mapping, allow_percent=True)
    scale = percent | (spec.percent == "percent")
    return values.where(~scale, values / 100.0), unreadable


def parse_seconds(column: pd.Series, spec: ColumnSpec, mapping: Mapping) -> Parsed:
    """Seconds from a number in the column's unit, or from ``mm:ss`` / ``h:mm:ss`` text."""
    factor = _UNIT_SECONDS[spec.unit]
    if column.dtype == object:  # an .xlsx cell may hold a time of day or a timedelta
        column = column.map(_clock_cell)
    if is_numeric(column):
        return column.astype("float64") * factor, pd.Series(False, index=column.index)
    text = as_text(column).str.replace(r"\s*(?:秒|s|sec)$", "", regex=True)
    values = pd.to_numeric(text, errors="coerce").astype("float64") * factor
    clock = text.str.contains(":", regex=False).fillna(False).astype(bool)
    if clock.any():
        parts = text[clock].str.extract(_CLOCK)
        hours = pd.to_numeric(parts[0], errors="coerce").fillna(0.0)
        seconds = (hours * 3600 + pd.to_numeric(parts[1], errors="coerce") * 60
                   + pd.to_numeric(parts[2], errors="coerce"))
        values = values.where(~clock, seconds.reindex(values.index))
    return values, text.notna() & values.isna()


def _clock_cell(value: object) -> object:
    if isinstance(value, time):
        return f"{value.hour}:{value.minute:02d}:{value.second:02d}"
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def parse_flag(column: pd.Series, spec: ColumnSpec) -> Parsed:
    """1.0 / 0.0 from 是/否, Y/N, 1/0 … (the mapping's spellings, case ignored)."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64"), pd.Series(False, index=column.index)
    text = as_text(column)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    truths = {v.casefold() for v in spec.true_values}
    falses = {v.casefold() for v in spec.false_values}
    lookup = np.array([1.0 if u.casefold() in truths else 0.0 if u.casefold() in falses else np.nan
                       for u in (_plain(x) for x in uniques)] + [np.nan])
    values = pd.Series(lookup[codes], index=column.index)
    return values, text.notna() & values.isna()


def parse_time(column: pd.Series, spec: ColumnSpec) -> Parsed:
    """Timestamps; ``2026/10/03 09:15``, ``2026年10月3日`` and ISO 8601 are all read."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column, pd.Series(False, index=column.index)
    text = as_text(column)
    if spec.format:
        values = pd.to_datetime(text, format=spec.format, errors="coerce")
    else:
        cleaned = (text.str.replace(r"[/.年月]", "-", regex=True).str.replace("日", "", regex=False)
                   .str.replace(r"-(\d)(?=\D|$)", r"-0\1", regex=True))
        values = pd.to_datetime(cleaned, format="ISO8601", errors="coerce")
    return values, text.notna() & values.isna()


def parse_period(value: str) -> tuple[date, date] | None:
    """The first and last day a period cell names: ``2026-10``, ``2026年10月``, ``2026-Q4`` or a date."""
    text = value.strip()
    month = _PERIOD_MONTH.match(text)
    if month:
        year, mon = (int(month.group(1) or month.group(3)), int(month.group(2) or month.group(4)))
        if 1 <= mon <= 12:
            return period_bounds(f"{year}-{mon:02d}")
        return None
    quarter = _PERIOD_QUARTER.match(text)
    if quarter:
        return period_bounds(f"{quarter.group(1)}-Q{quarter.group(2)}")
    stamp = pd.to_datetime(text.replace("/", "-"), errors="coerce", format="ISO8601")
    if pd.isna(stamp):
        return None
    return stamp.date(), stamp.date()


def period_bounds(key: str) -> tuple[date, date] | None:
    """First and last day of ``2026-10`` or ``2026-Q4``; None when the key is not a period."""
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|Q([1-4]))", key.strip())
    if not match:
        return None
    year = int(match.group(1))
    first_month = int(match.group(2)) if match.group(2) else (int(match.group(3)) - 1) * 3 + 1
    last_month = first_month if match.group(2) else first_month + 2
    if not 1 <= first_month <= 12:
        return None
    start = date(year, first_month, 1)
    end = (pd.Timestamp(year=year, month=last_month, day=1) + pd.offsets.MonthEnd(0)).date()
    return start, end


def parser_for(spec: ColumnSpec, mapping: Mapping) -> Callable[[pd.Series], Parsed]:
    """The parser of one mapped column (text-like columns are handled by the validator)."""
    if spec.type == "ratio":
        return lambda c: parse_ratio(c, spec, mapping)
    if spec.type == "seconds":
        return lambda c: parse_seconds(c, spec, mapping)
    if spec.type == "flag":
        return lambda c: parse_flag(c, spec)
    if spec.type == "time":
        return lambda c: parse_time(c, spec)

    def number(c: pd.Series) -> Parsed:
        values, unreadable, _percent = parse_number(c, mapping)
        return values, unreadable

    return number

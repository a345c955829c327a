"""Mappings: which source column is which field, and how its values are written.

A mapping is a small TOML file in ``schemes/mappings/`` (``docs/importing.md``
describes every key). :func:`load_mapping` accepts a mapping's name or a path and
checks it against the fields :mod:`scoring.kpi` knows for the mapping's kind.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from commands.importing.problems import ImportRefused, Problem
from scoring import kpi

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "schemes" / "mappings"
KINDS: tuple[kpi.Kind, ...] = ("summary", "sessions", "orders", "complaints")
DURATION_UNITS = ("s", "min", "h", "mm:ss")
PERCENT_STYLES = ("fraction", "percent")
DEFAULT_TRUE = ("是", "Y", "YES", "TRUE", "T", "1", "对", "已解决", "√")
DEFAULT_FALSE = ("否", "N", "NO", "FALSE", "F", "0", "未解决", "×")
DEFAULT_CURRENCY = ("¥", "￥", "$", "元", "RMB", "CNY")
COLUMN_KEYS = {"column", "optional", "unit", "percent", "true_values", "false_values",
               "take_after", "min", "max", "format", "blank"}
BLANK_MEANS = ("missing", "zero")
TOP_KEYS = {"name", "kind", "title_zh", "title_en", "encoding", "sheet", "header_row",
            "delimiter", "thousands", "decimal", "currency", "true_values", "false_values",
            "duration_unit", "percent", "columns", "skip_rows", "no_value"}


@dataclass(frozen=True)
class ColumnSpec:
    """One field of the mapping: the source column's possible names and how to read it."""

    field: str
    names: tuple[str, ...]
    type: kpi.FieldType
    optional: bool = False
    unit: str = "s"
    percent: str = "fraction"
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    take_after: str | None = None
    low: float | None = None
    high: float | None = None
    format: str | None = None
    blank: str = "missing"


@dataclass(frozen=True)
class Mapping:
    name: str
    kind: kpi.Kind
    text: str
    columns: tuple[ColumnSpec, ...]
    title_zh: str = ""
    title_en: str = ""
    encoding: str = "auto"
    sheet: str | None = None
    header_row: int = 1
    delimiter: str = ","
    thousands: str = ","
    decimal: str = "."
    currency: tuple[str, ...] = DEFAULT_CURRENCY
    skip_rows: tuple[str, ...] = ()
    """Patterns (regular expressions, matched against the whole agent cell) of rows that
    are not agents: 合计, 汇总值, 平均值, 同行同层均值 …"""
    no_value: tuple[str, ...] = ()
    """Spellings that mean "no value" in this export besides the usual ones (-, --, N/A …)."""

    def column(self, field: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.field == field), None)


def known_mappings(folder: Path = MAPPINGS_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml"))


def load_mapping(name_or_path: str, folder: Path = MAPPINGS_DIR) -> Mapping:
    """The mapping named ``name_or_path`` (a file in ``folder``) or at that path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        path = candidate
    else:
        path = folder / f"{name_or_path}.toml"
        if not path.is_file():
            raise ImportRefused(
                [Problem("mapping_unknown", {"name": name_or_path, "known": known_mappings(folder)})]
            )
    return parse_mapping(path.read_text(encoding="utf-8"), default_name=path.stem)


def _invalid(name: str, detail: str) -> ImportRefused:
    return ImportRefused([Problem("mapping_invalid", {"name": name, "detail": detail})])


def _strings(value: Any, name: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _invalid(name, f"{key} must be a string or a list of strings")
    return tuple(items)


def parse_mapping(text: str, default_name: str = "mapping") -> Mapping:
    """Parse and check a mapping's TOML text; raises :class:`ImportRefused` with what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(default_name, str(exc)) from None
    name = str(data.get("name", default_name))
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise _invalid(name, f"unknown keys {', '.join(unknown)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise _invalid(name, f"kind must be one of {', '.join(KINDS)}")
    kind = cast(kpi.Kind, kind)
    defaults = {
        "unit": str(data.get("duration_unit", "s")),
        "percent": str(data.get("percent", "fraction")),
        "true_values": _strings(data.get("true_values", list(DEFAULT_TRUE)), name, "true_values"),
        "false_values": _strings(data.get("false_values", list(DEFAULT_FALSE)), name, "false_values"),
    }
    columns_data = data.get("columns")
    if not isinstance(columns_data, dict) or not columns_data:
        raise _invalid(name, "a [columns] table is needed")
    allowed = kpi.fields_for(kind)
    problems = [
        Problem("mapping_unknown_field", {"name": name, "field": f, "kind": kind})
        for f in columns_data if f not in allowed
    ]
    if problems:
        raise ImportRefused(problems)
    specs = tuple(_column(name, field, value, allowed[field].type, defaults)
                  for field, value in columns_data.items())
    mapped = {s.field for s in specs}
    missing = sorted(kpi.REQUIRED_FIELDS[kind] - mapped)
    if missing:
        raise _invalid(name, f"a {kind} mapping must map {', '.join(missing)}")
    skip_rows = _strings(data.get("skip_rows", []) or [""], name, "skip_rows") if data.get("skip_rows") else ()
    for pattern in skip_rows:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _invalid(name, f"skip_rows: {pattern!r} is not a pattern ({exc})") from None
    no_value = _strings(data["no_value"], name, "no_value") if data.get("no_value") else ()
    header_row = data.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise _invalid(name, "header_row must be a whole number from 1")
    return Mapping(
        name=name, kind=kind, text=text, columns=specs,
        title_zh=str(data.get("title_zh", "")), title_en=str(data.get("title_en", "")),
        encoding=str(data.get("encoding", "auto")).lower(),
        sheet=data.get("sheet"), header_row=header_row,
        delimiter=str(data.get("delimiter", ",")), thousands=str(data.get("thousands", ",")),
        decimal=str(data.get("decimal", ".")),
        currency=_strings(data.get("currency", list(DEFAULT_CURRENCY)), name, "currency"),
        skip_rows=skip_rows, no_value=no_value,
    )


def _column(name: str, field: str, value: Any, type_: kpi.FieldType,
            defaults: dict[str, Any]) -> ColumnSpec:
    spec: dict[str, Any] = dict(value) if isinstance(value, dict) else {"column": value}
    unknown = sorted(set(spec) - COLUMN_KEYS)
    if unknown:
        raise _invalid(name, f"columns.{field}: unknown keys {', '.join(unknown)}")
    unit = str(spec.get("unit", defaults["unit"]))
    if unit not in DURATION_UNITS:
        raise _invalid(name, f"columns.{field}: unit must be one of {', '.join(DURATION_UNITS)}")
    percent = str(spec.get("percent", defaults["percent"]))
    if percent not in PERCENT_STYLES:
        raise _invalid(name, f"columns.{field}: percent must be fraction or percent")
    blank = str(spec.get("blank", "missing"))
    if blank not in BLANK_MEANS:
        raise _invalid(name, f"columns.{field}: blank must be missing or zero")
    low, high = spec.get("min"), spec.get("max")
    for bound in (low, high):
        if bound is not None and not isinstance(bound, int | float):
            raise _invalid(name, f"columns.{field}: min and max must be numbers")
    return ColumnSpec(
        field=field,
        names=_strings(spec.get("column"), name, f"columns.{field}.column"),
        type=type_,
        optional=bool(spec.get("optional", False)),
        unit=unit,
        percent=percent,
        true_values=_strings(spec.get("true_values", list(defaults["true_values"])), name, "true_values"),
        false_values=_strings(spec.get("false_values", list(defaults["false_values"])), name, "false_values"),
        take_after=spec.get("take_after"),
        low=None if low is None else float(low),
        high=None if high is None else float(high),
        format=spec.get("format"),
        blank=blank,
    )

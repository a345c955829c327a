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
COLUMN_KEYS = {
    "column",
    "optional",
    "unit",
    "percent",
    "true_values",
    "false_values",
    "take_after",
    "min",
    "max",
    "format",
    "blank",
    "sum_of",
    "weight",
}
BLANK_MEANS = ("missing", "zero")
TOP_KEYS = {
    "name",
    "kind",
    "title_zh",
    "title_en",
    "encoding",
    "sheet",
    "header_row",
    "delimiter",
    "thousands",
    "decimal",
    "currency",
    "true_values",
    "false_values",
    "duration_unit",
    "percent",
    "columns",
    "skip_rows",
    "no_value",
    "rows",
    "weight",
    "indicators",
    "source",
}
ROWS = ("period", "daily")
"""``period``: one row per agent for the whole period; ``daily``: one row per agent per day."""
INDICATOR_UNITS: dict[str, kpi.FieldType] = {
    "%": "ratio",
    "s": "seconds",
    "count": "count",
    "ratio": "number",
    "money": "money",
}
"""A declared indicator's unit → how its cells are read: ``%`` a rate (23.5% or 0.235, stored as
a fraction), ``s`` a duration in seconds, ``count`` a whole number, ``ratio`` a plain number
(答问比),
``money`` an amount in yuan (¥ and thousands separators read)."""
INDICATOR_KEYS = {
    "column",
    "numerator",
    "denominator",
    "unit",
    "combine",
    "weight",
    "optional",
    "percent",
    "duration_unit",
    "title_zh",
    "title_en",
    "min",
    "max",
    "blank",
}
_INDICATOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
NUMERATOR, DENOMINATOR = ":numerator", ":denominator"
_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


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
    weight: str | None = None
    """Daily rows: the field weighting this column's rate or average (else the mapping's)."""


@dataclass(frozen=True)
class Declared:
    """An indicator the mapping declares itself: a platform's own rate, time or count.

    Taken from one ``column`` as it is (combined over daily rows by ``combine``), or from a
    ``numerator`` and a ``denominator`` column (each summed over the rows, then divided).
    """

    id: str
    unit: str
    type: kpi.FieldType
    combine: kpi.Combine
    weight: str | None = None
    numerator: bool = False
    title_zh: str = ""
    title_en: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        """The mapping's column fields that feed it."""
        return (self.id + NUMERATOR, self.id + DENOMINATOR) if self.numerator else (self.id,)


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
    rows: str = "period"
    weight: str | None = None
    """Daily rows: the field (接待量 mapped as answered …) that weights rates and averages."""
    declared: tuple[Declared, ...] = ()
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Fields that are the sum of several columns (``sum_of``): field → its parts' fields."""
    source: str = ""
    """The system the file comes from (``taobao``, ``jd``, ``avaya`` …; the mapping's name when it
    says none): an import finds agents by their aliases of this source first, then by name."""

    def column(self, field: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.field == field), None)

    @property
    def daily(self) -> bool:
        return self.rows == "daily"

    def fields(self) -> list[str]:
        """The kpibot fields the mapping fills (a ``sum_of`` field once, not its parts)."""
        parts = {p for _target, ps in self.sums for p in ps}
        own = {f for d in self.declared for f in d.fields}
        return [c.field for c in self.columns if c.field not in parts | own] + [
            t for t, _p in self.sums
        ]

    def declared_types(self) -> dict[str, kpi.FieldType]:
        return {d.id: d.type for d in self.declared}


def declared_indicators(folder: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Every indicator the mappings in ``folder`` declare → the mappings that declare it
    (what ``scheme check`` counts as importable besides :func:`scoring.kpi.importable`)."""
    found: dict[str, list[str]] = {}
    for name in known_mappings(folder or MAPPINGS_DIR):
        try:
            mapping = load_mapping(name, folder or MAPPINGS_DIR)
        except ImportRefused:
            continue  # a broken mapping declares nothing (import says what is wrong with it)
        for item in mapping.declared:
            found.setdefault(item.id, []).append(mapping.name)
    return {k: tuple(v) for k, v in sorted(found.items())}


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
                [
                    Problem(
                        "mapping_unknown", {"name": name_or_path, "known": known_mappings(folder)}
                    )
                ]
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
        "weight": data.get("weight"),
        "unit": str(data.get("duration_unit", "s")),
        "percent": str(data.get("percent", "fraction")),
        "true_values": _strings(data.get("true_values", list(DEFAULT_TRUE)), name, "true_values"),
        "false_values": _strings(
            data.get("false_values", list(DEFAULT_FALSE)), name, "false_values"
        ),
    }
    columns_data = data.get("columns")
    if not isinstance(columns_data, dict) or not columns_data:
        raise _invalid(name, "a [columns] table is needed")
    allowed = kpi.fields_for(kind)
    problems = [
        Problem("mapping_unknown_field", {"name": name, "field": f, "kind": kind})
        for f in columns_data
        if f not in allowed
    ]
    if problems:
        raise ImportRefused(problems)
    built = [
        _column(name, field, value, allowed[field].type, defaults)
        for field, value in columns_data.items()
    ]
    specs = tuple(part for parts, _target in built for part in parts)
    sums = tuple((target, tuple(p.field for p in parts)) for parts, target in built if target)
    mapped = {s.field for s in specs} | {t for t, _p in sums}
    missing = sorted(kpi.REQUIRED_FIELDS[kind] - mapped)
    if missing:
        raise _invalid(name, f"a {kind} mapping must map {', '.join(missing)}")
    _check_ratings(name, mapped)
    rows = _rows(name, kind, data.get("rows", "period"), mapped)
    weight = data.get("weight")
    if weight is not None and weight not in mapped:
        raise _invalid(name, f"weight = {weight!r} is not a field of [columns]")
    declared, declared_specs = _declared(name, kind, data.get("indicators"), defaults, mapped)
    specs += declared_specs
    if rows == "daily":
        _check_weights(name, specs, declared, weight, mapped)
    skip_rows = _skip_rows(name, data.get("skip_rows"))
    no_value = _strings(data["no_value"], name, "no_value") if data.get("no_value") else ()
    source = _source(name, data)
    header_row = data.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise _invalid(name, "header_row must be a whole number from 1")
    return Mapping(
        name=name,
        kind=kind,
        text=text,
        columns=specs,
        title_zh=str(data.get("title_zh", "")),
        title_en=str(data.get("title_en", "")),
        encoding=str(data.get("encoding", "auto")).lower(),
        sheet=data.get("sheet"),
        header_row=header_row,
        delimiter=str(data.get("delimiter", ",")),
        thousands=str(data.get("thousands", ",")),
        decimal=str(data.get("decimal", ".")),
        currency=_strings(data.get("currency", list(DEFAULT_CURRENCY)), name, "currency"),
        skip_rows=skip_rows,
        no_value=no_value,
        rows=rows,
        weight=weight,
        declared=declared,
        sums=sums,
        source=source,
    )


def _check_ratings(name: str, mapped: set[str]) -> None:
    """The five satisfaction levels or good and bad ratings: never both (one rating, two counts)."""
    if mapped & {"stars_1", "stars_2", "stars_3", "stars_4", "stars_5"} and mapped & {
        "good_ratings",
        "bad_ratings",
    }:
        raise _invalid(
            name,
            "map the five satisfaction levels (stars_1 … stars_5) or good and bad ratings, "
            "not both: each rating would count twice",
        )


def _rows(name: str, kind: str, value: Any, mapped: set[str]) -> str:
    """``rows``: ``period`` or ``daily``; daily rows are a summary's and map the day of each row."""
    rows = str(value)
    if rows not in ROWS:
        raise _invalid(name, f"rows must be one of {', '.join(ROWS)}")
    if rows == "daily" and kind != "summary":
        raise _invalid(
            name, 'rows = "daily" is for summary files (event files list each event already)'
        )
    if rows != "daily" and "date" in mapped:
        raise _invalid(
            name, 'date is the day of a daily row: set rows = "daily" (or map the column as period)'
        )
    if rows == "daily" and "date" not in mapped:
        raise _invalid(name, "a daily mapping must map date (the day each row covers)")
    return rows


def _skip_rows(name: str, value: Any) -> tuple[str, ...]:
    """``skip_rows``: patterns of the agent cells of rows that are not agents, each one checked."""
    patterns = _strings(value, name, "skip_rows") if value else ()
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _invalid(name, f"skip_rows: {pattern!r} is not a pattern ({exc})") from None
    return patterns


def _source(name: str, data: dict[str, Any]) -> str:
    """The system the file comes from; a mapping of its own system is its own source."""
    source = data.get("source", name)
    if "source" in data and (not isinstance(source, str) or not _SOURCE.match(source)):
        raise _invalid(name, "source must be a short lower-case word such as taobao, jd or avaya")
    return str(source)


def _check_weights(
    name: str,
    specs: tuple[ColumnSpec, ...],
    declared: tuple[Declared, ...],
    weight: str | None,
    mapped: set[str],
) -> None:
    """Daily rows: every rate or average taken as it is has a mapped weight to combine it by."""
    for spec in specs:
        if (
            spec.field in kpi.SUMMARY_FIELDS
            and kpi.SUMMARY_FIELDS[spec.field].combine == "weighted"
        ):
            chosen = spec.weight or weight
            if chosen is None:
                raise _invalid(
                    name,
                    f"columns.{spec.field}: daily rows of a rate or an average are combined "
                    "weighted: set weight = the field to weight by (e.g. answered for 接待量)",
                )
            if chosen not in mapped:
                raise _invalid(
                    name, f"columns.{spec.field}: weight = {chosen!r} is not a field of [columns]"
                )
    for item in declared:
        if item.combine == "weighted" and item.weight is None:
            raise _invalid(
                name,
                f'indicators.{item.id}: combine = "weighted" needs weight '
                "(here or at the top of the mapping)",
            )


def _declared(
    name: str, kind: str, table: Any, defaults: dict[str, Any], mapped: set[str]
) -> tuple[tuple[Declared, ...], tuple[ColumnSpec, ...]]:
    """The ``[indicators]`` table: each entry an indicator of the mapping's own, and the columns it
    reads."""
    if table is None:
        return (), ()
    if kind != "summary" or not isinstance(table, dict):
        raise _invalid(name, "[indicators] is a table of tables, in summary mappings")
    items: list[Declared] = []
    specs: list[ColumnSpec] = []
    for ident, value in table.items():
        item, columns = _indicator(name, ident, value, defaults, mapped)
        items.append(item)
        specs += columns
    return tuple(items), tuple(specs)


def _indicator(
    name: str, ident: str, value: Any, defaults: dict[str, Any], mapped: set[str]
) -> tuple[Declared, list[ColumnSpec]]:
    """One entry of ``[indicators]``: the indicator, and the column (or the numerator's and the
    denominator's columns) it reads."""
    where = f"indicators.{ident}"
    _check_indicator_entry(name, where, ident, value)
    unit = value["unit"]
    type_ = INDICATOR_UNITS[unit]
    has_parts = "numerator" in value
    combine = value.get(
        "combine", "sum" if type_ in ("count", "money") or has_parts else "weighted"
    )
    if combine not in kpi.COMBINE_RULES:
        raise _invalid(name, f"{where}: combine must be one of {', '.join(kpi.COMBINE_RULES)}")
    if has_parts and combine != "sum":
        raise _invalid(
            name,
            f"{where}: a numerator and a denominator are summed over the rows, then divided",
        )
    weight = value.get("weight", defaults.get("weight"))
    if weight is not None and weight not in mapped:
        raise _invalid(name, f"{where}: weight = {weight!r} is not a field of [columns]")
    column_keys = {
        k: value[k] for k in ("optional", "percent", "min", "max", "blank") if k in value
    }
    if "duration_unit" in value:
        column_keys["unit"] = value["duration_unit"]
    item = Declared(
        ident,
        str(unit),
        type_,
        combine,
        weight if combine == "weighted" else None,
        has_parts,
        str(value.get("title_zh", "")),
        str(value.get("title_en", "")),
    )
    if not has_parts:
        (spec,), _target = _column(
            name, ident, {**column_keys, "column": value["column"]}, type_, defaults
        )
        return item, [spec]
    part_type: kpi.FieldType = "seconds" if type_ == "seconds" else "number"
    specs = []
    for suffix, key in ((NUMERATOR, "numerator"), (DENOMINATOR, "denominator")):
        (spec,), _target = _column(
            name,
            ident + suffix,
            {**column_keys, "column": value[key]},
            part_type if key == "numerator" else "number",
            defaults,
        )
        specs.append(spec)
    return item, specs


def _check_indicator_entry(name: str, where: str, ident: str, value: Any) -> None:
    """An ``[indicators]`` entry's id, keys and unit, and its column or numerator and
    denominator."""
    if not _INDICATOR_ID.match(ident):
        raise _invalid(name, f"{where}: an indicator id is lower-case letters, digits and _")
    if ident in kpi.SUMMARY_FIELDS:
        raise _invalid(name, f"{where}: {ident} is one of kpibot's own fields: map it in [columns]")
    if not isinstance(value, dict):
        raise _invalid(name, f"{where} must be a table (column, unit, combine …)")
    unknown = sorted(set(value) - INDICATOR_KEYS)
    if unknown:
        raise _invalid(name, f"{where}: unknown keys {', '.join(unknown)}")
    if value.get("unit") not in INDICATOR_UNITS:
        raise _invalid(name, f"{where}: unit must be one of {', '.join(INDICATOR_UNITS)}")
    has_column, has_parts = "column" in value, "numerator" in value or "denominator" in value
    if has_column == has_parts or (
        has_parts and not ("numerator" in value and "denominator" in value)
    ):
        raise _invalid(name, f"{where}: give either column, or numerator and denominator")


def _column(
    name: str, field: str, value: Any, type_: kpi.FieldType, defaults: dict[str, Any]
) -> tuple[tuple[ColumnSpec, ...], str | None]:
    """The column(s) of one field: ``((spec,), None)``, or for ``sum_of`` one spec per part
    (fields ``<field>+1``, ``<field>+2`` …) and the field they add up to."""
    spec: dict[str, Any] = dict(value) if isinstance(value, dict) else {"column": value}
    unknown = sorted(set(spec) - COLUMN_KEYS)
    if unknown:
        raise _invalid(name, f"columns.{field}: unknown keys {', '.join(unknown)}")
    if "sum_of" in spec:
        if "column" in spec:
            raise _invalid(name, f"columns.{field}: give column or sum_of, not both")
        parts = _strings(spec.pop("sum_of"), name, f"columns.{field}.sum_of")
        if type_ not in ("count", "money", "seconds", "minutes", "number"):
            raise _invalid(name, f"columns.{field}: sum_of adds numbers; {field} is not one")
        built = [
            _column(name, f"{field}+{i}", {**spec, "column": part}, type_, defaults)[0][0]
            for i, part in enumerate(parts, start=1)
        ]
        return tuple(built), field
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
    weight = spec.get("weight")
    if weight is not None and not isinstance(weight, str):
        raise _invalid(name, f"columns.{field}: weight names a field")
    return (
        ColumnSpec(
            field=field,
            names=_strings(spec.get("column"), name, f"columns.{field}.column"),
            type=type_,
            optional=bool(spec.get("optional", False)),
            unit=unit,
            percent=percent,
            true_values=_strings(
                spec.get("true_values", list(defaults["true_values"])), name, "true_values"
            ),
            false_values=_strings(
                spec.get("false_values", list(defaults["false_values"])), name, "false_values"
            ),
            take_after=spec.get("take_after"),
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            format=spec.get("format"),
            blank=blank,
            weight=weight,
        ),
    ), None

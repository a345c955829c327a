"""The ``kpibot score`` calculator's input table: one row per agent, checked cell by cell.

:func:`read_score_table` takes the table as a DataFrame of *strings* (the CLI reads the file;
this module does no I/O) and returns :class:`ScoreInputs` for :func:`scoring.total.score_team`,
or raises :class:`TableError` listing every problem, each naming the row (the header is
row 1, as a spreadsheet shows) and the column.

Columns: ``agent`` (required), ``team`` (optional: ranks within each team), one column per
indicator (its ``source`` or id) with raw values (fractions 0–1, a trailing ``%`` is read as
percent; seconds, minutes, yuan, counts, days; manual ratings 0–100), review columns on the
0–100 scale (``self``, ``manager`` or per dimension ``manager.ability``), and optionally
``customer.n1`` … ``customer.n5`` (star counts), ``peer.score``/``peer.count``,
``qa.score``/``qa.count``. An empty cell is a missing value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from scoring.methods import Descriptive
from scoring.scheme import Scheme
from scoring.total import STAR_COLUMNS, ScoreInputs

TABLE_TEMPLATES: dict[str, str] = {
    "empty_table": "The file has no rows.",
    "missing_column": "Column {column} is missing.",
    "missing_review_column": "Column {column} (or one column per rated dimension, such as "
    "{example}) is missing.",
    "not_a_number": "Row {row}, column {column}: {value!r} is not a number.",
    "negative": "Row {row}, column {column}: {value} must not be negative.",
    "not_whole": "Row {row}, column {column}: {value} must be a whole number.",
    "out_of_range": "Row {row}, column {column}: {value} must be between {low} and {high}.",
    "empty_agent": "Row {row}, column agent: the agent is empty.",
    "duplicate_agent": "Row {row}, column agent: {agent} already appears in row {first_row}.",
    "incomplete_group": "Column {column} is missing (the other {group} columns are present).",
}


@dataclass(frozen=True)
class CellProblem:
    """One problem in the input table; ``row`` counts the header as row 1 (0 = the whole file)."""

    code: str
    row: int = 0
    column: str = ""
    params: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def message(self) -> str:
        return TABLE_TEMPLATES[self.code].format(row=self.row, column=self.column, **self.params)


class TableError(ValueError):
    def __init__(self, problems: list[CellProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.message for p in problems))


@dataclass(frozen=True)
class _Rule:
    low: float | None = 0.0
    high: float | None = None
    whole: bool = False
    percent_sign: bool = False


_UNIT_RULES: dict[str, _Rule] = {
    "fraction": _Rule(0.0, 1.0, percent_sign=True),
    "percent": _Rule(0.0, 100.0),
    "count": _Rule(0.0, None, whole=True),
}
_REVIEW = _Rule(0.0, 100.0)
_COUNT = _Rule(0.0, None, whole=True)


def _parse_cell(text: str, rule: _Rule) -> tuple[float, str | None, dict[str, Any]]:
    """(value, problem code, params); NaN for an empty cell."""
    raw = text.strip()
    if raw == "":
        return math.nan, None, {}
    percent = False
    cleaned = raw.replace(",", "").replace("，", "")
    if rule.percent_sign and cleaned.endswith("%"):
        cleaned, percent = cleaned[:-1].strip(), True
    try:
        # Decimal, so "35%" is exactly 0.35 (float: 35 × 0.01 = 0.35000000000000003, the next band)
        exact = Decimal(cleaned)
        value = float(exact.scaleb(-2) if percent else exact)
    except (InvalidOperation, ValueError):
        return math.nan, "not_a_number", {"value": raw}
    if not math.isfinite(value):
        return math.nan, "not_a_number", {"value": raw}
    shown = raw
    if rule.low == 0.0 and value < 0:
        return math.nan, "negative", {"value": shown}
    if rule.whole and not float(value).is_integer():
        return math.nan, "not_whole", {"value": shown}
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        return (
            math.nan,
            "out_of_range",
            {"value": shown, "low": _fmt(rule.low), "high": _fmt(rule.high)},
        )
    return value, None, {}


def _fmt(x: float | None) -> str:
    if x is None:
        return "∞"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# The optional column groups: all of a group's columns or none of them.
_OPTIONAL_GROUPS: dict[str, list[str]] = {
    "customer": [f"customer.{c}" for c in STAR_COLUMNS],
    "peer": ["peer.score", "peer.count"],
    "qa": ["qa.score", "qa.count"],
}


def read_score_table(scheme: Scheme, table: pd.DataFrame) -> ScoreInputs:
    """Check every cell of ``table`` (all strings) and build the calculator's
    :class:`ScoreInputs`."""
    table = table.rename(columns=lambda c: str(c).strip())
    columns = set(table.columns)
    problems = _shape_problems(table, columns)
    rules, indicator_problems = _indicator_rules(scheme, columns)
    review_cols, review_problems = _review_columns(scheme, columns)
    group_rules, group_problems = _optional_group_rules(columns)
    problems += indicator_problems + review_problems + group_problems
    rules.update(group_rules)
    rules.update(dict.fromkeys(review_cols, _REVIEW))
    agents = [str(a).strip() for a in table["agent"]] if "agent" in columns else []
    problems += _agent_problems(agents)
    parsed, cell_problems = _parse_columns(table, rules)
    problems += cell_problems
    if problems:
        order = {c: i for i, c in enumerate(table.columns)}
        problems.sort(key=lambda p: (p.row, order.get(p.column, -1)))
        raise TableError(problems)
    return _score_inputs(scheme, table, agents, parsed, review_cols)


def _shape_problems(table: pd.DataFrame, columns: set[str]) -> list[CellProblem]:
    """The table has an ``agent`` column and at least one row."""
    problems: list[CellProblem] = []
    if "agent" not in columns:
        problems.append(CellProblem("missing_column", column="agent"))
    if table.empty:
        problems.append(CellProblem("empty_table"))
    return problems


def _indicator_rules(
    scheme: Scheme, columns: set[str]
) -> tuple[dict[str, _Rule], list[CellProblem]]:
    """Each indicator's column is present and read by its unit's rule (a descriptive
    indicator's by its level numbers, 1 = the first level listed)."""
    rules: dict[str, _Rule] = {}
    problems: list[CellProblem] = []
    for ind in scheme.indicators:
        if ind.column in rules:
            continue
        if isinstance(ind.method, Descriptive):
            rules[ind.column] = _Rule(1.0, float(len(ind.method.levels)), whole=True)
        else:
            rules[ind.column] = _UNIT_RULES.get(ind.unit, _Rule())
        if ind.column not in columns:
            problems.append(CellProblem("missing_column", column=ind.column))
    return rules, problems


def _review_columns(scheme: Scheme, columns: set[str]) -> tuple[list[str], list[CellProblem]]:
    """Each self or manager review has its overall column or one column per rated dimension."""
    review_cols: list[str] = []
    problems: list[CellProblem] = []
    for comp in scheme.components:
        if comp.kind not in ("self", "manager"):
            continue
        dims = [f"{comp.id}.{d.id}" for d in comp.rated_dimensions]
        present = [c for c in dims if c in columns]
        if comp.id in columns:
            review_cols.append(comp.id)
        elif len(present) < len(dims):
            problems += _missing_review_columns(comp.id, dims, present)
        review_cols += present
    return review_cols, problems


def _missing_review_columns(
    component: str, dims: list[str], present: list[str]
) -> list[CellProblem]:
    """Some dimensions present: the others are missing; none: the review's column is."""
    if present:
        return [CellProblem("missing_column", column=c) for c in dims if c not in present]
    return [CellProblem("missing_review_column", column=component, params={"example": dims[0]})]


def _optional_group_rules(columns: set[str]) -> tuple[dict[str, _Rule], list[CellProblem]]:
    """An optional group is complete when present; its scores are 0–100, its counts whole."""
    rules: dict[str, _Rule] = {}
    problems: list[CellProblem] = []
    for group, cols in _OPTIONAL_GROUPS.items():
        present = [c for c in cols if c in columns]
        if present and len(present) < len(cols):
            problems += [
                CellProblem("incomplete_group", column=c, params={"group": group})
                for c in cols
                if c not in columns
            ]
        for c in present:
            rules[c] = _REVIEW if c.endswith(".score") else _COUNT
    return rules, problems


def _agent_problems(agents: list[str]) -> list[CellProblem]:
    """Every row names an agent, each agent once."""
    problems: list[CellProblem] = []
    first_row: dict[str, int] = {}
    for i, agent in enumerate(agents):
        row = i + 2
        if not agent:
            problems.append(CellProblem("empty_agent", row=row, column="agent"))
        elif agent in first_row:
            params = {"agent": agent, "first_row": first_row[agent]}
            problems.append(CellProblem("duplicate_agent", row=row, column="agent", params=params))
        else:
            first_row[agent] = row
    return problems


def _parse_columns(
    table: pd.DataFrame, rules: dict[str, _Rule]
) -> tuple[dict[str, list[float]], list[CellProblem]]:
    """Every cell of a present column read by its column's rule."""
    parsed: dict[str, list[float]] = {}
    problems: list[CellProblem] = []
    for col, rule in rules.items():
        if col not in table.columns:
            continue
        out: list[float] = []
        for i, cell in enumerate(table[col]):
            value, code, params = _parse_cell("" if cell is None else str(cell), rule)
            if code is not None:
                problems.append(CellProblem(code, row=i + 2, column=col, params=params))
            out.append(value)
        parsed[col] = out
    return parsed, problems


def _score_inputs(
    scheme: Scheme,
    table: pd.DataFrame,
    agents: list[str],
    parsed: dict[str, list[float]],
    review_cols: list[str],
) -> ScoreInputs:
    """The checked values as the calculator's frames, one row per agent."""
    index = pd.Index(agents, dtype=object, name="agent")

    def frame(cols: list[str], rename: dict[str, str] | None = None) -> pd.DataFrame | None:
        have = [c for c in cols if c in parsed]
        if not have:
            return None
        data = {(rename or {}).get(c, c): np.array(parsed[c], dtype=float) for c in have}
        return pd.DataFrame(data, index=index)

    indicator_cols = list(dict.fromkeys(ind.column for ind in scheme.indicators))
    teams = None
    if "team" in table.columns:
        names = [str(t).strip() for t in table["team"]]
        teams = pd.Series([t if t else None for t in names], index=index, dtype=object)
    groups = _OPTIONAL_GROUPS
    return ScoreInputs(
        values=frame(indicator_cols),
        reviews=frame(review_cols),
        review_scale=100,
        customer=frame(groups["customer"], {f"customer.{c}": c for c in STAR_COLUMNS}),
        peer=frame(groups["peer"], {"peer.score": "score", "peer.count": "count"}),
        qa=frame(groups["qa"], {"qa.score": "score", "qa.count": "count"}),
        teams=teams,
        agents=tuple(agents),
    )

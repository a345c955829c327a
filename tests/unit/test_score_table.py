"""scoring.table.read_score_table on its own: which problems a table has, in what order, and
the frames a clean table becomes (the calculator end to end is tests/unit/test_score_cli.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from scoring.scheme_parser import parse_scheme
from scoring.table import TableError, read_score_table

ROOT = Path(__file__).resolve().parents[2]
SCHEME = parse_scheme((ROOT / "schemes/online_shop.toml").read_text(encoding="utf-8"))
INDICATORS = {ind.column: "" for ind in SCHEME.indicators}


def table(*rows: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), dtype=str)


def problems(frame: pd.DataFrame) -> list[str]:
    with pytest.raises(TableError) as caught:
        read_score_table(SCHEME, frame)
    return [p.message for p in caught.value.problems]


def test_problems_are_listed_by_row_then_by_the_files_column_order() -> None:
    row = {"agent": "a", **INDICATORS, "self": "101", "manager": "80"}
    frame = table(
        {**row, "conversion_rate": "x"},
        {**row, "agent": "", "self": "50", "avg_response_s": "-1"},
        {**row, "self": "50"},
    ).drop(columns=["churn_rate"])
    assert problems(frame) == [
        "Column churn_rate is missing.",
        "Row 2, column conversion_rate: 'x' is not a number.",
        "Row 2, column self: 101 must be between 0 and 100.",
        "Row 3, column agent: the agent is empty.",
        "Row 3, column avg_response_s: -1 must not be negative.",
        "Row 4, column agent: a already appears in row 2.",
    ]


def test_a_review_given_per_dimension_must_have_every_rated_dimension() -> None:
    frame = table({"agent": "a", **INDICATORS, "self": "80", "manager.ability": "70"})
    assert problems(frame) == [
        "Column manager.collaboration is missing.",
        "Column manager.service is missing.",
    ]


def test_an_optional_group_is_all_its_columns_or_none() -> None:
    row = {"agent": "a", **INDICATORS, "self": "80", "manager": "80"}
    frame = table({**row, "customer.n1": "1", "customer.n5": "2", "peer.score": "90"})
    assert problems(frame) == [
        "Column customer.n2 is missing (the other customer columns are present).",
        "Column customer.n3 is missing (the other customer columns are present).",
        "Column customer.n4 is missing (the other customer columns are present).",
        "Column peer.count is missing (the other peer columns are present).",
    ]


def test_an_empty_file_without_an_agent_column_says_both() -> None:
    assert problems(pd.DataFrame({"team": pd.Series([], dtype=str)}))[:2] == [
        "Column agent is missing.",
        "The file has no rows.",
    ]


def test_a_clean_table_becomes_one_frame_per_kind_of_input_indexed_by_agent() -> None:
    stars = {f"customer.n{i}": str(i) for i in range(1, 6)}
    dims = {"manager.ability": "70", "manager.collaboration": "80", "manager.service": "90"}
    row = {"agent": "a", "team": "east", **INDICATORS, "self": "60", **dims, **stars}
    frame = table(
        {**row, "conversion_rate": "35%", "qa.score": "88", "qa.count": "3"},
        {**row, "agent": " b ", "team": " ", "qa.score": "", "qa.count": ""},
    )
    inputs = read_score_table(SCHEME, frame)
    assert inputs.agents == ("a", "b")
    assert inputs.values is not None and inputs.values.loc["a", "conversion_rate"] == 0.35
    assert math.isnan(inputs.values.loc["b", "conversion_rate"])
    assert inputs.reviews is not None
    assert list(inputs.reviews.columns) == ["self", *dims]
    assert inputs.customer is not None
    assert list(inputs.customer.columns) == ["n1", "n2", "n3", "n4", "n5"]
    assert inputs.customer.loc["b", "n5"] == 5
    assert inputs.peer is None
    assert inputs.qa is not None and inputs.qa.loc["a", "score"] == 88
    assert inputs.teams is not None and inputs.teams.to_dict() == {"a": "east", "b": None}

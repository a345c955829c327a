"""The hiring-cycle example scheme scores and ranks a small team."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, score_team

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 3)


@pytest.fixture(scope="module")
def hiring():
    return parse_scheme((ROOT / "schemes/examples/hiring_cycle.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("days", "points"), [(20, 15), (25, 15), (27, 10), (30, 10), (31, 0)])
def test_hiring_cycle_bands_give_the_seed_points(hiring, days, points):
    values = pd.DataFrame({"hiring_cycle": [days], "offer_acceptance": [0.9]}, index=["a"])
    result = score_team(hiring, ScoreInputs(values=values), as_of=AS_OF).agent("a")
    assert result.indicator("hiring_cycle").points == points
    assert result.total == pytest.approx(points + 85)


def test_equal_totals_share_a_rank_and_the_next_rank_is_skipped(hiring):
    values = pd.DataFrame(
        {"hiring_cycle": [20, 27, 28, 31], "offer_acceptance": [0.9, 0.9, 0.9, 0.9]},
        index=["a", "b", "c", "d"],
    )
    result = score_team(hiring, ScoreInputs(values=values), as_of=AS_OF)
    assert [r.rank for r in result.results] == [1, 2, 2, 4]
    assert [r.agent for r in result.results] == ["a", "b", "c", "d"]


def test_a_missing_worst_value_scores_the_worst_band_and_says_so(hiring):
    values = pd.DataFrame({"hiring_cycle": [np.nan], "offer_acceptance": [0.9]}, index=["a"])
    ind = (
        score_team(hiring, ScoreInputs(values=values), as_of=AS_OF)
        .agent("a")
        .indicator("hiring_cycle")
    )
    assert ind.points == 0
    assert ind.status == "worst"
    assert ind.detail["reason"] == "missing"

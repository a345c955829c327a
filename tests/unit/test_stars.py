"""Star levels (星级, seed 003: "星级越高的座席代表则奖金的基数越高"): one rule in scoring/, and
each level's bonus base carried by the result (issue 14 item 9)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, score_team

SCHEME = """
id = "stars"
[name]
zh = "星级"
en = "Stars"
[[components]]
kind = "self"
weight = 100
dimensions = [{ id = "task", weight = 100, name = { zh = "任务", en = "Task" } }]
[apply]
stars = [
  { level = 5, min_total = 90, bonus_base = "800" },
  { level = 4, min_total = 80, bonus_base = "600" },
  { level = 3, min_total = 0 },
]
"""


@pytest.mark.parametrize(
    ("score", "star", "base"),
    [
        (95, 5, Decimal("800")),
        (89.96, 5, Decimal("800")),  # 89.96 shows 90.0: the rounded total decides
        (80, 4, Decimal("600")),
        (79.9, 3, None),
    ],
)
def test_the_star_is_the_highest_level_the_rounded_total_reaches_with_its_bonus_base(
    score, star, base
):
    reviews = pd.DataFrame({"self": [score, 10]}, index=["a", "z"])
    a = score_team(
        parse_scheme(SCHEME),
        ScoreInputs(reviews=reviews, review_scale=100),
        as_of=date(2026, 11, 3),
    ).agent("a")
    assert (a.flags.star, a.flags.bonus_base) == (star, base)
    assert a.to_dict()["flags"]["bonus_base"] == (None if base is None else str(base))

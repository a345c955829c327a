"""Required parts and provisional results (issue 14 item 1), from seed 004's wording.

Seed 004 scores an online-shop agent 30 % on her own review of task completion and 70 % on
the shop manager's review, whose *performance* dimension is the indicator table. A self-review
alone is not that result: the shipped schemes mark the manager review and the indicator table
``missing = "block"``; a result missing either is *provisional* — it says what is missing and
is never ranked against complete results, rewarded or penalised (004: rank 1 gets 100 yuan,
the last loses 100 yuan of commission).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.scheme import SchemeError
from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, score_team

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 3)
SHOP_VALUES = {
    "conversion_rate": 0.45,
    "avg_response_s": 40,
    "churn_rate": 0.05,
    "order_amount": 200000,
    "valid_order_share": 0.97,
    "payment_ratio": 0.9,
    "refund_ratio": 0.02,
    "avg_order_value": 300,
    "complaint_share": 0.005,
    "abnormal_order_share": 0.01,
    "report_timeliness": 100,
    "report_accuracy": 100,
    "report_quality": 100,
}
MANAGER = {"manager.ability": 4, "manager.collaboration": 4, "manager.service": 4}


def shipped(name: str):
    return parse_scheme((ROOT / "schemes" / f"{name}.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shop():
    return shipped("online_shop")


def _team(rows: dict[str, dict[str, float]]) -> ScoreInputs:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    value_cols = [c for c in frame.columns if "." not in c]
    review_cols = [c for c in frame.columns if "." in c]
    return ScoreInputs(
        values=frame[value_cols] if value_cols else None,
        reviews=frame[review_cols] if review_cols else None,
    )


def test_a_self_review_alone_is_provisional_and_never_rewarded(shop):
    # 004: the agent who rated herself 5 with no manager review and no data is not rank 1.
    inputs = _team(
        {
            "her": {"self.task_completion": 5},
            "b": {**SHOP_VALUES, **MANAGER, "self.task_completion": 3},
            "c": {**SHOP_VALUES, "conversion_rate": 0.2, **MANAGER, "self.task_completion": 3},
        }
    )
    result = score_team(shop, inputs, as_of=AS_OF)
    her = result.agent("her")
    assert her.provisional is True
    assert set(her.missing) == {"manager", "manager.performance"}
    assert her.rank is None
    assert not her.flags.reward and her.flags.reward_amount is None
    assert not her.flags.penalty and not her.flags.last and her.flags.improvement_due is None
    assert result.agent("b").rank == 1 and result.agent("b").flags.reward
    assert result.agent("c").rank == 2 and result.agent("c").flags.penalty
    assert [r.agent for r in result.results][-1] == "her"  # shown after the ranked results


def test_a_provisional_result_is_not_ranked_against_complete_ones_nor_counted_in_the_group(shop):
    inputs = _team(
        {
            "a": {**SHOP_VALUES, **MANAGER, "self.task_completion": 4},
            "b": {**SHOP_VALUES, "self.task_completion": 5},  # data but no manager review
        }
    )
    result = score_team(shop, inputs, as_of=AS_OF)
    a, b = result.agent("a"), result.agent("b")
    assert (a.rank, a.group_size, a.provisional, a.missing) == (1, 1, False, ())
    assert (b.rank, b.provisional, b.missing) == (None, True, ("manager",))
    assert b.total is not None  # what she has so far is still shown, marked provisional
    assert b.to_dict()["provisional"] is True and b.to_dict()["missing"] == ["manager"]


def test_a_manager_review_without_indicator_data_is_provisional(shop):
    result = score_team(shop, _team({"a": {**MANAGER, "self.task_completion": 4}}), as_of=AS_OF)
    assert result.agent("a").missing == ("manager.performance",)
    assert result.agent("a").rank is None


def test_a_provisional_agent_gets_no_star_and_no_post_change():
    scheme = shipped("call_centre")
    values = pd.DataFrame({"answer_rate": [np.nan]}, index=["a"])
    customer = pd.DataFrame(
        {f"n{k}": [0, 0, 0, 0, 12][k - 1 : k] for k in range(1, 6)}, index=["a"]
    )
    history = pd.DataFrame({"2026-08": [True], "2026-09": [True]}, index=["a"])
    result = score_team(
        scheme, ScoreInputs(values=values, customer=customer, history=history), as_of=AS_OF
    )
    a = result.agent("a")
    assert a.provisional and a.missing == ("kpi",)
    assert a.flags.star is None and not a.flags.post_change and not a.flags.last


@pytest.mark.parametrize("name", ["online_shop", "after_sales", "call_centre"])
def test_the_shipped_schemes_require_the_indicator_table(name):
    scheme = shipped(name)
    assert any(p in scheme.required_parts for p in ("kpi", "manager.performance"))


@pytest.mark.parametrize("name", ["online_shop", "after_sales"])
def test_the_shipped_schemes_with_a_manager_require_the_manager_review(name):
    assert "manager" in shipped(name).required_parts


SMALL = """
id = "small"
[name]
zh = "小"
en = "Small"
[[components]]
kind = "self"
weight = 40
dimensions = [{{ id = "task", weight = 100, name = {{ zh = "任务", en = "Task" }} }}]
[[components]]
kind = "manager"
weight = 60
missing = "{rule}"
dimensions = [{{ id = "ability", weight = 100, name = {{ zh = "能力", en = "Ability" }} }}]
"""


@pytest.mark.parametrize(
    ("rule", "total", "provisional", "status"),
    [
        ("exclude", 100.0, False, "excluded"),  # the self-review's 40 spread to 100 %
        ("zero", 40.0, False, "worst"),  # the manager counts 0 of its 60
        ("block", 100.0, True, "excluded"),  # left out, and the result is provisional
    ],
)
def test_each_component_says_what_missing_means(rule, total, provisional, status):
    scheme = parse_scheme(SMALL.format(rule=rule))
    reviews = pd.DataFrame({"self.task": [5, 5], "manager.ability": [np.nan, 3]}, index=["a", "b"])
    result = score_team(scheme, ScoreInputs(reviews=reviews), as_of=AS_OF)
    a = result.agent("a")
    assert a.total == pytest.approx(total)
    assert a.provisional is provisional
    assert a.component("manager").status == status
    assert (a.rank is None) is provisional


def test_missing_worst_on_a_component_is_read_as_zero():
    assert parse_scheme(SMALL.format(rule="worst")).component("manager").missing == "zero"


def test_an_unknown_missing_rule_is_refused_naming_the_choices():
    with pytest.raises(SchemeError) as err:
        parse_scheme(SMALL.format(rule="skip"))
    (problem,) = err.value.problems
    assert (problem.where, problem.field, problem.code) == ("manager", "missing", "bad_choice")
    assert "block" in problem.params["choices"]


def test_a_required_part_is_named_in_both_languages(shop):
    assert shop.part_name("manager", "zh") == "店长考核"
    assert shop.part_name("manager", "en") == "Manager review"
    assert shop.part_name("manager.performance", "zh") == "工作绩效"
    assert shop.part_name("manager.performance", "en") == "Performance"


def test_every_indicator_says_who_provides_it(shop):
    assert shop.indicator("conversion_rate").provider == "import"
    assert shop.indicator("report_timeliness").provider == "manager"  # 004: rated by the manager
    assert {i.provider for i in shop.indicators} <= {"import", "manager", "qa", "survey", "admin"}

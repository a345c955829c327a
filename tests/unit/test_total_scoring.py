"""score_team: components, weights, missing data, ranking, apply-rule flags and the what-if
helper."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, peer_summary, rescore_with, scale_review, score_team

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 3)
nan = np.nan


def shipped(name: str):
    return parse_scheme((ROOT / f"schemes/{name}.toml").read_text(encoding="utf-8"))


ONLINE = shipped("online_shop")
AFTER = shipped("after_sales")
CALLS = shipped("call_centre")

# Every online-shop indicator at its best: the KPI table scores 100.
ONLINE_BEST = {
    "conversion_rate": 0.6,
    "avg_response_s": 20,
    "churn_rate": 0.02,
    "order_amount": 250000,
    "valid_order_share": 0.99,
    "payment_ratio": 0.9,
    "refund_ratio": 0.01,
    "avg_order_value": 350,
    "complaint_share": 0.0,
    "abnormal_order_share": 0.0,
    "report_timeliness": 100,
    "report_accuracy": 100,
    "report_quality": 100,
}


def two_part(kpi_weight: float = 50, extra: str = "") -> str:
    """A small scheme: one 100-point ratio indicator (value = its points) and a one-dimension self
    review."""
    return f"""
id = "two_part"
name = {{ zh = "两部分", en = "Two parts" }}
[[components]]
kind = "kpi"
weight = {kpi_weight}
[[components]]
kind = "self"
weight = {100 - kpi_weight}
dimensions = [ {{ id = "task", weight = 100, name = {{ zh = "任务", en = "Task" }} }} ]
[[indicators]]
id = "x"
name = {{ zh = "甲", en = "X" }}
unit = "points"
better = "higher"
points = 100
method = "ratio"
params.target = 100
{extra}
"""


def frame(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")


def test_online_shop_total_is_30_percent_self_and_70_percent_manager_with_the_kpi_table() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST}),
        reviews=frame(
            {
                "a": {
                    "self": 80,
                    "manager.ability": 60,
                    "manager.collaboration": 70,
                    "manager.service": 90,
                }
            }
        ),
        review_scale=100,
    )
    r = score_team(ONLINE, inputs, as_of=AS_OF).agent("a")
    assert r.kpi == pytest.approx(100)
    manager = 0.4 * 100 + 0.2 * 60 + 0.2 * 70 + 0.2 * 90
    assert r.component("manager").points == pytest.approx(manager)
    assert r.total == pytest.approx(0.3 * 80 + 0.7 * manager)
    assert r.component("self").contribution == pytest.approx(24)


def test_stored_1_to_5_answers_become_0_to_100() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST}),
        reviews=frame(
            {
                "a": {
                    "self.task_completion": 5,
                    "manager.ability": 3,
                    "manager.collaboration": 4,
                    "manager.service": 1,
                }
            }
        ),
    )
    r = score_team(ONLINE, inputs, as_of=AS_OF).agent("a")
    assert r.component("self").points == pytest.approx(100)
    assert r.component("manager").points == pytest.approx(0.4 * 100 + 0.2 * 50 + 0.2 * 75 + 0.2 * 0)
    assert scale_review(4) == 75 and scale_review(6) is None and scale_review(55, 100) == 55


def test_a_missing_excluded_indicator_is_left_out_and_the_table_rescaled() -> None:
    scheme = parse_scheme((ROOT / "schemes/examples/hiring_cycle.toml").read_text(encoding="utf-8"))
    values = frame({"a": {"hiring_cycle": 27, "offer_acceptance": nan}})
    r = score_team(scheme, ScoreInputs(values=values), as_of=AS_OF).agent("a")
    offer = r.indicator("offer_acceptance")
    assert (offer.status, offer.points, offer.detail) == ("excluded", None, {"reason": "missing"})
    assert r.kpi == pytest.approx(10 / 15 * 100)
    assert r.component("kpi").detail["excluded_indicators"] == 1


def test_a_missing_review_component_is_excluded_and_the_other_weights_rescaled() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST}), reviews=frame({"a": {"manager": 50}}), review_scale=100
    )
    r = score_team(ONLINE, inputs, as_of=AS_OF).agent("a")
    assert r.component("self").status == "excluded"
    assert r.component("self").weight == 0
    assert r.component("manager").weight == pytest.approx(100)
    assert r.total == pytest.approx(0.4 * 100 + 0.6 * 50)


def test_a_manager_review_with_only_the_computed_dimension_is_not_a_review() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST}), reviews=frame({"a": {"self": 70}}), review_scale=100
    )
    r = score_team(ONLINE, inputs, as_of=AS_OF).agent("a")
    assert r.component("manager").status == "excluded"
    assert r.total == pytest.approx(70)


def test_an_agent_with_no_data_at_all_has_no_total_and_no_rank() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST, "b": dict.fromkeys(ONLINE_BEST, nan)}),
        reviews=frame({"a": {"self": 70}}),
        review_scale=100,
    )
    r = score_team(ONLINE, inputs, as_of=AS_OF).agent("b")
    assert (r.total, r.rank) == (None, None)
    assert r.flags.penalty is False


def customer_scheme(csat: str, below: str = 'below_min = "exclude"') -> str:
    return (
        two_part(50).replace(
            'weight = 50\n[[components]]\nkind = "self"',
            'weight = 40\n[[components]]\nkind = "self"',
            1,
        )
        + f'\n[[components]]\nkind = "customer"\nweight = 10\ncsat = "{csat}"\nmin_responses = '
        f"5\n{below}\n"
    )


@pytest.mark.parametrize(
    ("csat", "expected"),
    [("share_4_5", 100 * 7 / 10), ("mean", ((1 * 1 + 3 * 2 + 4 * 2 + 5 * 5) / 10 - 1) / 4 * 100)],
)
def test_customer_satisfaction_is_the_4_and_5_star_share_or_the_mean(
    csat: str, expected: float
) -> None:
    scheme = parse_scheme(customer_scheme(csat))
    stars = frame({"a": {"n1": 1, "n2": 0, "n3": 2, "n4": 2, "n5": 5}})
    r = score_team(
        scheme, ScoreInputs(values=frame({"a": {"x": 50}}), customer=stars), as_of=AS_OF
    ).agent("a")
    assert r.component("customer").points == pytest.approx(expected)
    assert r.component("customer").detail["count"] == 10


def test_too_few_customer_ratings_are_excluded_or_take_the_default() -> None:
    stars = frame({"a": {"n1": 0, "n2": 0, "n3": 0, "n4": 1, "n5": 2}})
    inputs = ScoreInputs(values=frame({"a": {"x": 50}}), customer=stars)
    excluded = score_team(parse_scheme(customer_scheme("share_4_5")), inputs, as_of=AS_OF).agent(
        "a"
    )
    assert excluded.component("customer").status == "below_min_excluded"
    assert excluded.component("customer").weight == 0
    default = parse_scheme(customer_scheme("share_4_5", 'below_min = "default"\ndefault = 60'))
    with_default = score_team(default, inputs, as_of=AS_OF).agent("a")
    assert with_default.component("customer").status == "below_min_default"
    assert with_default.component("customer").points == 60


def test_fewer_than_three_peer_raters_is_not_enough_ratings() -> None:
    text = (
        two_part(40).replace("weight = 60", "weight = 40", 1)
        + '\n[[components]]\nkind = "peer"\nweight = 20\n'
    )
    scheme = parse_scheme(text)
    answers = pd.DataFrame(
        {"help": [5, 4, 5, 3, 4], "attitude": [5, 4, 3, 3, nan]}, index=["a", "a", "b", "b", "b"]
    )
    peer = peer_summary(answers)
    assert peer.loc["a", "count"] == 2 and peer.loc["b", "count"] == 3
    assert peer.loc["b", "score"] == pytest.approx(np.mean([75, 50, 75]))
    result = score_team(
        scheme, ScoreInputs(values=frame({"a": {"x": 50}, "b": {"x": 50}}), peer=peer), as_of=AS_OF
    )
    assert result.agent("a").component("peer").status == "below_min_excluded"
    assert result.agent("b").component("peer").status == "ok"


def test_quality_sampling_below_its_minimum_is_left_out() -> None:
    qa = frame({"a": {"score": 90, "count": 2}, "b": {"score": 90, "count": 3}})
    result = score_team(CALLS, ScoreInputs(values=frame({"a": {}, "b": {}}), qa=qa), as_of=AS_OF)
    assert result.agent("a").component("qa").status == "below_min_excluded"
    assert result.agent("b").component("qa").points == 90


def after_sales_values(refund_rate: float) -> pd.DataFrame:
    row = {
        "refund_rate": refund_rate,
        "refund_time_min": 100,
        "disputes": 0,
        "dsr_rating": 4.9,
        "internal_complaints": 0,
        "first_response_s": 15,
        "resolution_rate": 0.95,
        "innovation": 2,
    }
    return frame({"a": row, "b": row | {"refund_rate": 0.01}})


def test_one_missed_team_target_voids_the_team_bonus_for_everyone() -> None:
    met = score_team(
        AFTER, ScoreInputs(values=after_sales_values(0.03)), as_of=AS_OF
    )  # team mean 0.02
    missed = score_team(
        AFTER, ScoreInputs(values=after_sales_values(0.11)), as_of=AS_OF
    )  # team mean 0.06
    for agent in ("a", "b"):
        assert met.agent(agent).component("team").status == "ok"
        team = missed.agent(agent).component("team")
        assert (team.status, team.points) == ("voided", 0)
        assert team.detail["voided_by"] == "team_refund_gate"
    assert missed.agent("b").total < met.agent("b").total


def test_the_call_centre_team_share_is_the_teams_own_score_on_its_indicators() -> None:
    values = frame(
        {
            "a": {"answer_rate": 0.99, "avg_wait_s": 10, "resolution_rate": 0.9},
            "b": {"answer_rate": 0.80, "avg_wait_s": 40, "resolution_rate": 0.5},
        }
    )
    team_values = frame({"t1": {"answer_rate": 0.92, "avg_wait_s": 20, "resolution_rate": 0.85}})
    teams = pd.Series({"a": "t1", "b": "t1"})
    result = score_team(
        CALLS, ScoreInputs(values=values, teams=teams, team_values=team_values), as_of=AS_OF
    )
    expected = 100 * (7 + 10 + 15) / (10 + 10 + 15)
    for agent in ("a", "b"):
        team = result.agent(agent).component("team")
        assert team.points == pytest.approx(expected)
        assert team.detail["indicators"]["answer_rate"]["points"] == 7
        # no qa samples (left out, its 20 spread over the individual part); the team keeps 20 %
        # (003)
        assert team.weight == pytest.approx(20)


def test_without_team_values_the_team_share_uses_the_teams_mean() -> None:
    values = frame(
        {
            "a": {"answer_rate": 0.96, "avg_wait_s": 10, "resolution_rate": 0.9},
            "b": {"answer_rate": 0.88, "avg_wait_s": 30, "resolution_rate": 0.7},
        }
    )
    team = score_team(CALLS, ScoreInputs(values=values), as_of=AS_OF).agent("a").component("team")
    assert team.detail["indicators"]["answer_rate"]["value"] == pytest.approx(0.92)


def test_ties_share_a_rank_and_are_ordered_by_kpi_then_manager_then_agent_id() -> None:
    scheme = parse_scheme(two_part(50))
    values = frame({"b": {"x": 60}, "a": {"x": 80}, "c": {"x": 60}, "d": {"x": 10}})
    reviews = frame({"b": {"self": 80}, "a": {"self": 60}, "c": {"self": 80}, "d": {"self": 10}})
    result = score_team(
        scheme, ScoreInputs(values=values, reviews=reviews, review_scale=100), as_of=AS_OF
    )
    assert [(r.agent, r.rank) for r in result.results] == [("a", 1), ("b", 1), ("c", 1), ("d", 4)]


def test_ranks_are_within_each_team_when_teams_are_given() -> None:
    scheme = parse_scheme(two_part(100 - 0.0).replace("weight = 0.0\n", "weight = 0\n"))
    values = frame({"a": {"x": 90}, "b": {"x": 80}, "c": {"x": 70}, "d": {"x": 60}})
    teams = pd.Series({"a": "t1", "b": "t2", "c": "t1", "d": "t2"})
    result = score_team(scheme, ScoreInputs(values=values, teams=teams), as_of=AS_OF)
    assert {r.agent: (r.team, r.rank, r.group_size) for r in result.results} == {
        "a": ("t1", 1, 2),
        "c": ("t1", 2, 2),
        "b": ("t2", 1, 2),
        "d": ("t2", 2, 2),
    }


def ranked_team(extra: str = "", history: pd.DataFrame | None = None):
    scheme = parse_scheme(two_part(100).replace("weight = 0\n", "weight = 0\n") + extra)
    values = frame({f"a{i}": {"x": 100 - 10 * i} for i in range(5)})
    return score_team(scheme, ScoreInputs(values=values, history=history), as_of=AS_OF)


APPLY = '\n[apply]\nreward = "100"\npenalty = "50.50"\nimprovement_last = 2\nimprovement_days = 7\n'


def test_rank_one_is_rewarded_and_the_last_penalised_in_exact_money() -> None:
    result = ranked_team(APPLY)
    first, last = result.agent("a0").flags, result.agent("a4").flags
    assert (first.reward, first.reward_amount) == (True, Decimal("100"))
    assert (last.penalty, last.penalty_amount, last.last) == (True, Decimal("50.50"), True)
    assert last.to_dict()["penalty_amount"] == "50.50"
    assert not any(result.agent(a).flags.penalty for a in ("a0", "a1", "a2", "a3"))


def test_the_last_two_owe_an_improvement_plan_within_seven_days_of_publication() -> None:
    result = ranked_team(APPLY)
    due = {r.agent: r.flags.improvement_due for r in result.results}
    assert due == {
        "a0": None,
        "a1": None,
        "a2": None,
        "a3": AS_OF + timedelta(days=7),
        "a4": AS_OF + timedelta(days=7),
    }


def test_without_amounts_in_the_scheme_there_is_no_reward_or_penalty() -> None:
    result = ranked_team()
    assert not result.agent("a0").flags.reward and not result.agent("a4").flags.penalty
    assert result.agent("a4").flags.last


def test_when_everyone_ties_nobody_is_last() -> None:
    scheme = parse_scheme(two_part(100) + APPLY)
    values = frame({f"a{i}": {"x": 70} for i in range(3)})
    result = score_team(scheme, ScoreInputs(values=values), as_of=AS_OF)
    assert all(
        r.rank == 1 and r.flags.reward and not r.flags.last and not r.flags.improvement_due
        for r in result.results
    )


@pytest.mark.parametrize(
    ("past", "flagged"),
    [
        ([True, True], True),
        ([False, True], False),
        ([True, False], False),
        ([True], False),
        ([True, True, False, True, True], True),
    ],
)
def test_a_third_last_place_in_a_row_flags_a_change_of_post(
    past: list[bool], flagged: bool
) -> None:
    history = pd.DataFrame([past], index=["a4"], columns=[f"p{i}" for i in range(len(past))])
    assert ranked_team(APPLY, history).agent("a4").flags.post_change is flagged


@pytest.mark.parametrize(
    ("past", "flagged"),
    [
        ([True, None, True], True),
        ([True, True, None], True),
        ([None, True], False),
        ([None, None, True, True], True),
        ([True, None, False, True], False),
        ([None, None], False),
    ],
)
def test_a_provisional_month_neither_counts_as_last_nor_breaks_the_run(
    past: list[bool | None], flagged: bool
) -> None:
    """DOMAIN: last place three months in a row → change of post. A provisional month was never
    ranked (issue 14 item 1: a self-review alone must not break the streak), so the run is read
    from the ranked months."""
    history = pd.DataFrame(
        [past], index=["a4"], columns=[f"p{i}" for i in range(len(past))], dtype=object
    )
    assert ranked_team(APPLY, history).agent("a4").flags.post_change is flagged


def test_star_levels_follow_the_total() -> None:
    scheme = parse_scheme(
        two_part(100) + "\n[apply]\nstars = [ { level = 2, min_total = 80 }, "
        "{ level = 1, min_total = 50 } ]\n"
    )
    values = frame({"a": {"x": 85}, "b": {"x": 60}, "c": {"x": 20}})
    stars = {
        r.agent: r.flags.star
        for r in score_team(scheme, ScoreInputs(values=values), as_of=AS_OF).results
    }
    assert stars == {"a": 2, "b": 1, "c": None}


def test_rescore_with_changes_one_agent_and_leaves_the_inputs_alone() -> None:
    scheme = parse_scheme(two_part(50))
    values = frame({"a": {"x": 70}, "b": {"x": 60}})
    reviews = frame({"a": {"self": 70}, "b": {"self": 60}})
    inputs = ScoreInputs(values=values, reviews=reviews, review_scale=100)
    what_if = rescore_with(scheme, inputs, "b", {"x": 100, "self": 90}, as_of=AS_OF)
    assert what_if.total == pytest.approx(95) and what_if.rank == 1
    assert values.loc["b", "x"] == 60 and reviews.loc["b", "self"] == 60
    again = score_team(scheme, inputs, as_of=AS_OF).agent("b")
    assert again.total == pytest.approx(60) and again.rank == 2


def test_rescore_with_can_add_a_new_agent_and_clear_a_value() -> None:
    scheme = parse_scheme(two_part(50))
    inputs = ScoreInputs(
        values=frame({"a": {"x": 70}}), reviews=frame({"a": {"self": 70}}), review_scale=100
    )
    newcomer = rescore_with(scheme, inputs, "z", {"x": 40, "self": 50}, as_of=AS_OF)
    assert (newcomer.total, newcomer.rank) == (pytest.approx(45), 2)
    cleared = rescore_with(scheme, inputs, "a", {"self": None}, as_of=AS_OF)
    assert cleared.component("self").status == "excluded" and cleared.total == pytest.approx(70)


def test_the_result_is_json_with_every_part_of_the_breakdown() -> None:
    inputs = ScoreInputs(
        values=frame({"a": ONLINE_BEST, "b": ONLINE_BEST | {"conversion_rate": nan}}),
        reviews=frame({"a": {"self": 80, "manager": 70}, "b": {"self": 80, "manager": 70}}),
        review_scale=100,
    )
    data = json.loads(json.dumps(score_team(ONLINE, inputs, as_of=AS_OF).to_dict()))
    assert [d["agent"] for d in data] == ["a", "b"]
    first = data[0]
    assert set(first) >= {"agent", "total", "rank", "components", "indicators", "flags"}
    assert set(first["indicators"]["conversion_rate"]) == {
        "value",
        "points",
        "max_points",
        "status",
        "detail",
    }
    assert set(first["components"]["manager"]) >= {"points", "weight", "contribution", "status"}
    assert set(first["flags"]) >= {"reward", "penalty", "improvement_due", "post_change"}
    assert data[1]["indicators"]["conversion_rate"]["status"] == "excluded"


def test_the_frame_lists_agents_best_first() -> None:
    result = ranked_team()
    assert list(result.frame.index) == ["a0", "a1", "a2", "a3", "a4"]
    assert list(result.frame["rank"]) == [1, 2, 3, 4, 5]


def test_a_frame_listing_an_agent_twice_is_refused() -> None:
    values = pd.DataFrame({"x": [1.0, 2.0]}, index=["a", "a"])
    with pytest.raises(ValueError, match="duplicate agent 'a'"):
        score_team(parse_scheme(two_part(100)), ScoreInputs(values=values), as_of=AS_OF)


def test_integer_agent_ids_come_back_as_strings() -> None:
    values = pd.DataFrame({"x": [50.0, 70.0]}, index=[7, 3])
    result = score_team(parse_scheme(two_part(100)), ScoreInputs(values=values), as_of=AS_OF)
    assert [r.agent for r in result.results] == ["3", "7"]


def test_peer_figures_move_only_in_steps_that_cannot_be_differenced() -> None:
    """Issue 21 item 11: the score (and so the total, /me, /rank and exports) uses the first
    min_count raters, then whole groups of max(3, min_count) more, in the order they rated."""
    from scoring.total import released_raters

    assert [released_raters(n, 3) for n in range(0, 10)] == [0, 1, 2, 3, 3, 3, 6, 6, 6, 9]
    assert [released_raters(n, 1) for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 4, 4]
    assert [released_raters(n, 5) for n in (5, 9, 10)] == [5, 5, 10]
    answers = pd.DataFrame(
        {"c": [5, 3, 1, 4], "s": [5, 3, 1, 4]}, index=pd.Index(["7"] * 4, dtype=object)
    )
    everyone = peer_summary(answers)
    assert round(float(everyone.loc["7", "score"])) == 56 and int(everyone.loc["7", "count"]) == 4
    stepped = peer_summary(answers, min_count=3)
    assert float(stepped.loc["7", "score"]) == 50.0 and int(stepped.loc["7", "count"]) == 3

"""Scorecards in the scheme and the pure QA arithmetic (scoring/qa.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import parse_scheme
from scoring.qa import agreement, check_answers, qa_frame, score_sample
from scoring.scheme import Check, Names, Sampling, SchemeError, Scorecard

ROOT = Path(__file__).resolve().parents[2]

BASE = """
id = "qa_test"
period = "month"
[name]
zh = "质检测试"
en = "QA test"

[[components]]
kind = "manager"
weight = 70
dimensions = [ { id = "ability", name = { zh = "能力", en = "Ability" }, weight = 100 } ]

[[components]]
kind = "qa"
weight = 30
min_samples = 2
"""

CHECKS = """
blind = true
sample = { per = "day", share = 0.1 }
link = "https://desk.example.com/t/{ref}"

[[components.checks]]
id = "greeting"
name = { zh = "开场白", en = "Greeting" }
points = 10

[[components.checks]]
id = "privacy"
name = { zh = "身份核实", en = "Identity check" }
points = 30
critical = true

[[components.checks]]
id = "answer"
name = { zh = "解答准确", en = "Correct answer" }
weight = 60
na = false
"""


def card_of(text: str) -> Scorecard:
    qa = parse_scheme(text).qa
    assert qa is not None and qa.scorecard is not None
    return qa.scorecard


def problems_of(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(SchemeError) as err:
        parse_scheme(text)
    return [(p.where, p.field, p.code) for p in err.value.problems]


CARD = card_of(BASE + CHECKS)


def test_a_scorecard_is_read_with_points_weights_critical_and_na() -> None:
    assert [c.id for c in CARD.checks] == ["greeting", "privacy", "answer"]
    assert CARD.check("answer").points == 60 and CARD.check("answer").na is False
    assert CARD.check("privacy").critical is True
    assert CARD.blind is True
    assert CARD.sampling == Sampling(per="day", count=None, share=0.1)
    assert CARD.link == "https://desk.example.com/t/{ref}"


def test_a_qa_component_without_checks_has_no_scorecard() -> None:
    qa = parse_scheme(BASE).qa
    assert qa is not None and qa.scorecard is None


def test_every_scorecard_problem_is_reported_at_once_naming_check_and_field() -> None:
    bad = (
        BASE
        + """
sample = { per = "month", share = 0.1, count = 3 }
link = "https://desk.example.com/t/"
reviewers = ["qa", "boss"]

[[components.checks]]
id = "Greeting"
name = { zh = "开场白" }
points = 10
weight = 5

[[components.checks]]
id = "dup"
name = { zh = "一", en = "One" }
points = -1
critical = "yes"

[[components.checks]]
id = "dup"
name = { zh = "二", en = "Two" }
na = 1
"""
    )
    found = problems_of(bad)
    assert ("qa.Greeting", "id", "bad_id") in found
    assert ("qa.Greeting", "name.en", "missing_name") in found
    assert ("qa.Greeting", "points", "points_or_weight") in found
    assert ("qa.dup", "points", "not_positive") in found
    assert ("qa.dup", "critical", "expected_bool") in found
    assert ("qa.dup", "id", "duplicate_id") in found
    assert ("qa.dup", "points", "required") in found
    assert ("qa.dup", "na", "expected_bool") in found
    assert ("qa", "sample.per", "bad_choice") in found
    assert ("qa", "sample.count", "share_or_count") in found
    assert ("qa", "link", "link_needs_ref") in found
    assert ("qa", "reviewers", "bad_choice") in found


def test_a_share_above_one_and_checks_outside_qa_are_refused() -> None:
    text = (
        BASE.replace('kind = "manager"\nweight = 70', 'kind = "manager"\nweight = 70\nchecks = []')
        + 'sample = { share = 1.5 }\n[[components.checks]]\nid = "a"\nname = { zh = "甲", en = "A" '
        "}\npoints = 1\n"
    )
    found = problems_of(text)
    assert ("manager", "checks", "checks_only_qa") in found
    assert ("qa", "sample.share", "share_range") in found


def test_the_call_centre_scheme_carries_a_valid_scorecard_with_critical_checks() -> None:
    scheme = parse_scheme((ROOT / "schemes" / "call_centre.toml").read_text(encoding="utf-8"))
    assert scheme.qa is not None and scheme.qa.scorecard is not None
    assert any(c.critical for c in scheme.qa.scorecard.checks)
    assert sum(c.weight for c in scheme.components) == 100


# -- sample scores ---------------------------------------------------------------------


def test_all_passed_scores_100() -> None:
    assert (
        score_sample(CARD, {"greeting": "pass", "privacy": "pass", "answer": "pass"}).score == 100
    )


def test_a_failed_ordinary_check_costs_its_share_of_points() -> None:
    result = score_sample(CARD, {"greeting": "fail", "privacy": "pass", "answer": "pass"})
    assert result.score == pytest.approx(90)  # 90 of 100 points
    assert result.failed == ("greeting",)
    assert result.critical_failed == ()


def test_a_failed_critical_check_fails_the_whole_sample() -> None:
    result = score_sample(CARD, {"greeting": "pass", "privacy": "fail", "answer": "pass"})
    assert result.score == 0
    assert result.critical_failed == ("privacy",)


def test_na_is_left_out_of_the_total_neither_pass_nor_fail() -> None:
    # greeting N/A: 30 + 60 points apply; answer failed: 30 of 90 earned.
    result = score_sample(CARD, {"greeting": "na", "privacy": "pass", "answer": "fail"})
    assert result.score == pytest.approx(100 * 30 / 90)
    assert result.not_applicable == ("greeting",)
    assert (result.earned, result.possible) == (30, 90)


def test_a_critical_check_answered_na_does_not_fail_the_sample() -> None:
    result = score_sample(CARD, {"greeting": "fail", "privacy": "na", "answer": "pass"})
    assert result.score == pytest.approx(100 * 60 / 70)


def test_a_sample_where_no_check_applies_has_no_score() -> None:
    card = Scorecard((Check("a", Names("甲", "A"), 1), Check("b", Names("乙", "B"), 1)))
    assert score_sample(card, {"a": "na", "b": "na"}).score is None


def test_answers_are_checked_all_at_once() -> None:
    problems = check_answers(CARD, {"greeting": "maybe", "answer": "na", "extra": "pass"})
    assert {(p.code, p.check) for p in problems} == {
        ("unknown_check", "extra"),
        ("bad_answer", "greeting"),
        ("missing_answer", "privacy"),
        ("na_not_allowed", "answer"),
    }
    with pytest.raises(ValueError):
        score_sample(CARD, {"greeting": "pass"})


ANSWER = st.sampled_from(["pass", "fail", "na"])


@given(
    st.fixed_dictionaries(
        {"greeting": ANSWER, "privacy": ANSWER, "answer": st.sampled_from(["pass", "fail"])}
    )
)
def test_a_sample_score_stays_within_0_and_100_and_passing_more_never_lowers_it(
    answers: dict[str, str],
) -> None:
    result = score_sample(CARD, answers)
    assert result.score is not None and 0 <= result.score <= 100
    for cid, value in answers.items():
        if value == "fail":
            better = score_sample(CARD, {**answers, cid: "pass"})
            assert better.score is not None and better.score >= result.score


# -- calibration -----------------------------------------------------------------------


def test_agreement_on_a_hand_computed_calibration_case() -> None:
    a = {"greeting": "pass", "privacy": "pass", "answer": "pass"}  # 100
    b = {"greeting": "fail", "privacy": "pass", "answer": "pass"}  # 90
    c = {"greeting": "na", "privacy": "pass", "answer": "fail"}  # 30/90 = 33.33
    result = agreement(CARD, [a, b, c])
    # Only privacy is answered the same by all three: 1 of 3 checks.
    assert result.unanimous == pytest.approx(1 / 3)
    # Pairs: a-b agree on 2 of 3, a-c on 1 of 3, b-c on 1 of 3 → (2+1+1)/9.
    assert result.pairwise == pytest.approx(4 / 9)
    assert result.per_check == {"greeting": False, "privacy": True, "answer": False}
    assert result.totals == pytest.approx((100, 90, 100 / 3))
    assert result.spread == pytest.approx(100 - 100 / 3)
    mean = (100 + 90 + 100 / 3) / 3
    assert result.mean == pytest.approx(mean)
    assert result.stdev == pytest.approx(
        (((100 - mean) ** 2 + (90 - mean) ** 2 + (100 / 3 - mean) ** 2) / 3) ** 0.5
    )


def test_identical_reviews_agree_fully_with_no_spread() -> None:
    a = {"greeting": "pass", "privacy": "fail", "answer": "pass"}
    result = agreement(CARD, [a, dict(a)])
    assert (result.unanimous, result.pairwise, result.spread, result.stdev) == (1, 1, 0, 0)


def test_agreement_needs_two_reviewers() -> None:
    with pytest.raises(ValueError):
        agreement(CARD, [{"greeting": "pass", "privacy": "pass", "answer": "pass"}])


# -- the qa frame ----------------------------------------------------------------------


def test_the_qa_frame_is_the_mean_sample_score_with_its_count_per_agent() -> None:
    frame = qa_frame(
        [("1", 100.0), ("1", 50.0), ("2", 0.0), ("2", None), ("3", None)],
        agents=["1", "2", "3", "4"],
    )
    assert frame.loc["1", "score"] == pytest.approx(75) and frame.loc["1", "count"] == 2
    assert frame.loc["2", "score"] == 0 and frame.loc["2", "count"] == 1
    assert pd.isna(frame.loc["3", "score"]) and frame.loc["3", "count"] == 0
    assert list(frame.index) == ["1", "2", "3", "4"]

"""Quality sampling (质检) arithmetic: a sample's score from a scorecard, reviewer agreement,
the qa frame.

Pure functions over a :class:`~scoring.scheme.Scorecard` and plain answers; no I/O.

A sample's answers map every check id to ``"pass"``, ``"fail"`` or ``"na"``:

* a failed **critical** check fails the whole sample: its score is 0;
* otherwise the score is ``100 × points passed ÷ points of the checks that apply``;
  an ``"na"`` check does not apply: it counts neither as a pass nor as a fail;
* when no check applies the sample has no score (``None``) and is left out of the mean.

``check_answers(card, answers)`` lists what is wrong with a set of answers (codes + params,
translated at the edge). ``agreement(card, [answers, …])`` compares several reviewers of
the same sample (calibration): the share of checks every reviewer answered the same, the
mean pairwise share, and the spread (max − min) and standard deviation of their totals.
``qa_frame(samples)`` turns per-sample scores into the scoring module's ``qa`` input
(``score`` = mean sample score 0–100, ``count`` = scored samples, per agent).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from scoring.scheme import Scorecard

PASS, FAIL, NA = "pass", "fail", "na"
ANSWERS: tuple[str, ...] = (PASS, FAIL, NA)

# English templates of answer problems; the edge translates them (zh:
# commands/locale/zh/LC_MESSAGES/qa.po).
ANSWER_TEMPLATES: dict[str, str] = {
    "missing_answer": "The check {check} is not answered.",
    "unknown_check": "There is no check {check} on this scorecard.",
    "bad_answer": "The answer {value!r} to {check} is not pass, fail or N/A.",
    "na_not_allowed": "The check {check} always applies; it cannot be answered N/A.",
}


@dataclass(frozen=True)
class AnswerProblem:
    code: str
    check: str
    params: Mapping[str, Any]

    @property
    def message(self) -> str:
        return ANSWER_TEMPLATES[self.code].format(check=self.check, **self.params)


@dataclass(frozen=True)
class SampleScore:
    """``score`` 0–100 (``None`` when no check applies); the failed and N/A check ids in card
    order."""

    score: float | None
    failed: tuple[str, ...]
    not_applicable: tuple[str, ...]
    critical_failed: tuple[str, ...]
    earned: float
    possible: float


def check_answers(card: Scorecard, answers: Mapping[str, Any]) -> list[AnswerProblem]:
    """Every problem with a set of answers: unknown checks, missing answers, bad values, N/A not
    allowed."""
    problems: list[AnswerProblem] = []
    known = {c.id for c in card.checks}
    for key in answers:
        if key not in known:
            problems.append(AnswerProblem("unknown_check", str(key), {}))
    for check in card.checks:
        if check.id not in answers:
            problems.append(AnswerProblem("missing_answer", check.id, {}))
            continue
        value = answers[check.id]
        if value not in ANSWERS:
            problems.append(AnswerProblem("bad_answer", check.id, {"value": str(value)}))
        elif value == NA and not check.na:
            problems.append(AnswerProblem("na_not_allowed", check.id, {}))
    return problems


def score_sample(card: Scorecard, answers: Mapping[str, Any]) -> SampleScore:
    """The sample's score; raises ``ValueError`` listing the problems of invalid answers."""
    problems = check_answers(card, answers)
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    failed = tuple(c.id for c in card.checks if answers[c.id] == FAIL)
    not_applicable = tuple(c.id for c in card.checks if answers[c.id] == NA)
    critical = tuple(c.id for c in card.checks if c.critical and answers[c.id] == FAIL)
    possible = sum(c.points for c in card.checks if answers[c.id] != NA)
    earned = sum(c.points for c in card.checks if answers[c.id] == PASS)
    if critical:
        score: float | None = 0.0
    elif possible <= 0:
        score = None
    else:
        score = 100.0 * earned / possible
    return SampleScore(score, failed, not_applicable, critical, earned, possible)


@dataclass(frozen=True)
class Agreement:
    """How far several reviewers of one sample agree.

    ``unanimous``: share of checks that every reviewer answered the same (0–1);
    ``pairwise``: mean over reviewer pairs of the share of checks the pair answered the same;
    ``per_check``: check id → whether all answered it the same; ``totals``: each reviewer's
    sample score in input order; ``spread``: max − min of the totals that exist; ``stdev``:
    their population standard deviation; ``mean``: their mean.
    """

    reviewers: int
    unanimous: float
    pairwise: float
    per_check: Mapping[str, bool]
    totals: tuple[float | None, ...]
    spread: float | None
    stdev: float | None
    mean: float | None


def agreement(card: Scorecard, answer_sets: Sequence[Mapping[str, Any]]) -> Agreement:
    """Compare at least two reviewers' answers on the same sample."""
    if len(answer_sets) < 2:
        raise ValueError("agreement needs at least two reviewers")
    ids = [c.id for c in card.checks]
    per_check = {cid: len({a.get(cid) for a in answer_sets}) == 1 for cid in ids}
    unanimous = sum(per_check.values()) / len(ids) if ids else 1.0
    pairs = list(itertools.combinations(answer_sets, 2))
    pairwise = (
        sum(sum(a.get(cid) == b.get(cid) for cid in ids) / len(ids) for a, b in pairs) / len(pairs)
        if ids
        else 1.0
    )
    totals = tuple(score_sample(card, a).score for a in answer_sets)
    scored = [t for t in totals if t is not None]
    if scored:
        mean = sum(scored) / len(scored)
        spread: float | None = max(scored) - min(scored)
        stdev: float | None = math.sqrt(sum((t - mean) ** 2 for t in scored) / len(scored))
    else:
        mean, spread, stdev = math.nan, None, None
    return Agreement(
        len(answer_sets),
        unanimous,
        pairwise,
        per_check,
        totals,
        spread,
        stdev,
        None if math.isnan(mean) else mean,
    )


def qa_frame(
    samples: Iterable[tuple[str, float | None]], agents: Sequence[str] | None = None
) -> pd.DataFrame:
    """``(agent, sample score)`` pairs → DataFrame indexed by agent with ``score`` (mean) and
    ``count``.

    Samples without a score (no check applied) are left out. ``agents`` (optional) fixes the
    index: agents without a scored sample get ``score = NaN`` and ``count = 0``.
    """
    rows = [(str(agent), float(score)) for agent, score in samples if score is not None]
    frame = pd.DataFrame(rows, columns=["agent", "score"])
    grouped = frame.groupby("agent", sort=True)["score"].agg(["mean", "count"])
    grouped.columns = ["score", "count"]
    if agents is not None:
        grouped = grouped.reindex(pd.Index([str(a) for a in agents], dtype=object))
        grouped["count"] = grouped["count"].fillna(0)
    grouped["count"] = grouped["count"].astype(int)
    grouped.index = grouped.index.astype(object)
    grouped.index.name = None
    return grouped

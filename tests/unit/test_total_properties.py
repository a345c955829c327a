"""Properties of score_team over random data (hypothesis): bounds, dominance, weights."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.methods import Deduction, Descriptive
from scoring.pay import pay_of
from scoring.scheme import Indicator, Scheme
from scoring.scheme_parser import parse_scheme
from scoring.total import STAR_COLUMNS, ScoreInputs, rank_totals, score_team

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 3)
SCHEMES = {
    path.stem: parse_scheme(path.read_text(encoding="utf-8"))
    for path in [*(ROOT / "schemes").glob("*.toml"), *(ROOT / "schemes/examples").glob("*.toml")]
}
SCHEME_NAMES = sorted(SCHEMES)
SPAN = {
    "fraction": 1.0,
    "percent": 100.0,
    "seconds": 400.0,
    "minutes": 300.0,
    "yuan": 400_000.0,
    "count": 12.0,
    "days": 60.0,
    "points": 100.0,
}


def draw_values(ind: Indicator, rng: np.random.Generator, n: int) -> np.ndarray:
    if isinstance(ind.method, Descriptive):
        return rng.integers(1, len(ind.method.levels) + 1, n).astype(float)
    if isinstance(ind.method, Deduction) or ind.unit == "count":
        return rng.integers(0, 12, n).astype(float)
    if ind.id.startswith("dsr") or ind.column.startswith("dsr"):
        return rng.uniform(4.0, 5.0, n)
    return rng.uniform(0, SPAN[ind.unit], n)


def random_inputs(scheme: Scheme, seed: int, n: int, missing: float) -> ScoreInputs:
    rng = np.random.default_rng(seed)
    agents = [f"agent{i:03d}" for i in range(n)]
    columns = {}
    for ind in scheme.indicators:
        col = draw_values(ind, rng, n)
        col[rng.random(n) < missing] = np.nan
        columns.setdefault(ind.column, col)
    reviews = {}
    for comp in scheme.components:
        for dim in comp.rated_dimensions:
            col = rng.integers(1, 6, n).astype(float)
            col[rng.random(n) < missing] = np.nan
            reviews[f"{comp.id}.{dim.id}"] = col
    stars = pd.DataFrame(rng.integers(0, 6, (n, 5)), index=agents, columns=list(STAR_COLUMNS))
    counts = pd.DataFrame(
        {"score": rng.uniform(0, 100, n), "count": rng.integers(0, 6, n)}, index=agents
    )
    teams = pd.Series(rng.choice(["t1", "t2"], n), index=agents)
    return ScoreInputs(
        values=pd.DataFrame(columns, index=agents),
        reviews=pd.DataFrame(reviews, index=agents),
        customer=stars,
        peer=counts,
        qa=counts,
        teams=teams,
    )


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(SCHEME_NAMES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    missing=st.sampled_from([0.0, 0.2, 0.7]),
)
def test_totals_stay_within_0_and_100(name: str, seed: int, n: int, missing: float) -> None:
    result = score_team(SCHEMES[name], random_inputs(SCHEMES[name], seed, n, missing), as_of=AS_OF)
    totals = result.total[np.isfinite(result.total)]
    assert ((totals >= 0) & (totals <= 100)).all()
    for r in result.results:
        assert all(c.points is None or 0 <= c.points <= 100 for c in r.components)
        assert all(i.points is None or 0 <= i.points <= i.max_points for i in r.indicators)
        if r.total is not None:
            assert sum(c.contribution for c in r.components) == pytest.approx(r.total)
            assert sum(c.weight for c in r.components) == pytest.approx(100)


def better_values(ind: Indicator, worse: float, step: float) -> float:
    if isinstance(ind.method, Descriptive):
        return min(worse + 1, len(ind.method.levels))
    if isinstance(ind.method, Deduction) or ind.unit == "count":
        return max(worse - 1, 0) if ind.better == "lower" else worse + 1
    if ind.better == "higher":
        return min(worse + step, 1.0) if ind.unit == "fraction" else worse + step
    return max(worse - step, 0.0)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(SCHEME_NAMES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 12),
    step=st.floats(0.0, 0.5),
)
def test_an_agent_better_on_every_indicator_never_ranks_below_one_worse_on_every_indicator(
    name: str, seed: int, n: int, step: float
) -> None:
    scheme = SCHEMES[name]
    inputs = random_inputs(scheme, seed, n, missing=0.0)
    values, reviews = inputs.values.copy(), inputs.reviews.copy()
    worse, better = values.index[0], values.index[1]
    for ind in scheme.indicators:
        scale = 1.0 if ind.unit == "fraction" else SPAN[ind.unit] / 4
        values.loc[better, ind.column] = better_values(
            ind, float(values.loc[worse, ind.column]), step * scale
        )
    for col in reviews.columns:
        reviews.loc[better, col] = max(reviews.loc[better, col], reviews.loc[worse, col])
    same = {
        name: frame.copy() for name, frame in (("customer", inputs.customer), ("peer", inputs.peer))
    }
    for frame in same.values():
        frame.loc[better] = frame.loc[worse]
    teams = inputs.teams.copy()
    teams.loc[better] = teams.loc[worse]
    result = score_team(
        scheme,
        ScoreInputs(
            values=values,
            reviews=reviews,
            customer=same["customer"],
            peer=same["peer"],
            qa=same["peer"],
            teams=teams,
        ),
        as_of=AS_OF,
    )
    b, w = result.agent(better), result.agent(worse)
    assert b.total >= w.total - 1e-9
    assert b.rank <= w.rank


KPI_SELF = """
id = "weights"
name = {{ zh = "权重", en = "Weights" }}
[[components]]
kind = "kpi"
weight = {w}
[[components]]
kind = "self"
weight = {rest}
dimensions = [ {{ id = "task", weight = 100, name = {{ zh = "任务", en = "Task" }} }} ]
[[indicators]]
id = "x"
name = {{ zh = "甲", en = "X" }}
unit = "points"
better = "higher"
points = 100
method = "ratio"
params.target = 100
"""


@settings(max_examples=40, deadline=None)
@given(w=st.integers(1, 50), x=st.floats(0, 100), review=st.integers(1, 5))
def test_weights_are_honoured_and_doubling_a_weight_doubles_the_contribution(
    w: int, x: float, review: int
) -> None:
    inputs = ScoreInputs(
        values=pd.DataFrame({"x": [x]}, index=["a"]),
        reviews=pd.DataFrame({"self.task": [review]}, index=["a"]),
    )
    single = score_team(
        parse_scheme(KPI_SELF.format(w=w, rest=100 - w)), inputs, as_of=AS_OF
    ).agent("a")
    double = score_team(
        parse_scheme(KPI_SELF.format(w=2 * w, rest=100 - 2 * w)), inputs, as_of=AS_OF
    ).agent("a")
    kpi, self_review = single.component("kpi"), single.component("self")
    assert kpi.contribution_exact == pytest.approx(x * w / 100)
    assert self_review.contribution_exact == pytest.approx((review - 1) / 4 * 100 * (100 - w) / 100)
    assert double.component("kpi").contribution_exact == pytest.approx(2 * kpi.contribution_exact)
    assert single.total_exact == pytest.approx(
        kpi.contribution_exact + self_review.contribution_exact
    )


@settings(max_examples=60, deadline=None)
@given(
    totals=st.lists(
        st.one_of(
            st.sampled_from([50.0, 60.0, 70.0, 80.0]), st.just(float("nan")), st.floats(0, 100)
        ),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 2**16),
)
def test_a_rank_is_one_plus_the_number_of_better_totals_in_the_same_team(
    totals: list[float], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = len(totals)
    total = np.array(totals)
    rounded = np.round(total, 9)  # totals equal to 9 decimals tie
    groups = rng.choice(np.array(["t1", "t2", "t3"], dtype=object), n)
    ranking = rank_totals(total, rng.uniform(0, 100, n), np.full(n, np.nan), np.arange(n), groups)
    for i in range(n):
        same = (groups == groups[i]) & np.isfinite(total)
        if not np.isfinite(total[i]):
            assert np.isnan(ranking.rank[i])
            continue
        assert ranking.rank[i] == 1 + np.sum(same & (rounded > rounded[i]))
        assert ranking.rank_max[i] == np.sum(same & (rounded >= rounded[i]))
        assert ranking.group_size[i] == np.sum(same)
    positions = {g: [int(i) for i in ranking.order if groups[i] == g] for g in set(groups)}
    for members in positions.values():  # best first inside each team, unscored last
        keys = [-rounded[i] if np.isfinite(total[i]) else np.inf for i in members]
        assert keys == sorted(keys)


def with_twins(inputs: ScoreInputs, twins: list[int]) -> ScoreInputs:
    """The inputs plus a copy of each agent at the positions ``twins`` (same team, same data)."""

    def grow(frame: Any) -> Any:
        if frame is None:
            return None
        copies = frame.iloc[twins].copy()
        copies.index = [f"{a}_twin{k}" for k, a in enumerate(copies.index)]
        return pd.concat([frame, copies])

    return ScoreInputs(
        values=grow(inputs.values),
        reviews=grow(inputs.reviews),
        customer=grow(inputs.customer),
        peer=grow(inputs.peer),
        qa=grow(inputs.qa),
        teams=grow(inputs.teams),
    )


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(SCHEME_NAMES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 16),
    missing=st.sampled_from([0.0, 0.1, 0.5]),
    data=st.data(),
)
def test_random_teams_of_the_shipped_schemes_show_contributions_that_add_up_and_equal_ties(
    name: str, seed: int, n: int, missing: float, data: st.DataObject
) -> None:
    # Issue 14 "Done when", on every shipped scheme: the contributions shown add up to the total
    # shown; equal shown totals in a team get equal ranks and equal flags; and the pay's parts
    # add up to the pay shown, the same for the same result.
    scheme = SCHEMES[name]
    twins = data.draw(st.lists(st.integers(0, n - 1), max_size=4))
    result = score_team(
        scheme, with_twins(random_inputs(scheme, seed, n, missing), twins), as_of=AS_OF
    )
    unit = Decimal(1).scaleb(-scheme.precision)
    for r in result.results:
        if r.total is None:
            continue
        shown = sum(Decimal(repr(c.contribution)) for c in r.components)
        assert shown == Decimal(repr(r.total)).quantize(unit)
        pay = pay_of(scheme, r.to_dict())
        if pay.total is not None:
            assert pay.total == sum(line.amount for line in pay.lines if line.amount is not None)
    complete = [r for r in result.results if r.total is not None and not r.provisional]
    for x in complete:
        for y in complete:
            if x.team == y.team and x.total == y.total:
                assert (x.rank, x.flags) == (y.rank, y.flags)
    for k, i in enumerate(twins):
        original = result.agent(f"agent{i:03d}")
        twin = result.agent(f"agent{i:03d}_twin{k}")
        assert (twin.total, twin.rank, twin.provisional, twin.flags) == (
            original.total,
            original.rank,
            original.provisional,
            original.flags,
        )
        assert pay_of(scheme, twin.to_dict()) == pay_of(scheme, original.to_dict())

"""The what-if of one agent (``rescore_with(..., others=...)``, issue 20): only the agent is
scored, ranked against the other agents' stored totals, and the result must be exactly what
rescoring the whole team gives (the review preview and ``/simulate`` use it)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring.total as total
from scoring import ScoreInputs, parse_scheme, peer_summary, rescore_with, score_team

SHIPPED = Path(__file__).parents[2] / "schemes"
AS_OF = date(2026, 11, 3)


def _others(inputs: ScoreInputs, scheme: object, agent: str) -> np.ndarray:
    """What the stored results say of the others: their ranking totals (NaN: not ranked)."""
    team = score_team(scheme, inputs, as_of=AS_OF)  # type: ignore[arg-type]
    totals = np.where(team.provisional, np.nan, team.total)
    return totals[np.asarray(team.index) != agent]


def _json(result: object) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, default=str)  # type: ignore[attr-defined]


def _inputs(scheme: object, n: int, rng: np.random.Generator) -> ScoreInputs:
    agents = [f"a{i:03d}" for i in range(n)]
    columns = [i.column for i in scheme.indicators]  # type: ignore[attr-defined]
    values = pd.DataFrame(rng.random((n, len(columns))) * 100, index=agents, columns=columns)
    values.iloc[::5, 0] = np.nan
    values.iloc[3] = values.iloc[4]  # a tie (same numbers)
    review_cols: dict[str, np.ndarray] = {}
    for comp in scheme.components:  # type: ignore[attr-defined]
        if comp.kind in ("self", "manager"):
            review_cols[comp.kind] = rng.integers(1, 6, n).astype(float)
    reviews = pd.DataFrame(review_cols, index=agents) if review_cols else None
    if reviews is not None:
        reviews.iloc[::7] = np.nan  # missing reviews: provisional or excluded parts
        reviews.iloc[3] = reviews.iloc[4]
    stars = pd.DataFrame(
        rng.integers(0, 6, (n, 5)), index=agents, columns=["n1", "n2", "n3", "n4", "n5"]
    )
    answers = pd.DataFrame(
        {"q1": rng.integers(1, 6, 4 * n).astype(float)}, index=[agents[i % n] for i in range(4 * n)]
    )
    qa = pd.DataFrame({"score": rng.random(n) * 100, "count": rng.integers(0, 6, n)}, index=agents)
    history = pd.DataFrame({"2026-08": rng.random(n) < 0.1, "2026-09": rng.random(n) < 0.1},
                           index=agents, dtype=object)  # fmt: skip
    return ScoreInputs(values=values, reviews=reviews, review_scale=5, customer=stars,
                       peer=peer_summary(answers), qa=qa, history=history,
                       agents=tuple(agents))  # fmt: skip


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.toml")), ids=lambda p: p.stem)
def test_one_agent_rescored_against_the_stored_others_equals_the_team_rescored(path: Path) -> None:
    scheme = parse_scheme(path.read_text(encoding="utf-8"))
    rng = np.random.default_rng(20)
    inputs = _inputs(scheme, 60, rng)
    columns = list(scheme.indicators)  # a team-scope one moves the others: the team is rescored
    changes: list[tuple[str, dict[str, float | None]]] = [
        ("a000", {}),  # nothing changed: the stored result itself
        ("a003", {}),  # one of a tie
        ("a007", {}),  # its reviews missing
    ]
    for k, ind in enumerate(columns):
        changes.append((f"a{(10 + k) % 60:03d}", {ind.id: float(rng.random() * 100)}))
        changes.append((f"a{(30 + k) % 60:03d}", {ind.id: None}))
    for comp in scheme.components:
        if comp.kind in ("self", "manager"):
            changes.append(("a014", {comp.kind: 5.0}))
            changes.append(("a007", {comp.kind: 1.0}))  # a missing review given: ranked now
            changes.append(("a021", {comp.kind: None}))  # a review taken away
    changes.append(("a022", {"customer.n5": 40.0, "peer.score": 100.0, "qa.score": 0.0}))
    for agent, overrides in changes:
        others = _others(inputs, scheme, agent)
        one = rescore_with(scheme, inputs, agent, overrides, as_of=AS_OF, others=others)
        team = rescore_with(scheme, inputs, agent, overrides, as_of=AS_OF)
        assert _json(one) == _json(team), (agent, overrides)


TWO_PART = """
id = "two_part"
name = { zh = "两部分", en = "Two parts" }
[apply]
reward = 300
penalty = 100
[[components]]
kind = "kpi"
weight = 50
[[components]]
kind = "self"
weight = 50
dimensions = [ { id = "task", weight = 100, name = { zh = "任务", en = "Task" } } ]
[[indicators]]
id = "x"
name = { zh = "甲", en = "X" }
unit = "points"
better = "higher"
points = 100
method = "ratio"
params.target = 100
"""


def test_ties_last_place_and_reward_come_from_the_others_totals() -> None:
    scheme = parse_scheme(TWO_PART)
    agents = ["a", "b", "c"]
    inputs = ScoreInputs(
        values=pd.DataFrame({"x": [70.0, 60.0, 50.0]}, index=agents),
        reviews=pd.DataFrame({"self": [70.0, 60.0, 50.0]}, index=agents),
        review_scale=100,
        agents=tuple(agents),
    )
    for agent, overrides, rank in (
        ("c", {"x": 70.0, "self": 70.0}, 1),  # tied first with a: both rewarded, shared
        ("a", {"x": 40.0, "self": 40.0}, 3),  # now last: penalised
        ("b", {"x": 50.0, "self": 50.0}, 2),  # tied last with c
    ):
        others = _others(inputs, scheme, agent)
        one = rescore_with(scheme, inputs, agent, overrides, as_of=AS_OF, others=others)
        team = rescore_with(scheme, inputs, agent, overrides, as_of=AS_OF)
        assert one.rank == team.rank == rank
        assert _json(one) == _json(team)


def test_the_others_are_not_scored_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the agent's own inputs are scored: an other agent's broken row does not matter."""
    scheme = parse_scheme(TWO_PART)
    agents = [f"a{i}" for i in range(2000)]
    values = pd.DataFrame({"x": np.linspace(0, 100, 2000)}, index=agents)
    inputs = ScoreInputs(values=values, agents=tuple(agents))
    others = np.linspace(0, 50, 1999)
    calls: list[int] = []
    real = total.score_team

    def counting(scheme, inputs, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(total._agent_index(inputs)))
        return real(scheme, inputs, **kw)

    monkeypatch.setattr(total, "score_team", counting)
    result = rescore_with(scheme, inputs, "a5", {"x": 100.0}, as_of=AS_OF, others=others)
    assert calls == [1]
    assert result.rank == 1 and result.group_size == 2000

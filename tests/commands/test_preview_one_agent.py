"""The review preview and ``/simulate`` (``results.what_if``) score one agent from the stored team
context, ranked against the others' stored totals, never rescoring the team (issue 20); what
they show must equal a full rescore of the team with the same change."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import scoring.total as total
from commands import results
from commands.context import AppConfig
from commands.messages import Incoming
from commands.router import Router
from scoring import rescore_with
from storage import repo
from storage.db import unit_of_work

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import commands_bench as bench  # noqa: E402


def _json(result: object) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, default=str)  # type: ignore[attr-defined]


@pytest.fixture
def team(engine: Engine) -> bench.TeamIds:
    [ids] = bench.build(engine, 1, 120)
    return ids


CHANGES: list[dict[str, float | None]] = [
    {},
    {"manager.ability": 5.0, "manager.service": 1.0},
    {"manager.collaboration": None},
    {"refund_ratio": 0.2},
    {"avg_response_s": 10.0, "self.attitude": 5.0},
    {"refund_ratio": None, "avg_response_s": None},
]


def test_what_if_equals_the_team_rescored_and_scores_one_agent(
    engine: Engine, team: bench.TeamIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[int] = []
    real = total.score_team

    def counting(scheme, inputs, **kw):  # type: ignore[no-untyped-def]
        scored.append(len(total._agent_index(inputs)))
        return real(scheme, inputs, **kw)

    with unit_of_work(engine) as session:
        t = repo.get_team(session=session, team_id=team.team_id)
        period = repo.get_period_by_id(session=session, period_id=team.period_id)
        assert t is not None and period is not None
        results.current_results(t, period, session=session)  # the team's stored results
        for k, overrides in enumerate(CHANGES):
            member_id = team.agents[(17 * k) % len(team.agents)][0]
            member = repo.get_member(session=session, member_id=member_id)
            assert member is not None
            monkeypatch.setattr(total, "score_team", counting)
            scored.clear()
            outcome = results.what_if(t, period, member, overrides, session=session)
            monkeypatch.setattr(total, "score_team", real)
            assert outcome is not None
            assert scored == [1], "only the one agent is scored"
            scheme = results.load_scheme(t, period, session=session)
            assert scheme is not None
            gathered = results.gather(t, period, scheme, session=session)
            full = rescore_with(scheme, gathered.inputs, str(member_id), overrides,
                                as_of=results.default_as_of(t, period, scheme))  # fmt: skip
            assert _json(outcome.after) == _json(full), overrides
            if not overrides:
                assert outcome.after.total == outcome.before.total
                assert outcome.after.rank == outcome.before.rank


def test_the_review_preview_shows_the_total_of_a_full_rescore(
    engine: Engine, team: bench.TeamIds
) -> None:
    router = Router(engine, AppConfig(default_lang="en"), lambda: bench.NOW)
    manager = bench.Person(router, team.manager_id)
    manager.say("/rank")  # the results stored
    member_id, name = team.agents[42]
    manager.say(f"/review {name}")
    manager.press("Change 1")  # the first dimension of the manager review: ability
    manager.say("4")
    with unit_of_work(engine) as session:
        t = repo.get_team(session=session, team_id=team.team_id)
        period = repo.get_period_by_id(session=session, period_id=team.period_id)
        assert t is not None and period is not None
        scheme = results.load_scheme(t, period, session=session)
        assert scheme is not None
        gathered = results.gather(t, period, scheme, session=session)
        stored = repo.list_reviews(session=session, period=period, kind="manager")
        answers = next(r.answers for r in stored if r.subject_id == member_id)
        overrides = {f"manager.{k}": float(v) for k, v in answers.items()} | {
            "manager.ability": 4.0
        }
        full = rescore_with(scheme, gathered.inputs, str(member_id), overrides,
                            as_of=results.default_as_of(t, period, scheme))  # fmt: skip
    assert full.total is not None
    assert f"Resulting total for {name}: {full.total:.1f} / 100" in manager.text
    router.handle(Incoming(platform="test", user_id=str(team.manager_id), text="/cancel"))


def test_a_ranking_of_the_stored_results_decodes_no_breakdown(
    engine: Engine, team: bench.TeamIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/rank`` reads totals, ranks, flags and who is provisional from the result rows' own
    columns: decoding 2,000 breakdowns to ask each whether it is provisional was most of a
    ranking's time (issue 20)."""
    router = Router(engine, AppConfig(default_lang="en"), lambda: bench.NOW)
    manager = bench.Person(router, team.manager_id)
    manager.say("/rank")  # computes and stores
    decoded: list[int] = []
    real = results.StoredBreakdown._decoded

    def counting(self: results.StoredBreakdown) -> dict[str, object]:
        decoded.append(1)
        return real(self)

    read: list[int] = []
    real_read = results.result_store.breakdown

    def reading(**kw: object) -> str:
        read.append(1)
        return real_read(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(results.StoredBreakdown, "_decoded", counting)
    monkeypatch.setattr(results.result_store, "breakdown", reading)
    replies = manager.say("/rank")
    assert "Ranking of" in replies[0].text and len(replies[0].text.splitlines()) > len(team.agents)
    assert decoded == [] and read == []  # nor read: the rows come without their breakdowns


def test_a_what_if_is_ranked_against_the_current_stored_totals_after_any_change(
    engine: Engine, team: bench.TeamIds
) -> None:
    """The others' totals are read once per stored computation (issue 20: the preview asked
    for them on every answer): when another agent's input changes, the next what-if is ranked
    against the new totals, and equals a full rescore again."""
    member_id = team.agents[5][0]
    with unit_of_work(engine) as session:
        t = repo.get_team(session=session, team_id=team.team_id)
        period = repo.get_period_by_id(session=session, period_id=team.period_id)
        manager = repo.get_member(session=session, member_id=team.manager_id)
        member = repo.get_member(session=session, member_id=member_id)
        assert t is not None and period is not None and manager is not None and member is not None
        results.current_results(t, period, session=session)
        scheme = results.load_scheme(t, period, session=session)
        assert scheme is not None
        for step in range(4):
            outcome = results.what_if(t, period, member, {"manager.ability": 3.0},
                                      session=session)  # fmt: skip
            gathered = results.gather(t, period, scheme, session=session)
            full = rescore_with(scheme, gathered.inputs, str(member_id), {"manager.ability": 3.0},
                                as_of=results.default_as_of(t, period, scheme))  # fmt: skip
            assert outcome is not None and _json(outcome.after) == _json(full), step
            # lift three other agents above everyone (their manager review at the top), so
            # the agent's rank can only be right if the new totals are the ones it is ranked on
            for other_id, _name in team.agents[10 + 3 * step : 13 + 3 * step]:
                other = repo.get_member(session=session, member_id=other_id)
                assert other is not None
                repo.save_review(
                    session=session, period=period, subject=other, rater=manager, kind="manager",
                    answers={"ability": 5, "collaboration": 5, "service": 5}, actor="test",
                    reason="test", submitted_at=bench.NOW,
                )  # fmt: skip
            session.flush()
        assert outcome.after.rank is not None and full.rank == outcome.after.rank


@pytest.mark.parametrize(
    ("status", "scores", "locked"),
    [
        ("open", [], False),
        ("published", [], False),  # published with no score stored: nothing to hold
        ("published", [False, False], True),
        ("locked", [False], True),
        ("closed", [True, True], True),  # every stored score locked
        ("closed", [True, False], False),
        ("open", [False, False], False),
    ],
)
def test_a_period_is_locked_by_its_status_or_by_every_stored_score(
    engine: Engine, team: bench.TeamIds, status: str, scores: list[bool], locked: bool
) -> None:
    from storage.models import Score

    with unit_of_work(engine) as session:
        period = repo.get_period_by_id(session=session, period_id=team.period_id)
        assert period is not None
        period.status = status
        for (member_id, _name), is_locked in zip(team.agents, scores, strict=False):
            session.add(Score(period_id=team.period_id, member_id=member_id, total=50,
                              rank=1, scheme_hash="x", breakdown={}, locked=is_locked))  # fmt: skip
        session.flush()
        assert results.is_locked(period, session=session) is locked


def test_a_what_if_in_any_team_of_an_organisation_does_not_read_its_team_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More teams than team contexts are kept (``CONTEXTS_KEPT``): each team's scoring inputs
    are kept from when its results were computed (by agents, ``INPUTS_AGENTS_KEPT``), so a
    what-if there rescores its agent without gathering the team (issue 20: /review in an
    organisation of 500 teams gathered its team on nearly every preview)."""
    teams = bench.build(engine, results.CONTEXTS_KEPT + 4, 6)
    gathered: list[int] = []
    real = results.gather

    def counting(*args: object, **kw: object) -> results.Gathered:
        gathered.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    with unit_of_work(engine) as session:
        rows = []
        for ids in teams:
            t = repo.get_team(session=session, team_id=ids.team_id)
            period = repo.get_period_by_id(session=session, period_id=ids.period_id)
            member = repo.get_member(session=session, member_id=ids.agents[2][0])
            assert t is not None and period is not None and member is not None
            results.current_results(t, period, session=session)  # computed and stored
            rows.append((t, period, member))
        monkeypatch.setattr(results, "gather", counting)
        for rounds in (1, 2):
            for t, period, member in rows:
                outcome = results.what_if(t, period, member, {"manager.ability": 1.0},
                                          session=session)  # fmt: skip
                assert outcome is not None and outcome.after.total is not None
            assert gathered == [], rounds
        results._INPUTS.clear()  # a restart: the first what-if of each team gathers it, once
        results._CONTEXTS.clear()
        for _round in (1, 2):
            for t, period, member in rows:
                results.what_if(t, period, member, {"manager.ability": 2.0}, session=session)
        assert len(gathered) == len(rows)

"""The results service: stored facts → scoring → score rows, history, what-if."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from commands import results
from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from storage.models import Period, Team
from tests.commands.conftest import review_everyone
from tests.conversations.world import SCHEME_TEXT

SELF = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 4}
MANAGER = {"Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}


@pytest.fixture
def reviewed(engine: Engine, world: dict[str, int]) -> Engine:
    review_everyone(engine, "london", self_scores=SELF, manager_scores=MANAGER)
    return engine


def _london(session: Session) -> tuple[Team, Period]:
    team = repo.get_team_by_name(session=session, name="london")
    assert team is not None
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    return team, period


def test_scores_are_stored_with_the_scheme_hash_and_ranked_best_first(reviewed: Engine) -> None:
    with unit_of_work(reviewed) as session:
        team, period = _london(session)
        outcome = results.period_results(team, period, session=session, actor="test")
        assert outcome is not None
        names = [s.name for s in outcome.scored]
        totals = [s.total for s in outcome.scored]
        assert totals == sorted(totals, reverse=True)
        assert names[0] == "Alice" and names[-1] == "Carol"
        rows = repo.list_scores(session=session, period=period)
        assert {r.scheme_hash for r in rows} == {parse_scheme(SCHEME_TEXT).content_hash}
        assert [r.member_id for r in rows] == [s.member_id for s in outcome.scored]
        assert all(
            r.breakdown["sources"]["indicators"]["refund_ratio"]["source"] == "test" for r in rows
        )


def test_recomputing_an_unchanged_period_writes_no_new_audit_entries(reviewed: Engine) -> None:
    with unit_of_work(reviewed) as session:
        team, period = _london(session)
        results.period_results(team, period, session=session, actor="test")
        before = len(repo.audit_trail(session=session, entity="score"))
        results.period_results(team, period, session=session, actor="test")
        assert len(repo.audit_trail(session=session, entity="score")) == before > 0


def test_a_locked_period_is_read_back_as_stored_even_when_the_facts_change(
    reviewed: Engine,
) -> None:
    with unit_of_work(reviewed) as session:
        team, period = _london(session)
        first = results.period_results(team, period, session=session, actor="test")
        assert first is not None
        repo.lock_scores(session=session, period=period, actor="test", reason=None)
        bob = repo.get_member_by_name(session=session, team=team, name="Carol")
        assert bob is not None
        repo.set_indicator_value(
            session=session,
            period=period,
            member=bob,
            indicator="refund_ratio",
            value="0.01",
            source="manual",
            actor="test",
            reason="late fix",
        )
        again = results.period_results(team, period, session=session, actor="test")
        assert again is not None and again.stored
        assert [(s.name, s.total) for s in again.scored] == [
            (s.name, pytest.approx(s.total, abs=1e-6)) for s in first.scored
        ]


def test_an_agent_without_reviews_is_not_scored_and_not_stored(
    engine: Engine, world: dict[str, int]
) -> None:
    with unit_of_work(engine) as session:
        team, period = _london(session)
        outcome = results.period_results(team, period, session=session, actor="test")
        assert outcome is not None
        assert outcome.scored == ()
        assert repo.list_scores(session=session, period=period) == []


def test_what_if_changes_the_score_but_stores_nothing(reviewed: Engine) -> None:
    with unit_of_work(reviewed) as session:
        team, period = _london(session)
        carol = repo.get_member_by_name(session=session, team=team, name="Carol")
        assert carol is not None
        outcome = results.what_if(team, period, carol, {"refund_ratio": 0.01, "avg_response_s": 10},
                                  session=session)  # fmt: skip
        assert outcome is not None
        assert (outcome.after.total or 0) > (outcome.before.total or 0)
        assert repo.list_scores(session=session, period=period) == []


def test_history_lists_earlier_periods_newest_first(reviewed: Engine) -> None:
    with unit_of_work(reviewed) as session:
        team, october = _london(session)
        results.period_results(team, october, session=session, actor="test")
        november = repo.get_or_create_period(session=session, team=team, key="2026-11")
        alice = repo.get_member_by_name(session=session, team=team, name="Alice")
        assert alice is not None
        past = results.history(team, alice, november, session=session)
        assert [(h.period, h.rank) for h in past] == [("2026-10", 1)]
        assert results.previous_period(team, november, session=session) == october


def test_the_default_period_is_the_latest_month_that_has_ended(reviewed: Engine) -> None:
    with unit_of_work(reviewed) as session:
        team, october = _london(session)
        repo.get_or_create_period(session=session, team=team, key="2026-11")
        today = datetime(2026, 11, 20, tzinfo=UTC).date()
        assert results.latest_scored_period(team, session=session, today=today) == october

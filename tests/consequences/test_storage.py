"""The consequences repository on SQLite and PostgreSQL: idempotent creation, exact money, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from storage import consequences as store
from storage import repo
from storage.db import unit_of_work

NOW = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)


def _team(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        team = repo.create_team(session=s, name="t", lang="en")
        manager = repo.add_member(session=s, team=team, name="M", role="manager")
        for name in ("A", "B"):
            repo.add_member(session=s, team=team, name=name, role="agent", manager=manager)
        repo.get_or_create_period(session=s, team=team, key="2026-10", status="published")


def _rows(s):  # type: ignore[no-untyped-def]
    team = repo.get_team_by_name(session=s, name="t")
    assert team is not None
    period = repo.get_period(session=s, team=team, key="2026-10")
    a = repo.get_member_by_name(session=s, team=team, name="A")
    b = repo.get_member_by_name(session=s, team=team, name="B")
    assert period is not None and a is not None and b is not None
    return team, period, a, b


def test_payroll_is_replaced_exactly_and_every_change_is_audited(db_engine: Engine) -> None:
    _team(db_engine)
    with unit_of_work(db_engine) as s:
        team, period, a, b = _rows(s)
        store.replace_payroll(
            session=s,
            team=team,
            period=period,
            entries=[(a, "reward", Decimal("100.50"), "CNY"), (b, "penalty", Decimal("50"), "CNY")],
            actor="system",
            reason="published",
            now=NOW,
        )
    with unit_of_work(db_engine) as s:
        team, period, a, b = _rows(s)
        store.replace_payroll(
            session=s,
            team=team,
            period=period,
            entries=[(b, "reward", Decimal("100.50"), "CNY"), (a, "penalty", Decimal("50"), "CNY")],
            actor="member:9",
            reason="appeal #1",
            now=NOW,
        )
    with unit_of_work(db_engine) as s:
        team, period, a, b = _rows(s)
        entries = {
            (e.member_id, e.kind): e.amount for e in store.list_payroll(session=s, period=period)
        }
        assert entries == {(b.id, "reward"): Decimal("100.50"), (a.id, "penalty"): Decimal("50")}
        assert all(isinstance(v, Decimal) for v in entries.values())
        actions = [(e.action, e.actor) for e in repo.audit_trail(session=s, entity="payroll_entry")]
        assert (
            actions.count(("payroll.remove", "member:9")) == 2
            and actions.count(("payroll.add", "member:9")) == 2
        )


def test_a_plan_and_a_meeting_are_created_once(db_engine: Engine) -> None:
    _team(db_engine)
    for _ in range(2):
        with unit_of_work(db_engine) as s:
            team, period, a, _b = _rows(s)
            store.ensure_plan(
                session=s,
                team=team,
                period=period,
                member=a,
                due_at=NOW + timedelta(days=3),
                now=NOW,
            )
            meeting, _created = store.ensure_meeting(
                session=s,
                team=team,
                period=period,
                member=a,
                manager=None,
                prompt={"x": 1},
                now=NOW,
            )
            store.offer_slots(
                session=s,
                meeting=meeting,
                starts=[NOW + timedelta(days=1)],
                proposed_by="system",
                now=NOW,
            )
    with unit_of_work(db_engine) as s:
        team, period, a, _b = _rows(s)
        assert len(store.list_plans(session=s, period=period)) == 1
        (meeting,) = store.list_meetings(session=s, period=period)
        assert len(store.list_slots(session=s, meeting=meeting)) == 1


def test_a_restated_locked_score_keeps_before_after_who_and_why(db_engine: Engine) -> None:
    _team(db_engine)
    with unit_of_work(db_engine) as s:
        _team_row, period, a, _b = _rows(s)
        repo.save_score(
            session=s,
            period=period,
            member=a,
            scheme_hash="h",
            total=61.5,
            rank=3,
            breakdown={},
            flags=["improvement"],
            actor="system",
            reason=None,
        )
        repo.lock_scores(session=s, period=period, actor="system", reason="published")
    with unit_of_work(db_engine) as s:
        _team_row, period, a, _b = _rows(s)
        score = repo.get_score(session=s, period=period, member=a)
        assert score is not None and score.locked
        store.restate_score(
            session=s,
            score=score,
            total=70.25,
            rank=2,
            breakdown={"k": 1},
            flags=[],
            actor="member:4",
            reason="appeal #1: the shift log",
            now=NOW,
        )
    with unit_of_work(db_engine) as s:
        entry = [
            e for e in repo.audit_trail(session=s, entity="score") if e.action == "score.restate"
        ][-1]
        assert (entry.before["rank"], entry.after["rank"]) == (3, 2)
        assert Decimal(entry.after["total"]) == Decimal("70.25")
        assert (entry.actor, entry.reason) == ("member:4", "appeal #1: the shift log")


def test_goals_are_read_back_for_their_period(db_engine: Engine) -> None:
    _team(db_engine)
    with unit_of_work(db_engine) as s:
        team, _period, a, _b = _rows(s)
        store.add_goal(
            session=s,
            team=team,
            member=a,
            period_key="2026-11",
            text="faster",
            due_on=date(2026, 11, 30),
            created_by="member:1",
            indicator="avg_response_s",
            target=45,
            now=NOW,
        )
    with unit_of_work(db_engine) as s:
        _team_row, _period, a, _b = _rows(s)
        (goal,) = store.goals_for(session=s, member=a, period_key="2026-11")
        assert (
            goal.target == Decimal("45")
            and store.goals_for(session=s, member=a, period_key="2026-12") == []
        )

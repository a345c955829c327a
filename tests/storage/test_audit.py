"""The audit log is append-only, and every audited change records who, when, why, before and
after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from storage import repo
from storage.db import unit_of_work
from storage.models import AuditLog, AuditLogIsAppendOnly

from .helpers import NOW, team_with_agents


def _one_entry(session: Session) -> AuditLog:
    return repo.append_audit(
        session=session,
        actor="member:1",
        action="test",
        entity="score",
        entity_id=7,
        before={"total": "80"},
        after={"total": "85"},
        reason="typo",
        at=NOW,
    )


def test_an_orm_update_of_an_audit_entry_raises(db_session: Session) -> None:
    entry = _one_entry(db_session)
    entry.reason = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()


def test_an_orm_delete_of_an_audit_entry_raises(db_session: Session) -> None:
    entry = _one_entry(db_session)
    db_session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()


@pytest.mark.parametrize("statement", [update(AuditLog).values(reason="x"), delete(AuditLog)])
def test_a_bulk_orm_update_or_delete_of_audit_entries_raises(
    db_session: Session, statement: object
) -> None:
    _one_entry(db_session)
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.execute(statement)  # type: ignore[call-overload]


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"])
def test_the_database_itself_refuses_raw_sql_changes_to_the_audit_log(
    db_engine: Engine, sql: str
) -> None:
    with unit_of_work(db_engine) as session:
        _one_entry(session)
    with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as connection:
        connection.execute(text(sql))
    with unit_of_work(db_engine) as session:
        (entry,) = session.exec(select(AuditLog)).all()
        assert entry.reason == "typo"


def test_appending_more_entries_is_allowed(db_session: Session) -> None:
    _one_entry(db_session)
    _one_entry(db_session)
    assert len(repo.audit_trail(session=db_session, entity="score", entity_id=7)) == 2


def test_changing_an_indicator_value_records_before_and_after(db_session: Session) -> None:
    _, period, (agent,) = team_with_agents(db_session, "王小红")
    first = repo.set_indicator_value(
        session=db_session,
        period=period,
        member=agent,
        indicator="conversion_rate",
        value=Decimal("0.25"),
        source="import",
        actor="cli",
        reason="October export",
        now=NOW,
    )
    repo.set_indicator_value(
        session=db_session,
        period=period,
        member=agent,
        indicator="conversion_rate",
        value=Decimal("0.3"),
        source="manual",
        actor="member:9",
        reason="export was wrong",
        now=NOW,
    )
    created, changed = repo.audit_trail(
        session=db_session, entity="indicator_value", entity_id=first.id
    )
    assert created.before is None and created.after is not None
    assert Decimal(created.after["value"]) == Decimal("0.25")
    assert changed.actor == "member:9" and changed.reason == "export was wrong"
    assert changed.before is not None and changed.after is not None
    assert Decimal(changed.before["value"]) == Decimal("0.25")
    assert Decimal(changed.after["value"]) == Decimal("0.3")
    assert (changed.before["source"], changed.after["source"]) == ("import", "manual")


def test_setting_the_same_value_again_writes_no_audit_entry(db_session: Session) -> None:
    _, period, (agent,) = team_with_agents(db_session, "a")
    for _ in range(3):
        repo.set_indicator_value(
            session=db_session,
            period=period,
            member=agent,
            indicator="churn_rate",
            value="0.05",
            source="import",
            actor="cli",
            reason=None,
        )
    assert len(repo.audit_trail(session=db_session, entity="indicator_value")) == 1


def test_a_changed_review_is_audited_with_old_and_new_answers(db_session: Session) -> None:
    _, period, (agent, boss) = team_with_agents(db_session, "agent", "boss")
    review = repo.save_review(
        session=db_session,
        period=period,
        subject=agent,
        rater=boss,
        kind="manager",
        answers={"ability": 3},
        actor=repo.actor_of(boss),
        reason=None,
        submitted_at=NOW,
    )
    repo.save_review(
        session=db_session,
        period=period,
        subject=agent,
        rater=boss,
        kind="manager",
        answers={"ability": 4},
        actor="member:99",
        reason="second-level adjustment",
        submitted_at=NOW,
    )
    trail = repo.audit_trail(session=db_session, entity="review", entity_id=review.id)
    assert [e.actor for e in trail] == [f"member:{boss.id}", "member:99"]
    assert trail[1].before["answers"] == {"ability": 3}  # type: ignore[index]
    assert trail[1].after["answers"] == {"ability": 4}  # type: ignore[index]
    assert trail[1].reason == "second-level adjustment"


def test_a_recomputed_score_is_audited(db_session: Session) -> None:
    _, period, (agent,) = team_with_agents(db_session, "a")
    args = dict(
        session=db_session,
        period=period,
        member=agent,
        scheme_hash="h",
        rank=1,
        breakdown={},
        flags=[],
        actor="system",
        reason="monthly run",
    )
    score = repo.save_score(total=Decimal("80.5"), **args)  # type: ignore[arg-type]
    repo.save_score(total=Decimal("80.5"), **args)  # type: ignore[arg-type]
    repo.save_score(total=Decimal("82"), **args)  # type: ignore[arg-type]
    trail = repo.audit_trail(session=db_session, entity="score", entity_id=score.id)
    assert len(trail) == 2
    assert Decimal(trail[1].before["total"]) == Decimal("80.5")  # type: ignore[index]
    assert Decimal(trail[1].after["total"]) == Decimal("82")  # type: ignore[index]


def test_bulk_indicator_values_audit_only_what_changed(db_session: Session) -> None:
    _, period, (a, b) = team_with_agents(db_session, "a", "b")
    rows = [(a, "churn_rate", "0.05"), (b, "churn_rate", "0.07"), (a.id, "avg_response_s", 40)]
    assert (
        repo.set_indicator_values(
            session=db_session,
            period=period,
            rows=rows,
            source="import",
            actor="cli",
            reason="first file",
            now=NOW,
        )
        == 3
    )
    assert (
        repo.set_indicator_values(
            session=db_session,
            period=period,
            rows=rows,
            source="import",
            actor="cli",
            reason="same file",
            now=NOW,
        )
        == 0
    )
    changed = [(a, "churn_rate", "0.05"), (b, "churn_rate", None)]
    assert (
        repo.set_indicator_values(
            session=db_session,
            period=period,
            rows=changed,
            source="import",
            actor="member:3",
            reason="corrected",
            now=NOW,
        )
        == 1
    )
    trail = repo.audit_trail(session=db_session, entity="indicator_value")
    assert [e.reason for e in trail] == ["first file"] * 3 + ["corrected"]
    assert trail[-1].before["value"] is not None and trail[-1].after["value"] is None  # type: ignore[index]
    assert repo.indicator_table(session=db_session, period=period)[b.id] == {"churn_rate": None}  # type: ignore[index]


def test_bulk_indicator_values_refuse_the_same_cell_twice(db_session: Session) -> None:
    _, period, (a,) = team_with_agents(db_session, "a")
    with pytest.raises(ValueError, match="twice"):
        repo.set_indicator_values(
            session=db_session,
            period=period,
            source="import",
            actor="cli",
            reason=None,
            rows=[(a, "x", 1), (a, "x", 2)],
        )

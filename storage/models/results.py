"""Results stored per period (issue 20): the inputs' version and the result rows as shown,
and the one rule that keeps the version current (:func:`_bump_on_flush`: every session's flush
that writes an input bumps its period's version in the same transaction; registered with the
tables, so no process that writes can be without it). Reading and storing the results, and
what makes staleness impossible, is :mod:`storage.results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction, attributes
from sqlmodel import Field, SQLModel

from storage.models.consequences import Appeal, ImprovementPlan
from storage.models.core import (
    CustomerRating,
    DataImport,
    IndicatorValue,
    Member,
    Period,
    Review,
    Team,
)
from storage.models.qa import QaReview, QaSample
from storage.types import UTCDateTime, json_type


class ResultState(SQLModel, table=True):
    """A period's inputs' version, and the version and scheme its stored results came from."""

    __tablename__ = "result_state"

    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", primary_key=True)
    inputs_version: int = Field(default=0, description="bumped with every write of an input")
    results_version: int | None = Field(
        default=None, description="the inputs_version the stored results were computed from"
    )
    scheme_hash: str | None = Field(default=None, description="the scheme they were computed by")
    computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    token: str | None = Field(
        default=None, description="new with every store: names one computation (caches key on it)"
    )


class ResultRow(SQLModel, table=True):
    """One agent's result of a period as shown (scored or not): ``commands.results.AgentScore``."""

    __tablename__ = "result"
    __table_args__ = (Index(None, "period_id", "position"),)

    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", primary_key=True)
    position: int = Field(description="the place in the shown order (best first, unscored last)")
    name: str
    total: float | None = None
    rank: int | None = None
    group_size: int = 0
    provisional: bool = False
    flags: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    breakdown: str = Field(sa_type=Text, description="the breakdown as JSON text")


RESULT_TABLES: tuple[type[SQLModel], ...] = (ResultState, ResultRow)


def upsert(session: OrmSession) -> Any:
    """The dialect's INSERT … ON CONFLICT (PostgreSQL or SQLite)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# -- the one place the inputs' version is bumped -------------------------------------------------

PERIOD_INPUTS: tuple[type[SQLModel], ...] = (
    IndicatorValue,
    Review,
    DataImport,
    Appeal,
    ImprovementPlan,
    QaSample,
)
"""Rows that carry the period they are an input of (``period_id``)."""

MEMBER_FIELDS = ("team_id", "role", "active", "name", "name_en")
"""What of a member a result shows or depends on: who is scored, and their name."""
PERIOD_FIELDS = ("scheme_id", "status", "starts_on", "ends_on", "team_id")
TEAM_FIELDS = ("scheme_id", "timezone")


def _changed(obj: Any, fields: Sequence[str]) -> bool:
    state_ = attributes.instance_state(obj)
    return any(state_.attrs[f].history.has_changes() for f in fields if f in state_.attrs)


def _old_and_new(obj: Any, field: str) -> set[Any]:
    history = attributes.instance_state(obj).attrs[field].history
    return {v for v in (*history.deleted, *history.unchanged, *history.added) if v is not None}


def _affected(session: OrmSession) -> tuple[set[int], set[int]]:
    """``(period ids, team ids)`` whose inputs the flush writes."""
    periods: set[int] = set()
    teams: set[int] = set()
    new, dirty, deleted = session.new, session.dirty, session.deleted  # identity sets
    for obj in (*new, *dirty, *deleted):
        if obj in dirty and not session.is_modified(obj):
            continue
        if isinstance(obj, PERIOD_INPUTS):
            periods |= _old_and_new(obj, "period_id")
        elif isinstance(obj, CustomerRating):
            if obj.period_id is None:
                teams |= _old_and_new(obj, "team_id")
            periods |= _old_and_new(obj, "period_id")
        elif isinstance(obj, QaReview):
            with session.no_autoflush:
                sample = session.get(QaSample, obj.sample_id) if obj.sample_id else None
            if sample is not None:
                periods.add(sample.period_id)
        elif isinstance(obj, Member):
            if obj in new or obj in deleted or _changed(obj, MEMBER_FIELDS):
                teams |= _old_and_new(obj, "team_id")
        elif isinstance(obj, Period):
            if obj in dirty and _changed(obj, PERIOD_FIELDS) and obj.id is not None:
                periods.add(obj.id)
        elif isinstance(obj, Team) and obj in dirty and _changed(obj, TEAM_FIELDS):
            teams |= {obj.id} if obj.id is not None else set()
    return periods, teams


def _bump(session: OrmSession, periods: set[int], teams: set[int]) -> None:
    """Bump the inputs' version of ``periods`` (and their team's later periods) and of every
    period of ``teams``: one upsert per period, in the flush's transaction."""
    connection = session.connection()
    ids: set[int] = set()
    if teams:
        placeholders = ", ".join(f":t{i}" for i in range(len(teams)))
        ids |= {
            int(r[0])
            for r in connection.execute(
                text(f"SELECT id FROM period WHERE team_id IN ({placeholders})"),
                {f"t{i}": t for i, t in enumerate(teams)},
            )
        }
    if periods:
        placeholders = ", ".join(f":p{i}" for i in range(len(periods)))
        ids |= {
            int(r[0])
            for r in connection.execute(
                text(
                    "SELECT later.id FROM period AS later JOIN period AS changed "
                    "ON later.team_id = changed.team_id AND later.starts_on >= changed.starts_on "
                    f"WHERE changed.id IN ({placeholders})"
                ),
                {f"p{i}": p for i, p in enumerate(periods)},
            )
        }
        ids |= periods
    if not ids or not _state_table_exists(connection):
        return
    table = ResultState.__table__  # type: ignore[attr-defined]
    statement = (
        upsert(session)(table)
        .values(inputs_version=1)
        .on_conflict_do_update(
            index_elements=["period_id"], set_={"inputs_version": table.c.inputs_version + 1}
        )
    )
    connection.execute(statement, [{"period_id": i} for i in sorted(ids)])


def _state_table_exists(connection: Any) -> bool:
    """False in a database not yet migrated to 0012_res20 (written at an older revision, as a
    migration test does): then there are no stored results to keep current either."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(text("SELECT to_regclass('result_state')")).scalar()
    else:
        found = connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'result_state'")
        ).scalar()
    return found is not None


@event.listens_for(OrmSession, "after_flush")
def _bump_on_flush(session: OrmSession, _flush_context: UOWTransaction) -> None:
    periods, teams = _affected(session)
    if periods or teams:
        _bump(session, periods, teams)

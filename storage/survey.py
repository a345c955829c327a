"""Repository functions for the survey's notification settings (:mod:`storage.models.survey`).

The daily digest of customer comments is on for every agent unless they turned it off;
turning it off is one ``survey_digest_optout`` row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models.survey import SurveyDigestOptOut, SurveyRateHit


def digest_enabled(*, session: Session, member_id: int) -> bool:
    """Whether this agent gets the daily digest of customer comments (default: yes)."""
    return session.get(SurveyDigestOptOut, member_id) is None


def set_digest(
    *, session: Session, member_id: int, enabled: bool, now: datetime | None = None
) -> bool:
    """Turn the agent's daily digest on or off; ``True`` when that changed something."""
    row = session.get(SurveyDigestOptOut, member_id)
    if enabled:
        if row is None:
            return False
        session.delete(row)
        session.flush()
        return True
    if row is not None:
        return False
    session.add(SurveyDigestOptOut(member_id=member_id, at=now or datetime.now(UTC)))
    session.flush()
    return True


def digest_opted_out(*, session: Session, member_ids: Iterable[int] | None = None) -> set[int]:
    """The ids (among ``member_ids``, else everyone) of agents who turned the digest off."""
    query = select(SurveyDigestOptOut.member_id)
    if member_ids is not None:
        ids = list(member_ids)
        if not ids:
            return set()
        query = query.where(col(SurveyDigestOptOut.member_id).in_(ids))
    return set(session.exec(query))


def rate_hits(*, session: Session, address: str, window: int) -> int:
    """How many requests ``address`` was let through in ``window`` (0 when none)."""
    row = session.get(SurveyRateHit, (address, window))
    return 0 if row is None else row.hits


def take_rate_hit(*, session: Session, address: str, window: int, room: float) -> bool:
    """Count one request of ``address`` in ``window`` if that keeps its count within
    ``room``; ``True`` when counted. One statement (insert, or add one where the count
    allows it), so replicas counting the same address at once never pass the limit."""
    if room < 1:
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = SurveyRateHit.__table__  # type: ignore[attr-defined]
    statement = (
        insert(SurveyRateHit)
        .values(address=address, window_no=window, hits=1)
        .on_conflict_do_update(
            index_elements=["address", "window_no"],
            set_={"hits": table.c.hits + 1},
            where=table.c.hits + 1 <= room,
        )
        .returning(table.c.hits)
    )
    return session.execute(statement).first() is not None


def forget_rate_hits(*, session: Session, before_window: int) -> int:
    """Delete the counts of windows before ``before_window``; how many rows went."""
    result = session.execute(
        delete(SurveyRateHit).where(col(SurveyRateHit.window_no) < before_window)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Scores: saved per period and member, locked, and how each was published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from storage.models import Member, Period, Score
from storage.repo.audit import audited_change, jsonable, snapshot
from storage.repo.common import id_of, now_or_utc
from storage.repo.errors import ScoreLocked
from storage.types import quantize, to_decimal


def get_score(*, session: Session, period: Period, member: Member) -> Score | None:
    return session.exec(
        select(Score).where(Score.period_id == period.id, Score.member_id == member.id)
    ).first()


def save_score(
    *,
    session: Session,
    period: Period,
    member: Member,
    scheme_hash: str,
    total: Decimal | int | float | str,
    rank: int | None,
    breakdown: Mapping[str, Any],
    flags: Sequence[Any],
    actor: str,
    reason: str | None,
    computed_at: datetime | None = None,
) -> Score:
    """Insert or update a member's score for a period, audited when anything changed.

    :class:`ScoreLocked` when the stored score is locked.
    """
    moment = now_or_utc(computed_at)
    row = get_score(session=session, period=period, member=member)
    if row is not None and row.locked:
        raise ScoreLocked(f"score of member {member.id} in period {period.key} is locked")
    exact = quantize(to_decimal(total))
    new = {
        "scheme_hash": scheme_hash,
        "total": exact,
        "rank": rank,
        "breakdown": jsonable(dict(breakdown)),
        "flags": jsonable(list(flags)),
    }
    if row is not None and all(getattr(row, k) == v for k, v in new.items()):
        return row
    before = snapshot(row)
    if row is None:
        row = Score(period_id=id_of(period), member_id=id_of(member), **new, computed_at=moment)
    else:
        for key, value in new.items():
            setattr(row, key, value)
        row.computed_at = moment
    audited_change(
        session=session,
        row=row,
        before=before,
        actor=actor,
        action="score.save",
        reason=reason,
        now=moment,
    )
    return row


def list_scores(*, session: Session, period: Period) -> list[Score]:
    """A period's scores by rank (unranked last), then member id."""
    rows = session.exec(select(Score).where(Score.period_id == period.id)).all()
    return sorted(rows, key=lambda s: (s.rank is None, s.rank or 0, s.member_id))


def lock_scores(
    *,
    session: Session,
    period: Period,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> int:
    """Lock every score of ``period`` (audited per score); returns how many were newly locked."""
    count = 0
    moment = now_or_utc(now)
    for row in list_scores(session=session, period=period):
        if row.locked:
            continue
        before = snapshot(row)
        row.locked = True
        audited_change(
            session=session,
            row=row,
            before=before,
            actor=actor,
            action="score.lock",
            reason=reason,
            now=moment,
        )
        count += 1
    return count


def set_release(
    *,
    session: Session,
    score: Score,
    release: str,
    actor: str,
    reason: str | None,
    released_by: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record how a score was published (``final``, ``held``, ``confirmed``), audited; ``False``
    when it already was. A published score (``final``/``confirmed``) is never taken back."""
    if score.release == release and score.released_by == released_by:
        return False
    if score.release in ("final", "confirmed"):
        raise ValueError(f"score {score.id} is already published ({score.release})")
    before = snapshot(score)
    score.release = release
    score.released_by = released_by
    audited_change(
        session=session,
        row=score,
        before=before,
        actor=actor,
        action=f"score.{release}",
        reason=reason,
        now=now_or_utc(now),
    )
    return True

"""Reviews (self, manager, peer): one per period, subject, rater and kind, audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import REVIEW_KIND_VALUES, Member, Period, Review
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import checked, id_of, now_or_utc


def get_review(
    *, session: Session, period: Period, subject: Member, rater: Member, kind: str
) -> Review | None:
    return session.exec(
        select(Review).where(
            Review.period_id == period.id,
            Review.subject_id == subject.id,
            Review.rater_id == rater.id,
            Review.kind == kind,
        )
    ).first()


def get_review_by_idempotency_key(*, session: Session, idempotency_key: str) -> Review | None:
    return session.exec(select(Review).where(Review.idempotency_key == idempotency_key)).first()


def save_review(
    *,
    session: Session,
    period: Period,
    subject: Member,
    rater: Member,
    kind: str,
    answers: Mapping[str, Any],
    actor: str,
    reason: str | None,
    comments: Mapping[str, Any] | None = None,
    submitted_at: datetime | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    rater_label: str | None = None,
) -> Review:
    """Insert or replace the (period, subject, rater, kind) review, audited.

    A review already saved under ``idempotency_key`` is returned unchanged (a replayed
    submission). ``submitted_at`` None keeps the review a draft. With ``rater_label`` (an
    anonymous rating: a pseudonym) the audit entry's ``before`` and ``after`` carry the
    label in place of ``rater_id`` (the caller passes it as ``actor`` too).
    """
    checked(kind, REVIEW_KIND_VALUES, "kind")
    if idempotency_key is not None:
        replay = get_review_by_idempotency_key(session=session, idempotency_key=idempotency_key)
        if replay is not None:
            return replay
    moment = now_or_utc(now)
    row = get_review(session=session, period=period, subject=subject, rater=rater, kind=kind)
    before = snapshot(row)
    if row is None:
        row = Review(
            period_id=id_of(period), subject_id=id_of(subject), rater_id=id_of(rater), kind=kind
        )
    row.answers = dict(answers)
    row.comments = dict(comments or {})
    row.submitted_at = submitted_at
    if idempotency_key is not None:
        row.idempotency_key = idempotency_key
    if rater_label is None:
        audited_change(
            session=session,
            row=row,
            before=before,
            actor=actor,
            action=f"review.{kind}",
            reason=reason,
            now=moment,
        )
        return row
    session.add(row)
    session.flush()
    after = snapshot(row)
    if before != after:
        append_audit(
            session=session,
            actor=actor,
            action=f"review.{kind}",
            entity="review",
            entity_id=id_of(row),
            before=_masked_rater(before, rater_label),
            after=_masked_rater(after, rater_label),
            reason=reason,
            at=moment,
        )
    return row


def _masked_rater(snap: dict[str, Any] | None, label: str) -> dict[str, Any] | None:
    if snap is None:
        return None
    return {**snap, "rater_id": label}


def list_reviews(
    *,
    session: Session,
    period: Period,
    kind: str | None = None,
    subject: Member | None = None,
    submitted_only: bool = True,
) -> list[Review]:
    query = select(Review).where(Review.period_id == period.id)
    if kind is not None:
        query = query.where(Review.kind == kind)
    if subject is not None:
        query = query.where(Review.subject_id == subject.id)
    if submitted_only:
        query = query.where(col(Review.submitted_at).is_not(None))
    return list(session.exec(query.order_by(col(Review.subject_id), col(Review.id))))

"""Repository functions of quality sampling (质检, issue 8); every one takes a keyword-only
``session``.

Tables: :mod:`storage.models.qa`. Commands never write SQL; they call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Member, Period, Team, utcnow
from storage.models.qa import QaDispute, QaDraw, QaReview, QaSample, QaSessionLoad, ServiceSession
from storage.repo.audit import append_audit, snapshot
from storage.repo.common import id_of

# -- sessions -------------------------------------------------------------------------------


def add_sessions(
    *,
    session: Session,
    team: Team,
    period: Period,
    rows: Iterable[Mapping[str, Any]],
    import_id: int | None = None,
    load_id: int | None = None,
) -> int:
    """Insert sessions (``member_id, ref, started_at, day``, optional ``url``); a reference the
    period already has is skipped. Returns how many were inserted."""
    known = set(
        session.exec(select(ServiceSession.ref).where(ServiceSession.period_id == id_of(period)))
    )
    added = 0
    for row in rows:
        ref = str(row["ref"])
        if ref in known:
            continue
        known.add(ref)
        session.add(
            ServiceSession(
                team_id=id_of(team),
                period_id=id_of(period),
                member_id=int(row["member_id"]),
                ref=ref,
                url=row.get("url") or None,
                started_at=row["started_at"],
                day=row["day"],
                import_id=import_id,
                load_id=load_id,
            )
        )
        added += 1
    session.flush()
    return added


def list_sessions(
    *, session: Session, period: Period, max_id: int | None = None, member_id: int | None = None
) -> list[ServiceSession]:
    query = select(ServiceSession).where(ServiceSession.period_id == id_of(period))
    if max_id is not None:
        query = query.where(col(ServiceSession.id) <= max_id)
    if member_id is not None:
        query = query.where(ServiceSession.member_id == member_id)
    return list(session.exec(query.order_by(col(ServiceSession.id))))


def get_session(*, session: Session, session_id: int) -> ServiceSession | None:
    return session.get(ServiceSession, session_id)


def find_load(*, session: Session, period: Period, sha256: str) -> QaSessionLoad | None:
    return session.exec(
        select(QaSessionLoad).where(
            QaSessionLoad.period_id == id_of(period), QaSessionLoad.sha256 == sha256
        )
    ).first()


def add_load(
    *,
    session: Session,
    team: Team,
    period: Period,
    file_name: str,
    sha256: str,
    mapping_name: str,
    row_count: int,
    actor: str,
    now: datetime | None = None,
) -> QaSessionLoad:
    row = QaSessionLoad(
        team_id=id_of(team),
        period_id=id_of(period),
        file_name=file_name,
        sha256=sha256,
        mapping_name=mapping_name,
        row_count=row_count,
        loaded_by=actor,
        loaded_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="qa.load_sessions",
        entity="qa_session_load",
        entity_id=id_of(row),
        after=snapshot(row),
        at=row.loaded_at,
    )
    return row


# -- draws and samples ------------------------------------------------------------------------


def add_draw(
    *,
    session: Session,
    team: Team,
    period: Period,
    seed: int,
    rule: Mapping[str, Any],
    max_session_id: int,
    candidates: int,
    samples: Sequence[Mapping[str, Any]],
    short: Sequence[Mapping[str, Any]],
    digest: str,
    actor: str,
    now: datetime | None = None,
) -> QaDraw:
    """Store a draw and its samples (``session_id, member_id, stratum, short``) in one go."""
    draw = QaDraw(
        team_id=id_of(team),
        period_id=id_of(period),
        seed=str(seed),
        rule=dict(rule),
        max_session_id=max_session_id,
        candidates=candidates,
        drawn=len(samples),
        short=[dict(s) for s in short],
        digest=digest,
        drawn_by=actor,
        drawn_at=now or utcnow(),
    )
    session.add(draw)
    session.flush()
    for s in samples:
        session.add(
            QaSample(
                draw_id=id_of(draw),
                session_id=int(s["session_id"]),
                period_id=id_of(period),
                member_id=int(s["member_id"]),
                stratum=str(s["stratum"]),
                short=bool(s["short"]),
                created_at=draw.drawn_at,
            )
        )
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="qa.draw",
        entity="qa_draw",
        entity_id=id_of(draw),
        after=snapshot(draw),
        at=draw.drawn_at,
    )
    return draw


def get_draw(*, session: Session, draw_id: int) -> QaDraw | None:
    return session.get(QaDraw, draw_id)


def list_draws(*, session: Session, period: Period) -> list[QaDraw]:
    return list(
        session.exec(
            select(QaDraw).where(QaDraw.period_id == id_of(period)).order_by(col(QaDraw.id))
        )
    )


def sampled_session_ids(
    *, session: Session, period: Period, before_draw: int | None = None
) -> set[int]:
    """Sessions already drawn in the period (by draws before ``before_draw`` when given)."""
    query = select(QaSample.session_id).where(QaSample.period_id == id_of(period))
    if before_draw is not None:
        query = query.where(col(QaSample.draw_id) < before_draw)
    return set(session.exec(query))


def list_samples(
    *,
    session: Session,
    period: Period | None = None,
    draw: QaDraw | None = None,
    member_id: int | None = None,
) -> list[QaSample]:
    query = select(QaSample)
    if period is not None:
        query = query.where(QaSample.period_id == id_of(period))
    if draw is not None:
        query = query.where(QaSample.draw_id == id_of(draw))
    if member_id is not None:
        query = query.where(QaSample.member_id == member_id)
    return list(session.exec(query.order_by(col(QaSample.id))))


def get_sample(*, session: Session, sample_id: int) -> QaSample | None:
    return session.get(QaSample, sample_id)


# -- reviews -----------------------------------------------------------------------------------


def get_review(*, session: Session, review_id: int, lock: bool = False) -> QaReview | None:
    if not lock:
        return session.get(QaReview, review_id)
    return session.exec(select(QaReview).where(QaReview.id == review_id).with_for_update()).first()


def review_of(*, session: Session, sample_id: int, reviewer_id: int) -> QaReview | None:
    return session.exec(
        select(QaReview).where(QaReview.sample_id == sample_id, QaReview.reviewer_id == reviewer_id)
    ).first()


def reviews_of_sample(*, session: Session, sample_id: int) -> list[QaReview]:
    return list(
        session.exec(
            select(QaReview).where(QaReview.sample_id == sample_id).order_by(col(QaReview.id))
        )
    )


def open_reviews(*, session: Session, reviewer_id: int) -> list[QaReview]:
    """The reviewer's assigned, not yet submitted reviews: calibration requests first, oldest
    first."""
    rows = session.exec(
        select(QaReview)
        .where(QaReview.reviewer_id == reviewer_id, QaReview.status == "assigned")
        .order_by(col(QaReview.assigned_at), col(QaReview.id))
    )
    return sorted(rows, key=lambda r: r.kind != "calibration")


def unclaimed_samples(
    *, session: Session, team_ids: Sequence[int], exclude_member: int, limit: int | None = None
) -> list[QaSample]:
    """Samples of these teams with no regular review yet, never the reviewer's own sessions nor a
    sample they reviewed already (for calibration); oldest first."""
    if not team_ids:
        return []
    claimed = select(QaReview.sample_id).where(
        (col(QaReview.kind) == "regular") | (col(QaReview.reviewer_id) == exclude_member)
    )
    query = (
        select(QaSample)
        .join(QaDraw, col(QaDraw.id) == col(QaSample.draw_id))
        .where(
            col(QaDraw.team_id).in_(list(team_ids)),
            QaSample.member_id != exclude_member,
            col(QaSample.id).not_in(claimed),
        )
        .order_by(col(QaSample.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def count_unclaimed(*, session: Session, team_ids: Sequence[int], exclude_member: int) -> int:
    if not team_ids:
        return 0
    claimed = select(QaReview.sample_id).where(
        (col(QaReview.kind) == "regular") | (col(QaReview.reviewer_id) == exclude_member)
    )
    query = (
        select(func.count())
        .select_from(QaSample)
        .join(QaDraw, col(QaDraw.id) == col(QaSample.draw_id))
        .where(
            col(QaDraw.team_id).in_(list(team_ids)),
            QaSample.member_id != exclude_member,
            col(QaSample.id).not_in(claimed),
        )
    )
    return int(session.exec(query).one())


def assign_review(
    *,
    session: Session,
    sample: QaSample,
    reviewer: Member,
    kind: str,
    actor: str,
    now: datetime | None = None,
) -> QaReview:
    """A review row for this reviewer. A regular review takes the sample's one regular slot
    (a second claim of the same sample raises ``IntegrityError``, so racing reviewers never
    both get it)."""
    row = QaReview(
        sample_id=id_of(sample),
        reviewer_id=id_of(reviewer),
        kind=kind,
        regular_key=id_of(sample) if kind == "regular" else None,
        assigned_by=actor,
        assigned_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def save_answers(*, session: Session, review: QaReview, answers: Mapping[str, Any]) -> QaReview:
    review.answers = dict(answers)
    session.add(review)
    session.flush()
    return review


def submit_review(
    *,
    session: Session,
    review: QaReview,
    answers: Mapping[str, Any],
    comment: str | None,
    score: float | None,
    actor: str,
    now: datetime | None = None,
) -> QaReview:
    before = snapshot(review)
    review.answers = dict(answers)
    review.comment = comment or None
    review.score = score
    review.status = "submitted"
    review.submitted_at = now or utcnow()
    session.add(review)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="qa.review",
        entity="qa_review",
        entity_id=id_of(review),
        before=before,
        after=snapshot(review),
        at=review.submitted_at,
    )
    return review


def mark_notified(*, session: Session, review: QaReview, now: datetime | None = None) -> None:
    review.notified_at = now or utcnow()
    session.add(review)
    session.flush()


def regular_reviews(
    *, session: Session, period: Period, submitted_only: bool = True
) -> list[tuple[QaReview, QaSample]]:
    """The period's regular reviews with their samples (the ones that count in the score)."""
    query = (
        select(QaReview, QaSample)
        .join(QaSample, col(QaSample.id) == col(QaReview.sample_id))
        .where(QaSample.period_id == id_of(period), QaReview.kind == "regular")
    )
    if submitted_only:
        query = query.where(QaReview.status == "submitted")
    return [(r, s) for r, s in session.exec(query.order_by(col(QaReview.id)))]


def reviews_for_member(
    *, session: Session, member_id: int, period: Period | None = None
) -> list[tuple[QaReview, QaSample]]:
    query = (
        select(QaReview, QaSample)
        .join(QaSample, col(QaSample.id) == col(QaReview.sample_id))
        .where(
            QaSample.member_id == member_id,
            QaReview.kind == "regular",
            QaReview.status == "submitted",
        )
    )
    if period is not None:
        query = query.where(QaSample.period_id == id_of(period))
    return [(r, s) for r, s in session.exec(query.order_by(col(QaReview.id)))]


# -- disputes ----------------------------------------------------------------------------------


def get_dispute(*, session: Session, review_id: int) -> QaDispute | None:
    return session.exec(select(QaDispute).where(QaDispute.review_id == review_id)).first()


def add_dispute(
    *,
    session: Session,
    review: QaReview,
    member: Member,
    reason: str,
    appeal_id: int | None,
    now: datetime | None = None,
) -> QaDispute:
    row = QaDispute(
        review_id=id_of(review),
        member_id=id_of(member),
        reason=reason,
        appeal_id=appeal_id,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor=f"member:{id_of(member)}",
        action="qa.dispute",
        entity="qa_dispute",
        entity_id=id_of(row),
        after=snapshot(row),
        reason=reason,
        at=row.created_at,
    )
    return row


def members_by_id(*, session: Session, ids: Iterable[int]) -> dict[int, Member]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {id_of(m): m for m in session.exec(select(Member).where(col(Member.id).in_(wanted)))}


def local_day(moment: datetime, timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(timezone)).date()


def review_by_conversation(
    *, session: Session, reviewer_id: int, conversation_id: int
) -> QaReview | None:
    """The reviewer's review that a chat form (``answers["_conversation"]``) belongs to."""
    rows = session.exec(
        select(QaReview).where(QaReview.reviewer_id == reviewer_id).order_by(col(QaReview.id))
    )
    for row in rows:
        if (row.answers or {}).get("_conversation") == conversation_id:
            return row
    return None

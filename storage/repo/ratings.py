"""Customer ratings: one per survey link."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import CustomerRating, Member, Period, Team
from storage.repo.common import id_of, now_or_utc
from storage.repo.errors import AlreadyExists


def add_customer_rating(
    *,
    session: Session,
    team: Team,
    member: Member,
    token_id: str,
    stars: int,
    period: Period | None = None,
    comment: str | None = None,
    ref: str | None = None,
    resolved: bool | None = None,
    now: datetime | None = None,
) -> CustomerRating:
    """One customer's rating; :class:`AlreadyExists` when this survey token was used."""
    if not 1 <= int(stars) <= 5:
        raise ValueError(f"stars must be 1 to 5; got {stars}")
    if get_customer_rating_by_token(session=session, token_id=token_id) is not None:
        raise AlreadyExists(f"survey token {token_id} was already used")
    moment = now_or_utc(now)
    row = CustomerRating(
        team_id=id_of(team),
        member_id=id_of(member),
        period_id=period.id if period else None,
        token_id=token_id,
        stars=int(stars),
        comment=comment,
        ref=ref,
        resolved=resolved,
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    return row


def get_customer_rating_by_token(*, session: Session, token_id: str) -> CustomerRating | None:
    return session.exec(select(CustomerRating).where(CustomerRating.token_id == token_id)).first()


def list_customer_ratings(
    *,
    session: Session,
    team: Team | None = None,
    period: Period | None = None,
    member: Member | None = None,
) -> list[CustomerRating]:
    query = select(CustomerRating)
    if team is not None:
        query = query.where(CustomerRating.team_id == team.id)
    if period is not None:
        query = query.where(CustomerRating.period_id == period.id)
    if member is not None:
        query = query.where(CustomerRating.member_id == member.id)
    return list(
        session.exec(query.order_by(col(CustomerRating.created_at), col(CustomerRating.id)))
    )

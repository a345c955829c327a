"""Member aliases: a member's account in a source system (an export's agent column)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Member, MemberAlias, Team
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import id_of, now_or_utc
from storage.repo.errors import AlreadyExists


def list_aliases(
    *, session: Session, team: Team, source: str | None = None, member: Member | None = None
) -> list[MemberAlias]:
    """The team's aliases (of one source, of one member), by source then alias."""
    query = select(MemberAlias).where(MemberAlias.team_id == id_of(team))
    if source is not None:
        query = query.where(MemberAlias.source == source)
    if member is not None:
        query = query.where(MemberAlias.member_id == id_of(member))
    return list(session.exec(query.order_by(col(MemberAlias.source), col(MemberAlias.alias))))


def add_alias(
    *,
    session: Session,
    member: Member,
    source: str,
    alias: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> MemberAlias:
    """Give ``member`` the account ``alias`` in ``source`` (audited).

    :class:`AlreadyExists` when the team has that alias in that source already."""
    found = session.exec(
        select(MemberAlias).where(
            MemberAlias.team_id == member.team_id,
            MemberAlias.source == source,
            MemberAlias.alias == alias,
        )
    ).first()
    if found is not None:
        raise AlreadyExists(f"alias {source}/{alias} already belongs to member {found.member_id}")
    row = MemberAlias(
        team_id=member.team_id,
        member_id=id_of(member),
        source=source,
        alias=alias,
        created_at=now_or_utc(now),
    )
    audited_change(
        session=session,
        row=row,
        before=None,
        actor=actor,
        action="member_alias.add",
        reason=reason,
        now=now_or_utc(now),
    )
    return row


def remove_alias(
    *,
    session: Session,
    alias: MemberAlias,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Remove one alias (audited: the entry keeps what it was)."""
    before = snapshot(alias)
    alias_id = id_of(alias)
    session.delete(alias)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="member_alias.remove",
        entity="member_alias",
        entity_id=alias_id,
        before=before,
        after=None,
        reason=reason,
        at=now_or_utc(now),
    )

"""Members: adding, finding (by name or messenger account), linking, managing a team."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    LANG_VALUES,
    NAMED_BY_NAME,
    ROLE_VALUES,
    Member,
    MemberIdentity,
    Team,
    TeamManager,
)
from storage.repo.audit import audited_change, snapshot
from storage.repo.common import checked, id_of, now_or_utc
from storage.repo.errors import AlreadyExists, IdentityTaken


def add_member(
    *,
    session: Session,
    team: Team,
    name: str,
    role: str = "agent",
    name_en: str | None = None,
    manager: Member | None = None,
    slack_user_id: str | None = None,
    telegram_user_id: str | int | None = None,
    lang: str | None = None,
    now: datetime | None = None,
) -> Member:
    """A new member of ``team``; :class:`AlreadyExists` when the team has that name,
    :class:`IdentityTaken` when the platform id belongs to someone else."""
    name = name.strip()
    if not name:
        raise ValueError("a member needs a name")
    checked(role, ROLE_VALUES, "role")
    if lang is not None:
        checked(lang, LANG_VALUES, "lang")
    if get_member_by_name(session=session, team=team, name=name) is not None:
        raise AlreadyExists(f"team {team.name!r} already has a member {name!r}")
    tg = None if telegram_user_id is None else str(telegram_user_id)
    if slack_user_id and get_member_by_slack_id(session=session, slack_user_id=slack_user_id):
        raise IdentityTaken(f"Slack user {slack_user_id} is already linked")
    if tg and get_member_by_telegram_id(session=session, telegram_user_id=tg):
        raise IdentityTaken(f"Telegram user {tg} is already linked")
    member = Member(
        team_id=id_of(team),
        name=name,
        name_en=name_en,
        role=role,
        manager_id=manager.id if manager is not None else None,
        slack_user_id=slack_user_id or None,
        telegram_user_id=tg,
        lang=lang,
        created_at=now_or_utc(now),
    )
    session.add(member)
    session.flush()
    if role == "manager":
        add_team_manager(session=session, team=team, member=member)
    return member


def get_member(*, session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


def get_member_by_name(*, session: Session, team: Team, name: str) -> Member | None:
    """The member of ``team`` called ``name`` (exact name first, then English name)."""
    name = name.strip()
    exact = session.exec(
        select(Member).where(Member.team_id == team.id, Member.name == name)
    ).first()
    if exact is not None:
        return exact
    return session.exec(
        select(Member)
        .where(Member.team_id == team.id, func.lower(Member.name_en) == name.lower())
        .order_by(col(Member.id))
    ).first()


def get_member_by_external_id(
    *, session: Session, platform: str, external_id: str | int
) -> Member | None:
    """The member linked to ``external_id`` on ``platform`` (:class:`MemberIdentity`)."""
    return session.exec(
        select(Member)
        .join(MemberIdentity, col(MemberIdentity.member_id) == col(Member.id))
        .where(MemberIdentity.platform == platform)
        .where(MemberIdentity.external_id == str(external_id).strip())
    ).first()


def get_member_by_slack_id(*, session: Session, slack_user_id: str) -> Member | None:
    return get_member_by_external_id(session=session, platform="slack", external_id=slack_user_id)


def get_member_by_telegram_id(*, session: Session, telegram_user_id: str | int) -> Member | None:
    return get_member_by_external_id(
        session=session, platform="telegram", external_id=telegram_user_id
    )


def list_members(
    *,
    session: Session,
    team: Team,
    roles: Iterable[str] | None = None,
    active_only: bool = True,
) -> list[Member]:
    """Members of ``team`` in id order, optionally only some roles."""
    query = select(Member).where(Member.team_id == team.id)
    if roles is not None:
        query = query.where(col(Member.role).in_(list(roles)))
    if active_only:
        query = query.where(col(Member.active).is_(True))
    return list(session.exec(query.order_by(col(Member.id))))


def link_platform(
    *,
    session: Session,
    member: Member,
    platform: str,
    user_id: str | int,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Member:
    """Link ``member`` to their account on ``platform`` (a messenger's name: ``slack``,
    ``telegram``, …), replacing the one they had there (audited).

    :class:`IdentityTaken` when the account already belongs to another member.
    """
    key = str(user_id).strip()
    if not key:
        raise ValueError("an empty platform user id")
    if not platform or platform in NAMED_BY_NAME or platform != platform.strip().lower():
        raise ValueError(f"unknown platform {platform!r}")
    other = get_member_by_external_id(session=session, platform=platform, external_id=key)
    if other is not None and other.id != member.id:
        raise IdentityTaken(f"{platform} user {key} is already linked to another member")
    before = snapshot(member)
    member.set_external_id(platform, key)
    audited_change(
        session=session,
        row=member,
        before=before,
        actor=actor,
        action=f"member.link_{platform}",
        reason=reason,
        now=now_or_utc(now),
    )
    return member


def add_team_manager(*, session: Session, team: Team, member: Member) -> None:
    """Let ``member`` manage ``team`` (idempotent)."""
    key = (id_of(team), id_of(member))
    if session.get(TeamManager, key) is None:
        session.add(TeamManager(team_id=key[0], member_id=key[1]))
        session.flush()


def teams_managed_by(*, session: Session, member: Member) -> list[Team]:
    """Teams ``member`` manages, by name."""
    query = (
        select(Team)
        .join(TeamManager, col(TeamManager.team_id) == col(Team.id))
        .where(TeamManager.member_id == member.id)
        .order_by(col(Team.name))
    )
    return list(session.exec(query))


def remove_team_manager(*, session: Session, member: Member) -> None:
    """``member`` no longer manages any team (their role changed)."""
    for row in session.exec(select(TeamManager).where(TeamManager.member_id == member.id)):
        session.delete(row)
    session.flush()


def team_managers(*, session: Session, team: Team, active_only: bool = True) -> list[Member]:
    """The managers of ``team`` in id order; someone who left (inactive) manages nothing."""
    query = (
        select(Member)
        .join(TeamManager, col(TeamManager.member_id) == col(Member.id))
        .where(TeamManager.team_id == team.id)
        .order_by(col(Member.id))
    )
    if active_only:
        query = query.where(col(Member.active).is_(True))
    return list(session.exec(query))


def update_member(
    *,
    session: Session,
    member: Member,
    changes: dict[str, Any],
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Member:
    """Set some of ``role, manager_id, slack_user_id, telegram_user_id, lang, name_en, active``
    (audited as one change); the team's managers follow the role.

    :class:`IdentityTaken` when a platform id belongs to another member."""
    allowed = {
        "role",
        "manager_id",
        "slack_user_id",
        "telegram_user_id",
        "lang",
        "name_en",
        "active",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    if "role" in changes:
        checked(changes["role"], ROLE_VALUES, "role")
    if changes.get("lang") is not None:
        checked(changes["lang"], LANG_VALUES, "lang")
    for key, finder in (
        ("slack_user_id", get_member_by_slack_id),
        ("telegram_user_id", get_member_by_telegram_id),
    ):
        value = changes.get(key)
        if value:
            other = finder(session=session, **{key: str(value)})
            if other is not None and other.id != member.id:
                raise IdentityTaken(f"{key} {value} is already linked to another member")
    before = snapshot(member)
    for key, value in changes.items():
        setattr(
            member, key, str(value) if key == "telegram_user_id" and value is not None else value
        )
    action = "member.update"
    if changes.get("active") is False:
        action = "member.deactivate"
    elif changes.get("active") is True and before and before.get("active") is False:
        action = "member.reactivate"
    audited_change(
        session=session,
        row=member,
        before=before,
        actor=actor,
        action=action,
        reason=reason,
        now=now_or_utc(now),
    )
    if "role" in changes:
        if member.role == "manager":
            team = session.get(Team, member.team_id)
            assert team is not None
            add_team_manager(session=session, team=team, member=member)
        else:
            remove_team_manager(session=session, member=member)
    return member

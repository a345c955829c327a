"""Teams: creating, finding, their scheme, and removing a whole team (the demo reset)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import LANG_VALUES, Scheme, Team
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import checked, id_of, now_or_utc
from storage.repo.errors import AlreadyExists


def create_team(
    *,
    session: Session,
    name: str,
    lang: str = "zh",
    timezone: str = "Asia/Shanghai",
    scheme: Scheme | None = None,
    slack_team_id: str | None = None,
    telegram_chat_id: str | None = None,
    now: datetime | None = None,
) -> Team:
    """A new team; :class:`AlreadyExists` when the name is taken."""
    name = name.strip()
    if not name:
        raise ValueError("a team needs a name")
    checked(lang, LANG_VALUES, "lang")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (use e.g. Asia/Shanghai)") from None
    if get_team_by_name(session=session, name=name) is not None:
        raise AlreadyExists(f"team {name!r} already exists")
    team = Team(
        name=name,
        lang=lang,
        timezone=timezone,
        scheme_id=scheme.id if scheme is not None else None,
        slack_team_id=slack_team_id,
        telegram_chat_id=telegram_chat_id,
        created_at=now_or_utc(now),
    )
    session.add(team)
    session.flush()
    return team


def get_team(*, session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def get_team_by_name(*, session: Session, name: str) -> Team | None:
    return session.exec(select(Team).where(Team.name == name.strip())).first()


def get_team_by_slack_id(*, session: Session, slack_team_id: str) -> Team | None:
    return session.exec(
        select(Team).where(Team.slack_team_id == slack_team_id).order_by(col(Team.id))
    ).first()


def get_team_by_telegram_chat(*, session: Session, telegram_chat_id: str | int) -> Team | None:
    return session.exec(
        select(Team).where(Team.telegram_chat_id == str(telegram_chat_id)).order_by(col(Team.id))
    ).first()


def list_teams(*, session: Session) -> list[Team]:
    return list(session.exec(select(Team).order_by(col(Team.name))))


def set_team_scheme(
    *,
    session: Session,
    team: Team,
    scheme: Scheme,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> Team:
    """Score the team by ``scheme`` from now on (audited)."""
    before = snapshot(team)
    team.scheme_id = id_of(scheme)
    audited_change(
        session=session,
        row=team,
        before=before,
        actor=actor,
        action="team.scheme",
        reason=reason,
        now=now_or_utc(now),
    )
    return team


def delete_team(*, session: Session, team: Team, actor: str, reason: str | None) -> None:
    """Remove a team and everything that hangs off it (ON DELETE CASCADE), audited.

    Objects of the removed rows still in the session must not be used afterwards.
    """
    before = snapshot(team)
    team_id = id_of(team)
    session.flush()
    session.execute(delete(Team).where(col(Team.id) == team_id))
    session.expire_all()
    append_audit(
        session=session,
        actor=actor,
        action="team.delete",
        entity="team",
        entity_id=team_id,
        before=before,
        after=None,
        reason=reason,
    )

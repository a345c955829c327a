"""Repository functions for the basic entities.

Every function takes keyword-only arguments, ``session`` among them, and never commits:
the caller's :func:`storage.db.unit_of_work` does. Functions flush when they need ids.

Every function that changes a score, a review, an indicator value, a period's status or
a team's scheme takes ``actor`` (see :func:`actor_of`) and ``reason`` and appends an
audit entry with the row before and after. The audit log itself is append-only.

Clocks are passed in (``now``, aware datetimes); they default to the current UTC time.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func
from sqlmodel import Session, SQLModel, col, select

from storage.models import (
    LANG_VALUES,
    LEGACY_ID_PLATFORMS,
    NAMED_BY_NAME,
    PERIOD_STATUS_VALUES,
    REVIEW_KIND_VALUES,
    ROLE_VALUES,
    AuditLog,
    CustomerRating,
    DataImport,
    ImportChange,
    IndicatorValue,
    Member,
    MemberAlias,
    MemberIdentity,
    Period,
    Review,
    Scheme,
    Score,
    Team,
    TeamManager,
)
from storage.types import quantize, to_decimal

# --- errors ------------------------------------------------------------------------------


class StorageError(Exception):
    """Base of the errors repository functions raise on purpose."""


class AlreadyExists(StorageError):
    """A row with this unique key is already there."""


class IdentityTaken(StorageError):
    """A platform identity already belongs to another member."""


class ScoreLocked(StorageError):
    """A locked score cannot be recomputed or changed."""


# --- helpers -------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def actor_of(member: Member | None) -> str:
    """The audit label of a person: ``member:<id>``; ``system`` when nobody."""
    if member is None or member.id is None:
        return "system"
    return f"member:{member.id}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-safe copy of a row's columns (Decimals as text, times as ISO 8601)."""
    if row is None:
        return None
    result: dict[str, Any] = _jsonable(row.model_dump())
    if isinstance(row, Member):  # its accounts, as when they were columns: slack_user_id …
        ids = row.linked_ids()
        for platform in (*LEGACY_ID_PLATFORMS, *sorted(set(ids) - set(LEGACY_ID_PLATFORMS))):
            result[f"{platform}_user_id"] = ids.get(platform)
    return result


def _id(row: SQLModel) -> int:
    value = getattr(row, "id", None)
    if value is None:
        raise ValueError(f"{type(row).__name__} has no id yet (flush it first)")
    return int(value)


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


# --- audit -----------------------------------------------------------------------------------


def append_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | str | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """Append one audit entry. Entries are never changed or deleted."""
    if not actor:
        raise ValueError("an audit entry needs an actor")
    entry = AuditLog(
        at=_now(at),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        reason=reason,
    )
    session.add(entry)
    session.flush()
    return entry


def audit_trail(
    *,
    session: Session,
    entity: str | None = None,
    entity_id: int | str | None = None,
    actor: str | None = None,
    limit: int | None = None,
) -> list[AuditLog]:
    """Audit entries, oldest first, filtered by entity (and id) and/or actor."""
    query = select(AuditLog)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    if actor is not None:
        query = query.where(AuditLog.actor == actor)
    query = query.order_by(col(AuditLog.at), col(AuditLog.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def _audited_change(
    *,
    session: Session,
    row: SQLModel,
    before: dict[str, Any] | None,
    actor: str,
    action: str,
    reason: str | None,
    now: datetime,
) -> None:
    session.add(row)
    session.flush()
    after = snapshot(row)
    if before == after:
        return
    append_audit(
        session=session,
        actor=actor,
        action=action,
        entity=getattr(row, "__tablename__", "?"),
        entity_id=_id(row),
        before=before,
        after=after,
        reason=reason,
        at=now,
    )


# --- teams -----------------------------------------------------------------------------------


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
    _check(lang, LANG_VALUES, "lang")
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
        created_at=_now(now),
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
    team.scheme_id = _id(scheme)
    _audited_change(
        session=session,
        row=team,
        before=before,
        actor=actor,
        action="team.scheme",
        reason=reason,
        now=_now(now),
    )
    return team


# --- members ---------------------------------------------------------------------------------


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
    _check(role, ROLE_VALUES, "role")
    if lang is not None:
        _check(lang, LANG_VALUES, "lang")
    if get_member_by_name(session=session, team=team, name=name) is not None:
        raise AlreadyExists(f"team {team.name!r} already has a member {name!r}")
    tg = None if telegram_user_id is None else str(telegram_user_id)
    if slack_user_id and get_member_by_slack_id(session=session, slack_user_id=slack_user_id):
        raise IdentityTaken(f"Slack user {slack_user_id} is already linked")
    if tg and get_member_by_telegram_id(session=session, telegram_user_id=tg):
        raise IdentityTaken(f"Telegram user {tg} is already linked")
    member = Member(
        team_id=_id(team),
        name=name,
        name_en=name_en,
        role=role,
        manager_id=manager.id if manager is not None else None,
        slack_user_id=slack_user_id or None,
        telegram_user_id=tg,
        lang=lang,
        created_at=_now(now),
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
    _audited_change(
        session=session,
        row=member,
        before=before,
        actor=actor,
        action=f"member.link_{platform}",
        reason=reason,
        now=_now(now),
    )
    return member


def add_team_manager(*, session: Session, team: Team, member: Member) -> None:
    """Let ``member`` manage ``team`` (idempotent)."""
    key = (_id(team), _id(member))
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
        _check(changes["role"], ROLE_VALUES, "role")
    if changes.get("lang") is not None:
        _check(changes["lang"], LANG_VALUES, "lang")
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
    _audited_change(
        session=session, row=member, before=before, actor=actor, action=action, reason=reason,
        now=_now(now),
    )  # fmt: skip
    if "role" in changes:
        if member.role == "manager":
            team = session.get(Team, member.team_id)
            assert team is not None
            add_team_manager(session=session, team=team, member=member)
        else:
            remove_team_manager(session=session, member=member)
    return member


# --- member aliases (a member's account in a source system) ---------------------------------


def list_aliases(
    *, session: Session, team: Team, source: str | None = None, member: Member | None = None
) -> list[MemberAlias]:
    """The team's aliases (of one source, of one member), by source then alias."""
    query = select(MemberAlias).where(MemberAlias.team_id == _id(team))
    if source is not None:
        query = query.where(MemberAlias.source == source)
    if member is not None:
        query = query.where(MemberAlias.member_id == _id(member))
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
        member_id=_id(member),
        source=source,
        alias=alias,
        created_at=_now(now),
    )
    _audited_change(
        session=session,
        row=row,
        before=None,
        actor=actor,
        action="member_alias.add",
        reason=reason,
        now=_now(now),
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
    alias_id = _id(alias)
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
        at=_now(now),
    )


# --- periods -------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def period_bounds(key: str) -> tuple[date, date]:
    """First and last day of ``'2026-10'`` (a month) or ``'2026-Q4'`` (a quarter)."""
    if match := _MONTH.match(key):
        year, month = int(match[1]), int(match[2])
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if match := _QUARTER.match(key):
        year, quarter = int(match[1]), int(match[2])
        first, last = 3 * quarter - 2, 3 * quarter
        return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])
    raise ValueError(f"a period key is 'YYYY-MM' or 'YYYY-Qn'; got {key!r}")


def period_key(day: date, kind: Literal["month", "quarter"] = "month") -> str:
    """The key of the month (``'2026-10'``) or quarter (``'2026-Q4'``) containing ``day``."""
    if kind == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}-{day.month:02d}"


def get_or_create_period(
    *,
    session: Session,
    team: Team,
    key: str,
    status: str = "open",
    scheme: Scheme | None = None,
    review_opens_at: datetime | None = None,
    review_closes_at: datetime | None = None,
) -> Period:
    """The team's period ``key``, created with ``status`` (and dates from the key) if new."""
    found = get_period(session=session, team=team, key=key)
    if found is not None:
        return found
    starts_on, ends_on = period_bounds(key)
    period = Period(
        team_id=_id(team),
        key=key,
        starts_on=starts_on,
        ends_on=ends_on,
        status=_check(status, PERIOD_STATUS_VALUES, "status"),
        scheme_id=scheme.id if scheme is not None else team.scheme_id,
        review_opens_at=review_opens_at,
        review_closes_at=review_closes_at,
    )
    session.add(period)
    session.flush()
    return period


def get_period(*, session: Session, team: Team, key: str) -> Period | None:
    return session.exec(select(Period).where(Period.team_id == team.id, Period.key == key)).first()


def get_period_by_id(*, session: Session, period_id: int) -> Period | None:
    return session.get(Period, period_id)


def list_periods(
    *, session: Session, team: Team, statuses: Iterable[str] | None = None
) -> list[Period]:
    """The team's periods, oldest first."""
    query = select(Period).where(Period.team_id == team.id)
    if statuses is not None:
        query = query.where(col(Period.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(Period.starts_on), col(Period.id))))


def current_period(*, session: Session, team: Team, today: date) -> Period | None:
    """The team's period containing ``today`` (the shortest one when a month and quarter overlap)."""
    candidates = session.exec(
        select(Period).where(
            Period.team_id == team.id, col(Period.starts_on) <= today, col(Period.ends_on) >= today
        )
    ).all()
    if not candidates:
        return None
    return min(candidates, key=lambda p: (p.ends_on - p.starts_on, p.id or 0))


def set_period_status(
    *,
    session: Session,
    period: Period,
    status: str,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> Period:
    """Move a period to ``status`` (audited)."""
    before = snapshot(period)
    period.status = _check(status, PERIOD_STATUS_VALUES, "status")
    _audited_change(
        session=session,
        row=period,
        before=before,
        actor=actor,
        action="period.status",
        reason=reason,
        now=_now(now),
    )
    return period


# --- schemes -------------------------------------------------------------------------------


def scheme_content_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: the identity of a scheme version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_or_create_scheme(
    *,
    session: Session,
    key: str,
    text: str,
    name_zh: str,
    name_en: str,
    content_hash: str | None = None,
    now: datetime | None = None,
) -> Scheme:
    """The stored scheme with this text's hash, stored now if new (the same text never twice).

    Pass ``content_hash`` from the parsed scheme (``scoring.scheme.Scheme.content_hash``)
    when there is one, so that stored and computed hashes agree; otherwise the sha256 of
    the UTF-8 text is used.
    """
    digest = content_hash or scheme_content_hash(text)
    found = get_scheme_by_hash(session=session, content_hash=digest)
    if found is not None:
        return found
    scheme = Scheme(
        key=key,
        content_hash=digest,
        text=text,
        name_zh=name_zh,
        name_en=name_en,
        loaded_at=_now(now),
    )
    session.add(scheme)
    session.flush()
    return scheme


def get_scheme(*, session: Session, scheme_id: int) -> Scheme | None:
    return session.get(Scheme, scheme_id)


def get_scheme_by_hash(*, session: Session, content_hash: str) -> Scheme | None:
    return session.exec(select(Scheme).where(Scheme.content_hash == content_hash)).first()


def scheme_for(*, session: Session, team: Team, period: Period | None = None) -> Scheme | None:
    """The scheme that scores ``period`` (its own, else the team's current one)."""
    scheme_id = (period.scheme_id if period is not None else None) or team.scheme_id
    return None if scheme_id is None else session.get(Scheme, scheme_id)


# --- data imports ----------------------------------------------------------------------------


def record_import(
    *,
    session: Session,
    team: Team,
    period: Period,
    file_name: str,
    sha256: str,
    row_count: int,
    imported_by: str,
    kind: str = "kpi",
    mapping_name: str | None = None,
    mapping_text: str | None = None,
    encoding: str | None = None,
    agent_count: int = 0,
    now: datetime | None = None,
) -> DataImport:
    """A new active import. It replaces nothing by itself: :func:`store_import_values`
    replaces exactly the values the file supplies again."""
    row = DataImport(
        team_id=_id(team),
        period_id=_id(period),
        file_name=file_name,
        sha256=sha256,
        row_count=row_count,
        agent_count=agent_count,
        kind=kind,
        mapping_name=mapping_name,
        mapping_text=mapping_text,
        encoding=encoding,
        imported_by=imported_by,
        imported_at=_now(now),
        status="active",
    )
    session.add(row)
    session.flush()
    return row


ImportValue = tuple[int, str, Decimal | int | float | str | None, str]
"""``(member id, indicator, value, source)`` of one value an import stores."""


def store_import_values(
    *,
    session: Session,
    period: Period,
    record: DataImport,
    rows: Iterable[ImportValue],
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> list[ImportChange]:
    """Store ``rows`` as values of the import ``record``, each replacing only the value of
    the same agent and indicator; remember what each replaced (for :func:`undo_import`).

    Every other value of the period stays as it is. An earlier import left holding no
    value becomes ``replaced`` (by this one). Each change is audited.
    """
    moment = _now(now)
    import_id = _id(record)
    existing = {
        (r.member_id, r.indicator): r
        for r in session.exec(select(IndicatorValue).where(IndicatorValue.period_id == period.id))
    }
    changes: list[ImportChange] = []
    audited: list[tuple[IndicatorValue, dict[str, Any] | None]] = []
    earlier: set[int] = set()
    for member_id, indicator, value, source in rows:
        if not indicator:
            raise ValueError("an indicator id is needed")
        exact = None if value is None else quantize(to_decimal(value))
        row = existing.get((member_id, indicator))
        if row is not None and row.import_id == import_id:
            raise ValueError(f"member {member_id} has {indicator} twice")
        change = ImportChange(
            import_id=import_id,
            member_id=member_id,
            indicator=indicator,
            had_before=row is not None,
        )
        if row is None:
            row = IndicatorValue(
                period_id=_id(period),
                member_id=member_id,
                indicator=indicator,
                value=exact,
                source=source,
                import_id=import_id,
                updated_at=moment,
            )
            existing[(member_id, indicator)] = row
            audited.append((row, None))
        else:
            change.old_value, change.old_source, change.old_import_id = (
                row.value,
                row.source,
                row.import_id,
            )
            if row.import_id is not None:
                earlier.add(row.import_id)
            before = snapshot(row)
            row.value, row.source, row.import_id, row.updated_at = exact, source, import_id, moment
            audited.append((row, before))
        session.add(row)
        session.add(change)
        changes.append(change)
    session.flush()
    for row, before in audited:
        session.add(
            AuditLog(
                at=moment,
                actor=actor,
                action="indicator_value.set",
                entity="indicator_value",
                entity_id=str(_id(row)),
                before=before,
                after=snapshot(row),
                reason=reason,
            )
        )
    _settle_import_statuses(session=session, period=period, ids=earlier, replaced_by=import_id)
    session.flush()
    return changes


def _held_by(*, session: Session, import_ids: Iterable[int]) -> dict[int, int]:
    """``{import id: how many values it still holds}`` (absent: none)."""
    ids = list(import_ids)
    if not ids:
        return {}
    counts = session.exec(
        select(IndicatorValue.import_id, func.count())
        .where(col(IndicatorValue.import_id).in_(ids))
        .group_by(col(IndicatorValue.import_id))
    ).all()
    return {int(i): int(n) for i, n in counts if i is not None}


def _settle_import_statuses(
    *, session: Session, period: Period, ids: Iterable[int], replaced_by: int | None
) -> None:
    """An import holding no value is ``replaced``; one holding values again is ``active``."""
    ids = set(ids)
    if not ids:
        return
    session.flush()
    held = _held_by(session=session, import_ids=ids)
    for row in session.exec(select(DataImport).where(col(DataImport.id).in_(list(ids)))):
        if row.status == "undone":
            continue
        if held.get(_id(row), 0) == 0 and row.status == "active":
            row.status, row.replaced_by_id = "replaced", replaced_by
            session.add(row)
        elif held.get(_id(row), 0) > 0 and row.status == "replaced":
            row.status, row.replaced_by_id = "active", None
            session.add(row)


def import_changes(*, session: Session, record: DataImport) -> list[ImportChange]:
    """What ``record`` set and what each value was before, in member and indicator order."""
    return list(
        session.exec(
            select(ImportChange)
            .where(ImportChange.import_id == record.id)
            .order_by(col(ImportChange.member_id), col(ImportChange.indicator))
        )
    )


def values_held(*, session: Session, record: DataImport) -> int:
    """How many values of the period still come from ``record``."""
    return _held_by(session=session, import_ids=[_id(record)]).get(_id(record), 0)


def undo_import(
    *,
    session: Session,
    period: Period,
    record: DataImport,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Put back what ``record`` replaced: each value it still holds becomes what it was
    before the import (removed when there was none). ``(restored or removed, kept)``:
    values a later import has replaced since are kept as they are.

    A value that came from an import undone since goes back further, to what that
    import had replaced. Audited (each value, and the import).
    """
    moment = _now(now)
    import_id = _id(record)
    current = {
        (r.member_id, r.indicator): r
        for r in session.exec(select(IndicatorValue).where(IndicatorValue.period_id == period.id))
    }
    undone = {
        i
        for i in session.exec(
            select(DataImport.id).where(
                DataImport.period_id == period.id, DataImport.status == "undone"
            )
        )
    }
    undone.add(import_id)
    back: dict[tuple[int, int, str], ImportChange] = {
        (c.import_id, c.member_id, c.indicator): c
        for c in session.exec(
            select(ImportChange).where(col(ImportChange.import_id).in_(list(undone)))
        )
    }
    touched: set[int] = set()
    done = kept = 0
    for change in import_changes(session=session, record=record):
        row = current.get((change.member_id, change.indicator))
        if row is None or row.import_id != import_id:
            kept += 1
            continue
        step: ImportChange | None = change
        while step is not None and step.had_before and step.old_import_id in undone:
            step = back.get((_required_id(step.old_import_id), change.member_id, change.indicator))
        before = snapshot(row)
        done += 1
        if step is None or not step.had_before:
            row_id = _id(row)
            session.delete(row)
            session.flush()
            append_audit(
                session=session,
                actor=actor,
                action="indicator_value.delete",
                entity="indicator_value",
                entity_id=row_id,
                before=before,
                after=None,
                reason=reason,
                at=moment,
            )
            continue
        row.value, row.source, row.import_id, row.updated_at = (
            step.old_value,
            step.old_source or "import",
            step.old_import_id,
            moment,
        )
        if step.old_import_id is not None:
            touched.add(step.old_import_id)
        _audited_change(
            session=session,
            row=row,
            before=before,
            actor=actor,
            action="indicator_value.set",
            reason=reason,
            now=moment,
        )
    before_record = snapshot(record)
    record.status, record.replaced_by_id = "undone", None
    session.add(record)
    _settle_import_statuses(session=session, period=period, ids=touched, replaced_by=None)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="data_import.undo",
        entity="data_import",
        entity_id=import_id,
        before=before_record,
        after={**(snapshot(record) or {}), "restored": done, "kept": kept},
        reason=reason,
        at=moment,
    )
    return done, kept


def _required_id(value: int | None) -> int:
    if value is None:
        raise ValueError("an import id is needed")
    return value


def get_import(*, session: Session, import_id: int) -> DataImport | None:
    return session.get(DataImport, import_id)


def list_team_imports(
    *, session: Session, team: Team, period: Period | None = None, limit: int | None = None
) -> list[DataImport]:
    """A team's imports, newest first (optionally of one period)."""
    query = select(DataImport).where(DataImport.team_id == team.id)
    if period is not None:
        query = query.where(DataImport.period_id == period.id)
    query = query.order_by(col(DataImport.imported_at).desc(), col(DataImport.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def find_import(*, session: Session, period: Period, sha256: str) -> DataImport | None:
    """An active import of exactly this file content into ``period``."""
    return session.exec(
        select(DataImport).where(
            DataImport.period_id == period.id,
            DataImport.sha256 == sha256,
            DataImport.status == "active",
        )
    ).first()


def list_imports(*, session: Session, period: Period) -> list[DataImport]:
    return list(
        session.exec(
            select(DataImport)
            .where(DataImport.period_id == period.id)
            .order_by(col(DataImport.imported_at), col(DataImport.id))
        )
    )


# --- indicator values ----------------------------------------------------------------------


def get_indicator_value(
    *, session: Session, period: Period, member: Member, indicator: str
) -> IndicatorValue | None:
    return session.exec(
        select(IndicatorValue).where(
            IndicatorValue.period_id == period.id,
            IndicatorValue.member_id == member.id,
            IndicatorValue.indicator == indicator,
        )
    ).first()


def set_indicator_value(
    *,
    session: Session,
    period: Period,
    member: Member,
    indicator: str,
    value: Decimal | int | float | str | None,
    source: str,
    actor: str,
    reason: str | None,
    import_id: int | None = None,
    now: datetime | None = None,
) -> IndicatorValue:
    """Insert or update one value (``None`` = explicitly missing), audited when it changes.

    Setting the same value from the same source again changes nothing and writes no entry.
    """
    exact = None if value is None else quantize(to_decimal(value))
    if not indicator:
        raise ValueError("an indicator id is needed")
    moment = _now(now)
    row = get_indicator_value(session=session, period=period, member=member, indicator=indicator)
    if row is None:
        row = IndicatorValue(
            period_id=_id(period),
            member_id=_id(member),
            indicator=indicator,
            value=exact,
            source=source,
            import_id=import_id,
            updated_at=moment,
        )
        _audited_change(
            session=session,
            row=row,
            before=None,
            actor=actor,
            action="indicator_value.set",
            reason=reason,
            now=moment,
        )
        return row
    if row.value == exact and row.source == source and row.import_id == import_id:
        return row
    before = snapshot(row)
    row.value, row.source, row.import_id, row.updated_at = exact, source, import_id, moment
    _audited_change(
        session=session,
        row=row,
        before=before,
        actor=actor,
        action="indicator_value.set",
        reason=reason,
        now=moment,
    )
    return row


IndicatorRow = tuple[Member | int, str, Decimal | int | float | str | None]


def set_indicator_values(
    *,
    session: Session,
    period: Period,
    rows: Iterable[IndicatorRow],
    source: str,
    actor: str,
    reason: str | None,
    import_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Many :func:`set_indicator_value` calls at once (an import): ``rows`` are
    ``(member or member id, indicator, value)``. Unchanged values are left alone; every
    inserted or changed value gets its audit entry. Returns how many rows changed.
    """
    moment = _now(now)
    existing = {
        (r.member_id, r.indicator): r
        for r in session.exec(select(IndicatorValue).where(IndicatorValue.period_id == period.id))
    }
    changes: list[tuple[IndicatorValue, dict[str, Any] | None]] = []
    seen: set[tuple[int, str]] = set()
    for who, indicator, value in rows:
        member_id = who if isinstance(who, int) else _id(who)
        if not indicator:
            raise ValueError("an indicator id is needed")
        key = (member_id, indicator)
        if key in seen:
            raise ValueError(f"member {member_id} has {indicator} twice")
        seen.add(key)
        exact = None if value is None else quantize(to_decimal(value))
        row = existing.get(key)
        if row is None:
            row = IndicatorValue(
                period_id=_id(period),
                member_id=member_id,
                indicator=indicator,
                value=exact,
                source=source,
                import_id=import_id,
                updated_at=moment,
            )
            changes.append((row, None))
        elif (row.value, row.source, row.import_id) != (exact, source, import_id):
            before = snapshot(row)
            row.value, row.source, row.import_id, row.updated_at = exact, source, import_id, moment
            changes.append((row, before))
        else:
            continue
        session.add(row)
    if not changes:
        return 0
    session.flush()
    for row, before in changes:
        session.add(
            AuditLog(
                at=moment,
                actor=actor,
                action="indicator_value.set",
                entity="indicator_value",
                entity_id=str(_id(row)),
                before=before,
                after=snapshot(row),
                reason=reason,
            )
        )
    session.flush()
    return len(changes)


def delete_indicator_value(
    *,
    session: Session,
    period: Period,
    member: Member,
    indicator: str,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> bool:
    """Remove one value (audited); ``False`` when there was none."""
    row = get_indicator_value(session=session, period=period, member=member, indicator=indicator)
    if row is None:
        return False
    before, row_id = snapshot(row), _id(row)
    session.delete(row)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        action="indicator_value.delete",
        entity="indicator_value",
        entity_id=row_id,
        before=before,
        after=None,
        reason=reason,
        at=_now(now),
    )
    return True


def indicator_values(
    *, session: Session, period: Period, member: Member | None = None
) -> list[IndicatorValue]:
    query = select(IndicatorValue).where(IndicatorValue.period_id == period.id)
    if member is not None:
        query = query.where(IndicatorValue.member_id == member.id)
    return list(
        session.exec(query.order_by(col(IndicatorValue.member_id), col(IndicatorValue.indicator)))
    )


def indicator_table(*, session: Session, period: Period) -> dict[int, dict[str, Decimal | None]]:
    """``{member_id: {indicator: value}}`` for a period (a missing row is absent, not 0)."""
    table: dict[int, dict[str, Decimal | None]] = {}
    for row in indicator_values(session=session, period=period):
        table.setdefault(row.member_id, {})[row.indicator] = row.value
    return table


# --- reviews -------------------------------------------------------------------------------


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
    _check(kind, REVIEW_KIND_VALUES, "kind")
    if idempotency_key is not None:
        replay = get_review_by_idempotency_key(session=session, idempotency_key=idempotency_key)
        if replay is not None:
            return replay
    moment = _now(now)
    row = get_review(session=session, period=period, subject=subject, rater=rater, kind=kind)
    before = snapshot(row)
    if row is None:
        row = Review(period_id=_id(period), subject_id=_id(subject), rater_id=_id(rater), kind=kind)
    row.answers = dict(answers)
    row.comments = dict(comments or {})
    row.submitted_at = submitted_at
    if idempotency_key is not None:
        row.idempotency_key = idempotency_key
    if rater_label is None:
        _audited_change(
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
            entity_id=_id(row),
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


# --- customer ratings ---------------------------------------------------------------------


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
    moment = _now(now)
    row = CustomerRating(
        team_id=_id(team),
        member_id=_id(member),
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


# --- scores ----------------------------------------------------------------------------------


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
    moment = _now(computed_at)
    row = get_score(session=session, period=period, member=member)
    if row is not None and row.locked:
        raise ScoreLocked(f"score of member {member.id} in period {period.key} is locked")
    exact = quantize(to_decimal(total))
    new = {
        "scheme_hash": scheme_hash,
        "total": exact,
        "rank": rank,
        "breakdown": _jsonable(dict(breakdown)),
        "flags": _jsonable(list(flags)),
    }
    if row is not None and all(getattr(row, k) == v for k, v in new.items()):
        return row
    before = snapshot(row)
    if row is None:
        row = Score(period_id=_id(period), member_id=_id(member), **new, computed_at=moment)
    else:
        for key, value in new.items():
            setattr(row, key, value)
        row.computed_at = moment
    _audited_change(
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
    moment = _now(now)
    for row in list_scores(session=session, period=period):
        if row.locked:
            continue
        before = snapshot(row)
        row.locked = True
        _audited_change(
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
    _audited_change(
        session=session,
        row=score,
        before=before,
        actor=actor,
        action=f"score.{release}",
        reason=reason,
        now=_now(now),
    )
    return True


# --- removing a whole team (demo reset) --------------------------------------------------


def delete_team(*, session: Session, team: Team, actor: str, reason: str | None) -> None:
    """Remove a team and everything that hangs off it (ON DELETE CASCADE), audited.

    Objects of the removed rows still in the session must not be used afterwards.
    """
    before = snapshot(team)
    team_id = _id(team)
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

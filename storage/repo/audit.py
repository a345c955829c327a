"""The audit log: labels of people, JSON-safe row snapshots, appending and reading entries.

The log is append-only (``storage.models.AuditLog`` refuses updates and deletes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from storage.models import LEGACY_ID_PLATFORMS, AuditLog, Member
from storage.repo.common import id_of, now_or_utc


def actor_of(member: Member | None) -> str:
    """The audit label of a person: ``member:<id>``; ``system`` when nobody."""
    if member is None or member.id is None:
        return "system"
    return f"member:{member.id}"


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-safe copy of a row's columns (Decimals as text, times as ISO 8601)."""
    if row is None:
        return None
    result: dict[str, Any] = jsonable(row.model_dump())
    if isinstance(row, Member):  # its accounts, as when they were columns: slack_user_id …
        ids = row.linked_ids()
        for platform in (*LEGACY_ID_PLATFORMS, *sorted(set(ids) - set(LEGACY_ID_PLATFORMS))):
            result[f"{platform}_user_id"] = ids.get(platform)
    return result


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
        at=now_or_utc(at),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
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


def audited_change(
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
        entity_id=id_of(row),
        before=before,
        after=after,
        reason=reason,
        at=now,
    )

"""Data imports: a file's values stored replacing only what it supplies again, and undone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import DataImport, ImportChange, IndicatorValue, Period, Team
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import id_of, now_or_utc
from storage.repo.values import (
    RawValue,
    audit_values_set,
    delete_value_audited,
    exact_value,
    values_by_key,
)


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
        team_id=id_of(team),
        period_id=id_of(period),
        file_name=file_name,
        sha256=sha256,
        row_count=row_count,
        agent_count=agent_count,
        kind=kind,
        mapping_name=mapping_name,
        mapping_text=mapping_text,
        encoding=encoding,
        imported_by=imported_by,
        imported_at=now_or_utc(now),
        status="active",
    )
    session.add(row)
    session.flush()
    return row


ImportValue = tuple[int, str, RawValue, str]
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
    moment = now_or_utc(now)
    import_id = id_of(record)
    existing = values_by_key(session=session, period=period)
    changes: list[ImportChange] = []
    audited: list[tuple[IndicatorValue, dict[str, Any] | None]] = []
    earlier: set[int] = set()
    for member_id, indicator, value, source in rows:
        if not indicator:
            raise ValueError("an indicator id is needed")
        exact = exact_value(value)
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
                period_id=id_of(period),
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
    audit_values_set(session=session, changes=audited, actor=actor, reason=reason, at=moment)
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
        if held.get(id_of(row), 0) == 0 and row.status == "active":
            row.status, row.replaced_by_id = "replaced", replaced_by
            session.add(row)
        elif held.get(id_of(row), 0) > 0 and row.status == "replaced":
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
    return _held_by(session=session, import_ids=[id_of(record)]).get(id_of(record), 0)


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
    moment = now_or_utc(now)
    import_id = id_of(record)
    current = values_by_key(session=session, period=period)
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
        done += 1
        if step is None or not step.had_before:
            delete_value_audited(session=session, row=row, actor=actor, reason=reason, at=moment)
            continue
        before = snapshot(row)
        row.value, row.source, row.import_id, row.updated_at = (
            step.old_value,
            step.old_source or "import",
            step.old_import_id,
            moment,
        )
        if step.old_import_id is not None:
            touched.add(step.old_import_id)
        audited_change(
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

"""Indicator values: one raw value of one agent in one period, audited when it changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditLog, IndicatorValue, Member, Period
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import id_of, now_or_utc
from storage.types import quantize, to_decimal

RawValue = Decimal | int | float | str | None
"""A value as given: exact when stored (:func:`exact_value`); ``None`` is explicitly missing."""


def exact_value(value: RawValue) -> Decimal | None:
    """``value`` as stored: an exact, quantized Decimal (``None`` stays ``None``)."""
    return None if value is None else quantize(to_decimal(value))


def values_by_key(*, session: Session, period: Period) -> dict[tuple[int, str], IndicatorValue]:
    """The period's values by ``(member id, indicator)``."""
    return {
        (r.member_id, r.indicator): r
        for r in session.exec(select(IndicatorValue).where(IndicatorValue.period_id == period.id))
    }


def audit_values_set(
    *,
    session: Session,
    changes: Iterable[tuple[IndicatorValue, dict[str, Any] | None]],
    actor: str,
    reason: str | None,
    at: datetime,
) -> None:
    """One ``indicator_value.set`` entry per ``(value, its snapshot before)`` of a batch, the
    values flushed already (so they have ids); many values, one flush by the caller."""
    for row, before in changes:
        session.add(
            AuditLog(
                at=at,
                actor=actor,
                action="indicator_value.set",
                entity="indicator_value",
                entity_id=str(id_of(row)),
                before=before,
                after=snapshot(row),
                reason=reason,
            )
        )


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
    value: RawValue,
    source: str,
    actor: str,
    reason: str | None,
    import_id: int | None = None,
    now: datetime | None = None,
) -> IndicatorValue:
    """Insert or update one value (``None`` = explicitly missing), audited when it changes.

    Setting the same value from the same source again changes nothing and writes no entry.
    """
    exact = exact_value(value)
    if not indicator:
        raise ValueError("an indicator id is needed")
    moment = now_or_utc(now)
    row = get_indicator_value(session=session, period=period, member=member, indicator=indicator)
    if row is None:
        row = IndicatorValue(
            period_id=id_of(period),
            member_id=id_of(member),
            indicator=indicator,
            value=exact,
            source=source,
            import_id=import_id,
            updated_at=moment,
        )
        audited_change(
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
    audited_change(
        session=session,
        row=row,
        before=before,
        actor=actor,
        action="indicator_value.set",
        reason=reason,
        now=moment,
    )
    return row


IndicatorRow = tuple[Member | int, str, RawValue]


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
    moment = now_or_utc(now)
    existing = values_by_key(session=session, period=period)
    changes: list[tuple[IndicatorValue, dict[str, Any] | None]] = []
    seen: set[tuple[int, str]] = set()
    for who, indicator, value in rows:
        member_id = who if isinstance(who, int) else id_of(who)
        if not indicator:
            raise ValueError("an indicator id is needed")
        key = (member_id, indicator)
        if key in seen:
            raise ValueError(f"member {member_id} has {indicator} twice")
        seen.add(key)
        exact = exact_value(value)
        row = existing.get(key)
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
    audit_values_set(session=session, changes=changes, actor=actor, reason=reason, at=moment)
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
    delete_value_audited(session=session, row=row, actor=actor, reason=reason, at=now_or_utc(now))
    return True


def delete_value_audited(
    *, session: Session, row: IndicatorValue, actor: str, reason: str | None, at: datetime
) -> None:
    """Delete one stored value and audit it (``indicator_value.delete``, what it held before)."""
    before, row_id = snapshot(row), id_of(row)
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
        at=at,
    )


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

"""Periods: a month (``2026-10``) or a quarter (``2026-Q4``) of a team, and its status."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

from sqlmodel import Session, col, select

from storage.models import PERIOD_STATUS_VALUES, Period, Scheme, Team
from storage.repo.audit import audited_change, snapshot
from storage.repo.common import checked, id_of, now_or_utc

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
        team_id=id_of(team),
        key=key,
        starts_on=starts_on,
        ends_on=ends_on,
        status=checked(status, PERIOD_STATUS_VALUES, "status"),
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
    """The team's period containing ``today`` (the shortest one when a month and a quarter
    overlap)."""
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
    period.status = checked(status, PERIOD_STATUS_VALUES, "status")
    audited_change(
        session=session,
        row=period,
        before=before,
        actor=actor,
        action="period.status",
        reason=reason,
        now=now_or_utc(now),
    )
    return period

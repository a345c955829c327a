"""Small helpers every repository module uses: the clock, a row's id, an allowed value."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import SQLModel


def now_or_utc(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def id_of(row: SQLModel) -> int:
    value = getattr(row, "id", None)
    if value is None:
        raise ValueError(f"{type(row).__name__} has no id yet (flush it first)")
    return int(value)


def checked(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value

"""What every table module shares: the metadata with its naming convention, and the column
helpers (times in UTC, JSON, CHECK constraints over a tuple of allowed values).

A leaf: it imports no table module, and every table module imports it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def check_in(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: ``column`` is one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utc_field(*, nullable: bool = False, default: bool = True, index: bool = False) -> Any:
    """A time column (aware UTC); ``default``: now when the row is made, else ``None``."""
    if default:
        return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=nullable, index=index)
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field(*, nullable: bool = False, default: Any = dict) -> Any:
    """A JSON column (JSONB on PostgreSQL), ``default`` a factory of its empty value."""
    return Field(default_factory=default, sa_type=json_type(), nullable=nullable)

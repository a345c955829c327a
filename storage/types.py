"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`UTCDateTime` — aware datetimes in, stored as UTC, aware UTC datetimes out.
  A naive datetime is refused: it has no time zone, so it cannot be stored honestly.
* :class:`ExactDecimal` — :class:`~decimal.Decimal` in and out, never a float on the way.
  PostgreSQL stores ``NUMERIC(28, 10)``; SQLite (which has no exact decimal type) stores
  the canonical decimal text. Values are quantised to 10 decimal places on both, so a
  round trip gives the same Decimal whichever database is behind.
* :func:`json_column` — a JSON column (JSONB on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

DECIMAL_SCALE = 10
DECIMAL_PRECISION = 28
_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was given to a UTC column."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"naive datetime {value.isoformat()} given to a UTC column; "
                "pass an aware datetime (e.g. datetime.now(UTC))"
            )
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite stores text; keep one canonical UTC form so text order is time order.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def to_decimal(value: Any) -> Decimal:
    """A Decimal from an int, str, Decimal or float (floats through their shortest repr)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    elif isinstance(value, int | str):
        result = Decimal(value)
    elif isinstance(value, float) or hasattr(value, "__float__"):
        result = Decimal(repr(float(value)))
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def quantize(value: Decimal) -> Decimal:
    try:
        return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:  # too many digits for the context
        raise ValueError(
            f"{value} does not fit NUMERIC({DECIMAL_PRECISION},{DECIMAL_SCALE})"
        ) from exc


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(28,10) on PostgreSQL, canonical text on SQLite."""

    impl = Numeric(DECIMAL_PRECISION, DECIMAL_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(DECIMAL_PRECISION, DECIMAL_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = quantize(to_decimal(value))
        if abs(exact) >= Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE):
            raise ValueError(f"{value} does not fit NUMERIC({DECIMAL_PRECISION},{DECIMAL_SCALE})")
        if dialect.name == "sqlite":
            return format(exact, "f")
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return quantize(to_decimal(value if not isinstance(value, float) else repr(value)))


def json_type() -> TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")

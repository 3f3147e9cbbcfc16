"""Exact numbers in storage: Decimals kept as scaled 64-bit integers.

SQLite has no exact decimal type (``NUMERIC`` is REAL underneath), so every figure is stored as
an integer count of its smallest unit: money in minor units (1/100), quantities, hours, rates and
unit amounts in 1/10,000. A value with more digits than the scale is refused, never rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from revloop.domain.money import MONEY_SCALE, QUANTITY_SCALE, from_minor, to_decimal, to_minor


class Scaled(TypeDecorator[Decimal]):
    impl = sa.BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> int | None:
        if value is None:
            return None
        return to_minor(to_decimal(value), self.scale)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor(int(value), self.scale)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def Money2() -> Scaled:
    """Money in minor units (cents, pence)."""
    return Scaled(MONEY_SCALE)


def Qty4() -> Scaled:
    """Quantities, hours, minutes, rates, unit amounts and percentages at 4 decimal places."""
    return Scaled(QUANTITY_SCALE)


#: currency rates: Xero keeps them to 6 decimal places
RATE_SCALE = 1_000_000


def Rate6() -> Scaled:
    """Currency rates at 6 decimal places, as Xero keeps them."""
    return Scaled(RATE_SCALE)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC: refused when naive on the way in, always aware on the way out,
    whatever the database does with time zones (SQLite keeps none)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware datetimes, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime

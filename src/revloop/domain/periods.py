"""Periods: half-open intervals of local dates ``[start, end)``."""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        if not isinstance(self.start, date) or not isinstance(self.end, date):
            raise TypeError("a period is made of two dates")
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts ({self.start} .. {self.end})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, end)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-10`` (a month) or ``2026-10-01..2026-11-01`` (half-open)."""
        text = text.strip()
        m = _MONTH.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError(f"not a month: {text!r}")
            return cls.month(year, month)
        if ".." in text:
            a, b = text.split("..", 1)
            return cls(date.fromisoformat(a.strip()), date.fromisoformat(b.strip()))
        raise ValueError(f"not a period: {text!r} (use YYYY-MM or YYYY-MM-DD..YYYY-MM-DD)")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def overlap(self, other: Period) -> Period | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Period(start, end) if start < end else None

    def overlap_days(self, start: date | None, end: date | None) -> int:
        """Days of this period inside ``[start, end)``; ``None`` is open."""
        lo = max(self.start, start) if start else self.start
        hi = min(self.end, end) if end else self.end
        return max((hi - lo).days, 0)

    def fraction_active(self, start: date | None, end: date | None) -> Decimal:
        return Decimal(self.overlap_days(start, end)) / Decimal(self.days)

    def dates(self) -> Iterator[date]:
        day = self.start
        while day < self.end:
            yield day
            day += timedelta(days=1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def label(self) -> str:
        if self.start.day == 1 and self == Period.month(self.start.year, self.start.month):
            return self.start.strftime("%B %Y")
        return f"{self.start.isoformat()} to {self.last_day.isoformat()}"

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))

"""Working hours, holidays and the class of every minute of work.

A ``Calendar`` cuts real elapsed time into classes: ``holiday`` (a holiday date, all day) >
``weekend`` (a day with no working hours) > ``ooh`` (outside working hours on a working day) >
``normal``. Day boundaries and working hours are local wall times turned into instants with
``zoneinfo``, so a day of 23 or 25 hours is measured as it really was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as _holidays

WorkClass = Literal["normal", "ooh", "weekend", "holiday"]
CLASSES: tuple[WorkClass, ...] = ("normal", "ooh", "weekend", "holiday")
DayHours = tuple[tuple[int, int], ...]  # (start, end) minutes after local midnight
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_US_PER_MINUTE = 60_000_000


def parse_hours(text: str) -> DayHours:
    """``"08:30-17:30"`` or several ranges ``"08:00-12:00,13:00-17:00"`` -> minute ranges."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        a, sep, b = part.partition("-")
        if not sep:
            raise ValueError(f"working hours must look like 08:30-17:30, not {part!r}")
        lo, hi = _minute_of_day(a), _minute_of_day(b)
        if hi <= lo:
            raise ValueError(f"working hours end before they start: {part!r}")
        ranges.append((lo, hi))
    ranges.sort()
    for (_, e1), (s2, _) in pairwise(ranges):
        if s2 < e1:
            raise ValueError(f"working hours overlap: {text!r}")
    return tuple(ranges)


def _minute_of_day(text: str) -> int:
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return h * 60 + m


@dataclass(frozen=True, slots=True)
class Holidays:
    country: str | None = None
    subdivision: str | None = None
    add: frozenset[date] = field(default_factory=frozenset)
    remove: frozenset[date] = field(default_factory=frozenset)

    def is_holiday(self, day: date) -> bool:
        if day in self.remove:
            return False
        if day in self.add:
            return True
        if self.country is None:
            return False
        return day in _holiday_dates(self.country, self.subdivision, day.year)


@lru_cache(maxsize=512)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    table = _holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(d for d in table if d.year == year)


def check_holiday_country(country: str, subdivision: str | None) -> None:
    """Raise ``ValueError`` when the ``holidays`` package does not know the country/subdivision."""
    try:
        _holidays.country_holidays(country, subdiv=subdivision, years=2026)
    except NotImplementedError:
        raise ValueError(f"unknown holiday country {country!r}") from None


Piece = tuple[datetime, datetime, WorkClass]  # UTC instants [start, end)


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: str
    working_hours: tuple[DayHours, ...]  # 7 entries, Monday first
    holidays: Holidays = field(default_factory=Holidays)
    _hash: int = field(default=0, init=False, compare=False, repr=False)
    _zone: ZoneInfo | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.working_hours) != 7:
            raise ValueError("working hours need one entry per weekday")
        object.__setattr__(self, "_zone", _zone(self.timezone))  # raises for an unknown zone
        object.__setattr__(self, "_hash", hash((self.timezone, self.working_hours, self.holidays)))

    def __hash__(self) -> int:  # computed once: calendars key the day caches
        return self._hash

    @property
    def zone(self) -> ZoneInfo:
        zone = self._zone
        assert zone is not None
        return zone

    def localise(self, moment: datetime) -> datetime:
        """A naive time is local to this calendar; an aware one is converted to it."""
        zone = self._zone
        if moment.tzinfo is None:
            return moment.replace(tzinfo=zone)
        if moment.tzinfo is zone:
            return moment
        return moment.astimezone(zone)

    def day_class(self, day: date) -> WorkClass | None:
        """``holiday`` or ``weekend`` when the whole day has one class, else ``None``."""
        if self.holidays.is_holiday(day):
            return "holiday"
        if not self.working_hours[day.weekday()]:
            return "weekend"
        return None

    def day_pieces(self, day: date) -> tuple[Piece, ...]:
        return _day_pieces(self, day)

    def class_at(self, moment: datetime) -> WorkClass:
        return _class_at(self, moment, moment.fold)

    def _class_at(self, moment: datetime) -> WorkClass:
        local = self.localise(moment)
        instant = local.astimezone(UTC)
        for start, end, cls in self.day_pieces(local.date()):
            if start <= instant < end:
                return cls
        return self.day_pieces(local.date())[-1][2]  # pragma: no cover - pieces tile the day

    def segments(self, start: datetime, minutes: Decimal) -> list[tuple[WorkClass, int]]:
        """Microseconds of ``[start, start + minutes)`` in each class, in order of first piece.

        A class met twice sums its time. The parts sum exactly to the whole duration.
        """
        return list(_segments(self, start, start.fold, minutes))

    def shares(self, start: datetime, minutes: Decimal) -> tuple[tuple[WorkClass, int], ...]:
        """``segments`` as a tuple, shared between equal questions (the answers are cached)."""
        return _segments(self, start, start.fold, minutes)

    def _segments(self, start: datetime, minutes: Decimal) -> tuple[tuple[WorkClass, int], ...]:
        total_us = int((minutes * _US_PER_MINUTE).to_integral_value())
        if total_us <= 0:
            return ()
        local = self.localise(start)
        day0 = local.date()
        simple = _simple_day(self, day0)
        if simple is not None:
            # a day without a clock change: local wall time is elapsed time
            lo = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
            hi = lo + total_us
            if hi <= _US_PER_DAY:
                return _cut(simple, lo, hi)
        begin = local.astimezone(UTC)
        finish = begin + timedelta(microseconds=total_us)
        order: list[WorkClass] = []
        spent: dict[WorkClass, int] = {}
        day = self.localise(start).date()
        cursor = begin
        while cursor < finish:
            for p_start, p_end, cls in self.day_pieces(day):
                a = max(p_start, cursor)
                b = min(p_end, finish)
                if b > a:
                    us = (b - a) // timedelta(microseconds=1)
                    if cls not in spent:
                        order.append(cls)
                        spent[cls] = 0
                    spent[cls] += us
            next_midnight = _instant(self.zone, day + timedelta(days=1), 0)
            cursor = max(cursor, next_midnight)
            day += timedelta(days=1)
        return tuple((cls, spent[cls]) for cls in order)


# Work repeats the same start times and durations (and the answers are small): both are cached.
# ``fold`` is part of the key: equal naive times either side of a clock change are not the same.
@lru_cache(maxsize=65536)
def _segments(
    calendar: Calendar, start: datetime, fold: int, minutes: Decimal
) -> tuple[tuple[WorkClass, int], ...]:
    return calendar._segments(start, minutes)


@lru_cache(maxsize=65536)
def _class_at(calendar: Calendar, moment: datetime, fold: int) -> WorkClass:
    return calendar._class_at(moment)


_US_PER_DAY = 24 * 60 * _US_PER_MINUTE
LocalPiece = tuple[int, int, WorkClass]  # microseconds after local midnight


@lru_cache(maxsize=65536)
def _simple_day(calendar: Calendar, day: date) -> tuple[LocalPiece, ...] | None:
    """The day's pieces in local microseconds, or ``None`` when the day is not 24 hours long."""
    pieces = _day_pieces(calendar, day)
    start = pieces[0][0]
    if (pieces[-1][1] - start) != timedelta(days=1):
        return None
    return tuple(
        ((a - start) // timedelta(microseconds=1), (b - start) // timedelta(microseconds=1), cls)
        for a, b, cls in pieces
    )


def _cut(pieces: tuple[LocalPiece, ...], lo: int, hi: int) -> tuple[tuple[WorkClass, int], ...]:
    order: list[WorkClass] = []
    spent: dict[WorkClass, int] = {}
    for a, b, cls in pieces:
        x, y = max(a, lo), min(b, hi)
        if y > x:
            if cls in spent:
                spent[cls] += y - x
            else:
                order.append(cls)
                spent[cls] = y - x
    return tuple((cls, spent[cls]) for cls in order)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


@lru_cache(maxsize=65536)
def _day_pieces(calendar: Calendar, day: date) -> tuple[Piece, ...]:
    zone = calendar.zone
    day_start = _instant(zone, day, 0)
    day_end = _instant(zone, day + timedelta(days=1), 0)
    whole = calendar.day_class(day)
    if whole is not None:
        return ((day_start, day_end, whole),)
    pieces: list[Piece] = []
    cursor = day_start
    for lo, hi in calendar.working_hours[day.weekday()]:
        w_start, w_end = _instant(zone, day, lo), _instant(zone, day, hi)
        if w_start > cursor:
            pieces.append((cursor, w_start, "ooh"))
        pieces.append((max(w_start, cursor), w_end, "normal"))
        cursor = w_end
    if cursor < day_end:
        pieces.append((cursor, day_end, "ooh"))
    return tuple(p for p in pieces if p[1] > p[0])

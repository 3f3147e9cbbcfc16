"""Recurring charges and fee schedules (rule 6): calendar-aligned charge periods, proration,
compounding increases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revloop.domain.money import q4
from revloop.domain.periods import Period, add_months

_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


def charge_period_containing(day: date, frequency: str) -> Period:
    step = _MONTHS[frequency]
    month0 = (day.month - 1) // step * step
    start = date(day.year, month0 + 1, 1)
    return Period(start, add_months(start, step))


def charge_periods(billing: Period, frequency: str, timing: str) -> list[Period]:
    """Charge periods billed in ``billing``: starting in it (advance) or ending in it (arrears)."""
    step = _MONTHS[frequency]
    first = charge_period_containing(billing.start, frequency)
    cp = Period(add_months(first.start, -step), first.start)
    out: list[Period] = []
    while cp.start < billing.end:
        anchor = cp.last_day if timing == "arrears" else cp.start
        if anchor in billing:
            out.append(cp)
        cp = Period(cp.end, add_months(cp.end, step))
    return out


@dataclass(frozen=True, slots=True)
class Proration:
    days_active: int
    days_in_period: int
    covered: Period | None

    @property
    def partial(self) -> bool:
        return self.days_active != self.days_in_period


def prorate(cp: Period, start: date | None, end: date | None) -> Proration:
    days = cp.overlap_days(start, end)
    lo = max(cp.start, start) if start else cp.start
    hi = min(cp.end, end) if end else cp.end
    return Proration(days, cp.days, Period(lo, hi) if days > 0 else None)


def prorated_unit(unit: Decimal, proration: Proration) -> Decimal:
    if not proration.partial:
        return q4(unit)
    return q4(unit * Decimal(proration.days_active) / Decimal(proration.days_in_period))


def increased_unit(
    unit: Decimal, percent: Decimal | None, on: date | None, cp_start: date
) -> tuple[Decimal, int]:
    """Rule 6.4: compound ``percent`` at ``on`` and each anniversary on or before ``cp_start``."""
    if percent is None or on is None:
        return unit, 0
    steps = 0
    value = unit
    k = 0
    while True:
        anniversary = add_months(on, 12 * k)
        if anniversary > cp_start:
            break
        value = q4(value * (1 + percent / Decimal(100)))
        steps += 1
        k += 1
    return value, steps

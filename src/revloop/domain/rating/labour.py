"""Labour minutes: billable, rounded, minimum, ticket sharing and class shares (rules 3 and 4)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from revloop.domain.calendar import WorkClass
from revloop.domain.money import allocate, q4
from revloop.domain.ratebook import ResolvedRate

_SIXTY = Decimal(60)
_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}


_ZERO = Decimal(0)


def billable_minutes(worked: Decimal, non_billable: Decimal) -> Decimal:
    """Rule 3.2: worked less non-billable, floored at 0."""
    billable = worked - non_billable
    return billable if billable >= _ZERO else _ZERO


def billed_minutes(billable: Decimal, rate: ResolvedRate) -> Decimal:
    """Rule 3.3: round to the increment, then apply the minimum. Zero billable bills nothing."""
    if billable <= 0:
        return Decimal(0)
    rounded = billable
    inc = rate.increment_minutes
    if inc > 0:
        steps = (billable / inc).to_integral_value(rounding=_ROUNDING[rate.rounding])
        rounded = steps * inc
    return max(rounded, rate.minimum_minutes)


def hours_of(minutes: Decimal) -> Decimal:
    """Rule 3.5: the quantity shown on a line."""
    return q4(minutes / _SIXTY)


def share_ticket_minutes(billed: Decimal, billables: Sequence[Decimal], increment: Decimal) -> list[Decimal]:
    """Rule 3.4: share a ticket group's billed minutes back to its entries.

    Whole minutes by largest remainder (ties to the earlier entry) when the increment and the
    billed total are whole minutes; otherwise proportionally at 4 dp, the last entry taking
    the remainder.
    """
    if not billables:
        return []
    total = sum(billables, Decimal(0))
    if total <= 0:
        return [Decimal(0)] * len(billables)
    whole = increment == increment.to_integral_value() and billed == billed.to_integral_value()
    if whole:
        return allocate(billed, list(billables), Decimal(1))
    parts = [q4(billed * b / total) for b in billables[:-1]]
    parts.append(billed - sum(parts, Decimal(0)))
    return parts


def share_hours(hours: Decimal, segments: Sequence[tuple[WorkClass, int]]) -> list[tuple[WorkClass, Decimal]]:
    """Rule 4.4: hours per class by elapsed share; the class met last takes the remainder.

    ``segments`` are (class, microseconds) in order of each class's first piece.
    """
    if not segments:
        return []
    total = sum(us for _, us in segments)
    parts: list[tuple[WorkClass, Decimal]] = []
    used = Decimal(0)
    for cls, us in segments[:-1]:
        h = q4(hours * Decimal(us) / Decimal(total))
        parts.append((cls, h))
        used += h
    parts.append((segments[-1][0], hours - used))
    return parts


def unit_amount(rate: ResolvedRate, cls: WorkClass, extra: Decimal = Decimal(1)) -> Decimal:
    """Rule 4.5 (and the overage multiplier of rule 5): one rounding of rate x multipliers."""
    return q4(rate.hourly_rate * rate.multiplier(cls) * extra)

"""Travel minutes (rule 7): rounded per entry by the travel row, always pay-as-you-go."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from revloop.domain.calendar import WorkClass
from revloop.domain.money import q4
from revloop.domain.ratebook import ResolvedRate
from revloop.domain.rating.labour import billed_minutes, hours_of


@dataclass(frozen=True, slots=True)
class TravelPrice:
    hours: Decimal
    cls: WorkClass
    unit_amount: Decimal
    explanation: str


def price_travel(
    minutes: Decimal, rate: ResolvedRate, start_class: WorkClass, uses_multipliers: bool
) -> TravelPrice | None:
    billed = billed_minutes(minutes, rate)
    hours = hours_of(billed)
    if hours <= 0:
        return None
    cls: WorkClass = start_class if uses_multipliers else "normal"
    multiplier = rate.multiplier(cls) if uses_multipliers else Decimal(1)
    unit = q4(rate.hourly_rate * multiplier)
    explanation = (
        f"travel {minutes} min billed as {billed} min (minimum {rate.minimum_minutes}, "
        f"increment {rate.increment_minutes} {rate.rounding}); {rate.describe()}; "
        f"class {cls} x{multiplier}"
    )
    return TravelPrice(hours, cls, unit, explanation)

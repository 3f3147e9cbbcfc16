"""Tax per line, exactly as Xero computes it (rule 8)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from revloop.domain.money import RoundingMode, round2

_HUNDRED = Decimal(100)


def line_amount(quantity: Decimal, unit_amount: Decimal, mode: RoundingMode = "half_up") -> Decimal:
    """Rule 8.2: the amount is always the rounded product of what the line shows."""
    return round2(quantity * unit_amount, mode)


def line_tax(
    amount: Decimal, rate_percent: Decimal, inclusive: bool, mode: RoundingMode = "half_up"
) -> Decimal:
    """Rule 8.3: tax on one line; an inclusive amount carries its tax inside."""
    rate = rate_percent / _HUNDRED
    if inclusive:
        return round2(amount * rate / (1 + rate), mode)
    return round2(amount * rate, mode)


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def totals(amounts: Iterable[Decimal], taxes: Iterable[Decimal], inclusive: bool) -> Totals:
    amount_sum = sum(amounts, Decimal("0.00"))
    tax_sum = sum(taxes, Decimal("0.00"))
    if inclusive:
        return Totals(amount_sum - tax_sum, tax_sum, amount_sum)
    return Totals(amount_sum, tax_sum, amount_sum + tax_sum)

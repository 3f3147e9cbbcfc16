"""Money and the one place where amounts are rounded.

Every figure is a ``decimal.Decimal``. Floats are refused outright: a float has already lost
the cent by the time it reaches us. ``q4`` (quantities, unit amounts) and ``round2`` (money)
are the only rounding functions in revloop; everything else calls them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

RoundingMode = Literal["half_up", "half_even"]

Q4 = Decimal("0.0001")
Q2 = Decimal("0.01")
_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}

# Scale factors for storing exact figures as integers.
MONEY_SCALE = 100  # minor units (cents/pence)
QUANTITY_SCALE = 10_000  # 4 dp: quantities, hours, unit amounts, rates


def to_decimal(value: object) -> Decimal:
    """Convert str/int/Decimal to Decimal. A float (or bool) is a TypeError, never a guess."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        raise TypeError(f"floats are not accepted for money or quantities (got {value!r}); use a string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"cannot read a number from {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def q4(x: Decimal) -> Decimal:
    """Quantise to 4 decimal places, half-up (quantities, hours, unit amounts)."""
    return x.quantize(Q4, rounding=ROUND_HALF_UP)


def round2(x: Decimal, mode: RoundingMode = "half_up") -> Decimal:
    """Round money to 2 decimal places, half-up by default (Xero's rule) or half-even."""
    return x.quantize(Q2, rounding=_MODES[mode])


def to_minor(amount: Decimal, scale: int = MONEY_SCALE) -> int:
    """Exact conversion to a scaled integer; refuses a value that would lose digits."""
    scaled = amount * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more precision than the storage scale 1/{scale}")
    return int(scaled)


def from_minor(value: int, scale: int = MONEY_SCALE) -> Decimal:
    places = len(str(scale)) - 1
    return (Decimal(value) / scale).quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in a currency (ISO 4217 code)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float) or not isinstance(self.amount, (Decimal, int, str)):
            raise TypeError(f"Money needs a Decimal, int or string amount, not {type(self.amount).__name__}")
        object.__setattr__(self, "amount", to_decimal(self.amount))
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha()):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.upper())

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("cannot multiply Money by a float")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def rounded(self, mode: RoundingMode = "half_up") -> Money:
        return Money(round2(self.amount, mode), self.currency)

    @property
    def minor_units(self) -> int:
        return to_minor(round2(self.amount))

    def __str__(self) -> str:
        return f"{self.currency} {round2(self.amount):,}"


def money_sum(items: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


def allocate(total: Decimal, weights: Sequence[Decimal], quantum: Decimal = Q2) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` in steps of ``quantum``, losing nothing.

    Largest remainder; ties go to the earlier weight. The parts always sum to ``total``
    (which must itself be a multiple of ``quantum``).
    """
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    units = total / quantum
    if units != units.to_integral_value():
        raise ValueError(f"{total} is not a multiple of {quantum}")
    whole = int(units)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        shares = [Decimal(0)] * len(weights)
        shares[-1] = total
        return shares
    exact = [Decimal(whole) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
    left = whole - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * quantum for f in floors]

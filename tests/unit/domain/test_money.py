from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloop.domain.money import Money, allocate, from_minor, money_sum, q4, round2, to_decimal, to_minor


def test_money_refuses_float() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_decimal(0.1)
    with pytest.raises(TypeError):
        Money("1", "GBP") * 1.5  # type: ignore[operator]


def test_money_from_string_and_int() -> None:
    assert Money("12.345", "gbp").amount == Decimal("12.345")
    assert Money(3, "AUD").currency == "AUD"
    assert str(Money("1234.5", "GBP")) == "GBP 1,234.50"


def test_money_refuses_bad_currency_and_mixing() -> None:
    with pytest.raises(ValueError):
        Money("1", "POUNDS")
    with pytest.raises(ValueError):
        Money("1", "GBP") + Money("1", "EUR")


def test_rounding_half_up_and_half_even() -> None:
    assert round2(Decimal("2.345")) == Decimal("2.35")
    assert round2(Decimal("2.345"), "half_even") == Decimal("2.34")
    assert round2(Decimal("-2.345")) == Decimal("-2.35")
    assert q4(Decimal("0.33335")) == Decimal("0.3334")


def test_money_sum_and_minor_units() -> None:
    total = money_sum([Money("0.10", "GBP")] * 3, "GBP")
    assert total == Money("0.30", "GBP")
    assert total.minor_units == 30


def test_to_minor_refuses_lost_precision() -> None:
    assert to_minor(Decimal("1.23")) == 123
    with pytest.raises(ValueError):
        to_minor(Decimal("1.234"))
    assert from_minor(-5) == Decimal("-0.05")


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    st.lists(st.decimals(min_value=0, max_value=1000, places=3), min_size=1, max_size=12),
)
def test_allocate_loses_nothing(total: Decimal, weights: list[Decimal]) -> None:
    parts = allocate(total, weights)
    assert sum(parts, Decimal(0)) == total
    assert len(parts) == len(weights)


def test_allocate_ties_go_to_earlier() -> None:
    assert allocate(Decimal("0.02"), [Decimal(1)] * 3) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]

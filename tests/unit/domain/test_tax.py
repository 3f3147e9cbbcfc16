from __future__ import annotations

from decimal import Decimal as D

from revloop.domain.tax import line_amount, line_tax, totals


def test_exclusive_and_inclusive_tax() -> None:
    assert line_tax(D("35.63"), D(20), False) == D("7.13")
    assert line_tax(D("95.00"), D(20), True) == D("15.83")
    assert line_tax(D("12.50"), D(5), False, "half_even") == D("0.62")
    assert line_tax(D("12.50"), D(5), False) == D("0.63")


def test_amount_is_rounded_product() -> None:
    assert line_amount(D("0.2500"), D("142.5000")) == D("35.63")
    assert line_amount(D("0.2500"), D("142.5000"), "half_even") == D("35.62")


def test_totals() -> None:
    ex = totals([D("10.00"), D("5.00")], [D("2.00"), D("1.00")], False)
    assert (ex.subtotal, ex.tax, ex.total) == (D("15.00"), D("3.00"), D("18.00"))
    inc = totals([D("12.00")], [D("2.00")], True)
    assert (inc.subtotal, inc.tax, inc.total) == (D("10.00"), D("2.00"), D("12.00"))

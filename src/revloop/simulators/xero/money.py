"""Xero's document arithmetic: line amounts, per-line tax rounded to 2 dp, and totals (NOTES §6).

Everything is ``Decimal``. The midpoint rounding mode defaults to half-up and can be changed per
simulator (``rounding=``) until it is confirmed against a real organisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .wire import WireError, to_decimal

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


def q2(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(CENT, rounding=rounding)


def q4(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(FOUR_DP, rounding=rounding)


def unit_quantum(unitdp: int) -> Decimal:
    return FOUR_DP if unitdp >= 4 else CENT


@dataclass
class DocumentMaths:
    lines: list[dict[str, Any]]
    sub_total: Decimal = ZERO
    total_tax: Decimal = ZERO
    total: Decimal = ZERO
    total_discount: Decimal = ZERO
    discounted: bool = False
    errors: list[str] = field(default_factory=list)


def compute_line(
    line: dict[str, Any],
    *,
    line_amount_types: str,
    rate_percent: Decimal,
    unitdp: int = 2,
    rounding: str = ROUND_HALF_UP,
) -> tuple[Decimal, list[str]]:
    """Fill ``Quantity``, ``UnitAmount``, ``LineAmount``, ``TaxAmount`` of one line (in place).

    Returns the undiscounted gross amount rounded to 2 dp (for ``TotalDiscount``) and any errors.
    """
    errors: list[str] = []
    try:
        quantity = to_decimal(line.get("Quantity"))
        unit = to_decimal(line.get("UnitAmount"))
        given_amount = to_decimal(line.get("LineAmount"))
        discount_rate = to_decimal(line.get("DiscountRate"))
        discount_amount = to_decimal(line.get("DiscountAmount"))
        given_tax = to_decimal(line.get("TaxAmount"))
    except WireError as exc:
        return ZERO, [str(exc)]
    uq = unit_quantum(unitdp)
    if quantity is None and unit is None and given_amount is None:
        # A description-only line carries no amounts.
        line["LineAmount"] = ZERO
        line["TaxAmount"] = ZERO
        for key in ("Quantity", "UnitAmount"):
            line.pop(key, None)
        return ZERO, errors
    back_computed = False
    if given_amount is not None and (quantity is None or unit is None):
        back_computed = True
        if quantity is None and unit is None:
            quantity, unit = Decimal(1), given_amount
        elif unit is None:
            assert quantity is not None
            unit = given_amount / quantity if quantity else given_amount
        else:
            quantity = given_amount / unit if unit else Decimal(1)
    quantity = q4(Decimal(1) if quantity is None else quantity, rounding)
    unit = (ZERO if unit is None else unit).quantize(uq, rounding=rounding)
    gross = quantity * unit
    if discount_rate is not None and discount_rate != 0:
        amount = q2(gross * (HUNDRED - discount_rate) / HUNDRED, rounding)
    elif discount_amount is not None and discount_amount != 0:
        amount = q2(gross - discount_amount, rounding)
    else:
        amount = q2(gross, rounding)
    if back_computed:
        assert given_amount is not None
        amount = q2(given_amount, rounding)
    elif given_amount is not None and q2(given_amount, rounding) != amount:
        errors.append(
            f"The line total {q2(given_amount, rounding)} does not match the expected line total {amount}"
        )
    rate = rate_percent / HUNDRED
    if line_amount_types == "NoTax":
        tax = ZERO
    elif given_tax is not None:
        tax = q2(given_tax, rounding)  # Xero accepts an overridden tax amount per line
    elif line_amount_types == "Inclusive":
        tax = q2(amount * rate / (1 + rate), rounding)
    else:
        tax = q2(amount * rate, rounding)
    line["Quantity"] = quantity
    line["UnitAmount"] = unit
    line["LineAmount"] = amount
    line["TaxAmount"] = tax
    if discount_rate is not None:
        line["DiscountRate"] = discount_rate
    if discount_amount is not None:
        line["DiscountAmount"] = q2(discount_amount, rounding)
    return q2(gross, rounding), errors


def compute_document(
    lines: list[dict[str, Any]],
    *,
    line_amount_types: str,
    rate_for: Callable[[dict[str, Any]], Decimal],
    unitdp: int = 2,
    rounding: str = ROUND_HALF_UP,
) -> DocumentMaths:
    """Compute every line, then SubTotal/TotalTax/Total as sums of the rounded line figures."""
    result = DocumentMaths(lines=lines)
    amounts = ZERO
    taxes = ZERO
    for line in lines:
        gross, errors = compute_line(
            line,
            line_amount_types=line_amount_types,
            rate_percent=rate_for(line),
            unitdp=unitdp,
            rounding=rounding,
        )
        result.errors.extend(errors)
        amounts += line["LineAmount"]
        taxes += line["TaxAmount"]
        if line.get("DiscountRate") or line.get("DiscountAmount"):
            result.discounted = True
            result.total_discount += gross - line["LineAmount"]
    result.total_tax = taxes
    if line_amount_types == "Inclusive":
        result.sub_total = amounts - taxes
        result.total = amounts
    else:
        result.sub_total = amounts
        result.total = amounts + taxes
    return result

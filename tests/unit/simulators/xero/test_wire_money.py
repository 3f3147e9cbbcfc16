"""Wire encoding (exact Decimal JSON, /Date()/ strings) and Xero's document maths (NOTES §6)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloop.simulators.xero.money import compute_document, compute_line
from revloop.simulators.xero.wire import (
    WireError,
    dumps,
    loads,
    ms_date,
    ms_timestamp,
    parse_date,
    parse_timestamp,
)

D = Decimal


def test_decimal_round_trips_exactly_as_json_numbers() -> None:
    text = dumps({"a": D("19.9999"), "b": D("0.10"), "c": [D("1.0000"), 3, None, True, "x"]})
    assert text == '{"a":19.9999,"b":0.10,"c":[1.0000,3,null,true,"x"]}'
    assert loads(text)["a"] == D("19.9999")


def test_floats_are_refused_on_the_wire() -> None:
    with pytest.raises(TypeError):
        dumps({"a": 1.5})


def test_ms_dates() -> None:
    assert ms_date("2018-10-20") == "/Date(1539993600000+0000)/"
    assert parse_date("/Date(1539993600000+0000)/") == "2018-10-20"
    assert parse_date("2018-10-20T00:00:00") == "2018-10-20"
    assert ms_timestamp("2018-11-02T16:31:30.160Z") == "/Date(1541176290160+0000)/"
    assert parse_timestamp("2019-12-07T18:46:19.5165400").microsecond == 516540
    with pytest.raises(WireError):
        parse_date("31/10/2026")


def _doc(lines, lat="Exclusive", rate="15", rounding="ROUND_HALF_UP"):
    return compute_document(lines, line_amount_types=lat, rate_for=lambda _l: D(rate), rounding=rounding)


def test_per_line_tax_rounding_matches_xero_example() -> None:
    lines = [{"Quantity": 1, "UnitAmount": D(a)} for a in ("25.06", "25.61", "25.63")]
    doc = _doc(lines)
    assert [line["TaxAmount"] for line in lines] == [D("3.76"), D("3.84"), D("3.84")]
    assert (doc.sub_total, doc.total_tax, doc.total) == (D("76.30"), D("11.44"), D("87.74"))


def test_discount_rate_rounds_half_up_like_the_quote_example() -> None:
    line = {"Quantity": 1, "UnitAmount": D("19.95"), "DiscountRate": D("10")}
    doc = _doc([line])
    assert line["LineAmount"] == D("17.96")
    assert line["TaxAmount"] == D("2.69")
    assert doc.total_discount == D("1.99")
    assert doc.total == D("20.65")


def test_midpoint_is_half_up_by_default_and_configurable() -> None:
    up = {"Quantity": 1, "UnitAmount": D("34.25")}
    compute_line(up, line_amount_types="Exclusive", rate_percent=D("10"))
    assert up["TaxAmount"] == D("3.43")
    even = {"Quantity": 1, "UnitAmount": D("34.25")}
    compute_line(even, line_amount_types="Exclusive", rate_percent=D("10"), rounding=ROUND_HALF_EVEN)
    assert even["TaxAmount"] == D("3.42")


def test_inclusive_and_notax() -> None:
    line = {"Quantity": 1, "UnitAmount": D("110.00")}
    doc = _doc([line], lat="Inclusive", rate="10")
    assert (line["TaxAmount"], doc.sub_total, doc.total_tax, doc.total) == (
        D("10.00"),
        D("100.00"),
        D("10.00"),
        D("110.00"),
    )
    line = {"Quantity": 2, "UnitAmount": D("10.00")}
    doc = _doc([line], lat="NoTax")
    assert (doc.total_tax, doc.total) == (D("0.00"), D("20.00"))


def test_discount_amount_and_line_amount_checks() -> None:
    line = {"Quantity": 3, "UnitAmount": D("10.00"), "DiscountAmount": D("5")}
    _doc([line])
    assert line["LineAmount"] == D("25.00")
    bad = {"Quantity": 2, "UnitAmount": D("10.00"), "LineAmount": D("25.00")}
    doc = _doc([bad])
    assert doc.errors == ["The line total 25.00 does not match the expected line total 20.00"]


def test_missing_quantity_or_unit_amount_is_derived_from_line_amount() -> None:
    line = {"UnitAmount": D("12.50"), "LineAmount": D("50.00")}
    _doc([line])
    assert line["Quantity"] == D("4.0000")
    line = {"LineAmount": D("99.00")}
    _doc([line])
    assert (line["Quantity"], line["UnitAmount"]) == (D("1.0000"), D("99.00"))


def test_supplied_tax_amount_overrides_the_calculation() -> None:
    line = {"Quantity": 1, "UnitAmount": D("10.00"), "TaxAmount": D("1.49")}
    _doc([line])
    assert line["TaxAmount"] == D("1.49")


def test_unit_amount_rounds_to_two_places_unless_unitdp_4() -> None:
    line = {"Quantity": 3, "UnitAmount": D("0.3333")}
    compute_line(line, line_amount_types="Exclusive", rate_percent=D(0))
    assert line["UnitAmount"] == D("0.33")
    line = {"Quantity": 3, "UnitAmount": D("0.3333")}
    compute_line(line, line_amount_types="Exclusive", rate_percent=D(0), unitdp=4)
    assert (line["UnitAmount"], line["LineAmount"]) == (D("0.3333"), D("1.00"))


money = st.decimals(min_value=D("-10000"), max_value=D("10000"), places=2)
quantity = st.decimals(min_value=D("0"), max_value=D("1000"), places=4)


@given(
    st.lists(st.tuples(quantity, money), min_size=1, max_size=12),
    st.sampled_from(["0", "10", "12.5", "15"]),
    st.sampled_from(["Exclusive", "Inclusive", "NoTax"]),
)
def test_totals_are_sums_of_rounded_lines(rows, rate, lat) -> None:
    lines = [{"Quantity": q, "UnitAmount": u} for q, u in rows]
    doc = _doc(lines, lat=lat, rate=rate)
    amounts = sum((line["LineAmount"] for line in lines), D(0))
    taxes = sum((line["TaxAmount"] for line in lines), D(0))
    assert doc.total_tax == taxes
    assert doc.total == (amounts if lat == "Inclusive" else amounts + taxes)
    assert doc.sub_total + doc.total_tax == doc.total
    for line in lines:
        assert line["LineAmount"] == line["LineAmount"].quantize(D("0.01"))
        assert line["TaxAmount"] == line["TaxAmount"].quantize(D("0.01"))

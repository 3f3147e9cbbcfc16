"""Xero's wire: /Date()/ dates both ways, exact Decimal JSON both ways, enums that Xero adds later."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloop.adapters.xero import wire
from revloop.adapters.xero.client import batch_keys, parse_many


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/Date(1539993600000+0000)/", datetime(2018, 10, 20, tzinfo=UTC)),
        ("/Date(1541176290160+0000)/", datetime(2018, 11, 2, 16, 31, 30, 160000, tzinfo=UTC)),
        ("/Date(1552326816230)/", datetime(2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC)),
        ("2019-12-07T18:46:19.5165400", datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC)),
        ("2018-11-02T16:31:30Z", datetime(2018, 11, 2, 16, 31, 30, tzinfo=UTC)),
        (None, None),
    ],
)
def test_timestamps(raw: str | None, expected: datetime | None) -> None:
    assert wire.parse_timestamp(raw) == expected


def test_document_dates_are_the_utc_calendar_date() -> None:
    assert wire.parse_date("/Date(1539993600000+0000)/") == date(2018, 10, 20)
    assert wire.parse_date("2018-10-20T00:00:00") == date(2018, 10, 20)
    assert wire.parse_date("/Date(-86400000+0000)/") == date(1969, 12, 31)
    with pytest.raises(ValueError):
        wire.parse_date("the 20th")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_ms_dates_round_trip(day: date) -> None:
    assert wire.parse_date(wire.ms_date(day)) == day


def test_decimal_json_both_ways() -> None:
    body = wire.loads(b'{"UnitAmount": 100.1234, "Quantity": 2.0000, "Count": 3}')
    assert body == {"UnitAmount": Decimal("100.1234"), "Quantity": Decimal("2.0000"), "Count": 3}
    assert str(body["Quantity"]) == "2.0000"
    text = wire.dumps({"A": Decimal("0.10"), "B": Decimal("1E+2"), "D": date(2026, 10, 1), "N": None})
    assert text == '{"A":0.10,"B":100,"D":"2026-10-01","N":null}'
    with pytest.raises(TypeError):
        wire.dumps({"A": 0.1})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12))
def test_decimal_round_trip(value: Decimal) -> None:
    assert wire.loads(wire.dumps([value]))[0] == value


def test_unknown_enum_values_are_kept_as_strings() -> None:
    invoice = wire.Invoice.model_validate(
        {"Status": "PARTIALLYPAID", "Type": "ACCREC", "LineAmountTypes": "Exclusive", "Shiny": 1}
    )
    assert invoice.Status == "PARTIALLYPAID"
    assert invoice.Type is wire.InvoiceType.ACCREC
    assert invoice.LineAmountTypes is wire.AmountType.EXCLUSIVE
    assert invoice.model_extra == {"Shiny": 1}


def test_parse_many_turns_bad_elements_into_issues() -> None:
    got = parse_many(
        wire.Invoice, [{"InvoiceID": "a", "Total": "12.50"}, {"InvoiceID": "b", "Total": "x"}], "Invoice"
    )
    assert [i.InvoiceID for i in got.records] == ["a"]
    assert got.records[0].Total == Decimal("12.50")
    assert [i.subject for i in got.issues] == ["xero invoice b"]


def test_batch_keys_are_stable_and_fit_128() -> None:
    assert batch_keys("run-1", 3) == ["run-1", "run-1:2", "run-1:3"]
    long = batch_keys("k" * 128, 2)
    assert all(len(k) <= 128 for k in long) and long[0] != long[1]


def test_messages() -> None:
    element = {"ValidationErrors": [{"Message": "Invoice # must be unique."}], "Warnings": [{"Message": "w"}]}
    assert wire.messages(element) == ["Invoice # must be unique."]
    assert wire.messages(element, "Warnings") == ["w"]

"""Reading Halo's values: ids as 21.0 or "21", the -1 and 1900 sentinels, naive-UTC dates, Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloop.adapters.halopsa import mapping, wire
from revloop.domain.issues import Issue


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(21, 21), (Decimal("21.0"), 21), ("21", 21), (" 21 ", 21), ("21.00", 21), (-1, -1)],
)
def test_ids_in_every_shape(raw: object, expected: int) -> None:
    assert wire.read_int(raw) == expected


@pytest.mark.parametrize("raw", [Decimal("21.5"), "abc", True, 21.0, None, "1e3"])
def test_what_is_not_an_id(raw: object) -> None:
    with pytest.raises(ValueError):
        wire.read_int(raw)


@pytest.mark.parametrize(("raw", "expected"), [(-1, None), (0, None), ("", None), (None, None), ("7", 7)])
def test_references_read_not_set_as_none(raw: object, expected: int | None) -> None:
    assert wire.read_ref(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-09-01T09:15:00", datetime(2026, 9, 1, 9, 15, tzinfo=UTC)),
        ("2026-09-01T09:15:00Z", datetime(2026, 9, 1, 9, 15, tzinfo=UTC)),
        ("2026-09-01T09:15:00.5165400", datetime(2026, 9, 1, 9, 15, 0, 516540, tzinfo=UTC)),
        ("2026-09-01T10:15:00+01:00", datetime(2026, 9, 1, 9, 15, tzinfo=UTC)),
        ("2026-09-01", datetime(2026, 9, 1, tzinfo=UTC)),
        ("1900-01-01T00:00:00", None),
        ("1899-12-30T00:00:00", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_aware_utc_and_1900_is_unset(raw: object, expected: datetime | None) -> None:
    assert wire.parse_dt(raw) == expected


def test_a_bad_date_is_refused() -> None:
    with pytest.raises(ValueError):
        wire.parse_dt("yesterday")


def test_numbers_are_decimal_and_floats_refused() -> None:
    assert wire.loads(b'{"a": 0.1, "b": 2}') == {"a": Decimal("0.1"), "b": 2}
    assert wire.read_decimal("12.3456") == Decimal("12.3456")
    with pytest.raises(ValueError):
        wire.read_decimal(0.1)
    with pytest.raises(ValueError):
        wire.read_decimal("NaN")


def test_dumps_writes_decimal_digit_for_digit() -> None:
    body = [{"id": 1, "rate": Decimal("0.10"), "big": Decimal("12345678901234567890.1234"), "on": True}]
    assert wire.dumps(body) == '[{"id":1,"rate":0.10,"big":12345678901234567890.1234,"on":true}]'
    with pytest.raises(TypeError):
        wire.dumps({"x": 0.1})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12))
def test_decimal_round_trip(value: Decimal) -> None:
    assert wire.loads(wire.dumps({"v": value}))["v"] == value


def test_models_tolerate_extra_fields_and_odd_shapes() -> None:
    site = wire.WireSite.model_validate(
        {"id": "3", "client_id": Decimal("21.0"), "slastupdate": "1900-01-01T00:00:00", "brand_new": [1]}
    )
    assert (site.id, site.client_id, site.slastupdate) == (3, 21, None)
    assert site.model_extra == {"brand_new": [1]}


def _action(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": 4,
        "ticket_id": 77,
        "who_agentid": 5,
        "timetaken": Decimal("1.25"),
        "nonbilltime": Decimal("0.25"),
        "traveltime": Decimal("0.5"),
        "mileage": Decimal("12.0"),
        "chargerate": 2,
        "actioncontractid": -1,
        "actioninvoicenumber": "",
        "datetime": "2026-10-01T08:00:00",
        "actionarrivaldate": "1900-01-01T00:00:00",
        "last_updated": "2026-10-02T00:00:00.123",
    }
    raw.update(changes)
    return raw


def test_a_time_entry_is_mapped_exactly() -> None:
    record = mapping.TIME_ENTRIES.one(_action())
    assert isinstance(record, mapping.TimeEntryRecord)
    assert record.source_key == "77/4"
    assert record.start_utc == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert record.minutes == Decimal("75.00")
    assert record.non_billable_minutes == Decimal("15.00")
    assert record.travel_minutes == Decimal("30.0")
    assert record.mileage == Decimal("12.0")
    assert (record.contract_id, record.invoice_number, record.agent_id) == (None, None, 5)


def test_the_arrival_date_wins_over_the_action_date() -> None:
    record = mapping.TIME_ENTRIES.one(_action(actionarrivaldate="2026-10-01T07:30:00"))
    assert isinstance(record, mapping.TimeEntryRecord)
    assert record.start_utc.hour == 7


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"datetime": "1900-01-01T00:00:00"}, "no date"),
        ({"timetaken": Decimal("-1")}, "timetaken is negative"),
        ({"timetaken": "a while"}, "timetaken"),
        ({"id": Decimal("4.5")}, "id"),
        ({"ticket_id": None}, "ticket_id"),
        ({"datetime": "someday"}, "datetime"),
    ],
)
def test_a_malformed_time_entry_is_an_issue_naming_it(changes: dict[str, object], words: str) -> None:
    result = mapping.TIME_ENTRIES.one(_action(**changes))
    assert isinstance(result, Issue)
    assert result.code == "halopsa.malformed"
    assert result.subject.startswith("halopsa time_entry")
    assert words in result.message


def test_many_keeps_the_good_and_reports_the_bad() -> None:
    got = mapping.CLIENTS.many([{"id": 1, "name": "A"}, "junk", {"name": "no id"}, {"id": "2", "name": "B"}])
    assert [c.source_key for c in got.records] == ["1", "2"]
    assert len(got.issues) == 2


def test_other_kinds_map() -> None:
    rate = mapping.CHARGE_RATES.one({"id": 1, "area": 0, "charge_id": 2, "rate": Decimal("100.00")})
    assert isinstance(rate, mapping.ChargeRateRecord)
    assert rate.client_id is None and rate.ooh_multiplier == Decimal(1)
    ticket = mapping.TICKETS.one(
        {"id": 5, "lastupdate": "2026-10-01T00:00:00", "dateclosed": "1900-01-01T00:00:00"}
    )
    assert isinstance(ticket, mapping.TicketRecord)
    assert ticket.updated_at is not None and ticket.closed_at is None
    invoice = mapping.INVOICES.one(
        {
            "id": 9,
            "lines": [{"id": 1, "_itemid": 3, "qty_order": Decimal("2.0"), "unit_price": Decimal("5.50")}],
        }
    )
    assert isinstance(invoice, mapping.InvoiceRecord)
    assert invoice.lines[0].item_id == 3 and invoice.lines[0].quantity == Decimal("2.0")

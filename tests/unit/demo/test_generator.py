"""The demo MSP generator: deterministic, sized, realistic, with every planted problem recorded."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from revloop.demo.generator import draw_crossing, generate
from revloop.demo.model import DemoMsp
from revloop.demo.problems import overrun_pieces, piece_class, working_days
from revloop.demo.work import Calendar, Entry

CODES = {
    "time.unbilled",
    "time.billed_twice",
    "invoice.no_contract",
    "contract.billed_vs_contracted",
    "renewal.no_quote",
    "prepay.below_threshold",
    "prepay.negative",
    "allowance.overrun",
    "time.outside_contract",
    "xero.drift",
    "payment.overdue",
    "halopsa.invoice_missing_in_xero",
    "amount.mismatch",
    "profit.negative_margin",
}
SUBJECT = re.compile(
    r"^(halopsa:(client|contract|invoice|quote):\d+|halopsa:action:\d+/\d+|"
    r"xero:(invoice|contact):[0-9a-f-]{36})$"
)
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def small() -> DemoMsp:
    return generate(seed=7, size="small")


@pytest.fixture(scope="module")
def clean() -> DemoMsp:
    return generate(seed=7, size="small", plant=False)


def r2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def xero_day(value: str) -> date:
    ms = int(re.match(r"/Date\((-?\d+)", value).group(1))  # type: ignore[union-attr]
    return date.fromordinal(date(1970, 1, 1).toordinal() + ms // 86_400_000)


def test_same_inputs_give_identical_json(small: DemoMsp) -> None:
    again = generate(seed=7, size="small")
    assert again.to_json() == small.to_json()
    other = generate(seed=8, size="small")
    assert other.to_json() != small.to_json()
    moved = generate(seed=7, size="small", today=date(2026, 6, 10))
    assert moved.facts["periods"]["history_start"] == "2025-06-01"


def test_small_is_roughly_its_size(small: DemoMsp) -> None:
    assert len(small.halopsa["client"]) == 8
    assert 1_300 <= len(small.halopsa["actions"]) <= 2_600
    assert len(small.halopsa["agent"]) == 15
    assert {a["team"] for a in small.halopsa["agent"]} >= {
        "Helpdesk Engineer L1",
        "Field Engineer",
        "Owner / Director",
    }


def test_every_finding_code_is_planted_with_subjects_that_exist(small: DemoMsp) -> None:
    assert {m["code"] for m in small.manifest} == CODES
    halo = small.halopsa
    exists = {
        "halopsa:client": {str(c["id"]) for c in halo["client"]},
        "halopsa:contract": {str(c["id"]) for c in halo["clientcontract"]},
        "halopsa:invoice": {str(i["id"]) for i in halo["invoice"]},
        "halopsa:action": {f"{a['ticket_id']}/{a['id']}" for a in halo["actions"]},
        "xero:invoice": {i["InvoiceID"] for i in small.xero["Invoices"]},
        "xero:contact": {c["ContactID"] for c in small.xero["Contacts"]},
    }
    missing_in_xero = {
        m["subjects"][0] for m in small.manifest if m["code"] == "halopsa.invoice_missing_in_xero"
    }
    for entry in small.manifest:
        assert re.fullmatch(r"-?\d+\.\d\d", entry["amount"]), entry
        assert entry["subjects"], entry
        for subject in entry["subjects"]:
            assert SUBJECT.match(subject), subject
            kind, _, ident = subject.rpartition(":")
            assert ident in exists[kind], subject
    assert missing_in_xero
    for subject in missing_in_xero:
        number = next(i["invoicenumber"] for i in halo["invoice"] if f"halopsa:invoice:{i['id']}" == subject)
        assert number not in {i["InvoiceNumber"] for i in small.xero["Invoices"]}


def test_clean_msp_has_no_manifest_and_no_loose_ends(clean: DemoMsp) -> None:
    assert clean.manifest == []
    xero_numbers = {i["InvoiceNumber"]: i for i in clean.xero["Invoices"]}
    halo_numbers = {i["invoicenumber"]: i for i in clean.halopsa["invoice"]}
    assert xero_numbers.keys() == halo_numbers.keys()
    for number, h in halo_numbers.items():
        assert h["total"] == xero_numbers[number]["Total"]
    for inv in clean.xero["Invoices"]:
        assert inv["Status"] in ("PAID", "AUTHORISED")
        if xero_day(inv["DueDate"]) < TODAY:
            assert inv["Status"] == "PAID", inv["InvoiceNumber"]
    history_end = "2026-11-01"
    for a in clean.halopsa["actions"]:
        billable = a["chargerate"] and a["timetaken"] > a.get("nonbilltime", 0)
        if billable and "2025-11-01" <= a["datetime"] < history_end:
            assert a["actioninvoicenumber"] in xero_numbers, a
    for c in clean.facts["contracts"]:
        if c["prepay"]:
            assert Decimal(c["prepay"]["balance_today"]) >= Decimal(c["prepay"]["threshold"])
    quoted = {q["client_id"] for q in clean.halopsa["quotation"]}
    for c in clean.halopsa["clientcontract"]:
        end = date.fromisoformat(c["end_date"][:10])
        if TODAY <= end <= date(2026, 12, 23):
            assert c["client_id"] in quoted
    for client_id, margin in margins(clean).items():
        assert margin > 0, client_id


def margins(msp: DemoMsp) -> dict[int, Decimal]:
    """Revenue minus cost per client over the closed months, as the manifest defines it."""
    facts = msp.facts
    cost_rate = {a["id"]: Decimal(a["hourly_cost"]) for a in facts["agents"]}
    ticket_client = {t["id"]: t["client_id"] for t in msp.halopsa["tickets"]}
    out: dict[int, Decimal] = Counter()  # type: ignore[assignment]
    for inv in msp.xero["Invoices"]:
        client = int(
            next(
                c["ContactNumber"]
                for c in msp.xero["Contacts"]
                if c["ContactID"] == inv["Contact"]["ContactID"]
            )
        )
        out[client] += inv["SubTotal"] / inv["CurrencyRate"]
    for a in msp.halopsa["actions"]:
        if a["datetime"] < "2026-11-01":
            hours = a["timetaken"] + a.get("traveltime", 0)
            out[ticket_client[a["ticket_id"]]] -= hours * cost_rate[a["who_agentid"]] + a.get(
                "mileage", 0
            ) * Decimal(facts["mileage_rate"])
    for e in msp.halopsa["expense"]:
        if e["ihid"]:
            out[e["client_id"]] -= e["amount"]
    for client_id, charges in facts["recurring"].items():
        out[int(client_id)] -= sum(Decimal(r["quantity"]) * Decimal(r["unit_cost"]) for r in charges) * 12
    return out


def test_negative_margin_amount_matches_its_definition(small: DemoMsp) -> None:
    entry = next(m for m in small.manifest if m["code"] == "profit.negative_margin")
    client = int(entry["subjects"][0].rsplit(":", 1)[1])
    assert Decimal(entry["amount"]) < 0
    assert abs(margins(small)[client] - Decimal(entry["amount"])) <= Decimal("0.05")


def test_xero_totals_follow_per_line_rounding(small: DemoMsp) -> None:
    rates = {t["TaxType"]: t["EffectiveRate"] for t in small.xero["TaxRates"]}
    for inv in small.xero["Invoices"]:
        sub = tax = Decimal(0)
        for li in inv["LineItems"]:
            assert li["LineAmount"] == r2(li["Quantity"] * li["UnitAmount"])
            assert li["TaxAmount"] == r2(li["LineAmount"] * rates[li["TaxType"]] / 100)
            sub += li["LineAmount"]
            tax += li["TaxAmount"]
        assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (sub, tax, sub + tax)


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def test_no_floats_anywhere(small: DemoMsp) -> None:
    assert not any(isinstance(v, float) for v in _walk(small.as_dict()))
    assert isinstance(small.halopsa["actions"][0]["timetaken"], Decimal)
    assert isinstance(small.xero["Invoices"][0]["Total"], Decimal)


def test_wire_shapes(small: DemoMsp) -> None:
    action = small.halopsa["actions"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", action["datetime"])
    assert any(t["dateclosed"] == "1900-01-01T00:00:00" for t in small.halopsa["tickets"])
    inv = small.xero["Invoices"][0]
    assert re.fullmatch(r"/Date\(\d+\+0000\)/", inv["Date"])
    assert inv["Type"] == "ACCREC" and inv["LineAmountTypes"] == "Exclusive"
    billed = [a for a in small.halopsa["actions"] if a["actioninvoicenumber"]]
    numbers = {i["InvoiceNumber"] for i in small.xero["Invoices"]}
    halo_numbers = {i["invoicenumber"] for i in small.halopsa["invoice"]}
    assert billed and all(a["actioninvoicenumber"] in halo_numbers for a in billed)
    assert sum(a["actioninvoicenumber"] in numbers for a in billed) / len(billed) > 0.9
    currencies = {c["DefaultCurrency"] for c in small.xero["Contacts"]}
    assert "GBP" in currencies and len(currencies) >= 2


def test_work_is_mostly_in_working_hours(small: DemoMsp) -> None:
    total = len(small.halopsa["actions"])
    weekend = evening = 0
    for a in small.halopsa["actions"]:
        start = datetime.fromisoformat(a["datetime"])
        if start.weekday() >= 5:
            weekend += 1
        elif not (7 <= start.hour < 17):  # UTC; working hours are 08:30-17:30 London
            evening += 1
    assert weekend / total < 0.08
    assert 0.01 < evening / total < 0.2
    onsite = [a for a in small.halopsa["actions"] if a["chargerate"] == 2]
    assert onsite and all("traveltime" in a and "mileage" in a for a in onsite)


def test_every_contract_kind_and_rate_history(small: DemoMsp) -> None:
    kinds = {c["kind"] for c in small.facts["contracts"]}
    assert kinds == {"payg", "fixed_price", "allowance", "prepay"}
    remote_global = [r for r in small.facts["ratebook"] if r["scope"] == "global" and r["charge_type"] == 1]
    assert len(remote_global) >= 2
    assert any(r["scope"] == "customer" for r in small.facts["ratebook"])
    assert small.xero["ProfitAndLossRows"]


def test_demo_size_is_roughly_right() -> None:
    msp = generate(seed=7, size="demo")
    assert len(msp.halopsa["client"]) == 60
    assert 38_000 <= len(msp.halopsa["actions"]) <= 46_000
    assert {m["code"] for m in msp.manifest} == CODES
    countries = Counter(c["country"] for c in msp.facts["clients"].values())
    assert countries["GB"] >= 50 and {"AU", "NZ", "US"} <= set(countries)
    per_client = Counter(t["client_id"] for t in msp.halopsa["tickets"])
    volumes = sorted(per_client.values())
    assert volumes[-1] > 5 * volumes[len(volumes) // 2] / 2  # a long tail of ticket volume


def test_a_prepay_crossing_is_the_draw_in_consumption_order() -> None:
    # more pieces than working days wrap round to the first day, an hour later: the fourth piece
    # (1/4) is drawn second, so the third draw is 1/2's, not 1/3's

    def piece(action: int, day: int, hour: int) -> Entry:
        start = datetime(2026, 10, day, hour, 30)
        return Entry(9, action, 1, 2, 1, start, 60, 0, 0, 0, "normal", 1, "Remote Support", "")

    entries = [piece(1, 1, 8), piece(2, 2, 8), piece(3, 5, 8), piece(4, 1, 9)]
    crossed, balance = draw_crossing(entries, Decimal("400"), Decimal("95"), Decimal("150"))
    assert crossed is not None and crossed.action_id == 2 and balance == Decimal("20")
    crossed, _ = draw_crossing(entries, Decimal("400"), Decimal("95"), Decimal("0"))
    assert crossed is None


def test_overrun_pieces_stay_in_working_hours_however_many_hours() -> None:
    # the overrun is rated (and its manifest amount valued) at the normal-hours rate of each piece, so
    # a big allowance must spread its pieces over more days, never run on past 17:30
    cal = Calendar(date(2026, 10, 1), date(2026, 10, 31))
    days = working_days(cal, date(2026, 10, 1), last=True)
    for hours in (Decimal("10"), Decimal("37.5"), Decimal("46.5"), Decimal("120")):
        pieces = overrun_pieces(days, hours)
        assert len(pieces) * Decimal("1.5") >= hours > (len(pieces) - 1) * Decimal("1.5")
        assert {piece_class(cal, day, at, minutes) for day, at, minutes in pieces} == {"normal"}
    assert overrun_pieces(days, Decimal("10"))[5] == (days[0], 8 * 60 + 30 + 96, 90)  # five days first
    friday = date(2026, 10, 30)
    assert piece_class(cal, friday, 18 * 60 + 6, 90) == "ooh"
    assert piece_class(cal, date(2026, 10, 31), 16 * 60 + 30, 90) == "weekend"
    with pytest.raises(ValueError):
        piece_class(cal, friday, 16 * 60 + 30, 90)  # 17:30 falls inside it

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

from revloop.domain.calendar import Calendar, Holidays, parse_hours
from revloop.domain.engine import rate
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow
from revloop.domain.records import (
    Book,
    CatalogueItem,
    Contract,
    Customer,
    ItemIssue,
    ItemLot,
    Purchase,
    Settings,
    TimeEntry,
    WriteOff,
)

OCT = Period.month(2026, 10)
CAL = Calendar("Europe/London", (parse_hours("08:30-17:30"),) * 5 + ((), ()), Holidays("GB", "ENG"))
ROW = RateRow(date(2026, 1, 1), hourly_rate=D(95), minimum_minutes=D(15), increment_minutes=D(15),
              rounding="up", ooh_multiplier=D("1.5"), holiday_multiplier=D(2))  # fmt: skip
CTS = {"remote": ChargeType("remote", "Remote support", "LAB-REMOTE", "200", "OUTPUT2", rates=(ROW,))}


def entry(eid: str, start: str, minutes: int, customer: str = "acme", **kw: object) -> TimeEntry:
    return TimeEntry(eid, customer, datetime.fromisoformat(start), D(minutes), "remote", **kw)  # type: ignore[arg-type]


def make(entries: tuple[TimeEntry, ...], **kw: object) -> Book:
    base: dict[str, object] = {
        "settings": Settings(),
        "calendar": CAL,
        "tax_rates": {"OUTPUT2": D(20)},
        "ratebook": Ratebook(CTS),
        "customers": {"acme": Customer("acme", "Acme")},
        "entries": entries,
    }
    base.update(kw)
    return Book(**base)  # type: ignore[arg-type]


def test_every_entry_ends_in_exactly_one_state() -> None:
    entries = (
        entry("ok", "2026-10-05T10:00", 60),
        entry("wo", "2026-10-05T11:00", 60, written_off=WriteOff("carol", "goodwill")),
        TimeEntry("nct", "acme", datetime(2026, 10, 5, 12), D(60)),
        entry("ghost", "2026-10-05T10:00", 60, customer="nobody"),
        entry("neg", "2026-10-05T10:00", -5),
        entry("zero", "2026-10-05T10:00", 20, non_billable_minutes=D(30)),
        entry("late", "2026-11-05T10:00", 60),
        entry("cov", "2026-10-06T10:00", 60, service_line="helpdesk"),
    )
    block = Contract(
        "block", "acme", "prepay", date(2026, 1, 1), service_lines=("helpdesk",),
        purchases=(Purchase(date(2026, 9, 1), D(5)),),
    )  # fmt: skip
    result = rate(make(entries, contracts={"block": block}), OCT)
    states = {rid: (s.state, s.detail) for (kind, rid), s in result.states.items() if kind == "entry"}
    assert states == {
        "ok": ("invoiced", "revloop:acme:all:2026-10-01"),
        "wo": ("written_off", "carol: goodwill"),
        "nct": ("not_billable", "no charge type"),
        "ghost": ("not_billable", "unknown customer"),
        "neg": ("not_billable", "negative duration"),
        "zero": ("not_billable", "no billable minutes"),
        "late": ("not_billable", "outside the period"),
        "cov": ("covered", "block"),
    }
    codes = {(i.code, i.subject) for i in result.issues}
    assert ("entry.unknown_customer", "ghost") in codes
    assert ("entry.negative_duration", "neg") in codes
    assert ("entry.outside_period", "late") in codes
    assert result.balances == {"block": D(4)}


def test_explanation_names_row_rounding_classes_draw_and_tax() -> None:
    result = rate(make((entry("e", "2026-10-05T17:00", 50),)), OCT)
    lines = result.invoices[0].lines
    assert [x.cls for x in lines] == ["normal", "ooh"]
    text = lines[1].explanation
    for part in (
        "global remote row from 2026-01-01",
        "50 billable min billed as 60 min",
        "ooh x1.5",
        "tax OUTPUT2 at 20%",
    ):
        assert part in text
    assert lines[0].precise == D("0.6000") * D("95.0000")


def test_result_does_not_depend_on_record_order() -> None:
    es = tuple(entry(f"e{i}", f"2026-10-{5 + i % 3:02d}T{9 + i % 9:02d}:00", 20 + 7 * i) for i in range(12))
    a = rate(make(es), OCT)
    b = rate(make(tuple(reversed(es))), OCT)
    assert a == b


def test_fifo_cost_kept_on_item_line() -> None:
    item = CatalogueItem(
        "SSD",
        "SSD",
        D(89),
        "OUTPUT2",
        lots=(ItemLot(date(2026, 8, 1), D(5), D(52)), ItemLot(date(2026, 9, 1), D(5), D(55))),
    )
    issues = (
        ItemIssue("i1", "acme", date(2026, 10, 8), D(4), item="SSD"),
        ItemIssue("i2", "acme", date(2026, 10, 9), D(8), item="SSD"),
    )
    result = rate(make((), items={"SSD": item}, items_issued=issues), OCT)
    costs = [x.cost for x in result.invoices[0].lines]
    assert costs == [D(4 * 52), D(52) + 5 * D(55) + 2 * D(55)]
    assert any(f.code == "item.stock_short" for f in result.findings)


def test_description_templates() -> None:
    settings = Settings(
        descriptions=(("labour", "{ticket_id}: {ticket_summary} by {agent} [{hours} h {class}]"),)
    )
    e = entry("e", "2026-10-05T10:00", 60, ticket="T9", summary="Printer", agent="alice")
    result = rate(make((e,), settings=settings), OCT)
    assert result.invoices[0].lines[0].description == "T9: Printer by alice [1.0000 h normal]"


def test_unknown_tax_code_is_an_issue_not_a_crash() -> None:
    result = rate(make((entry("e", "2026-10-05T10:00", 60),), tax_rates={}), OCT)
    assert [i.code for i in result.issues] == ["tax.unknown_code"]
    assert result.invoices[0].lines[0].tax == 0

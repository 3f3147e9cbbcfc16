"""Properties of the rating run over random books."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from revloop.domain.calendar import Calendar, Holidays, parse_hours
from revloop.domain.engine import RatingResult, rate
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow, ResolvedRate
from revloop.domain.rating.labour import billed_minutes, hours_of, share_hours
from revloop.domain.records import Book, Contract, Customer, Purchase, Settings, TimeEntry

OCT = Period.month(2026, 10)
CAL = Calendar("Europe/London", (parse_hours("08:30-17:30"),) * 5 + ((), ()), Holidays("GB", "ENG"))
ROW = RateRow(date(2026, 1, 1), hourly_rate=D("95.00"), minimum_minutes=D(15), increment_minutes=D(15),
              rounding="up", ooh_multiplier=D("1.5"), holiday_multiplier=D(2), overage_multiplier=D("1.25"),
              prepay_multiplier=D(1))  # fmt: skip
ONSITE = RateRow(date(2026, 1, 1), hourly_rate=D("120.00"), minimum_minutes=D(60), increment_minutes=D(30),
                 rounding="up", ooh_multiplier=D("1.5"), prepay_multiplier=D(2))  # fmt: skip
CTS = {
    "remote": ChargeType("remote", "Remote", "LAB", "200", "OUTPUT2", rates=(ROW,)),
    "onsite": ChargeType("onsite", "On-site", "LAB-ON", "200", "OUTPUT2", travel="remote", rates=(ONSITE,)),
}
CUSTOMERS = {c: Customer(c, c.title(), show_covered_work=True) for c in ("acme", "globex", "initech")}
KINDS = ("none", "payg", "fixed_price", "allowance", "prepay_hours", "prepay_money")
PROPS = settings(max_examples=100, deadline=None)


def contract(customer: str, kind: str, on_exhausted: str) -> Contract | None:
    start = date(2026, 1, 1)
    cid = f"{customer}-c"
    if kind == "none":
        return None
    if kind == "payg":
        return Contract(cid, customer, "payg", start)
    if kind == "fixed_price":
        return Contract(
            cid, customer, "fixed_price", start, fee=D("100.00"), item_code="FIX", tax_code="OUTPUT2"
        )
    if kind == "allowance":
        return Contract(cid, customer, "allowance", start, hours_per_period=D(3))
    unit = "hours" if kind == "prepay_hours" else "money"
    amount = D("2.5") if unit == "hours" else D("250.00")
    return Contract(
        cid, customer, "prepay", start, unit=unit, purchases=(Purchase(date(2026, 9, 1), amount),),  # type: ignore[arg-type]
        on_exhausted=on_exhausted, threshold=amount / 2, auto_topup=amount if customer == "initech" else None,  # type: ignore[arg-type]
        topup_unit_amount=D("90.00"),
    )  # fmt: skip


entry_st = st.tuples(
    st.sampled_from(sorted(CUSTOMERS)),
    st.integers(min_value=0, max_value=31 * 24 * 4 - 1),  # quarter-hour slots of October
    st.integers(min_value=0, max_value=600),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(["T1", "T2", "T3", None]),
    st.sampled_from(["remote", "remote", "onsite"]),
    st.sampled_from([0, 0, 25]),
)


@st.composite
def books(draw: st.DrawFn, scope: str = "entry") -> Book:
    raw = draw(st.lists(entry_st, min_size=1, max_size=25))
    kinds = {c: draw(st.sampled_from(KINDS)) for c in CUSTOMERS}
    on_exhausted = draw(st.sampled_from(["payg", "negative"]))
    presentation = draw(st.sampled_from(["itemised", "summary"]))
    customers = {
        k: Customer(k, v.name, show_covered_work=True, presentation=presentation)
        for k, v in CUSTOMERS.items()
    }
    entries = tuple(
        TimeEntry(
            f"E{i:03d}",
            cust,
            datetime(2026, 10, 1) + timedelta(minutes=15 * slot),
            D(minutes),
            ct,
            ticket=ticket,
            non_billable_minutes=D(nb),
            travel_minutes=D(travel),
        )
        for i, (cust, slot, minutes, nb, ticket, ct, travel) in enumerate(raw)
    )
    contracts = {c.id: c for c in (contract(k, v, on_exhausted) for k, v in kinds.items()) if c is not None}
    return Book(
        settings=Settings(rounding_scope=scope),  # type: ignore[arg-type]
        calendar=CAL,
        tax_rates={"OUTPUT2": D(20)},
        ratebook=Ratebook(CTS),
        customers=customers,
        contracts=contracts,
        entries=entries,
    )


def all_lines(result: RatingResult) -> list[object]:
    return [line for inv in result.invoices for line in inv.lines]


@PROPS
@given(books())
def test_every_line_amount_is_its_rounded_product_and_totals_sum(book: Book) -> None:
    result = rate(book, OCT)
    for inv in result.invoices:
        for line in inv.lines:
            assert line.amount == round2(line.quantity * line.unit_amount)
        assert inv.subtotal == sum((x.amount for x in inv.lines), D(0))
        assert inv.tax == sum((x.tax for x in inv.lines), D(0))
        assert inv.total == inv.subtotal + inv.tax


@PROPS
@given(books())
def test_draws_never_lose_or_double_count_an_hour(book: Book) -> None:
    result = rate(book, OCT)
    if any(c.presentation == "summary" for c in book.customers.values()):
        return  # grouped lines mix entries; checked itemised only
    got: dict[str, D] = defaultdict(D)
    for inv in result.invoices:
        for line in inv.lines:
            if line.kind in ("labour", "covered", "overage"):
                (source,) = line.sources
                got[source] += line.quantity
    for e in book.entries:
        assert e.charge_type is not None
        billable = max(e.minutes - e.non_billable_minutes, D(0))
        billed = hours_of(billed_minutes(billable, _resolved(e.charge_type)))
        assert got.get(e.id, D(0)) == billed, e.id


def _resolved(charge_type: str) -> ResolvedRate:
    r = Ratebook(CTS).resolve(charge_type, None, None, date(2026, 10, 1))
    assert r is not None
    return r


@PROPS
@given(books(), st.randoms(use_true_random=False))
def test_result_is_independent_of_record_order(book: Book, rnd: object) -> None:
    shuffled = list(book.entries)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    other = Book(
        settings=book.settings,
        calendar=book.calendar,
        tax_rates=book.tax_rates,
        ratebook=Ratebook(CTS),
        customers=dict(reversed(list(book.customers.items()))),
        contracts=book.contracts,
        entries=tuple(shuffled),
    )
    assert rate(book, OCT) == rate(other, OCT)


@PROPS
@given(books(scope="ticket"))
def test_every_entry_in_exactly_one_state_and_ticket_shares_sum(book: Book) -> None:
    result = rate(book, OCT)
    states = [k for k in result.states if k[0] == "entry"]
    assert sorted(states) == sorted(("entry", e.id) for e in book.entries)
    for state in result.states.values():
        assert state.state in ("invoiced", "covered", "written_off", "not_billable")
        if state.state == "invoiced":
            assert state.detail in {inv.key for inv in result.invoices}


@PROPS
@given(
    st.decimals(min_value=0, max_value=100, places=4),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=4),
)
def test_class_shares_sum_exactly_to_billed_hours(hours: D, pieces: list[int]) -> None:
    classes = ("normal", "ooh", "weekend", "holiday")
    segments = [(classes[i], us) for i, us in enumerate(pieces)]
    parts = share_hours(hours, segments)  # type: ignore[arg-type]
    assert sum((h for _, h in parts), D(0)) == hours
    assert all(h == h.quantize(D("0.0001")) for _, h in parts)

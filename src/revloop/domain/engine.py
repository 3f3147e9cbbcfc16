"""The rating run: a ``Book`` and a ``Period`` in, a ``RatingResult`` out.

Pure: the same book and period always give the same result, whatever the order of the records.
Problems with single records become ``Issue`` values; the run goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Literal, TypeVar

from revloop.domain.calendar import Calendar, WorkClass
from revloop.domain.contracts import (
    AllowanceAccount,
    PrepayAccount,
    PrepayDraw,
    draw_prepay,
    match_contract,
)
from revloop.domain.invoicing import DraftInvoice, Priced, build_invoice, invoice_key
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import q4, round2
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, ResolvedRate
from revloop.domain.rating.expenses import expense_unit_amount, markup_percent
from revloop.domain.rating.items import FifoStock, item_price
from revloop.domain.rating.labour import (
    billable_minutes,
    billed_minutes,
    hours_of,
    share_hours,
    share_ticket_minutes,
    unit_amount,
)
from revloop.domain.rating.lines import Lazy, LineDraft, LineKind, Text, render
from revloop.domain.rating.mileage import mileage_codes, mileage_rate, mileage_surcharge
from revloop.domain.rating.recurring import charge_periods, increased_unit, prorate, prorated_unit
from revloop.domain.rating.travel import TravelPrice, price_travel
from revloop.domain.records import Book, Contract, Customer, TimeEntry

_T = TypeVar("_T")
StateKind = Literal["invoiced", "covered", "written_off", "not_billable"]
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RecordState:
    state: StateKind
    detail: str  # invoice key, contract id, "by: why", or the reason


@dataclass(frozen=True, slots=True)
class RatingResult:
    period: Period
    invoices: tuple[DraftInvoice, ...]
    balances: Mapping[str, Decimal]
    balance_units: Mapping[str, str]  # "hours" or "money"
    issues: tuple[Issue, ...]
    findings: tuple[Issue, ...]
    states: Mapping[tuple[str, str], RecordState]  # (record kind, id) -> state


@dataclass(slots=True)
class _Prepared:
    entry: TimeEntry
    customer: Customer
    calendar: Calendar
    start: datetime  # aware, local
    utc: datetime
    day: date
    charge_type: ChargeType
    contract: Contract | None
    covered: bool  # the contract covers this work
    rate: ResolvedRate
    billable: Decimal
    billed: Decimal = _ZERO
    billed_note: str = ""

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.utc, self.entry.id)


@dataclass(slots=True)
class _Run:
    book: Book
    period: Period
    issues: list[Issue] = field(default_factory=list)
    findings: list[Issue] = field(default_factory=list)
    drafts: list[LineDraft] = field(default_factory=list)
    states: dict[tuple[str, str], RecordState] = field(default_factory=dict)
    covered_by: dict[str, str] = field(default_factory=dict)
    payable: set[str] = field(default_factory=set)  # entries with a chargeable line
    pending: list[tuple[str, str]] = field(default_factory=list)  # invoiced, invoice key to be set
    quantities: dict[Decimal, Decimal] = field(default_factory=dict)  # quantities at 4 dp, one object each
    label: str = ""
    templates: dict[str, str] = field(default_factory=dict)
    units: dict[tuple[int, WorkClass, bool], Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = self.period.label()
        self.templates = {k: self.book.settings.template(k) for k in ("labour", "covered", "overage")}

    def unit(self, rate: ResolvedRate, cls: WorkClass, overage: bool = False) -> Decimal:
        key = (id(rate), cls, overage)  # resolved rates live as long as the run's ratebook
        found = self.units.get(key)
        if found is None:
            found = unit_amount(rate, cls, rate.overage_multiplier if overage else Decimal(1))
            self.units[key] = found
        return found

    def issue(self, code: str, severity: Severity, subject: str, message: str, action: str = "") -> None:
        self.issues.append(Issue(code, severity, subject, message, action))

    def not_billable(self, kind: str, rid: str, why: str) -> None:
        self.states[(kind, rid)] = RecordState("not_billable", why)

    def invoiced(self, kind: str, rid: str) -> None:
        """The record has a line; its invoice key is set once the invoices are made."""
        self.states[(kind, rid)] = RecordState("invoiced", "")
        self.pending.append((kind, rid))


CHUNK_ENTRIES = 25_000


def rate(book: Book, period: Period) -> RatingResult:
    """Rate every record of ``book`` for ``period``.

    A large book is rated a group of customers at a time (customers share nothing but catalogue
    stock, which ``split_by_customer`` keeps together), so the working data of one group is
    released before the next: the result is the same as rating the book in one go.
    """
    if len(book.entries) > CHUNK_ENTRIES:
        parts = -(-len(book.entries) // CHUNK_ENTRIES)
        return join_results(period, (_rate_whole(part, period) for part in split_by_customer(book, parts)))
    return _rate_whole(book, period)


def _rate_whole(book: Book, period: Period) -> RatingResult:
    run = _Run(book, period)
    prepared, travel = _prepare_entries(run)
    _round(run, prepared)
    balances, units = _draw(run, prepared)
    del prepared
    _travel(run, travel)
    del travel
    _fees(run)
    _recurring(run)
    _mileage(run)
    _expenses(run)
    _items(run)
    invoices = _invoices(run)
    _entry_states(run, invoices)
    issues = sorted(run.issues, key=lambda i: (i.code, i.subject, i.message))
    findings = sorted(run.findings, key=lambda i: (i.code, i.subject, i.message))
    return RatingResult(
        period=period,
        invoices=tuple(invoices),
        balances=balances,
        balance_units=units,
        issues=tuple(issues),
        findings=tuple(findings),
        states=_sorted_states(run.states),
    )


def _sorted_states(states: Mapping[tuple[str, str], RecordState]) -> dict[tuple[str, str], RecordState]:
    """``dict(sorted(states.items()))``, sorting the ids of each record kind as plain strings."""
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in states:
        by_kind[key[0]].append(key)
    out: dict[tuple[str, str], RecordState] = {}
    for kind in sorted(by_kind):
        keys = by_kind[kind]
        keys.sort(key=_second)
        for key in keys:
            out[key] = states[key]
    return out


_second = itemgetter(1)


# --------------------------------------------------------------------------------------------
# time entries


@dataclass(frozen=True, slots=True)
class _Context:
    """What an entry's customer, charge type, named contract, service line and day decide."""

    contract: Contract | None
    problem: str | None
    ambiguous: tuple[str, ...]
    covered: bool
    rate: ResolvedRate | None
    travel_ct_id: str
    travel_ct: ChargeType | None
    travel_rate: ResolvedRate | None


def _context(
    book: Book,
    candidates: list[Contract],
    ct: ChargeType,
    e: TimeEntry,
    day: date,
) -> _Context:
    named = book.contracts.get(e.contract) if e.contract else None
    match = match_contract(candidates, named, e.contract, e.customer, ct.id, e.service_line, day)
    contract = match.contract
    covered = contract is not None and contract.covers_work(ct.id, e.service_line)
    contract_id = contract.id if contract else None
    rate_row = book.ratebook.resolve(ct.id, e.customer, contract_id, day)
    travel_ct_id = ct.travel or ct.id
    travel_ct = book.ratebook.charge_types.get(travel_ct_id)
    travel_rate = book.ratebook.resolve(travel_ct_id, e.customer, contract_id, day) if travel_ct else None
    return _Context(
        contract, match.problem, match.ambiguous, covered, rate_row, travel_ct_id, travel_ct, travel_rate
    )


def _prepare_entries(run: _Run) -> tuple[list[_Prepared], list[_Prepared]]:
    book = run.book
    by_customer: dict[str, list[Contract]] = defaultdict(list)
    for c in book.contracts.values():
        by_customer[c.customer].append(c)
    prepared: list[_Prepared] = []
    travel: list[_Prepared] = []
    # entries of one customer, charge type, contract and service line on one day decide alike
    contexts: dict[tuple[str, str, str | None, str | None, date], _Context] = {}
    # work starts repeat: (calendar, start as given) -> (local start, UTC start, work date)
    moments: dict[tuple[int, datetime, int], tuple[datetime, datetime, date]] = {}
    first, end = run.period.start, run.period.end
    customers = book.customers
    charge_types = book.ratebook.charge_types
    states = run.states
    for e in book.entries:  # any order: draws are ordered later, issues and states sorted at the end
        if e.written_off is not None:
            states[("entry", e.id)] = RecordState(
                "written_off", f"{e.written_off.by}: {e.written_off.reason}"
            )
            continue
        customer = customers.get(e.customer)
        if customer is None:
            run.issue(
                "entry.unknown_customer",
                Severity.ERROR,
                e.id,
                f"time entry {e.id} names customer {e.customer!r}, which is not known",
                "sync the customer or correct the entry",
            )
            run.not_billable("entry", e.id, "unknown customer")
            continue
        if e.minutes < _ZERO or e.non_billable_minutes < _ZERO or e.travel_minutes < _ZERO:
            run.issue(
                "entry.negative_duration",
                Severity.ERROR,
                e.id,
                f"time entry {e.id} has a negative duration",
                "correct the entry in the PSA",
            )
            run.not_billable("entry", e.id, "negative duration")
            continue
        cal = customer.calendar or book.calendar
        when_key = (id(cal), e.start, e.start.fold)  # fold: equal times either side of a clock change
        when = moments.get(when_key)
        if when is None:
            local = cal.localise(e.start)
            when = moments[when_key] = (local, local.astimezone(UTC), local.date())
        start, utc, day = when
        if not first <= day < end:
            run.issue(
                "entry.outside_period",
                Severity.WARNING,
                e.id,
                f"time entry {e.id} was worked on {day}, outside {run.period}",
                "bill it with the period it belongs to",
            )
            run.not_billable("entry", e.id, "outside the period")
            continue
        if e.charge_type is None:
            run.not_billable("entry", e.id, "no charge type")
            continue
        ct = charge_types.get(e.charge_type)
        if ct is None:
            run.issue(
                "entry.unknown_charge_type",
                Severity.ERROR,
                e.id,
                f"time entry {e.id} names charge type {e.charge_type!r}, which is not known",
                "add the charge type to the ratebook",
            )
            run.not_billable("entry", e.id, "unknown charge type")
            continue
        key = (e.customer, e.charge_type, e.contract, e.service_line, day)
        ctx = contexts.get(key)
        if ctx is None:
            ctx = contexts[key] = _context(book, by_customer.get(e.customer, []), ct, e, day)
        if ctx.problem is not None:
            run.issue(
                ctx.problem,
                Severity.WARNING,
                e.id,
                f"time entry {e.id} names contract {e.contract!r}, which "
                + (
                    "is not in force on its work date"
                    if ctx.problem == "contract.not_in_force"
                    else "is not a contract of its customer"
                )
                + "; rated pay-as-you-go",
                "correct the contract on the entry",
            )
        if ctx.ambiguous:
            run.issue(
                "contract.ambiguous",
                Severity.WARNING,
                e.id,
                f"time entry {e.id} matches several contracts ({', '.join(ctx.ambiguous)}); "
                "rated pay-as-you-go at customer rates",
                "name the contract on the entry or narrow the contracts' coverage",
            )
        contract = ctx.contract
        rate_row = ctx.rate
        if rate_row is None:
            run.issue(
                "rate.missing",
                Severity.ERROR,
                e.id,
                f"no rate row for {ct.id} is in force on {day} for time entry {e.id} (customer {e.customer})",
                "add a rate row for the charge type",
            )
            run.not_billable("entry", e.id, "rate.missing")
        else:
            billable = billable_minutes(e.minutes, e.non_billable_minutes)
            prepared.append(
                _Prepared(e, customer, cal, start, utc, day, ct, contract, ctx.covered, rate_row, billable)
            )
            if billable <= _ZERO:
                run.not_billable("entry", e.id, "no billable minutes")
        if e.travel_minutes > _ZERO:
            travel_ct, travel_rate = ctx.travel_ct, ctx.travel_rate
            if travel_ct is None or travel_rate is None:
                run.issue(
                    "rate.missing",
                    Severity.ERROR,
                    f"{e.id}:travel",
                    f"no rate row for travel charge type {ctx.travel_ct_id} is in force on {day} "
                    f"for time entry {e.id}",
                    "add a rate row for the travel charge type",
                )
            else:
                travel.append(
                    _Prepared(
                        e, customer, cal, start, utc, day, travel_ct, contract, False, travel_rate, _ZERO
                    )
                )
    return prepared, travel


def _round(run: _Run, prepared: list[_Prepared]) -> None:
    """Rule 3.3/3.4: billed minutes per entry, per entry or per ticket group."""
    if run.book.settings.rounding_scope == "entry":
        memo: dict[tuple[Decimal, int], tuple[Decimal, str]] = {}
        for p in prepared:
            key = (p.billable, id(p.rate))  # resolved rates live as long as the run's ratebook
            found = memo.get(key)
            if found is None:
                billed = billed_minutes(p.billable, p.rate)
                found = memo[key] = (billed, _rounding_note(p.billable, billed, p.rate))
            p.billed, p.billed_note = found
        return
    groups: dict[tuple[str, str, str], list[_Prepared]] = defaultdict(list)
    for p in prepared:
        if p.entry.ticket is None:
            p.billed = billed_minutes(p.billable, p.rate)
            p.billed_note = _rounding_note(p.billable, p.billed, p.rate)
        else:
            groups[(p.entry.customer, p.entry.ticket, p.charge_type.id)].append(p)
    for (_, ticket, _), members in groups.items():
        members.sort(key=lambda x: x.order)
        first = members[0].rate
        total = sum((m.billable for m in members), _ZERO)
        billed_total = billed_minutes(total, first)
        shares = share_ticket_minutes(billed_total, [m.billable for m in members], first.increment_minutes)
        for m, share in zip(members, shares, strict=True):
            m.billed = share
            m.billed_note = (
                f"ticket {ticket}: {total} billable min of {len(members)} entries billed as "
                f"{billed_total} min by the row of {members[0].entry.id}; this entry's share {share} min"
            )


def _rounding_note(billable: Decimal, billed: Decimal, r: ResolvedRate) -> str:
    return (
        f"{billable} billable min billed as {billed} min (increment {r.increment_minutes} "
        f"{r.rounding}, minimum {r.minimum_minutes})"
    )


def _elapsed(us: int) -> str:
    seconds, rest = divmod(us, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    if seconds == 0 and rest == 0:
        return f"{minutes} min"
    return f"{minutes} min {seconds}.{rest:06d} s"


def _show_covered(customer: Customer, contract: Contract) -> bool:
    if customer.show_covered_work is not None:
        return customer.show_covered_work
    return contract.kind in ("allowance", "prepay")


def _fmt_balance(value: Decimal, unit: str) -> str:
    return str(round2(value)) if unit == "money" else str(q4(value))


# The texts of labour-kind lines are made when read (``Lazy``): these functions make them from
# the numbers the line keeps.


def _labour_fields(p: _Prepared, label: str, hours: Decimal, cls: WorkClass, draw: Text) -> dict[str, str]:
    e = p.entry
    return {
        "date": p.day.isoformat(),
        "ticket_id": e.ticket or "",
        "ticket_summary": e.summary,
        "agent": e.agent,
        "hours": str(hours),
        "class": cls,
        "period": label,
        "contract": p.contract.id if p.contract else "",
        "charge_type": p.charge_type.name,
        "draw": str(draw),
    }


def _labour_text(template: str, p: _Prepared, label: str, hours: Decimal, cls: WorkClass, draw: Text) -> str:
    return render(template, _labour_fields(p, label, hours, cls, draw))


def _why(head: str, note: Text) -> str:
    return f"{head}; {note}"


def _allowance_note(contract: str, before: Decimal, after: Decimal) -> str:
    return f"allowance {contract}: {q4(before)} -> {q4(after)} h"


def _allowance_draw(covered: Decimal, after: Decimal) -> str:
    return f", {q4(covered)} h drawn, {q4(after)} h left"


def _span(d: PrepayDraw, unit: str) -> str:
    return f"{_fmt_balance(d.before, unit)} -> {_fmt_balance(d.after, unit)}"


def _prepay_covered_note(contract: Contract, multiplier: Decimal, d: PrepayDraw) -> str:
    return f"prepay {contract.id} ({contract.unit}, x{multiplier}): {_span(d, contract.unit)}"


def _prepay_negative_note(contract: Contract, d: PrepayDraw) -> str:
    return f"prepay {contract.id} exhausted; drawn into a negative balance: {_span(d, contract.unit)}"


def _prepay_payg_note(contract: Contract, d: PrepayDraw) -> str:
    return f"prepay {contract.id} exhausted ({_span(d, contract.unit)}); pay-as-you-go"


def _prepay_draw(drawn: Decimal, left: Decimal, unit: str, unit_name: str) -> str:
    return f", {_fmt_balance(drawn, unit)} {unit_name} drawn, {_fmt_balance(left, unit)} {unit_name} left"


_new = tuple.__new__
_entry_id = attrgetter("entry.id")
_utc = attrgetter("utc")


class _Emitter:
    """Appends the labour-kind lines of the prepared entries of one run."""

    __slots__ = (
        "append",
        "head",
        "heads",
        "label",
        "notes",
        "p",
        "payable",
        "quantities",
        "run",
        "seq",
        "templates",
    )

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.append = run.drafts.append
        self.payable = run.payable
        self.quantities = run.quantities
        self.label = run.label
        self.templates = run.templates
        self.heads: dict[tuple[int, WorkClass], str] = {}  # "class x multiplier" per rate and class
        self.notes: dict[tuple[str, str], str] = {}  # explanations that repeat, made once
        self.p: _Prepared | None = None
        self.head: tuple[Text, ...] = ()
        self.seq = 0

    def quantity(self, qty: Decimal) -> Decimal:
        """``qty`` at 4 dp when that is the same number (a draw from a balance may have fewer).

        Equal quantities share one object. The form depends on the value only, never on which
        equal quantity the run met first, so a customer's lines read the same in any run.
        """
        found = self.quantities.get(qty)
        if found is None:
            shown = q4(qty)
            if shown != qty:
                return qty
            found = self.quantities[qty] = shown
        return found

    def start(self, p: _Prepared, head: tuple[Text, ...]) -> None:
        self.p, self.head, self.seq = p, head, 0

    def __call__(
        self, kind: LineKind, cls: WorkClass, qty: Decimal, unit: Decimal, note: Text, draw: Text = ""
    ) -> None:
        p = self.p
        assert p is not None
        e = p.entry
        key = (id(p.rate), cls)
        head = self.heads.get(key)
        if head is None:
            head = self.heads[key] = f"{cls} x{p.rate.multiplier(cls)}"
        why: Text
        if type(note) is str:
            found = self.notes.get((head, note))
            if found is None:
                found = self.notes[(head, note)] = f"{head}; {note}"
            why = found
        else:
            why = Lazy(_why, head, note)
        ct = p.charge_type
        contract = p.contract
        self.append(
            _new(  # LineDraft(...) with every field given in order, made without the checks
                LineDraft,
                (
                    kind,
                    e.customer,
                    ct.item_code,
                    Lazy(_labour_text, self.templates[kind], p, self.label, qty, cls, draw),
                    self.quantity(qty),
                    unit,
                    ct.tax_code,
                    why,
                    (e.id,),
                    cls,
                    ct.account_code,
                    contract.id if contract is not None else None,
                    ct.id,
                    None,
                    (p.utc, e.id, self.seq),
                    tuple(_labour_fields(p, self.label, qty, cls, draw).items())
                    if p.customer.presentation == "summary"
                    else (),
                    self.head,
                ),
            )
        )
        self.seq += 1
        if kind == "labour" or kind == "overage":
            self.payable.add(e.id)


def _draw(run: _Run, prepared: list[_Prepared]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Classes, contract draws and labour-kind lines, in consumption order."""
    book, period = run.book, run.period
    settings = book.settings
    mode = settings.money_rounding
    prepay: dict[str, PrepayAccount] = {}
    allowance: dict[str, AllowanceAccount] = {}
    units: dict[str, str] = {}
    for c in sorted(book.contracts.values(), key=lambda x: x.id):
        if c.customer not in book.customers:
            continue
        opening = book.opening_balances.get(c.id)
        if c.kind == "prepay":
            prepay[c.id] = PrepayAccount(c, period, opening)
            units[c.id] = c.unit
        elif c.kind == "allowance":
            allowance[c.id] = AllowanceAccount(c, period, opening)
            units[c.id] = "hours"
    shares_memo: dict[
        tuple[Decimal, tuple[tuple[WorkClass, int], ...]], tuple[list[tuple[WorkClass, Decimal]], str]
    ]
    shares_memo = {}
    hours_memo: dict[Decimal, tuple[Decimal, str]] = {}
    describe: dict[int, str] = {}
    split_mode = settings.ooh_mode == "split"
    currency = settings.currency
    emit = _Emitter(run)
    # consumption order (work start, entry id): by id, then (stably) by start
    prepared.sort(key=_entry_id)
    prepared.sort(key=_utc)
    for p in prepared:
        e = p.entry
        found_hours = hours_memo.get(p.billed)
        if found_hours is None:
            hours = hours_of(p.billed)
            found_hours = hours_memo[p.billed] = (hours, f"billed {hours} h")
        hours, billed_text = found_hours
        if hours <= 0:
            continue
        if split_mode:
            segments = p.calendar.shares(e.start, e.minutes)
        else:
            segments = ((p.calendar.class_at(e.start), 1),)
        split = shares_memo.get((hours, segments))
        if split is None:
            split = shares_memo[(hours, segments)] = (
                [(cls, h) for cls, h in share_hours(hours, segments) if h != 0],
                "class shares " + ", ".join(f"{cls} {_elapsed(us)}" for cls, us in segments),
            )
        parts, share_note = split
        rate = p.rate
        rate_text = describe.get(id(rate))
        if rate_text is None:
            rate_text = describe[id(rate)] = rate.describe()
        contract = p.contract
        emit.start(p, (rate_text, p.billed_note, billed_text, share_note))

        if contract is None or not p.covered or contract.kind == "payg":
            for cls, h in parts:
                emit("labour", cls, h, run.unit(rate, cls), "pay-as-you-go")
            continue
        show = _show_covered(p.customer, contract)
        if contract.kind == "fixed_price":
            run.covered_by[e.id] = contract.id
            if show:
                for cls, h in parts:
                    emit("covered", cls, h, _ZERO, f"covered by fixed-price contract {contract.id}")
            continue
        if contract.kind == "allowance":
            acct = allowance[contract.id]
            for cls, h in parts:
                covered, over, before, after = acct.draw(p.day, h)
                if covered > 0:
                    run.covered_by[e.id] = contract.id
                    if show:
                        emit(
                            "covered",
                            cls,
                            covered,
                            _ZERO,
                            Lazy(_allowance_note, contract.id, before, after),
                            Lazy(_allowance_draw, covered, after),
                        )
                if over > 0:
                    unit = run.unit(rate, cls, True)
                    emit(
                        "overage",
                        cls,
                        over,
                        unit,
                        f"allowance {contract.id} used up; overage x{rate.overage_multiplier}",
                    )
            continue
        acct_p = prepay[contract.id]
        money = contract.unit == "money"
        unit_name = "h" if contract.unit == "hours" else currency
        for cls, h in parts:
            unit = run.unit(rate, cls)
            if money:
                per_hour, cost = unit, round2(h * unit, mode)
            else:
                per_hour, cost = rate.prepay_multiplier, h * rate.prepay_multiplier
            d = draw_prepay(acct_p, p.day, h, per_hour, cost)
            if d.covered_hours > 0 or d.negative_hours > 0:
                run.covered_by[e.id] = contract.id
            positive = min(d.consumed, d.before) if d.before > 0 else _ZERO
            if show and d.covered_hours > 0:
                emit(
                    "covered",
                    cls,
                    d.covered_hours,
                    _ZERO,
                    Lazy(_prepay_covered_note, contract, rate.prepay_multiplier, d),
                    Lazy(_prepay_draw, positive, d.before - positive, contract.unit, unit_name),
                )
            if show and d.negative_hours > 0:
                emit(
                    "covered",
                    cls,
                    d.negative_hours,
                    _ZERO,
                    Lazy(_prepay_negative_note, contract, d),
                    Lazy(_prepay_draw, d.consumed - positive, d.after, contract.unit, unit_name),
                )
            if d.payg_hours > 0:
                emit("labour", cls, d.payg_hours, unit, Lazy(_prepay_payg_note, contract, d))
            threshold = contract.threshold
            if threshold is not None and d.before >= threshold > d.after:
                run.findings.append(
                    Issue(
                        "prepay.below_threshold",
                        Severity.WARNING,
                        contract.id,
                        f"prepay {contract.id} fell below {threshold} {contract.unit} on {p.day} "
                        f"({_span(d, contract.unit)})",
                        "sell the customer another block" if contract.auto_topup is None else "",
                    )
                )
                if contract.auto_topup is not None:
                    acct_p.purchase(p.day, contract.auto_topup)
                    _topup_line(run, contract, p, emit.seq)
                    emit.seq += 1
    balances: dict[str, Decimal] = {}
    for cid, acct_a in allowance.items():
        balances[cid] = q4(acct_a.closing())
    for cid, acct_pp in prepay.items():
        closing = acct_pp.closing(period)
        balances[cid] = round2(closing, mode) if acct_pp.contract.unit == "money" else q4(closing)
    return dict(sorted(balances.items())), units


def _topup_line(run: _Run, contract: Contract, p: _Prepared, seq: int) -> None:
    amount = contract.auto_topup
    assert amount is not None
    if contract.unit == "money":
        qty, unit = Decimal(1), q4(amount)
    else:
        if contract.topup_unit_amount is None:
            run.issue(
                "contract.topup_price_missing",
                Severity.ERROR,
                contract.id,
                f"hours prepay {contract.id} topped up by {amount} h but has no topup_unit_amount",
                "set topup_unit_amount on the contract",
            )
            return
        qty, unit = q4(amount), q4(contract.topup_unit_amount)
    item = contract.topup_item_code or contract.item_code or p.charge_type.item_code
    run.drafts.append(
        LineDraft(
            kind="topup",
            customer=contract.customer,
            item_code=item,
            description=render(run.book.settings.template("topup"), {"contract": contract.id}),
            quantity=qty,
            unit_amount=unit,
            tax_code=contract.tax_code or p.charge_type.tax_code,
            explanation=f"automatic top-up of {amount} {contract.unit} on {p.day} after {p.entry.id}",
            sources=(),
            account_code=contract.account_code,
            contract=contract.id,
            order=(p.utc, p.entry.id, seq),
        )
    )


def _travel_fields(p: _Prepared, label: str, price: TravelPrice) -> dict[str, str]:
    e = p.entry
    return {
        "date": p.day.isoformat(),
        "ticket_id": e.ticket or "",
        "ticket_summary": e.summary,
        "agent": e.agent,
        "hours": str(price.hours),
        "class": price.cls,
        "period": label,
        "contract": p.contract.id if p.contract else "",
        "charge_type": p.charge_type.name,
    }


def _travel_text(template: str, p: _Prepared, label: str, price: TravelPrice) -> str:
    return render(template, _travel_fields(p, label, price))


def _travel(run: _Run, travel: list[_Prepared]) -> None:
    settings = run.book.settings
    template = settings.template("travel")
    uses_multipliers = settings.travel_uses_multipliers
    # (minutes as written, rate, class at the start) -> price and explanation: travel repeats
    memo: dict[tuple[str, int, WorkClass], tuple[TravelPrice, str] | None] = {}
    travel.sort(key=_entry_id)  # by (work start, entry id), as the labour lines
    travel.sort(key=_utc)
    append, payable, label = run.drafts.append, run.payable, run.label
    for p in travel:
        e = p.entry
        start_class = p.calendar.class_at(e.start) if uses_multipliers else "normal"
        key = (str(e.travel_minutes), id(p.rate), start_class)  # rates live as long as the ratebook
        if key in memo:
            found = memo[key]
        else:
            price = price_travel(e.travel_minutes, p.rate, start_class, uses_multipliers)
            found = memo[key] = (
                None if price is None else (price, f"{price.explanation}; always pay-as-you-go")
            )
        if found is None:
            continue
        price, explanation = found
        ct = p.charge_type
        contract = p.contract
        append(
            _new(  # LineDraft(...) with every field given in order, made without the checks
                LineDraft,
                (
                    "travel",
                    e.customer,
                    ct.item_code,
                    Lazy(_travel_text, template, p, label, price),
                    price.hours,
                    price.unit_amount,
                    ct.tax_code,
                    explanation,
                    (e.id,),
                    price.cls,
                    ct.account_code,
                    contract.id if contract else None,
                    ct.id,
                    None,
                    (p.utc, e.id),
                    tuple(_travel_fields(p, label, price).items())
                    if p.customer.presentation == "summary"
                    else (),
                    (),
                ),
            )
        )
        payable.add(e.id)


# --------------------------------------------------------------------------------------------
# fees, recurring charges, mileage, expenses, items


def _fees(run: _Run) -> None:
    book = run.book
    for c in sorted(book.contracts.values(), key=lambda x: x.id):
        if c.fee is None or c.customer not in book.customers:
            continue
        for cp in charge_periods(run.period, c.billing, "advance"):
            pr = prorate(cp, c.start, c.end)
            if pr.covered is None:
                continue
            unit = prorated_unit(c.fee, pr)
            dates = f"{pr.covered.start.isoformat()} to {pr.covered.last_day.isoformat()}"
            note = f"fee {c.fee} per {c.billing} period {cp}"
            if pr.partial:
                note += f", prorated {pr.days_active}/{pr.days_in_period} days"
            run.drafts.append(
                LineDraft(
                    kind="fee",
                    customer=c.customer,
                    item_code=c.item_code or c.id,
                    description=render(
                        book.settings.template("fee"),
                        {"contract": c.description or c.id, "dates": dates, "period": run.label},
                    ),
                    quantity=Decimal(1),
                    unit_amount=unit,
                    tax_code=c.tax_code or _default_tax(book, c),
                    explanation=note,
                    account_code=c.account_code,
                    contract=c.id,
                    order=(cp.start, c.id),
                )
            )


def _default_tax(book: Book, c: Contract) -> str | None:
    ids = list(c.covers) if c.covers else sorted(book.ratebook.charge_types)
    for ct_id in ids:
        ct = book.ratebook.charge_types.get(ct_id)
        if ct is not None and ct.tax_code:
            return ct.tax_code
    return None


def _count(book: Book, source: str, customer: str, day: date) -> Decimal:
    if source == "users":
        return Decimal(sum(1 for u in book.users if u.customer == customer and u.active_on(day)))
    kind = source.split(":", 1)[1]
    return Decimal(
        sum(1 for a in book.assets if a.customer == customer and a.type == kind and a.active_on(day))
    )


def _recurring(run: _Run) -> None:
    book = run.book
    for r in sorted(book.recurring, key=lambda x: x.id):
        if r.customer not in book.customers:
            run.issue(
                "recurring.unknown_customer",
                Severity.ERROR,
                r.id,
                f"recurring charge {r.id} names customer {r.customer!r}, which is not known",
                "correct the recurring charge",
            )
            run.not_billable("recurring", r.id, "unknown customer")
            continue
        billed = False
        for cp in charge_periods(run.period, r.frequency, r.timing):
            pr = prorate(cp, r.start, r.end)
            if pr.covered is None:
                continue
            if r.quantity is not None:
                qty, qty_note = r.quantity, f"quantity {r.quantity}"
            else:
                source = r.count_source or "users"
                qty = _count(book, source, r.customer, cp.start)
                qty_note = f"quantity {qty} = {source} counted on {cp.start}"
            if qty == 0:
                continue
            base, steps = increased_unit(r.unit_amount, r.increase_percent, r.increase_on, cp.start)
            unit = prorated_unit(base, pr)
            note = f"{r.frequency} charge in {r.timing} for {cp}; {qty_note}; unit {r.unit_amount}"
            if steps:
                note += f" increased {steps}x by {r.increase_percent}% to {base}"
            if pr.partial:
                note += f"; prorated {pr.days_active}/{pr.days_in_period} days"
            dates = f"{pr.covered.start.isoformat()} to {pr.covered.last_day.isoformat()}"
            run.drafts.append(
                LineDraft(
                    kind="recurring",
                    customer=r.customer,
                    item_code=r.item_code,
                    description=render(
                        book.settings.template("recurring"),
                        {"description": r.description, "dates": dates, "period": run.label},
                    ),
                    quantity=q4(qty),
                    unit_amount=unit,
                    tax_code=r.tax_code,
                    explanation=note,
                    sources=(r.id,),
                    account_code=r.account_code,
                    order=(cp.start, r.id),
                )
            )
            billed = True
        if not billed:
            run.not_billable("recurring", r.id, "no charge period billed in this period")
        else:
            run.invoiced("recurring", r.id)


def _in_period(run: _Run, kind: str, rid: str, customer: str, day: date) -> Customer | None:
    cust = run.book.customers.get(customer)
    if cust is None:
        run.issue(
            f"{kind}.unknown_customer",
            Severity.ERROR,
            rid,
            f"{kind} record {rid} names customer {customer!r}, which is not known",
            "correct the record",
        )
        run.not_billable(kind, rid, "unknown customer")
        return None
    if day not in run.period:
        run.issue(
            f"{kind}.outside_period",
            Severity.WARNING,
            rid,
            f"{kind} record {rid} is dated {day}, outside {run.period}",
            "bill it with the period it belongs to",
        )
        run.not_billable(kind, rid, "outside the period")
        return None
    return cust


def _mileage(run: _Run) -> None:
    book = run.book
    s = book.settings
    for m in sorted(book.mileage, key=lambda x: (x.date, x.id)):
        cust = _in_period(run, "mileage", m.id, m.customer, m.date)
        if cust is None:
            continue
        item, tax = mileage_codes(s, m)
        rate_ = mileage_rate(s, cust)
        fields = {
            "date": m.date.isoformat(),
            "distance": format(m.distance.normalize(), "f"),
            "description": m.description,
        }
        run.drafts.append(
            LineDraft(
                kind="mileage",
                customer=m.customer,
                item_code=item,
                description=render(s.template("mileage"), fields),
                quantity=q4(m.distance),
                unit_amount=rate_,
                tax_code=tax,
                explanation=f"{m.distance} at {rate_} per unit of distance",
                sources=(m.id,),
                order=(m.date, m.id, 0),
            )
        )
        surcharge = mileage_surcharge(s, cust)
        if surcharge is not None:
            run.drafts.append(
                LineDraft(
                    kind="mileage",
                    customer=m.customer,
                    item_code=item,
                    description=render(s.template("surcharge"), fields),
                    quantity=Decimal(1),
                    unit_amount=surcharge,
                    tax_code=tax,
                    explanation=f"mileage surcharge {surcharge} per record",
                    sources=(m.id,),
                    order=(m.date, m.id, 1),
                )
            )
        run.invoiced("mileage", m.id)


def _expenses(run: _Run) -> None:
    book = run.book
    s = book.settings
    for x in sorted(book.expenses, key=lambda r: (r.date, r.id)):
        cust = _in_period(run, "expense", x.id, x.customer, x.date)
        if cust is None:
            continue
        markup = markup_percent(s, cust)
        unit = expense_unit_amount(x, markup)
        fields = {"date": x.date.isoformat(), "category": x.category, "description": x.description}
        run.drafts.append(
            LineDraft(
                kind="expense",
                customer=x.customer,
                item_code=x.item_code or x.category,
                description=render(s.template("expense"), fields),
                quantity=Decimal(1),
                unit_amount=unit,
                tax_code=x.tax_code,
                explanation=f"cost {x.cost} marked up {markup}%",
                sources=(x.id,),
                order=(x.date, x.id),
            )
        )
        run.invoiced("expense", x.id)


def _items(run: _Run) -> None:
    book = run.book
    s = book.settings
    stocks = {k: FifoStock(v.lots) for k, v in book.items.items()}
    for it in sorted(book.items_issued, key=lambda r: (r.date, r.id)):
        cust = _in_period(run, "item", it.id, it.customer, it.date)
        if cust is None:
            continue
        if it.item is not None:
            cat = book.items.get(it.item)
            if cat is None:
                run.issue(
                    "item.unknown",
                    Severity.ERROR,
                    it.id,
                    f"item record {it.id} names item {it.item!r}, which is not in the catalogue",
                    "add the item to the catalogue",
                )
                run.not_billable("item", it.id, "unknown item")
                continue
            price = item_price(cat, cust.item_price(cat.id))
            fifo = stocks[cat.id].draw(it.quantity)
            if fifo.short:
                run.findings.append(
                    Issue(
                        "item.stock_short",
                        Severity.WARNING,
                        it.id,
                        f"{fifo.short} of {cat.id} issued beyond the recorded purchase lots",
                        "record the purchase",
                    )
                )
            description, cost, cost_note = it.description or cat.name, fifo.cost, fifo.detail
            tax, account, item_code = it.tax_code or cat.tax_code, it.account_code or cat.account_code, cat.id
            price_note = "customer price" if cust.item_price(cat.id) is not None else "catalogue price"
        else:
            price = it.unit_price if it.unit_price is not None else _ZERO
            cost = it.quantity * (it.unit_cost or _ZERO)
            description, cost_note = it.description, f"ad hoc cost {it.unit_cost} each"
            tax, account, item_code, price_note = it.tax_code, it.account_code, "ADHOC", "ad hoc price"
        run.drafts.append(
            LineDraft(
                kind="item",
                customer=it.customer,
                item_code=item_code,
                description=render(
                    s.template("item"), {"date": it.date.isoformat(), "description": description}
                ),
                quantity=q4(it.quantity),
                unit_amount=q4(price),
                tax_code=tax,
                explanation=f"{price_note} {price}; {cost_note}",
                sources=(it.id,),
                account_code=account,
                cost=cost,
                order=(it.date, it.id),
            )
        )
        run.invoiced("item", it.id)


# --------------------------------------------------------------------------------------------
# invoices and states


def _invoices(run: _Run) -> list[DraftInvoice]:
    book = run.book
    buckets: dict[tuple[str, str | None], list[LineDraft]] = defaultdict(list)
    separate = {k for k, c in book.customers.items() if c.separate_invoice_per_contract}
    for d in run.drafts:
        cust = d.customer
        buckets[(cust, d.contract if cust in separate else None)].append(d)
    run.drafts = []
    prices: dict[tuple[Decimal, Decimal, str | None, bool], Priced] = {}
    out: list[DraftInvoice] = []
    for bucket in sorted(buckets, key=lambda k: (k[0], k[1] or "")):
        cust_id, tie = bucket
        drafts = buckets.pop(bucket)
        key = invoice_key(cust_id, tie, run.period)
        inv = build_invoice(
            key,
            book.customers[cust_id],
            tie,
            drafts,
            run.period,
            book.settings,
            book.tax_rates,
            run.issues,
            prices,
        )
        if inv is not None:
            out.append(inv)
    out.sort(key=lambda i: i.key)
    return out


def _entry_states(run: _Run, invoices: list[DraftInvoice]) -> None:
    shared: dict[tuple[StateKind, str], RecordState] = {}

    def state(kind: StateKind, detail: str) -> RecordState:
        found = shared.get((kind, detail))
        if found is None:
            found = shared[(kind, detail)] = RecordState(kind, detail)
        return found

    where: dict[str, str] = {}
    for inv in invoices:
        key = inv.key
        for line in inv.lines:
            if line.kind == "covered":
                continue
            for src in line.sources:
                if src not in where:
                    where[src] = key
    states, payable, covered_by = run.states, run.payable, run.covered_by
    for e in run.book.entries:
        eid = e.id
        sid = ("entry", eid)
        found = states.get(sid)
        if found is not None and found.state == "written_off":
            continue
        if eid in payable and eid in where:
            states[sid] = state("invoiced", where[eid])
        elif eid in covered_by:
            states[sid] = state("covered", covered_by[eid])
        elif found is None:
            states[sid] = state("not_billable", "nothing to bill")
    for k, rid in run.pending:
        st = run.states[(k, rid)]
        if st.state == "invoiced" and not st.detail:
            run.states[(k, rid)] = state("invoiced", where.get(rid, ""))


# --------------------------------------------------------------------------------------------
# splitting a book by customer (for rating independent customers side by side)


def split_by_customer(book: Book, parts: int) -> list[Book]:
    """Partition ``book`` into up to ``parts`` books whose customers share nothing.

    Rating each part and joining the results with ``join_results`` gives exactly ``rate(book)``.
    Catalogue stock is drawn first in, first out across customers, so every customer with items
    issued stays in the first part.
    """
    if parts <= 1:
        return [book]
    weight: dict[str, int] = defaultdict(int)
    for e in book.entries:
        weight[e.customer] += 1
    pinned = {i.customer for i in book.items_issued}
    group: dict[str, int] = dict.fromkeys(pinned, 0)
    load = [0] * parts
    for cust in pinned:
        load[0] += weight[cust]
    names = set(book.customers) | set(weight)
    for cust in sorted(names - pinned, key=lambda c: (-weight[c], c)):
        target = min(range(parts), key=lambda i: (load[i], i))
        group[cust] = target
        load[target] += weight[cust] + 1

    def pick(items: tuple[_T, ...], owner: Callable[[_T], str]) -> list[tuple[_T, ...]]:
        buckets: list[list[_T]] = [[] for _ in range(parts)]
        for x in items:
            buckets[group.get(owner(x), 0)].append(x)
        return [tuple(b) for b in buckets]

    recurring = pick(book.recurring, lambda x: x.customer)
    entries = pick(book.entries, lambda x: x.customer)
    mileage = pick(book.mileage, lambda x: x.customer)
    expenses = pick(book.expenses, lambda x: x.customer)
    items_issued = pick(book.items_issued, lambda x: x.customer)
    assets = pick(book.assets, lambda x: x.customer)
    users = pick(book.users, lambda x: x.customer)
    books: list[Book] = []
    for i in range(parts):
        contracts = {k: c for k, c in book.contracts.items() if group.get(c.customer, 0) == i}
        books.append(
            replace(
                book,
                contracts=contracts,
                opening_balances={k: v for k, v in book.opening_balances.items() if k in contracts},
                recurring=recurring[i],
                entries=entries[i],
                mileage=mileage[i],
                expenses=expenses[i],
                items_issued=items_issued[i],
                assets=assets[i],
                users=users[i],
            )
        )
    return books


def join_results(period: Period, results: Iterable[RatingResult]) -> RatingResult:
    """Join the results of the parts made by ``split_by_customer`` into one."""
    parts = list(results)
    return RatingResult(
        period=period,
        invoices=tuple(sorted((i for r in parts for i in r.invoices), key=lambda i: i.key)),
        balances=dict(sorted((k, v) for r in parts for k, v in r.balances.items())),
        balance_units={k: v for r in parts for k, v in r.balance_units.items()},
        issues=tuple(
            sorted((i for r in parts for i in r.issues), key=lambda i: (i.code, i.subject, i.message))
        ),
        findings=tuple(
            sorted((i for r in parts for i in r.findings), key=lambda i: (i.code, i.subject, i.message))
        ),
        states=_sorted_states({k: v for r in parts for k, v in r.states.items()}),
    )

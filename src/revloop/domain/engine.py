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
from typing import Literal, TypeVar

from revloop.domain.calendar import Calendar, WorkClass
from revloop.domain.contracts import AllowanceAccount, PrepayAccount, draw_prepay, match_contract
from revloop.domain.invoicing import DraftInvoice, build_invoice, invoice_key
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
from revloop.domain.rating.lines import LineDraft, LineKind, render
from revloop.domain.rating.mileage import mileage_codes, mileage_rate, mileage_surcharge
from revloop.domain.rating.recurring import charge_periods, increased_unit, prorate, prorated_unit
from revloop.domain.rating.travel import price_travel
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
    label: str = ""
    templates: dict[str, str] = field(default_factory=dict)
    pieces: dict[str, str] = field(default_factory=dict)  # explanation parts, shared when equal
    quantities: dict[Decimal, Decimal] = field(default_factory=dict)  # equal quantities, one object
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
        states=dict(sorted(run.states.items())),
    )


# --------------------------------------------------------------------------------------------
# time entries


def _prepare_entries(run: _Run) -> tuple[list[_Prepared], list[_Prepared]]:
    book = run.book
    by_customer: dict[str, list[Contract]] = defaultdict(list)
    for c in book.contracts.values():
        by_customer[c.customer].append(c)
    prepared: list[_Prepared] = []
    travel: list[_Prepared] = []
    for e in book.entries:  # any order: draws are ordered later, issues and states sorted at the end
        if e.written_off is not None:
            run.states[("entry", e.id)] = RecordState(
                "written_off", f"{e.written_off.by}: {e.written_off.reason}"
            )
            continue
        customer = book.customers.get(e.customer)
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
        if e.minutes < 0 or e.non_billable_minutes < 0 or e.travel_minutes < 0:
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
        start = cal.localise(e.start)
        day = start.date()
        if day not in run.period:
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
        ct = book.ratebook.charge_types.get(e.charge_type)
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
        named = book.contracts.get(e.contract) if e.contract else None
        match = match_contract(
            by_customer.get(e.customer, ()), named, e.contract, e.customer, ct.id, e.service_line, day
        )
        if match.problem is not None:
            run.issue(
                match.problem,
                Severity.WARNING,
                e.id,
                f"time entry {e.id} names contract {e.contract!r}, which "
                + (
                    "is not in force on its work date"
                    if match.problem == "contract.not_in_force"
                    else "is not a contract of its customer"
                )
                + "; rated pay-as-you-go",
                "correct the contract on the entry",
            )
        if match.ambiguous:
            run.issue(
                "contract.ambiguous",
                Severity.WARNING,
                e.id,
                f"time entry {e.id} matches several contracts ({', '.join(match.ambiguous)}); "
                "rated pay-as-you-go at customer rates",
                "name the contract on the entry or narrow the contracts' coverage",
            )
        contract = match.contract
        covered = contract is not None and contract.covers_work(ct.id, e.service_line)
        utc = start.astimezone(UTC)
        rate_row = book.ratebook.resolve(ct.id, e.customer, contract.id if contract else None, day)
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
                _Prepared(e, customer, cal, start, utc, day, ct, contract, covered, rate_row, billable)
            )
            if billable <= 0:
                run.not_billable("entry", e.id, "no billable minutes")
        if e.travel_minutes > 0:
            travel_ct_id = ct.travel or ct.id
            travel_ct = book.ratebook.charge_types.get(travel_ct_id)
            travel_rate = (
                book.ratebook.resolve(travel_ct_id, e.customer, contract.id if contract else None, day)
                if travel_ct
                else None
            )
            if travel_ct is None or travel_rate is None:
                run.issue(
                    "rate.missing",
                    Severity.ERROR,
                    f"{e.id}:travel",
                    f"no rate row for travel charge type {travel_ct_id} is in force on {day} "
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


_SHARED_NOTES = frozenset({"pay-as-you-go"})


def _show_covered(customer: Customer, contract: Contract) -> bool:
    if customer.show_covered_work is not None:
        return customer.show_covered_work
    return contract.kind in ("allowance", "prepay")


def _fmt_balance(value: Decimal, unit: str) -> str:
    return str(round2(value)) if unit == "money" else str(q4(value))


class _Emitter:
    """Appends the labour-kind lines of one prepared entry."""

    def __init__(self, run: _Run, p: _Prepared, fields: dict[str, str], head: tuple[str, ...]) -> None:
        self.run, self.p, self.fields, self.head = run, p, fields, head
        self.sources = (p.entry.id,)
        self.seq = 0
        self.summary = p.customer.presentation == "summary"

    def __call__(
        self, kind: LineKind, cls: WorkClass, qty: Decimal, unit: Decimal, note: str, draw: str = ""
    ) -> None:
        p, e, run = self.p, self.p.entry, self.run
        flds = self.fields
        flds["hours"] = str(qty)
        flds["class"] = cls
        flds["draw"] = draw
        template = run.templates[kind]
        qty = run.quantities.setdefault(qty, qty)
        why = f"{cls} x{p.rate.multiplier(cls)}; {note}"
        run.drafts.append(
            LineDraft(
                kind,
                e.customer,
                p.charge_type.item_code,
                render(template, flds),
                qty,
                unit,
                p.charge_type.tax_code,
                run.pieces.setdefault(why, why) if note in _SHARED_NOTES else why,
                self.sources,
                cls,
                p.charge_type.account_code,
                p.contract.id if p.contract is not None else None,
                p.charge_type.id,
                None,
                (p.utc, e.id, self.seq),
                tuple(flds.items()) if self.summary else (),
                self.head,
            )
        )
        self.seq += 1
        if kind in ("labour", "overage"):
            self.run.payable.add(e.id)


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
    split_memo: dict[
        tuple[Decimal, tuple[tuple[WorkClass, int], ...]], tuple[list[tuple[WorkClass, Decimal]], str]
    ]
    split_memo = {}
    describe: dict[int, str] = {}
    day_texts: dict[date, str] = {}
    billed_texts: dict[Decimal, str] = {}
    prepared.sort(key=lambda x: (x.utc, x.entry.id))
    for p in prepared:
        e = p.entry
        hours = hours_of(p.billed)
        if hours <= 0:
            continue
        if settings.ooh_mode == "split":
            segments = tuple(p.calendar.segments(p.start, e.minutes))
        else:
            segments = ((p.calendar.class_at(p.start), 1),)
        split = split_memo.get((hours, segments))
        if split is None:
            split = split_memo[(hours, segments)] = (
                [(cls, h) for cls, h in share_hours(hours, segments) if h != 0],
                "class shares " + ", ".join(f"{cls} {_elapsed(us)}" for cls, us in segments),
            )
        parts, share_note = split
        rate_text = describe.get(id(p.rate))
        if rate_text is None:
            rate_text = describe[id(p.rate)] = p.rate.describe()
        contract = p.contract
        day_text = day_texts.get(p.day)
        if day_text is None:
            day_text = day_texts[p.day] = p.day.isoformat()
        base_fields = {
            "date": day_text,
            "ticket_id": e.ticket or "",
            "ticket_summary": e.summary,
            "agent": e.agent,
            "hours": "",
            "class": "",
            "period": run.label,
            "contract": contract.id if contract else "",
            "charge_type": p.charge_type.name,
        }
        billed_text = billed_texts.get(hours)
        if billed_text is None:
            billed_text = billed_texts[hours] = f"billed {hours} h"
        head = (rate_text, p.billed_note, billed_text, share_note)
        emit = _Emitter(run, p, base_fields, head)

        if contract is None or not p.covered or contract.kind == "payg":
            for cls, h in parts:
                emit("labour", cls, h, run.unit(p.rate, cls), "pay-as-you-go")
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
                            f"allowance {contract.id}: {q4(before)} -> {q4(after)} h",
                            f", {q4(covered)} h drawn, {q4(after)} h left",
                        )
                if over > 0:
                    unit = run.unit(p.rate, cls, True)
                    emit(
                        "overage",
                        cls,
                        over,
                        unit,
                        f"allowance {contract.id} used up; overage x{p.rate.overage_multiplier}",
                    )
            continue
        acct_p = prepay[contract.id]
        money = contract.unit == "money"
        for cls, h in parts:
            unit = run.unit(p.rate, cls)
            if money:
                per_hour, cost = unit, round2(h * unit, mode)
            else:
                per_hour, cost = p.rate.prepay_multiplier, h * p.rate.prepay_multiplier
            d = draw_prepay(acct_p, p.day, h, per_hour, cost)
            span = f"{_fmt_balance(d.before, contract.unit)} -> {_fmt_balance(d.after, contract.unit)}"
            if d.covered_hours > 0 or d.negative_hours > 0:
                run.covered_by[e.id] = contract.id
            positive = min(d.consumed, d.before) if d.before > 0 else _ZERO
            unit_name = "h" if contract.unit == "hours" else book.settings.currency
            if show and d.covered_hours > 0:
                left = d.before - positive
                emit(
                    "covered",
                    cls,
                    d.covered_hours,
                    _ZERO,
                    f"prepay {contract.id} ({contract.unit}, x{p.rate.prepay_multiplier}): {span}",
                    f", {_fmt_balance(positive, contract.unit)} {unit_name} drawn, "
                    f"{_fmt_balance(left, contract.unit)} {unit_name} left",
                )
            if show and d.negative_hours > 0:
                emit(
                    "covered",
                    cls,
                    d.negative_hours,
                    _ZERO,
                    f"prepay {contract.id} exhausted; drawn into a negative balance: {span}",
                    f", {_fmt_balance(d.consumed - positive, contract.unit)} {unit_name} drawn, "
                    f"{_fmt_balance(d.after, contract.unit)} {unit_name} left",
                )
            if d.payg_hours > 0:
                emit(
                    "labour",
                    cls,
                    d.payg_hours,
                    unit,
                    f"prepay {contract.id} exhausted ({span}); pay-as-you-go",
                )
            threshold = contract.threshold
            if threshold is not None and d.before >= threshold > d.after:
                run.findings.append(
                    Issue(
                        "prepay.below_threshold",
                        Severity.WARNING,
                        contract.id,
                        f"prepay {contract.id} fell below {threshold} {contract.unit} on {p.day} ({span})",
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


def _travel(run: _Run, travel: list[_Prepared]) -> None:
    settings = run.book.settings
    for p in sorted(travel, key=lambda x: x.order):
        e = p.entry
        start_class = p.calendar.class_at(p.start)
        price = price_travel(e.travel_minutes, p.rate, start_class, settings.travel_uses_multipliers)
        if price is None:
            continue
        fields = {
            "date": p.day.isoformat(),
            "ticket_id": e.ticket or "",
            "ticket_summary": e.summary,
            "agent": e.agent,
            "hours": str(price.hours),
            "class": price.cls,
            "period": run.label,
            "contract": p.contract.id if p.contract else "",
            "charge_type": p.charge_type.name,
        }
        run.drafts.append(
            LineDraft(
                kind="travel",
                customer=e.customer,
                item_code=p.charge_type.item_code,
                description=render(settings.template("travel"), fields),
                quantity=price.hours,
                unit_amount=price.unit_amount,
                tax_code=p.charge_type.tax_code,
                explanation=f"{price.explanation}; always pay-as-you-go",
                sources=(e.id,),
                cls=price.cls,
                account_code=p.charge_type.account_code,
                contract=p.contract.id if p.contract else None,
                charge_type=p.charge_type.id,
                order=(p.utc, e.id),
                template_fields=tuple(fields.items()) if p.customer.presentation == "summary" else (),
            )
        )
        run.payable.add(e.id)


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
        sid = ("recurring", r.id)
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
            run.states[sid] = RecordState("invoiced", "")


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
        fields = {"date": m.date.isoformat(), "distance": str(m.distance), "description": m.description}
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
        run.states[("mileage", m.id)] = RecordState("invoiced", "")


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
        run.states[("expense", x.id)] = RecordState("invoiced", "")


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
        run.states[("item", it.id)] = RecordState("invoiced", "")


# --------------------------------------------------------------------------------------------
# invoices and states


def _invoices(run: _Run) -> list[DraftInvoice]:
    book = run.book
    buckets: dict[tuple[str, str | None], list[LineDraft]] = defaultdict(list)
    for d in run.drafts:
        customer = book.customers[d.customer]
        tie = d.contract if customer.separate_invoice_per_contract else None
        buckets[(d.customer, tie)].append(d)
    run.drafts = []
    prices: dict[tuple[Decimal, Decimal, str | None, bool], tuple[Decimal, Decimal, str]] = {}
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
        for line in inv.lines:
            if line.kind in ("covered",):
                continue
            for src in line.sources:
                where.setdefault(src, inv.key)
    for e in run.book.entries:
        sid = ("entry", e.id)
        if sid in run.states and run.states[sid].state in ("written_off",):
            continue
        if e.id in run.payable and e.id in where:
            run.states[sid] = state("invoiced", where[e.id])
        elif e.id in run.covered_by:
            run.states[sid] = state("covered", run.covered_by[e.id])
        elif sid not in run.states:
            run.states[sid] = state("not_billable", "nothing to bill")
    for (k, rid), st in list(run.states.items()):
        if k != "entry" and st.state == "invoiced" and not st.detail:
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
        states=dict(sorted((k, v) for r in parts for k, v in r.states.items())),
    )

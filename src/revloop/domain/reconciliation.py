"""Reconciliation: HaloPSA, revloop and Xero compared, as pure computations.

Plain records in, ``Finding`` values out. No I/O, no clock (``today`` is given), no database.
The checks, their codes and how each amount is computed are described in docs/reconciliation.md;
the services in ``revloop.services.reconcile`` read the store into these records and record the
findings.

Subjects name records as the systems know them: ``halopsa:<resource>:<id>``,
``xero:<resource>:<id>``, ``revloop:<what>:<id>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from revloop.domain.findings import Finding
from revloop.domain.issues import Severity
from revloop.domain.money import round2
from revloop.domain.periods import Period, add_months
from revloop.domain.rating.recurring import charge_period_containing

ZERO = Decimal(0)

UNBILLED = "time.unbilled"
BILLED_TWICE = "time.billed_twice"
OUTSIDE_CONTRACT = "time.outside_contract"
NO_CONTRACT = "invoice.no_contract"
BILLED_VS_CONTRACTED = "contract.billed_vs_contracted"
RENEWAL_NO_QUOTE = "renewal.no_quote"
PREPAY_BELOW = "prepay.below_threshold"
PREPAY_NEGATIVE = "prepay.negative"
ALLOWANCE_OVERRUN = "allowance.overrun"
ALLOWANCE_REPEATED = "allowance.overrun_repeated"
XERO_DRIFT = "xero.drift"
PAYMENT_OVERDUE = "payment.overdue"
MISSING_IN_XERO = "halopsa.invoice_missing_in_xero"
AMOUNT_MISMATCH = "amount.mismatch"

#: every code reconciliation detects (and so resolves when no longer detected)
CODES: tuple[str, ...] = (
    UNBILLED,
    BILLED_TWICE,
    OUTSIDE_CONTRACT,
    NO_CONTRACT,
    BILLED_VS_CONTRACTED,
    RENEWAL_NO_QUOTE,
    PREPAY_BELOW,
    PREPAY_NEGATIVE,
    ALLOWANCE_OVERRUN,
    ALLOWANCE_REPEATED,
    XERO_DRIFT,
    PAYMENT_OVERDUE,
    MISSING_IN_XERO,
    AMOUNT_MISMATCH,
)
#: codes whose findings belong to one period (a run limited to other periods leaves them alone)
PERIOD_CODES: frozenset[str] = frozenset(
    {
        UNBILLED,
        OUTSIDE_CONTRACT,
        ALLOWANCE_OVERRUN,
        ALLOWANCE_REPEATED,
        BILLED_TWICE,
        BILLED_VS_CONTRACTED,
        PREPAY_BELOW,
        PREPAY_NEGATIVE,
    }
)

#: codes whose findings sum over months or describe the latest state: a run limited to one period
#: shows them for that period but only a run over every period records them
SUMMARY_CODES: frozenset[str] = frozenset(
    {BILLED_VS_CONTRACTED, ALLOWANCE_REPEATED, PREPAY_BELOW, PREPAY_NEGATIVE}
)

#: Xero statuses of documents that no longer count
DEAD = frozenset({"VOIDED", "DELETED"})


def money(value: Decimal) -> str:
    return f"{round2(value):,.2f}"


def figure(value: Decimal) -> str:
    """A quantity without trailing zeros (``4.7500`` -> ``4.75``)."""
    return f"{value.normalize():f}"


def action_subject(entry: str) -> str:
    return f"halopsa:action:{entry}"


# ---------------------------------------------------------------------------------------------
# periods


def month_of(day: date) -> Period:
    return Period.month(day.year, day.month)


def checked_periods(
    first: date | None, today: date, close_days: int, closed: Iterable[date] = ()
) -> tuple[Period, ...]:
    """The months reconciliation checks: from the month of ``first`` up to the last month that
    ended at least ``close_days`` days before ``today``, plus any later month closed in revloop
    (``closed``: period starts). Never the month of ``today``."""
    if first is None:
        return ()
    current = month_of(today)
    closed_set = set(closed)
    out: list[Period] = []
    period = month_of(first)
    while period.start < current.start:
        if period.end + timedelta(days=close_days) <= today or period.start in closed_set:
            out.append(period)
        period = Period(period.end, add_months(period.end, 1))
    return tuple(out)


def reference_period(reference: str | None) -> tuple[str, Period] | None:
    """The customer code and period of a revloop invoice key (``revloop:<c>:<k|all>:<start>``)."""
    if not reference or not reference.startswith("revloop:"):
        return None
    parts = reference.split(":")
    if len(parts) < 4:
        return None
    try:
        start = date.fromisoformat(parts[3])
    except ValueError:
        return None
    return parts[1], month_of(start)


# ---------------------------------------------------------------------------------------------
# time: what the rating engine priced, per entry


WorkKind = Literal["labour", "overage", "travel"]


@dataclass(frozen=True, slots=True)
class WorkPart:
    """One chargeable part of a time entry as the rating engine priced it (one class, one kind)."""

    entry: str  # the store's source key "<ticket>/<action>"
    customer: str
    kind: WorkKind
    charge_type: str | None
    cls: str | None
    hours: Decimal
    unit: Decimal
    item_code: str | None = None
    contract: str | None = None  # the contract subject the part is drawn from, if any


def group_value(parts: Iterable[WorkPart]) -> Decimal:
    """What summary lines would show for ``parts``: grouped by (kind, charge type, class, unit),
    hours summed, each group ``round2(hours x unit)``, the groups added."""
    groups: dict[tuple[str, str | None, str | None, Decimal], Decimal] = defaultdict(lambda: ZERO)
    for p in parts:
        groups[(p.kind, p.charge_type, p.cls, p.unit)] += p.hours
    return sum((round2(hours * key[3]) for key, hours in groups.items()), ZERO)


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What the store says of a time entry."""

    entry: str
    customer: str
    state: str  # unbilled | invoiced | covered | written_off | not_billable
    invoice_number: str | None = None
    named_contract: str | None = None  # subject of the contract named on the entry
    contract_in_force: bool = True  # the named contract is in force on the work date


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    code: str
    subject: str  # halopsa:client:<id> (or revloop:customer:<code>)
    currency: str
    name: str = ""
    contact: str | None = None  # xero:contact:<id>


def unbilled_work(
    period: Period,
    parts: Sequence[WorkPart],
    entries: Mapping[str, EntryFacts],
    customers: Mapping[str, CustomerInfo],
) -> list[Finding]:
    """``time.unbilled``, ``time.outside_contract`` and ``allowance.overrun`` for one closed period.

    Only parts of entries the store still holds as unbilled count. An entry logged against a
    contract not in force on its work date is ``time.outside_contract`` (one finding per customer
    and contract); overage of an allowance is ``allowance.overrun`` (one per contract); the rest is
    ``time.unbilled`` (one per customer).
    """
    unbilled: dict[str, list[WorkPart]] = defaultdict(list)
    outside: dict[tuple[str, str], list[WorkPart]] = defaultdict(list)
    overrun: dict[str, list[WorkPart]] = defaultdict(list)
    for p in parts:
        facts = entries.get(p.entry)
        if facts is None or facts.state != "unbilled":
            continue
        if facts.named_contract is not None and not facts.contract_in_force:
            outside[(p.customer, facts.named_contract)].append(p)
        elif p.kind == "overage" and p.contract is not None:
            overrun[p.contract].append(p)
        else:
            unbilled[p.customer].append(p)
    out: list[Finding] = []
    label = period.label()
    for customer, group in sorted(unbilled.items()):
        info = customers.get(customer)
        value = group_value(group)
        hours = sum((p.hours for p in group), ZERO)
        out.append(
            Finding(
                UNBILLED,
                Severity.WARNING,
                _entry_subjects(group),
                f"{figure(hours)} h of billable time of {label} for {_name(info, customer)} was never "
                f"invoiced ({money(value)} at the rates in force)",
                action=f"bill it: `revloop bill --period {period.start:%Y-%m} --rebill`, or write it off "
                "in HaloPSA if it is not to be charged",
                amount=value,
                currency=info.currency if info else None,
                details=(("period", period.start.isoformat()),),
            )
        )
    for (customer, contract), group in sorted(outside.items()):
        info = customers.get(customer)
        value = group_value(group)
        out.append(
            Finding(
                OUTSIDE_CONTRACT,
                Severity.WARNING,
                (*_entry_subjects(group), contract),
                f"{len(_entries(group))} time entries of {label} for {_name(info, customer)} are logged "
                f"against {contract}, which is not in force on their dates; not invoiced "
                f"({money(value)} at pay-as-you-go rates)",
                action="put the entries on the contract in force (or none) in HaloPSA, then bill the "
                "period again; or renew or extend the contract",
                amount=value,
                currency=info.currency if info else None,
                details=(("period", period.start.isoformat()),),
            )
        )
    for contract, group in sorted(overrun.items()):
        customer = group[0].customer
        info = customers.get(customer)
        value = group_value(group)
        hours = sum((p.hours for p in group), ZERO)
        out.append(
            Finding(
                ALLOWANCE_OVERRUN,
                Severity.WARNING,
                (contract, *_entry_subjects(group)),
                f"{contract} ran past its included hours in {label}: {figure(hours)} h over, overage not "
                f"invoiced ({money(value)} at overage rates)",
                action=f"bill the overage (`revloop bill --period {period.start:%Y-%m} --rebill`) or "
                "acknowledge it with the reason it is not charged",
                amount=value,
                currency=info.currency if info else None,
                details=(("period", period.start.isoformat()),),
            )
        )
    return out


def _entries(parts: Iterable[WorkPart]) -> list[str]:
    return list(dict.fromkeys(p.entry for p in parts))


def _entry_subjects(parts: Iterable[WorkPart]) -> tuple[str, ...]:
    return tuple(action_subject(e) for e in _entries(parts))


def _name(info: CustomerInfo | None, code: str) -> str:
    return info.name or code if info else code


def repeated_overruns(
    overage: Mapping[str, Mapping[Period, Decimal]],
    periods: Sequence[Period],
    currencies: Mapping[str, str],
    run: int = 3,
) -> list[Finding]:
    """``allowance.overrun_repeated``: an allowance overrun (billed or not) in each of the last
    ``run`` checked periods. ``overage``: contract subject -> period -> overage value."""
    if run < 1 or len(periods) < run:
        return []
    last = sorted(periods)[-run:]
    out: list[Finding] = []
    for contract, by_period in sorted(overage.items()):
        values = [by_period.get(p, ZERO) for p in last]
        if all(v > 0 for v in values):
            total = sum(values, ZERO)
            months = ", ".join(p.start.strftime("%Y-%m") for p in last)
            out.append(
                Finding(
                    ALLOWANCE_REPEATED,
                    Severity.INFO,
                    (contract,),
                    f"{contract} ran past its included hours in each of the last {run} months ({months}): "
                    f"{money(total)} of overage in all",
                    action="talk to the customer about a larger allowance at the next review",
                    amount=total,
                    currency=currencies.get(contract),
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# time billed twice


@dataclass(frozen=True, slots=True)
class BilledLine:
    """A line of an invoice: what was billed under an item code at a unit price."""

    item_code: str | None
    unit: Decimal
    quantity: Decimal
    sources: tuple[str, ...] = ()  # time entries behind it, where the invoice says (revloop's own)
    amount: Decimal = ZERO  # net
    description: str = ""


@dataclass(frozen=True, slots=True)
class InvoicedWork:
    """An invoice in Xero and the work the store says was billed on it."""

    subject: str  # xero:invoice:<id>
    number: str | None
    customer: str
    period: Period | None
    lines: tuple[BilledLine, ...]
    currency: str


def billed_twice(
    invoices: Sequence[InvoicedWork],
    parts: Sequence[WorkPart],
    entries: Mapping[str, EntryFacts],
    work_periods: Mapping[str, Period],
) -> list[Finding]:
    """``time.billed_twice``: a time entry billed on two invoices.

    Where an invoice lists its entries (revloop's own), an entry on two live invoices is billed
    twice. Otherwise each invoice's lines are compared with the work carrying its number, by
    (item code, unit price): hours billed beyond that work that equal exactly the hours of one
    entry billed on another invoice of the same customer, worked before the invoice's period ends,
    are that entry billed again. Entries of the latest month such entries were worked in are the
    candidates; when several fit equally (same hours, same item, same price) the invoice cannot
    tell which of them it repeats, so the finding names every one of them.
    """
    out: list[Finding] = []
    by_number = {inv.number: inv for inv in invoices if inv.number}
    # exact: entries listed on two invoices
    listed: dict[str, list[tuple[InvoicedWork, BilledLine]]] = defaultdict(list)
    for inv in invoices:
        for line in inv.lines:
            for src in line.sources:
                listed[src].append((inv, line))
    explained: set[tuple[str, str]] = set()
    for entry, hits in sorted(listed.items()):
        subjects = list(dict.fromkeys(inv.subject for inv, _ in hits))
        if len(subjects) < 2:
            continue
        second_inv, second = hits[-1]
        value = sum(
            (round2(p.hours * p.unit) for p in parts if p.entry == entry and p.unit == second.unit), ZERO
        )
        out.append(_twice(entry, subjects, value, second_inv.currency))
        explained.update((entry, s) for s in subjects)
    # inferred: hours billed beyond the work carrying the invoice's number
    worked: dict[str, dict[tuple[str | None, Decimal], Decimal]] = defaultdict(
        lambda: defaultdict(lambda: ZERO)
    )
    entry_groups: dict[str, dict[tuple[str | None, Decimal], Decimal]] = defaultdict(
        lambda: defaultdict(lambda: ZERO)
    )
    for p in parts:
        facts = entries.get(p.entry)
        entry_groups[p.entry][(p.item_code, p.unit)] += p.hours
        if facts is not None and facts.invoice_number:
            worked[facts.invoice_number][(p.item_code, p.unit)] += p.hours
    for inv in invoices:
        if inv.number is None or inv.period is None or any(line.sources for line in inv.lines):
            continue
        billed: dict[tuple[str | None, Decimal], Decimal] = defaultdict(lambda: ZERO)
        for line in inv.lines:
            billed[(line.item_code, line.unit)] += line.quantity
        have = worked.get(inv.number, {})
        for key, quantity in sorted(billed.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            if key not in have and not any(k[0] == key[0] for k in have):
                continue  # not work at all (a fee, a licence) unless work under this item was billed
            excess = quantity - have.get(key, ZERO)
            if excess <= 0:
                continue
            candidates = []
            for entry, groups in entry_groups.items():
                facts = entries.get(entry)
                if (
                    facts is None
                    or facts.customer != inv.customer
                    or not facts.invoice_number
                    or facts.invoice_number == inv.number
                    or facts.invoice_number not in by_number
                    or groups.get(key) != excess
                ):
                    continue
                worked_in = work_periods.get(entry)
                if worked_in is None or worked_in.start >= inv.period.end:
                    continue
                candidates.append((worked_in.start, entry))
            if not candidates:
                continue
            latest = max(c[0] for c in candidates)
            chosen = sorted(e for d, e in candidates if d == latest)
            if any((entry, inv.subject) in explained for entry in chosen):
                continue
            firsts = list(dict.fromkeys(by_number[entries[e].invoice_number or ""].subject for e in chosen))
            value = round2(excess * key[1])
            if len(chosen) == 1:
                out.append(_twice(chosen[0], [*firsts, inv.subject], value, inv.currency))
            else:
                out.append(_twice_one_of(chosen, firsts, inv, excess, key, value))
    return out


def _twice(entry: str, invoices: Sequence[str], value: Decimal, currency: str) -> Finding:
    return Finding(
        BILLED_TWICE,
        Severity.ERROR,
        (action_subject(entry), *invoices),
        f"time entry {entry} is billed on {len(invoices)} invoices; {money(value)} was billed again",
        action="credit the second charge in Xero (a credit note for the value), then resolve this finding",
        amount=value,
        currency=currency,
    )


def _twice_one_of(
    chosen: Sequence[str],
    firsts: Sequence[str],
    inv: InvoicedWork,
    excess: Decimal,
    key: tuple[str | None, Decimal],
    value: Decimal,
) -> Finding:
    """One entry of ``chosen`` (equal hours, item and price) billed again on ``inv``: which one the
    invoice's lines cannot say, so every one is named."""
    return Finding(
        BILLED_TWICE,
        Severity.ERROR,
        (*(action_subject(e) for e in chosen), *firsts, inv.subject),
        f"invoice {inv.number} bills {figure(excess)} h of {key[0] or 'work'} at {money(key[1])} beyond "
        f"the work carrying its number, the hours of one time entry already invoiced; "
        f"{len(chosen)} entries fit ({', '.join(chosen)}); {money(value)} was billed again",
        action="find the entry the invoice repeats, credit the second charge in Xero (a credit note for "
        "the value), then resolve this finding",
        amount=value,
        currency=inv.currency,
    )


# ---------------------------------------------------------------------------------------------
# prepay balances


@dataclass(frozen=True, slots=True)
class PrepayMove:
    """A change of a prepaid balance: a purchase (positive) or a draw by a time entry (negative)."""

    day: date
    order: tuple[datetime | date, str]
    amount: Decimal
    entry: str | None = None


def _move_order(move: PrepayMove) -> tuple[date, bool, datetime, str]:
    """A day's purchases first, then its draws in consumption order (work start, entry id)."""
    when, key = move.order
    if not isinstance(when, datetime):
        when = datetime.combine(when, time.min, tzinfo=UTC)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (move.day, move.amount < 0, when, key)


def crossing(opening: Decimal, moves: Sequence[PrepayMove], below: Decimal) -> str | None:
    """The entry whose draw first took the balance from at least ``below`` to under it, the moves
    taken in the order the balance is drawn (``_move_order``)."""
    balance = opening
    for move in sorted(moves, key=_move_order):
        before = balance
        balance += move.amount
        if move.entry is not None and before >= below > balance:
            return move.entry
    return None


@dataclass(frozen=True, slots=True)
class PrepayState:
    contract: str  # subject
    customer: str
    unit: str  # money | hours
    period: Period  # the period whose closing balance this is
    closing: Decimal
    threshold: Decimal | None
    currency: str
    crossed_threshold: str | None = None  # entry
    crossed_zero: str | None = None  # entry


def prepay_findings(states: Iterable[PrepayState]) -> list[Finding]:
    """``prepay.negative`` (the balance is below zero) or ``prepay.below_threshold`` (below the
    contract's threshold) at the end of the last closed period."""
    out: list[Finding] = []
    for s in sorted(states, key=lambda x: x.contract):
        shown = money(s.closing) if s.unit == "money" else f"{figure(s.closing)} h"
        amount = s.closing if s.unit == "money" else None
        label = s.period.label()
        if s.closing < 0:
            subjects = (s.contract, *((action_subject(s.crossed_zero),) if s.crossed_zero else ()))
            out.append(
                Finding(
                    PREPAY_NEGATIVE,
                    Severity.ERROR,
                    subjects,
                    f"the prepaid balance of {s.contract} is negative at the end of {label}: {shown}",
                    action="invoice a top-up for the customer (and the debt), or agree how the overdrawn "
                    "work is charged",
                    amount=amount,
                    currency=s.currency if amount is not None else None,
                )
            )
        elif s.threshold is not None and s.closing < s.threshold:
            subjects = (s.contract, *((action_subject(s.crossed_threshold),) if s.crossed_threshold else ()))
            out.append(
                Finding(
                    PREPAY_BELOW,
                    Severity.WARNING,
                    subjects,
                    f"the prepaid balance of {s.contract} is below its threshold ({figure(s.threshold)}) at "
                    f"the end of {label}: {shown}",
                    action="offer the customer a top-up (or set an automatic one: `revloop contract set "
                    "CODE --auto-topup AMOUNT`)",
                    amount=amount,
                    currency=s.currency if amount is not None else None,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# documents: Xero invoices against HaloPSA's and revloop's


@dataclass(frozen=True, slots=True)
class Document:
    """An invoice (or credit note) as one system holds it."""

    system: Literal["xero", "halopsa", "revloop"]
    id: str  # the system's id (Xero InvoiceID, HaloPSA id, revloop key)
    customer: str | None
    status: str
    currency: str
    total: Decimal
    subtotal: Decimal
    number: str | None = None
    reference: str | None = None
    issued: date | None = None
    due_date: date | None = None
    amount_due: Decimal | None = None
    updated_at: datetime | None = None
    period: Period | None = None
    doc_type: str = "invoice"
    external_id: str | None = None  # revloop: the Xero id it was posted as; halopsa: its xeroid
    posted_at: datetime | None = None

    @property
    def subject(self) -> str:
        if self.system == "xero":
            return f"xero:invoice:{self.id}"
        if self.system == "halopsa":
            return f"halopsa:invoice:{self.id}"
        return f"revloop:invoice:{self.id}"

    @property
    def live(self) -> bool:
        return self.status.upper() not in DEAD


@dataclass(frozen=True, slots=True)
class Matched:
    """Each HaloPSA and revloop document with its Xero copy (``None``: Xero has none)."""

    halopsa: tuple[tuple[Document, Document | None], ...]
    revloop: tuple[tuple[Document, Document | None], ...]
    accounted: frozenset[str]  # Xero ids explained by a HaloPSA or revloop document


def match_documents(
    xero: Sequence[Document], halopsa: Sequence[Document], revloop: Sequence[Document]
) -> Matched:
    """A revloop document is its Xero copy by the Xero id it was posted as, else by its key in
    the Reference. A HaloPSA invoice is its Xero copy by the Xero id HaloPSA recorded for it (its
    ``xeroid``), else by number, else by reference."""
    invoices = [x for x in xero if x.doc_type == "invoice"]
    by_id = {x.id: x for x in invoices}
    by_number: dict[str, Document] = {}
    by_reference: dict[str, Document] = {}
    for x in sorted(invoices, key=lambda d: (not d.live, d.id)):
        if x.number:
            by_number.setdefault(x.number, x)
        if x.reference:
            by_reference.setdefault(x.reference, x)
    accounted: set[str] = set()
    rv: list[tuple[Document, Document | None]] = []
    for r in revloop:
        found = by_id.get(r.external_id or "") or by_reference.get(r.id)
        rv.append((r, found))
        if found is not None:
            accounted.add(found.id)
    hp: list[tuple[Document, Document | None]] = []
    for h in halopsa:
        if h.doc_type != "invoice":
            continue
        found = (
            by_id.get(h.external_id.lower() if h.external_id else "")
            or (by_number.get(h.number) if h.number else None)
            or (by_reference.get(h.reference) if h.reference else None)
        )
        hp.append((h, found))
        if found is not None:
            accounted.add(found.id)
    for x in invoices:
        if reference_period(x.reference) is not None:
            accounted.add(x.id)
    return Matched(tuple(hp), tuple(rv), frozenset(accounted))


def document_findings(
    matched: Matched, today: date, currencies: Mapping[str, str] | None = None
) -> list[Finding]:
    """``xero.drift``, ``amount.mismatch`` and ``halopsa.invoice_missing_in_xero``.

    revloop's posted invoices: Xero's copy voided, deleted or with another total is drift.
    HaloPSA's posted invoices: no Xero copy is missing; a voided or deleted copy is drift; totals
    that differ are drift when Xero changed last (its ``UpdatedDateUTC`` is the later stamp) and
    an amount mismatch when HaloPSA did.
    """
    out: list[Finding] = []
    for r, x in matched.revloop:
        if r.status != "posted" or x is None:
            continue
        if not x.live:
            out.append(_voided(x, r, r.total))
        elif x.total != r.total:
            out.append(_edited(x, r, r.total))
    for h, x in matched.halopsa:
        if h.status.upper() != "POSTED":
            continue
        if x is None:
            if h.issued is not None and h.issued > today:
                continue
            out.append(
                Finding(
                    MISSING_IN_XERO,
                    Severity.ERROR,
                    (h.subject,),
                    f"HaloPSA invoice {h.number or h.id} ({money(h.total)} {h.currency}) is not in Xero",
                    action="send it to Xero from HaloPSA (or post it with revloop), then sync both sides",
                    amount=h.total,
                    currency=h.currency,
                )
            )
            continue
        if not x.live:
            out.append(_voided(x, h, h.total))
            continue
        if x.total == h.total:
            continue
        halo_later = h.updated_at is not None and x.updated_at is not None and h.updated_at > x.updated_at
        if halo_later:
            diff = h.total - x.total
            out.append(
                Finding(
                    AMOUNT_MISMATCH,
                    Severity.ERROR,
                    (x.subject, h.subject),
                    f"HaloPSA invoice {h.number or h.id} totals {money(h.total)} but Xero's copy totals "
                    f"{money(x.total)} (HaloPSA changed it after it was posted)",
                    action="decide which is right: correct HaloPSA, or raise the difference in Xero "
                    "(invoice or credit note)",
                    amount=diff,
                    currency=x.currency,
                )
            )
        else:
            out.append(_edited(x, h, h.total))
    return out


def _voided(x: Document, posted: Document, total: Decimal) -> Finding:
    return Finding(
        XERO_DRIFT,
        Severity.ERROR,
        (x.subject, posted.subject),
        f"Xero invoice {x.number or x.id} was {x.status.lower()} in Xero after it was posted "
        f"({money(total)} {x.currency} no longer invoiced)",
        action="if the void was intended, bill the work again or write it off; otherwise raise the invoice "
        "again in Xero",
        amount=-total,
        currency=x.currency,
    )


def _edited(x: Document, posted: Document, total: Decimal) -> Finding:
    return Finding(
        XERO_DRIFT,
        Severity.ERROR,
        (x.subject, posted.subject),
        f"Xero invoice {x.number or x.id} was changed in Xero after it was posted: it totals "
        f"{money(x.total)}, {money(total)} was posted",
        action="check the change in Xero's history; put it back, or record the agreed change "
        "(`revloop findings ack ID --reason ...`)",
        amount=x.total - total,
        currency=x.currency,
    )


def overdue(
    xero: Sequence[Document], today: date, grace_days: int, customers: Mapping[str, CustomerInfo]
) -> list[Finding]:
    """``payment.overdue``: one finding per customer for its Xero invoices still owed more than
    ``grace_days`` after their due date (amount: what is due, in the invoices' currency)."""
    late: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for x in xero:
        if (
            x.doc_type != "invoice"
            or x.status.upper() != "AUTHORISED"
            or x.due_date is None
            or x.amount_due is None
            or x.amount_due <= 0
            or x.due_date + timedelta(days=grace_days) >= today
        ):
            continue
        late[(x.customer or "", x.currency)].append(x)
    out: list[Finding] = []
    for (customer, currency), docs in sorted(late.items()):
        docs.sort(key=lambda d: (d.due_date or today, d.id))
        due = sum((d.amount_due or ZERO for d in docs), ZERO)
        info = customers.get(customer)
        numbers = ", ".join(d.number or d.id for d in docs)
        oldest = docs[0].due_date
        out.append(
            Finding(
                PAYMENT_OVERDUE,
                Severity.WARNING,
                tuple(d.subject for d in docs),
                f"{_name(info, customer or 'an unlinked contact')} owes {money(due)} {currency} on "
                f"{len(docs)} invoice(s) past their due date ({numbers}; oldest due {oldest})",
                action="chase the payment; if it was paid, record the payment in Xero and sync",
                amount=due,
                currency=currency,
            )
        )
    return out


def no_contract(
    xero: Sequence[Document],
    matched: Matched,
    fee_items: Mapping[str, frozenset[str]],
    lines: Mapping[str, Sequence[BilledLine]],
    customers: Mapping[str, CustomerInfo],
) -> list[Finding]:
    """``invoice.no_contract``: a live Xero invoice that neither revloop nor HaloPSA explains (no
    revloop key in its Reference, no HaloPSA invoice with its number or reference) and that bills
    no contract fee of its customer (``fee_items``: customer -> fee item codes of its contracts
    in force on the invoice's date)."""
    out: list[Finding] = []
    for x in xero:
        if x.doc_type != "invoice" or not x.live or x.status.upper() == "DRAFT" or x.id in matched.accounted:
            continue
        items = {line.item_code for line in lines.get(x.id, ())}
        fees = fee_items.get(x.id, frozenset())
        if items and items <= fees:
            continue
        info = customers.get(x.customer or "")
        subjects = (x.subject, *((info.contact,) if info and info.contact else ()))
        out.append(
            Finding(
                NO_CONTRACT,
                Severity.WARNING,
                subjects,
                f"Xero invoice {x.number or x.id} ({x.issued}, {money(x.subtotal)} {x.currency} net) for "
                f"{_name(info, x.customer or 'an unlinked contact')} matches no contract, HaloPSA invoice "
                "or billed work",
                action="check the invoice was meant; log the work in HaloPSA or link it to a contract, then "
                "acknowledge this finding with the reason",
                amount=x.subtotal,
                currency=x.currency,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# the billed-vs-contracted identity


EXCEPTION_KINDS: tuple[str, ...] = (
    "proration",
    "credit_note",
    "not_in_xero",
    "write_off",
    "price_change",
    "other",
)


@dataclass(frozen=True, slots=True)
class ContractTerms:
    subject: str  # halopsa:contract:<id>
    code: str
    customer: str
    kind: str
    start: date
    end: date | None  # exclusive
    fee: Decimal | None
    billing: str  # monthly | quarterly | annual
    currency: str
    fee_items: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FeeBilled:
    """A contract fee line on a Xero document for a period (credit notes: ``credit`` true)."""

    contract: str  # code
    period: Period
    amount: Decimal  # net
    document: str  # subject
    credit: bool = False
    in_xero: bool = True  # False: on a HaloPSA invoice that never reached Xero


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A recorded exception (``contract_adjustments``): the contract value reduced by ``amount``."""

    contract: str  # code
    period_start: date
    kind: str
    amount: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True)
class IdentityException:
    kind: str
    amount: Decimal  # signed: contracted = invoiced + sum(exceptions) + difference
    note: str = ""


@dataclass(frozen=True, slots=True)
class IdentityRow:
    contract: str  # subject
    code: str
    customer: str
    period: Period
    currency: str
    contracted: Decimal
    invoiced: Decimal
    exceptions: tuple[IdentityException, ...]
    documents: tuple[str, ...] = field(default=())

    @property
    def explained(self) -> Decimal:
        return sum((e.amount for e in self.exceptions), ZERO)

    @property
    def difference(self) -> Decimal:
        """What nothing explains: contracted - invoiced - exceptions (positive: billed too little)."""
        return self.contracted - self.invoiced - self.explained

    @property
    def holds(self) -> bool:
        return self.difference == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "contract": self.contract,
            "customer": self.customer,
            "period": self.period.start.strftime("%Y-%m"),
            "currency": self.currency,
            "contracted": str(round2(self.contracted)),
            "invoiced": str(round2(self.invoiced)),
            "exceptions": [
                {"kind": e.kind, "amount": str(round2(e.amount)), "note": e.note} for e in self.exceptions
            ],
            "difference": str(round2(self.difference)),
            "holds": self.holds,
            "documents": list(self.documents),
        }


def charge_periods_per_year(billing: str) -> int:
    return {"monthly": 12, "quarterly": 4, "annual": 1}.get(billing, 12)


def identity_rows(
    contracts: Sequence[ContractTerms],
    periods: Sequence[Period],
    fees: Sequence[FeeBilled],
    adjustments: Sequence[Adjustment],
) -> list[IdentityRow]:
    """For every fixed-price and allowance contract with a fee, and every charge period (a month
    for monthly billing, a calendar quarter or year otherwise) whose months were all checked and in
    which the contract is in force: contracted (the fee) = invoiced (fee lines on Xero invoices for
    the charge period's months) - credit notes + proration + recorded write-offs, price changes and
    other adjustments (``contract_adjustments`` of the charge period's months)."""
    checked = set(periods)
    billed: dict[tuple[str, Period], list[FeeBilled]] = defaultdict(list)
    for f in fees:
        billed[(f.contract, f.period)].append(f)
    recorded: dict[tuple[str, date], list[Adjustment]] = defaultdict(list)
    for a in adjustments:
        recorded[(a.contract, a.period_start)].append(a)
    rows: list[IdentityRow] = []
    for c in sorted(contracts, key=lambda x: x.code):
        if c.kind not in ("fixed_price", "allowance") or not c.fee:
            continue
        step = 12 // charge_periods_per_year(c.billing)
        seen: set[Period] = set()
        for month in sorted(periods):
            cp = charge_period_containing(month.start, c.billing)
            if cp in seen:
                continue
            seen.add(cp)
            months = [Period(add_months(cp.start, i), add_months(cp.start, i + 1)) for i in range(step)]
            if any(m not in checked for m in months):
                continue
            days = cp.overlap_days(c.start, c.end)
            if days == 0:
                continue
            docs = [f for m in months for f in billed.get((c.code, m), [])]
            invoiced = sum((f.amount for f in docs if not f.credit and f.in_xero), ZERO)
            exceptions: list[IdentityException] = []
            if days < cp.days:
                due = round2(c.fee * days / cp.days)
                exceptions.append(
                    IdentityException("proration", c.fee - due, f"in force {days} of {cp.days} days")
                )
            credited = sum((f.amount for f in docs if f.credit), ZERO)
            if credited:
                exceptions.append(IdentityException("credit_note", -credited, "fee credited in Xero"))
            stranded = [f for f in docs if not f.in_xero]
            if stranded:
                exceptions.append(
                    IdentityException(
                        "not_in_xero",
                        sum((f.amount for f in stranded), ZERO),
                        "billed on a HaloPSA invoice that is not in Xero (halopsa.invoice_missing_in_xero)",
                    )
                )
            for m in months:
                for a in recorded.get((c.code, m.start), []):
                    exceptions.append(IdentityException(a.kind, a.amount, a.reason))
            rows.append(
                IdentityRow(
                    c.subject,
                    c.code,
                    c.customer,
                    cp,
                    c.currency,
                    c.fee,
                    invoiced,
                    tuple(exceptions),
                    tuple(dict.fromkeys(f.document for f in docs)),
                )
            )
    return rows


def identity_findings(rows: Sequence[IdentityRow]) -> list[Finding]:
    """``contract.billed_vs_contracted``: one finding per contract whose identity does not hold in
    some month; the amount is the unexplained difference summed over those months."""
    broken: dict[str, list[IdentityRow]] = defaultdict(list)
    for r in rows:
        if not r.holds:
            broken[r.contract].append(r)
    out: list[Finding] = []
    for contract, group in sorted(broken.items()):
        total = sum((r.difference for r in group), ZERO)
        months = ", ".join(r.period.start.strftime("%Y-%m") for r in group)
        docs = tuple(dict.fromkeys(d for r in group for d in r.documents))
        first = group[0]
        out.append(
            Finding(
                BILLED_VS_CONTRACTED,
                Severity.WARNING,
                (contract, *docs),
                f"{first.code}: what was invoiced differs from the contract's fee in {months} by "
                f"{money(total)} {first.currency} that no proration, credit note or recorded "
                "adjustment explains",
                action="invoice the shortfall (or credit the excess); or record why with `revloop adjust "
                f"{first.code} --period YYYY-MM --kind price_change|write_off|other --amount A --reason ...`",
                amount=total,
                currency=first.currency,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# renewals


@dataclass(frozen=True, slots=True)
class QuoteInfo:
    customer: str
    day: date | None
    status: str | None = None


DEAD_QUOTES = frozenset({"DECLINED", "DELETED", "VOIDED"})


def renewal_findings(
    contracts: Sequence[ContractTerms], quotes: Sequence[QuoteInfo], today: date, window_days: int
) -> list[Finding]:
    """``renewal.no_quote``: a contract ending within ``window_days`` of ``today`` with no quote for
    its customer dated on or after the day the renewal became due for discussion (the end less
    ``window_days``), and no later contract of the customer taking over from it."""
    out: list[Finding] = []
    by_customer: dict[str, list[ContractTerms]] = defaultdict(list)
    for c in contracts:
        by_customer[c.customer].append(c)
    for c in sorted(contracts, key=lambda x: x.code):
        if c.end is None or not today < c.end <= today + timedelta(days=window_days):
            continue
        if any(
            o.code != c.code and o.start <= c.end and (o.end is None or o.end > c.end)
            for o in by_customer[c.customer]
        ):
            continue  # already renewed
        due = c.end - timedelta(days=window_days)
        if any(
            q.customer == c.customer
            and q.day is not None
            and q.day >= due
            and (q.status or "").upper() not in DEAD_QUOTES
            for q in quotes
        ):
            continue
        value = c.fee * charge_periods_per_year(c.billing) if c.fee else None
        last = c.end - timedelta(days=1)
        out.append(
            Finding(
                RENEWAL_NO_QUOTE,
                Severity.WARNING,
                (c.subject,),
                f"{c.code} ends on {last} (in {(c.end - today).days} days) and no renewal quote was "
                f"sent since {due}" + (f"; {money(value)} {c.currency} a year is at stake" if value else ""),
                action="send the customer a renewal quote (Xero or HaloPSA), or record that it will not "
                "be renewed",
                amount=value,
                currency=c.currency if value is not None else None,
            )
        )
    return out

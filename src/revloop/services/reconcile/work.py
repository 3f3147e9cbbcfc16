"""Time entries rated month by month, every entry whatever its billing state.

Each checked month is rated with the billing engine (``revloop.domain.engine.rate``) over all its
work, so that allowances and prepaid balances are drawn in consumption order exactly as a billing
run draws them; the closing balances of one month open the next. Lines are kept itemised (one
line per entry and class) so that each chargeable part is known by its entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.config import Settings
from revloop.domain.engine import RatingResult, rate
from revloop.domain.issues import Issue
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.reconciliation import EntryFacts, PrepayMove, WorkPart
from revloop.domain.records import Book, TimeEntry, WriteOff
from revloop.services.billing.resolve import load_book
from revloop.services.reconcile.store import Snapshot

WORK_KINDS = ("labour", "overage", "travel")
Progress = Callable[[str], None]


@dataclass
class RatedMonths:
    periods: tuple[Period, ...]
    parts: dict[Period, list[WorkPart]] = field(default_factory=dict)
    entries: dict[str, EntryFacts] = field(default_factory=dict)
    work_periods: dict[str, Period] = field(default_factory=dict)
    opening: dict[Period, dict[str, Decimal]] = field(default_factory=dict)
    closing: dict[Period, dict[str, Decimal]] = field(default_factory=dict)
    covered_by: dict[Period, dict[str, str]] = field(default_factory=dict)  # entry -> contract code
    issues: list[Issue] = field(default_factory=list)
    base: Book | None = None


def _entries(
    conn: Connection, snapshot: Snapshot, period: Period, lookups: _Lookups, customer_id: int | None = None
) -> tuple[list[TimeEntry], list[EntryFacts]]:
    query = (
        sa.select(t.time_entries)
        .where(t.time_entries.c.work_date >= period.start, t.time_entries.c.work_date < period.end)
        .order_by(t.time_entries.c.start_utc, t.time_entries.c.id)
    )
    if customer_id is not None:
        query = query.where(t.time_entries.c.customer_id == customer_id)
    entries: list[TimeEntry] = []
    facts: list[EntryFacts] = []
    for r in conn.execute(query):
        code = snapshot.customer_codes.get(r.customer_id)
        if code is None:
            continue
        contract = snapshot.contract_codes.get(r.contract_id)
        ticket, summary, line = lookups.tickets.get(r.ticket_id, (None, "", None))
        written_off = (
            WriteOff(r.state_by or "", r.state_reason or "") if r.billing_state == "written_off" else None
        )
        entries.append(
            TimeEntry(
                id=r.source_key,
                customer=code,
                start=r.start_utc,
                minutes=r.minutes,
                charge_type=lookups.types.get(r.charge_type_id),
                ticket=ticket,
                agent=lookups.agents.get(r.agent_id, ""),
                non_billable_minutes=r.non_billable_minutes,
                travel_minutes=r.travel_minutes,
                contract=contract,
                service_line=r.service_line or line,
                summary=summary,
                written_off=written_off,
            )
        )
        row = snapshot.contract_rows.get(contract or "")
        in_force = row is None or (row.start <= r.work_date and (row.end is None or r.work_date < row.end))
        facts.append(
            EntryFacts(
                r.source_key,
                code,
                r.billing_state,
                r.invoice_number,
                snapshot.contract_subject(contract),
                in_force,
            )
        )
    return entries, facts


@dataclass
class _Lookups:
    types: dict[int, str]
    agents: dict[int, str]
    tickets: dict[int, tuple[str | None, str, str | None]]


def _lookups(conn: Connection, customer_id: int | None = None) -> _Lookups:
    tickets = sa.select(t.tickets.c.id, t.tickets.c.halopsa_id, t.tickets.c.summary, t.tickets.c.service_line)
    if customer_id is not None:
        tickets = tickets.where(t.tickets.c.customer_id == customer_id)
    return _Lookups(
        {r.id: r.code for r in conn.execute(sa.select(t.charge_types.c.id, t.charge_types.c.code))},
        {r.id: r.name for r in conn.execute(sa.select(t.agents.c.id, t.agents.c.name))},
        {r.id: (r.halopsa_id or str(r.id), r.summary, r.service_line) for r in conn.execute(tickets)},
    )


def _itemised(book: Book) -> Book:
    customers = {k: replace(c, presentation="itemised") for k, c in book.customers.items()}
    return replace(
        book,
        customers=customers,
        recurring=(),
        mileage=(),
        expenses=(),
        items_issued=(),
        assets=(),
        users=(),
    )


def _parts(result: RatingResult, snapshot: Snapshot) -> list[WorkPart]:
    out: list[WorkPart] = []
    for invoice in result.invoices:
        for line in invoice.lines:
            if line.kind not in WORK_KINDS or not line.sources:
                continue
            out.append(
                WorkPart(
                    line.sources[0],
                    invoice.customer,
                    line.kind,  # type: ignore[arg-type]
                    line.charge_type,
                    line.cls,
                    line.quantity,
                    line.unit_amount,
                    line.item_code,
                    snapshot.contract_subject(line.contract),
                )
            )
    return out


def rate_months(
    conn: Connection,
    settings: Settings,
    snapshot: Snapshot,
    periods: Sequence[Period],
    progress: Progress | None = None,
    customer: tuple[int, str] | None = None,
) -> RatedMonths:
    """Rate ``periods`` (consecutive months, oldest first), chaining contract balances; only the
    work of ``customer`` (its id and code) when given: customers are rated independently."""
    out = RatedMonths(tuple(periods))
    if not periods:
        return out
    customer_id = customer[0] if customer else None
    resolved = load_book(conn, settings, periods[0], customer[1] if customer else None)
    out.issues.extend(resolved.issues)
    base = _itemised(resolved.book)
    out.base = base
    lookups = _lookups(conn, customer_id)
    opening: dict[str, Decimal] = {}
    for period in periods:
        if progress is not None:
            progress(f"rating {period.start:%Y-%m}")
        entries, facts = _entries(conn, snapshot, period, lookups, customer_id)
        for f in facts:
            out.entries[f.entry] = f
            out.work_periods[f.entry] = period
        book = replace(base, entries=tuple(entries), opening_balances=dict(opening))
        result = rate(book, period)
        out.parts[period] = _parts(result, snapshot)
        out.opening[period] = dict(opening)
        out.closing[period] = dict(result.balances)
        out.covered_by[period] = {
            rid: state.detail
            for (kind, rid), state in result.states.items()
            if kind == "entry" and state.state == "covered"
        }
        out.issues.extend(i for i in result.issues if i.code not in ("contract.not_in_force",))
        opening = dict(result.balances)
    return out


def prepay_draws(
    conn: Connection,
    settings: Settings,
    snapshot: Snapshot,
    months: RatedMonths,
    period: Period,
    contracts: Sequence[str],
) -> dict[str, list[PrepayMove]]:
    """Each prepay contract's moves in ``period``: purchases, and each covered entry's draw (what
    the entry costs pay-as-you-go at the contract's rates, as a money balance is drawn)."""
    base = months.base
    if base is None or not contracts:
        return {}
    wanted = set(contracts)
    covered = {e: c for e, c in months.covered_by.get(period, {}).items() if c in wanted}
    customers = {base.contracts[c].customer for c in wanted if c in base.contracts}
    lookups = _lookups(conn)
    entries, _ = _entries(conn, snapshot, period, lookups)
    payg = {k: replace(c, kind="payg") if k in wanted else c for k, c in base.contracts.items()}
    book = replace(
        base,
        contracts=payg,
        entries=tuple(e for e in entries if e.customer in customers and e.id in covered),
        opening_balances={},
    )
    result = rate(book, period)
    moves: dict[str, list[PrepayMove]] = {c: [] for c in wanted}
    starts = {e.id: e.start for e in entries}
    for invoice in result.invoices:
        for line in invoice.lines:
            if line.kind != "labour" or not line.sources:
                continue
            entry = line.sources[0]
            contract = covered.get(entry)
            if contract is None:
                continue
            unit = base.contracts[contract].unit
            cost = round2(line.quantity * line.unit_amount) if unit == "money" else line.quantity
            start = starts[entry]
            moves[contract].append(PrepayMove(start.date(), (start, entry), -cost, entry))
    for code in wanted:
        row = snapshot.contract_rows.get(code)
        if row is None:
            continue
        for r in conn.execute(
            sa.select(t.contract_purchases.c.date, t.contract_purchases.c.amount).where(
                t.contract_purchases.c.contract_id == row.id,
                t.contract_purchases.c.date >= period.start,
                t.contract_purchases.c.date < period.end,
            )
        ):
            moves[code].append(PrepayMove(r.date, (r.date, ""), r.amount))
    return moves


def purchased_before(conn: Connection, snapshot: Snapshot, code: str, day: date) -> Decimal:
    row = snapshot.contract_rows.get(code)
    if row is None:
        return Decimal(0)
    amounts = conn.execute(
        sa.select(t.contract_purchases.c.amount).where(
            t.contract_purchases.c.contract_id == row.id, t.contract_purchases.c.date < day
        )
    ).scalars()
    return sum(amounts, Decimal(0))


def overage_by_contract(months: RatedMonths) -> dict[str, dict[Period, list[WorkPart]]]:
    out: dict[str, dict[Period, list[WorkPart]]] = {}
    for period, parts in months.parts.items():
        for p in parts:
            if p.kind == "overage" and p.contract is not None:
                out.setdefault(p.contract, {}).setdefault(period, []).append(p)
    return out


def facts_by_entry(months: RatedMonths) -> Mapping[str, EntryFacts]:
    return months.entries

"""``revloop bill`` and ``revloop approve``: rate a period, keep its drafts, approve them.

Drafts are stored under their invoice key (``revloop:<customer>:<contract|all>:<period start>``).
Billing the same period again replaces a draft whose figures changed (and drops its approval,
since what was approved is no longer what would be posted), keeps an unchanged one as it is, and
never touches an invoice that is posting or posted: a difference there is a finding.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import audit, repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.engine import CHUNK_ENTRIES, RatingResult, join_results, rate, split_by_customer
from revloop.domain.findings import Finding
from revloop.domain.invoicing import DraftInvoice, InvoiceLine
from revloop.domain.issues import Issue, NotFound, PeriodClosed, Severity
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.records import Book
from revloop.services.billing.ahead import SUFFIX as PERIODIC_SUFFIX
from revloop.services.billing.ahead import without_periodic
from revloop.services.billing.resolve import Resolved, load_book

EDITABLE = ("draft", "approved")
_SERVICE_LINES: weakref.WeakKeyDictionary[Connection, tuple[dict[str, str], dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)
CORRECTION = re.compile(r"^(.+):([rc])(\d+)$")


@dataclass
class BillResult:
    period: Period
    drafts: tuple[DraftInvoice, ...]
    names: dict[str, str]
    issues: tuple[Issue, ...]
    findings: tuple[Issue, ...]
    rating: RatingResult
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)  # posted already; differences are findings
    rebilled: list[str] = field(default_factory=list)  # posted invoices being replaced (re-billing)
    credited: list[str] = field(default_factory=list)  # posted invoices a credit note was drafted for
    preview: bool = False

    @property
    def total(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for draft in self.drafts:
            out[draft.currency] = out.get(draft.currency, Decimal(0)) + draft.total
        return out


def _line_key(line: Any) -> tuple[Any, ...]:
    """What makes two lines the same invoice line, for a draft or a stored row alike."""
    return (
        line.kind,
        line.item_code,
        line.description,
        line.quantity,
        line.unit_amount,
        line.amount,
        line.tax_code,
        line.tax,
    )


def _fingerprint(draft: DraftInvoice) -> tuple[Any, ...]:
    return (
        draft.subtotal,
        draft.tax,
        draft.total,
        tuple(_line_key(line) for line in draft.lines),
    )


def _stored_fingerprint(conn: Connection, invoice_id: int, row: Any) -> tuple[Any, ...]:
    lines = conn.execute(
        sa.select(t.invoice_lines)
        .where(t.invoice_lines.c.invoice_id == invoice_id)
        .order_by(t.invoice_lines.c.position)
    )
    return (
        row.subtotal,
        row.tax,
        row.total,
        tuple(_line_key(line) for line in lines),
    )


def _line_row(
    invoice_id: int, position: int, line: InvoiceLine, contract_ids: dict[str, int]
) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "position": position,
        "kind": line.kind,
        "item_code": line.item_code,
        "account_code": line.account_code,
        "description": line.description,
        "line_class": line.cls,
        "quantity": line.quantity,
        "unit_amount": line.unit_amount,
        "amount": line.amount,
        "tax_code": line.tax_code,
        "tax": line.tax,
        "explanation": line.explanation,
        "sources": list(line.sources),
        "contract_id": contract_ids.get(line.contract or ""),
        "cost": _cost(line),
    }


def _cost(line: InvoiceLine) -> Decimal | None:
    if line.cost is None:
        return None
    return round2(line.cost)


def check_period_open(conn: Connection, period: Period, rebill: bool) -> None:
    status = conn.execute(
        sa.select(t.billing_periods.c.status).where(t.billing_periods.c.start == period.start)
    ).scalar_one_or_none()
    if status == "closed" and not rebill:
        raise PeriodClosed(
            f"{period.label()} is closed",
            hint="re-bill a closed period with --rebill: it issues credit notes and new invoices",
        )


#: ``progress(stage, done, total)`` while a period is computed: ``("reading", 0, 0)`` while the
#: store is read, then ``("rating", customers rated, customers)`` as each group of customers is rated
Progress = Callable[[str, int, int], None]
#: with a progress callback, the period is rated in about this many groups of customers
RATING_STEPS = 20


def bill(
    app: App,
    period: Period,
    *,
    now: datetime,
    customer: str | None = None,
    preview: bool = False,
    rebill: bool = False,
    actor: str = "cli",
) -> BillResult:
    """Rate the period (``compute``) and, unless ``preview``, keep its drafts (``keep``)."""
    outcome = compute(app, period, customer=customer, rebill=rebill)
    if preview:
        return outcome
    return keep(app, outcome, now=now, customer=customer, rebill=rebill, actor=actor)


def compute(
    app: App,
    period: Period,
    *,
    customer: str | None = None,
    rebill: bool = False,
    progress: Progress | None = None,
) -> BillResult:
    """What billing the period would draft: its drafts, issues and findings. Changes nothing."""
    engine = app.engine
    if progress is not None:
        progress("reading", 0, 0)
    with engine.connect() as conn:
        check_period_open(conn, period, rebill)
        resolved: Resolved = load_book(conn, app.settings, period, customer)
    result = _rate(resolved.book, period, progress)
    drafts = tuple(_in_currency(d, resolved.currencies.get(d.customer)) for d in result.invoices)
    with engine.connect() as conn:
        drafts = without_periodic(conn, drafts)
    return BillResult(
        period,
        drafts,
        dict(resolved.names),
        resolved.issues + result.issues,
        result.findings,
        result,
        preview=True,
    )


def _customers_of(book: Book) -> set[str]:
    records: tuple[tuple[Any, ...], ...] = (
        book.entries,
        book.recurring,
        book.mileage,
        book.expenses,
        book.items_issued,
        book.assets,
        book.users,
    )
    found = {r.customer for kind in records for r in kind}
    found.update(c.customer for c in book.contracts.values())
    return found


def _rate(book: Book, period: Period, progress: Progress | None) -> RatingResult:
    """``rate(book, period)``; with ``progress``, a group of customers at a time (customers are rated
    independently: ``join_results`` of the groups is exactly the whole book's result)."""
    if progress is None:
        return rate(book, period)
    parts = split_by_customer(book, max(-(-len(book.entries) // CHUNK_ENTRIES), RATING_STEPS))
    groups = [_customers_of(part) for part in parts]
    total = len(set().union(*groups))
    done = 0
    results = []
    progress("rating", 0, total)
    for part, group in zip(parts, groups, strict=True):
        results.append(rate(part, period))
        done += len(group)
        progress("rating", min(done, total), total)
    return join_results(period, results)


def keep(
    app: App,
    outcome: BillResult,
    *,
    now: datetime,
    customer: str | None = None,
    rebill: bool = False,
    actor: str = "cli",
    keys: Collection[str] | None = None,
) -> BillResult:
    """Keep the drafts ``compute`` made (all, or those under ``keys``), as ``revloop bill`` does."""
    with app.engine.begin() as conn:
        return keep_in(conn, outcome, now=now, customer=customer, rebill=rebill, actor=actor, keys=keys)


def keep_in(
    conn: Connection,
    outcome: BillResult,
    *,
    now: datetime,
    customer: str | None = None,
    rebill: bool = False,
    actor: str = "cli",
    keys: Collection[str] | None = None,
    progress: Progress | None = None,
) -> BillResult:
    """``keep`` inside the caller's transaction. ``outcome`` is left as it was: the returned copy says
    what was created, updated, kept unchanged and removed. ``progress("keeping", drafts kept, drafts)``
    is called as the drafts are written."""
    from dataclasses import replace

    period = outcome.period
    wanted = None if keys is None else set(keys)
    kept = replace(
        outcome,
        drafts=outcome.drafts if wanted is None else tuple(d for d in outcome.drafts if d.key in wanted),
        created=[],
        updated=[],
        unchanged=[],
        removed=[],
        locked=[],
        rebilled=[],
        credited=[],
        preview=False,
    )
    _store(conn, kept, customer, now, actor, rebill, wanted, progress)
    _store_balances(conn, period, kept.rating, now)
    repository.record_findings(conn, [_as_finding(i, "issue") for i in kept.issues if i.subject], at=now)
    repository.record_findings(conn, [_as_finding(f, "finding") for f in kept.findings if f.subject], at=now)
    repository.upsert(
        conn,
        t.billing_periods,
        [{"start": period.start, "end": period.end, "status": "open"}],
        key=("start",),
        update=(),
    )
    details: dict[str, Any] = {
        "customer": customer,
        "created": len(kept.created),
        "updated": len(kept.updated),
        "unchanged": len(kept.unchanged),
        "removed": len(kept.removed),
        "issues": len(kept.issues),
    }
    if wanted is not None:
        details["keys"] = len(wanted)
    audit.record(
        conn,
        at=now,
        actor=actor,
        action="bill.run",
        entity="period",
        entity_id=period.start.isoformat(),
        details=details,
    )
    return kept


def _store_balances(conn: Connection, period: Period, result: RatingResult, now: datetime) -> None:
    """Each contract's balance at the end of the period: the next period's opening balance."""
    ids = {c: i for c, i in conn.execute(sa.select(t.contracts.c.code, t.contracts.c.id))}
    rows = [
        {
            "contract_id": ids[code],
            "period_start": period.start,
            "period_end": period.end,
            "closing": balance,
            "unit": result.balance_units.get(code, "hours"),
            "computed_at": now,
        }
        for code, balance in result.balances.items()
        if code in ids
    ]
    repository.upsert(conn, t.contract_balances, rows, key=("contract_id", "period_start"))


def _in_currency(draft: DraftInvoice, currency: str | None) -> DraftInvoice:
    """Each customer is invoiced in its own (Xero contact's) currency."""
    if currency is None or currency == draft.currency:
        return draft
    from dataclasses import replace

    return replace(draft, currency=currency)


def _as_finding(issue: Issue, kind: str) -> Finding:
    subject = issue.subject if ":" in issue.subject else f"revloop:{kind}:{issue.subject}"
    return Finding(issue.code, issue.severity, (subject,), issue.message, action=issue.action)


def base_key(key: str) -> str:
    """The invoice key a correction belongs to: ``<key>:r2`` and ``<key>:c2`` → ``<key>``."""
    match = CORRECTION.match(key)
    return match.group(1) if match else key


def revision(key: str) -> int:
    """0 for the first invoice of a key, n for its n-th replacement (``<key>:rn``)."""
    match = CORRECTION.match(key)
    return int(match.group(3)) if match else 0


def _effective(chain: list[Any]) -> Any | None:
    """The invoice that stands for a key now: the newest revision that is not a removed draft."""
    return chain[-1] if chain else None


def _store_correction(
    conn: Connection,
    outcome: BillResult,
    draft: DraftInvoice,
    chain: list[Any],
    rebill: bool,
    values_for: Any,
    contract_ids: dict[str, int],
    now: datetime,
) -> None:
    """A key with a posted invoice: keep it, or (re-billing) credit it and replace it.

    The chain holds the key's invoices by revision. Its newest one is either posted (or credited)
    — then, if the work rates differently and re-billing was asked for, a credit note ``<key>:cN``
    for it and a replacement ``<key>:rN`` are drafted — or it is a replacement still being prepared,
    which is brought up to date like any draft (and dropped, with its credit note, if the work now
    rates exactly as the posted invoice again)."""
    latest = chain[-1]
    posted = [r for r in chain if r.status in ("posted", "credited", "posting")]
    if latest.status in EDITABLE:
        standing = posted[-1] if posted else None
        if (
            standing is not None
            and standing.status == "posted"
            and _stored_fingerprint(conn, standing.id, standing) == _fingerprint(draft)
        ):
            note = conn.execute(
                sa.select(t.invoices.c.id, t.invoices.c.status).where(
                    t.invoices.c.key == f"{base_key(latest.key)}:c{revision(latest.key)}"
                )
            ).one_or_none()
            if note is None or note.status in EDITABLE:
                for gone in (latest.id, None if note is None else note.id):
                    if gone is not None:
                        conn.execute(t.invoices.delete().where(t.invoices.c.id == gone))
                outcome.removed.append(latest.key)
                outcome.unchanged.append(standing.key)
                return
        _refresh(conn, outcome, latest, draft, values_for(draft, latest.key), contract_ids)
        return
    if latest.status == "posting":
        outcome.locked.append(latest.key)
        return
    if latest.status == "posted" and _stored_fingerprint(conn, latest.id, latest) == _fingerprint(draft):
        outcome.locked.append(latest.key)
        return
    if not rebill:
        outcome.findings = (
            *outcome.findings,
            Issue(
                "billing.posted_differs",
                Severity.WARNING,
                latest.key,
                f"{latest.key} is already {latest.status}; the work now rates to {draft.total} "
                f"against {latest.total} posted",
                action="re-bill the period with --rebill to credit and re-invoice",
            ),
        )
        outcome.locked.append(latest.key)
        return
    number = revision(latest.key) + 1
    replacement = f"{draft.key}:r{number}"
    if latest.status == "posted":
        _credit_note(conn, outcome, latest, now, number=number)
    values = values_for(draft, replacement)
    invoice_id = conn.execute(
        t.invoices.insert()
        .values(status="draft", created_at=now, corrects_invoice_id=latest.id, **values)
        .returning(t.invoices.c.id)
    ).scalar_one()
    _write_lines(conn, invoice_id, draft, contract_ids)
    outcome.created.append(replacement)
    outcome.rebilled.append(latest.key)


def _refresh(
    conn: Connection,
    outcome: BillResult,
    row: Any,
    draft: DraftInvoice,
    values: dict[str, Any],
    contract_ids: dict[str, int],
) -> None:
    """An unposted draft brought up to date with the work (its approval dropped if it changed)."""
    if _stored_fingerprint(conn, row.id, row) == _fingerprint(draft):
        outcome.unchanged.append(row.key)
        return
    conn.execute(t.invoice_lines.delete().where(t.invoice_lines.c.invoice_id == row.id))
    conn.execute(
        t.invoices.update()
        .where(t.invoices.c.id == row.id)
        .values(status="draft", approved_by=None, approved_at=None, **values)
    )
    _write_lines(conn, row.id, draft, contract_ids)
    outcome.updated.append(row.key)


def _credit_note(conn: Connection, outcome: BillResult, invoice: Any, now: datetime, number: int = 0) -> None:
    """Draft a credit note for the whole of a posted invoice (its lines as they were posted)."""
    number = number or revision(invoice.key) + 1
    key = f"{base_key(invoice.key)}:c{number}"
    if conn.execute(sa.select(t.invoices.c.id).where(t.invoices.c.key == key)).first() is not None:
        return
    note_id = conn.execute(
        t.invoices.insert()
        .values(
            origin="revloop",
            doc_type="credit_note",
            key=key,
            customer_id=invoice.customer_id,
            contract_id=invoice.contract_id,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            currency=invoice.currency,
            line_amount_types=invoice.line_amount_types,
            reference=key,
            subtotal=invoice.subtotal,
            tax=invoice.tax,
            total=invoice.total,
            status="draft",
            corrects_invoice_id=invoice.id,
            created_at=now,
        )
        .returning(t.invoices.c.id)
    ).scalar_one()
    lines = [
        {**dict(line._mapping), "invoice_id": note_id}
        for line in conn.execute(
            sa.select(t.invoice_lines)
            .where(t.invoice_lines.c.invoice_id == invoice.id)
            .order_by(t.invoice_lines.c.position)
        )
    ]
    for line in lines:
        line.pop("id", None)
        line["explanation"] = f"credits {invoice.number or invoice.key}: " + (line["explanation"] or "")
    if lines:
        conn.execute(t.invoice_lines.insert(), lines)
    outcome.created.append(key)
    outcome.credited.append(invoice.key)


def invoice_values(
    draft: DraftInvoice,
    key: str,
    period: Period,
    customer_ids: dict[str, int],
    contract_ids: dict[str, int],
) -> dict[str, Any]:
    """The ``invoices`` row of a draft of revloop's, kept under ``key``."""
    return {
        "origin": "revloop",
        "doc_type": "invoice",
        "key": key,
        "customer_id": customer_ids.get(draft.customer),
        "contract_id": contract_ids.get(draft.contract or ""),
        "period_start": period.start,
        "period_end": period.end,
        "currency": draft.currency,
        "line_amount_types": draft.line_amount_types,
        "reference": key,
        "subtotal": draft.subtotal,
        "tax": draft.tax,
        "total": draft.total,
    }


def _store(
    conn: Connection,
    outcome: BillResult,
    customer: str | None,
    now: datetime,
    actor: str,
    rebill: bool,
    keys: set[str] | None = None,
    progress: Progress | None = None,
) -> None:
    period = outcome.period
    customer_ids = {c: i for c, i in conn.execute(sa.select(t.customers.c.code, t.customers.c.id))}
    contract_ids = {c: i for c, i in conn.execute(sa.select(t.contracts.c.code, t.contracts.c.id))}

    def values_for(draft: DraftInvoice, key: str) -> dict[str, Any]:
        return invoice_values(draft, key, period, customer_ids, contract_ids)

    existing_query = sa.select(t.invoices).where(
        t.invoices.c.origin == "revloop",
        t.invoices.c.period_start == period.start,
        t.invoices.c.doc_type == "invoice",
        t.invoices.c.key.not_like(f"%{PERIODIC_SUFFIX}"),
    )
    if customer is not None:
        existing_query = existing_query.where(t.invoices.c.customer_id == customer_ids.get(customer, -1))
    chains: dict[str, list[Any]] = {}
    for found in conn.execute(existing_query):
        if keys is None or base_key(found.key) in keys:  # only the drafts being kept, when named
            chains.setdefault(base_key(found.key), []).append(found)
    existing: dict[str, Any] = {}
    for base, chain in chains.items():
        chain.sort(key=lambda r: revision(r.key))
        existing[base] = chain[-1]
    in_xero = _already_in_xero(conn, [d.key for d in outcome.drafts if d.key not in existing])
    for done, draft in enumerate(outcome.drafts):
        if progress is not None and done % 25 == 0:
            progress("keeping", done, len(outcome.drafts))
        chain = chains.pop(draft.key, [])
        row = existing.pop(draft.key, None)
        if row is not None and revision(row.key) > 0:
            _store_correction(conn, outcome, draft, chain, rebill, values_for, contract_ids, now)
            continue
        if row is not None and row.status in ("posted", "credited") and rebill:
            _store_correction(conn, outcome, draft, chain, rebill, values_for, contract_ids, now)
            continue
        xero = in_xero.get(draft.key)
        if row is None and xero is not None:
            _adopt(conn, outcome, draft, xero, customer_ids, contract_ids, now)
            continue
        values = values_for(draft, draft.key)
        if row is None:
            invoice_id = conn.execute(
                t.invoices.insert()
                .values(status="draft", created_at=now, **values)
                .returning(t.invoices.c.id)
            ).scalar_one()
            _write_lines(conn, invoice_id, draft, contract_ids)
            outcome.created.append(draft.key)
            continue
        if row.status not in EDITABLE:
            if _stored_fingerprint(conn, row.id, row) != _fingerprint(draft):
                outcome.findings = (
                    *outcome.findings,
                    Issue(
                        "billing.posted_differs",
                        Severity.WARNING,
                        draft.key,
                        f"{draft.key} is already {row.status}; the work now rates to {draft.total} "
                        f"against {row.total} posted",
                        action="re-bill the period with --rebill to credit and re-invoice",
                    ),
                )
            outcome.locked.append(draft.key)
            continue
        _refresh(conn, outcome, row, draft, values, contract_ids)
    for key, row in existing.items():
        if row.status in EDITABLE:
            conn.execute(t.invoices.delete().where(t.invoices.c.id == row.id))
            outcome.removed.append(row.key)
            row = _effective(chains[key][:-1])
        if row is None or row.status != "posted":
            continue
        if rebill:  # the work no longer rates to anything: credit the invoice, nothing replaces it
            _credit_note(conn, outcome, row, now)
        else:
            outcome.findings = (
                *outcome.findings,
                Issue(
                    "billing.posted_differs",
                    Severity.WARNING,
                    row.key,
                    f"{row.key} is posted for {row.total}; the work now rates to nothing",
                    action="re-bill the period with --rebill to credit it",
                ),
            )


def _already_in_xero(conn: Connection, keys: list[str]) -> dict[str, Any]:
    """Xero invoices (as last synced) whose Reference is one of these invoice keys."""
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        query = sa.select(t.invoices).where(
            t.invoices.c.origin == "xero",
            t.invoices.c.reference.in_(keys[start : start + 500]),
            t.invoices.c.status.not_in(("VOIDED", "DELETED")),
        )
        found.update({row.reference: row for row in conn.execute(query)})
    return found


def _adopt(
    conn: Connection,
    outcome: BillResult,
    draft: DraftInvoice,
    xero: Any,
    customer_ids: dict[str, int],
    contract_ids: dict[str, int],
    now: datetime,
) -> None:
    """Xero already has this invoice (same key in its Reference): record it as posted, never post it
    again; if Xero's total differs from what the work rates to now, say so."""
    invoice_id = conn.execute(
        t.invoices.insert()
        .values(
            origin="revloop",
            doc_type="invoice",
            key=draft.key,
            customer_id=customer_ids.get(draft.customer),
            contract_id=contract_ids.get(draft.contract or ""),
            period_start=outcome.period.start,
            period_end=outcome.period.end,
            currency=draft.currency,
            line_amount_types=draft.line_amount_types,
            reference=draft.key,
            subtotal=draft.subtotal,
            tax=draft.tax,
            total=draft.total,
            status="posted",
            external_id=xero.external_id,
            number=xero.number,
            date=xero.date,
            due_date=xero.due_date,
            posted_at=now,
            created_at=now,
        )
        .returning(t.invoices.c.id)
    ).scalar_one()
    _write_lines(conn, invoice_id, draft, contract_ids)
    outcome.locked.append(draft.key)
    if xero.total != draft.total:
        outcome.findings = (
            *outcome.findings,
            Issue(
                "billing.posted_differs",
                Severity.WARNING,
                draft.key,
                f"Xero's {xero.number} ({draft.key}) totals {xero.total}; the work rates to {draft.total}",
                action="check the invoice in Xero; correct with a credit note if revloop's figures are right",
            ),
        )


def _write_lines(
    conn: Connection, invoice_id: int, draft: DraftInvoice, contract_ids: dict[str, int]
) -> None:
    by_charge_type, by_item = _service_lines(conn)
    rows = [_line_row(invoice_id, i, line, contract_ids) for i, line in enumerate(draft.lines, start=1)]
    for row, line in zip(rows, draft.lines, strict=True):
        row["service_line"] = by_charge_type.get(line.charge_type or "") or by_item.get(line.item_code or "")
    if rows:
        conn.execute(t.invoice_lines.insert(), rows)


def _service_lines(conn: Connection) -> tuple[dict[str, str], dict[str, str]]:
    """Service line by charge type code and by item code (read once per connection block)."""
    cached = _SERVICE_LINES.get(conn)
    if cached is None:
        cached = (
            {
                c: s
                for c, s in conn.execute(sa.select(t.charge_types.c.code, t.charge_types.c.service_line))
                if s
            },
            {c: s for c, s in conn.execute(sa.select(t.items.c.code, t.items.c.service_line)) if s},
        )
        _SERVICE_LINES[conn] = cached
    return cached


@dataclass(frozen=True)
class Approved:
    approved: list[str]
    already: list[str]


def approve(
    app: App,
    *,
    now: datetime,
    by: str,
    keys: Sequence[str] = (),
    period: Period | None = None,
    customer: str | None = None,
    everything: bool = False,
) -> Approved:
    """Approve drafts by key, by customer, or all drafts (of a period, if given)."""
    with app.engine.begin() as conn:
        return approve_in(
            conn, now=now, by=by, keys=keys, period=period, customer=customer, everything=everything
        )


def approve_in(
    conn: Connection,
    *,
    now: datetime,
    by: str,
    keys: Sequence[str] = (),
    period: Period | None = None,
    customer: str | None = None,
    everything: bool = False,
    progress: Progress | None = None,
) -> Approved:
    """``approve`` inside the caller's transaction; ``progress("approving", done, drafts)``."""
    query = sa.select(t.invoices.c.id, t.invoices.c.key, t.invoices.c.status).where(
        t.invoices.c.origin == "revloop"
    )
    if keys:
        query = query.where(t.invoices.c.key.in_(list(keys)))
    elif customer is not None:
        query = query.join(t.customers, t.customers.c.id == t.invoices.c.customer_id).where(
            t.customers.c.code == customer
        )
    elif not everything:
        raise NotFound("say which drafts to approve", hint="give invoice keys, --customer C or --all")
    if period is not None:
        query = query.where(t.invoices.c.period_start == period.start)
    approved: list[str] = []
    already: list[str] = []
    rows = list(conn.execute(query))
    found = {r.key for r in rows}
    missing = [k for k in keys if k not in found]
    if missing:
        raise NotFound(f"no draft invoice with key {missing[0]}", hint="`revloop invoices` lists them")
    for done, row in enumerate(rows):
        if progress is not None and done % 50 == 0:
            progress("approving", done, len(rows))
        if row.status != "draft":
            already.append(row.key)
            continue
        conn.execute(
            t.invoices.update()
            .where(t.invoices.c.id == row.id, t.invoices.c.status == "draft")
            .values(status="approved", approved_by=by, approved_at=now)
        )
        audit.record(conn, at=now, actor=by, action="invoice.approve", entity="invoice", entity_id=row.key)
        approved.append(row.key)
    return Approved(approved, already)


def invoice_rows(
    app: App,
    period: Period | None = None,
    keys: Iterable[str] = (),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """revloop's invoices with their state, Xero ids and numbers, and both sides' totals (``limit``
    of them from ``offset`` when given, in the same order)."""
    ours = t.invoices.alias("ours")
    theirs = t.invoices.alias("theirs")
    query = (
        sa.select(
            ours.c.key,
            ours.c.status,
            ours.c.currency,
            ours.c.subtotal,
            ours.c.tax,
            ours.c.total,
            ours.c.external_id,
            ours.c.number,
            ours.c.period_start,
            t.customers.c.code.label("customer"),
            theirs.c.total.label("xero_total"),
            theirs.c.status.label("xero_status"),
        )
        .join(t.customers, t.customers.c.id == ours.c.customer_id, isouter=True)
        .join(
            theirs,
            sa.and_(theirs.c.origin == "xero", theirs.c.external_id == ours.c.external_id),
            isouter=True,
        )
        .where(ours.c.origin == "revloop")
        .order_by(ours.c.period_start, ours.c.key)
    )
    if period is not None:
        query = query.where(ours.c.period_start == period.start)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    wanted = set(keys)
    with app.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [r for r in rows if not wanted or r["key"] in wanted]


@dataclass(frozen=True)
class XeroComparison:
    key: str
    state: str  # new | same | differs
    ours: Decimal
    xero: Decimal | None
    xero_number: str | None


def compare_with_xero(app: App, drafts: Sequence[DraftInvoice]) -> list[XeroComparison]:
    """For a preview: what Xero already holds under each draft's key (its Reference)."""
    keys = [d.key for d in drafts]
    found: dict[str, Any] = {}
    with app.engine.connect() as conn:
        for start in range(0, len(keys), 500):
            query = sa.select(t.invoices.c.reference, t.invoices.c.total, t.invoices.c.number).where(
                t.invoices.c.origin == "xero",
                t.invoices.c.reference.in_(keys[start : start + 500]),
                t.invoices.c.status.not_in(("VOIDED", "DELETED")),
            )
            found.update({r.reference: r for r in conn.execute(query)})
    out = []
    for draft in drafts:
        row = found.get(draft.key)
        if row is None:
            out.append(XeroComparison(draft.key, "new", draft.total, None, None))
        else:
            state = "same" if row.total == draft.total else "differs"
            out.append(XeroComparison(draft.key, state, draft.total, row.total, row.number))
    return out


def close_period(app: App, period: Period, *, now: datetime, by: str) -> int:
    """Close a billing period: every invoice of it posted, and the period before closed (or never
    billed), so that periods close in order. Returns the number of invoices in the period."""
    with app.engine.begin() as conn:
        open_keys = [
            key
            for (key,) in conn.execute(
                sa.select(t.invoices.c.key).where(
                    t.invoices.c.origin == "revloop",
                    t.invoices.c.period_start == period.start,
                    t.invoices.c.status.in_(("draft", "approved", "posting")),
                )
            )
        ]
        if open_keys:
            raise PeriodClosed(
                f"{period.label()} cannot close: {len(open_keys)} invoice(s) not posted, e.g. {open_keys[0]}",
                hint="approve and post them (`revloop approve`, `revloop post`) first",
            )
        before = conn.execute(
            sa.select(t.billing_periods.c.start, t.billing_periods.c.status)
            .where(t.billing_periods.c.start < period.start)
            .order_by(t.billing_periods.c.start.desc())
            .limit(1)
        ).one_or_none()
        if before is not None and before.status != "closed":
            raise PeriodClosed(
                f"{period.label()} cannot close before the period starting {before.start} is closed",
                hint=f"close that one first: revloop close --period {before.start:%Y-%m}",
            )
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.invoices)
            .where(t.invoices.c.origin == "revloop", t.invoices.c.period_start == period.start)
        ).scalar_one()
        repository.upsert(
            conn,
            t.billing_periods,
            [
                {
                    "start": period.start,
                    "end": period.end,
                    "status": "closed",
                    "closed_at": now,
                    "closed_by": by,
                }
            ],
            key=("start",),
        )
        audit.record(
            conn,
            at=now,
            actor=by,
            action="period.close",
            entity="period",
            entity_id=period.start.isoformat(),
            details={"invoices": count},
        )
    return int(count)

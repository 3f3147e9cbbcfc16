"""``revloop post``: approved invoices to Xero exactly once, Xero's figures read back, and the
invoice numbers written onto the HaloPSA work they bill.

How "exactly once" holds, whatever crashes where:
1. Approving leads to an **outbox** row per invoice (unique invoice key; the invoice date, due date
   and contact fixed in the row), and the invoice moves to ``posting`` — in one transaction.
2. Before a batch is sent, its rows are marked ``sent`` and that is committed. The batch goes with
   ``summarizeErrors=false`` and an ``Idempotency-Key`` derived from its invoice keys and the
   attempt, and every invoice carries its key in ``Reference``.
3. A row found ``sent`` on the next run (the process died, or the answer was lost) is first looked up
   in Xero by ``Reference``: if Xero has it, it is finished from Xero's copy, never sent again.
4. Finishing an invoice — outbox row done, invoice posted with Xero's id and number, its time
   entries marked invoiced, a HaloPSA write-back row queued — is one transaction.
5. Write-backs set ``actioninvoicenumber`` on each action; setting the same value twice is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import audit, repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity
from revloop.domain.money import q4

BATCH = 50
DOCUMENT_KINDS = ("invoice", "credit_note")
LOOKUP_CHUNK = 20  # Reference filters per query: Xero refuses query strings over 2,048 characters


class Accounting(Protocol):
    def create_invoices(
        self, tenant_id: str | None, invoices: Sequence[dict[str, Any]], *, idempotency_key: str
    ) -> list[Any]: ...

    def invoices(self, tenant_id: str | None, *, where: str | None = None) -> Any: ...

    def create_credit_notes(
        self, tenant_id: str | None, notes: Sequence[dict[str, Any]], *, idempotency_key: str
    ) -> list[Any]: ...

    def credit_notes(self, tenant_id: str | None, *, where: str | None = None) -> Any: ...

    def allocate_credit_note(
        self,
        tenant_id: str | None,
        credit_note_id: str,
        invoice_id: str,
        amount: Decimal,
        day: date,
        *,
        idempotency_key: str,
    ) -> Any: ...


class Psa(Protocol):
    def set_action_invoice_number(self, ticket_id: int, action_id: int, number: str) -> Any: ...


@dataclass
class PostResult:
    queued: list[str] = field(default_factory=list)
    posted: list[tuple[str, str]] = field(default_factory=list)  # (key, Xero number)
    recovered: list[tuple[str, str]] = field(default_factory=list)  # found in Xero after a crash
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    unmapped: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    allocated: list[tuple[str, Decimal]] = field(default_factory=list)  # (credit note key, amount)
    written_back: int = 0
    xero_calls: int = 0


def idempotency_key(keys: Sequence[str], attempt: int = 1) -> str:
    """One batch attempt's key: the same invoices in the same attempt always give the same key (so a
    lost answer is replayed by Xero), and a new attempt after a crash never reuses an older one (its
    body might have been cut short in flight). The lookup by Reference makes new attempts safe."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"revloop-{digest[:40]}-a{attempt}"


def enqueue(app: App, *, now: datetime, result: PostResult, actor: str) -> None:
    """Approved invoices → outbox rows (one transaction per invoice)."""
    settings = app.settings
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    with app.engine.begin() as conn:
        corrected = t.invoices.alias("corrected")
        approved = list(
            conn.execute(
                sa.select(
                    t.invoices.c.id,
                    t.invoices.c.key,
                    t.invoices.c.doc_type,
                    t.invoices.c.period_start,
                    t.customers.c.code,
                    corrected.c.external_id.label("corrects"),
                )
                .join(t.customers, t.customers.c.id == t.invoices.c.customer_id)
                .join(corrected, corrected.c.id == t.invoices.c.corrects_invoice_id, isouter=True)
                .where(t.invoices.c.origin == "revloop", t.invoices.c.status == "approved")
                .order_by(t.invoices.c.id)
            )
        )
    for row in approved:
        with app.engine.begin() as conn:
            contact = repository.external_id_for(conn, "customer", row.code, "xero")
            if contact is None:
                result.unmapped.append(row.key)
                repository.record_findings(
                    conn,
                    [
                        Finding(
                            "customer.unmapped",
                            Severity.ERROR,
                            (f"revloop:customer:{row.code}",),
                            f"customer {row.code} has no Xero contact, so {row.key} cannot be posted",
                            action=f"link {row.code} to its Xero contact with `revloop map`, then post again",
                        )
                    ],
                    at=now,
                )
                continue
            due = today + timedelta(days=settings.billing_payment_terms_days)
            if row.key.endswith(":periodic") and row.period_start is not None:
                due = max(today, row.period_start)  # made ahead: due on the first day it covers
            payload = {"contact_id": contact, "date": today.isoformat(), "due": due.isoformat()}
            if row.doc_type == "credit_note":
                payload["corrects"] = row.corrects
            earlier = conn.execute(
                sa.select(t.outbox.c.id).where(t.outbox.c.key == row.key, t.outbox.c.status == "failed")
            ).scalar_one_or_none()
            if earlier is not None:  # refused before and corrected since: a new attempt, never an old key
                conn.execute(
                    t.outbox.update()
                    .where(t.outbox.c.id == earlier)
                    .values(invoice_id=row.id, payload=payload, status="pending", updated_at=now)
                )
            else:
                conn.execute(
                    t.outbox.insert().values(
                        key=row.key,
                        kind=row.doc_type,
                        invoice_id=row.id,
                        idempotency_key=idempotency_key([row.key]),
                        payload=payload,
                        status="pending",
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
            conn.execute(t.invoices.update().where(t.invoices.c.id == row.id).values(status="posting"))
            audit.record(
                conn, at=now, actor=actor, action="invoice.queue", entity="invoice", entity_id=row.key
            )
            result.queued.append(row.key)


def _payload(conn: Connection, outbox_row: Any) -> dict[str, Any]:
    invoice = conn.execute(sa.select(t.invoices).where(t.invoices.c.id == outbox_row.invoice_id)).one()
    lines = conn.execute(
        sa.select(t.invoice_lines)
        .where(t.invoice_lines.c.invoice_id == invoice.id)
        .order_by(t.invoice_lines.c.position)
    )
    items = []
    for line in lines:
        item: dict[str, Any] = {
            "Description": line.description,
            "Quantity": q4(line.quantity),
            "UnitAmount": q4(line.unit_amount),
        }
        if line.item_code:
            item["ItemCode"] = line.item_code
        if line.account_code:
            item["AccountCode"] = line.account_code
        if line.tax_code:
            item["TaxType"] = line.tax_code
        items.append(item)
    meta = outbox_row.payload
    if invoice.doc_type == "credit_note":
        return {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": meta["contact_id"]},
            "Date": date.fromisoformat(meta["date"]),
            "CurrencyCode": invoice.currency,
            "LineAmountTypes": invoice.line_amount_types,
            "Reference": invoice.key,
            "Status": "AUTHORISED",
            "LineItems": items,
        }
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": meta["contact_id"]},
        "Date": date.fromisoformat(meta["date"]),
        "DueDate": date.fromisoformat(meta["due"]),
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": invoice.line_amount_types,
        "Reference": invoice.key,
        "Status": "AUTHORISED",
        "LineItems": items,
    }


def _quoted(key: str) -> str:
    return key.replace("\\", "\\\\").replace('"', '\\"')


def recover(app: App, xero: Accounting, tenant: str, *, now: datetime, result: PostResult) -> None:
    """Rows left ``sent``: finish them from Xero's copy when Xero has them, else send again."""
    for kind in DOCUMENT_KINDS:
        _recover(app, xero, tenant, kind, now=now, result=result)


def _recover(
    app: App, xero: Accounting, tenant: str, kind: str, *, now: datetime, result: PostResult
) -> None:
    with app.engine.connect() as conn:
        sent = list(
            conn.execute(sa.select(t.outbox).where(t.outbox.c.kind == kind, t.outbox.c.status == "sent"))
        )
    if not sent:
        return
    lookup = xero.invoices if kind == "invoice" else xero.credit_notes
    for start in range(0, len(sent), LOOKUP_CHUNK):
        chunk = sent[start : start + LOOKUP_CHUNK]
        where = " OR ".join(f'Reference=="{_quoted(r.key)}"' for r in chunk)
        read = lookup(tenant, where=where)
        result.xero_calls += 1
        found = {
            inv.Reference: inv
            for inv in read.records
            if inv.Reference and str(inv.Status) not in ("DELETED", "VOIDED")
        }
        for row in chunk:
            invoice = found.get(row.key)
            with app.engine.begin() as conn:
                if invoice is not None:
                    _finish(conn, row, invoice, now=now, result=result, recovered=True)
                else:
                    conn.execute(
                        t.outbox.update()
                        .where(t.outbox.c.id == row.id)
                        .values(status="pending", updated_at=now)
                    )


def send(
    app: App,
    xero: Accounting,
    tenant: str,
    *,
    now: datetime,
    result: PostResult,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> None:
    for kind in DOCUMENT_KINDS:
        _send(app, xero, tenant, kind, now=now, result=result, batch=batch, progress=progress)


def _send(
    app: App,
    xero: Accounting,
    tenant: str,
    kind: str,
    *,
    now: datetime,
    result: PostResult,
    batch: int,
    progress: Callable[[int], None] | None,
) -> None:
    while True:
        with app.engine.begin() as conn:
            rows = list(
                conn.execute(
                    sa.select(t.outbox)
                    .where(t.outbox.c.kind == kind, t.outbox.c.status == "pending")
                    .order_by(t.outbox.c.id)
                    .limit(batch)
                )
            )
            if not rows:
                return
            payloads = [_payload(conn, row) for row in rows]
            conn.execute(
                t.outbox.update()
                .where(t.outbox.c.id.in_([r.id for r in rows]))
                .values(status="sent", attempts=t.outbox.c.attempts + 1, updated_at=now)
            )
        attempt = max(r.attempts for r in rows) + 1
        create = xero.create_invoices if kind == "invoice" else xero.create_credit_notes
        answers = create(tenant, payloads, idempotency_key=idempotency_key([r.key for r in rows], attempt))
        result.xero_calls += 1
        for row, answer in zip(rows, answers, strict=True):
            with app.engine.begin() as conn:
                if answer.ok and answer.record is not None:
                    _finish(conn, row, answer.record, now=now, result=result, recovered=False)
                else:
                    why = "; ".join(answer.errors) or "rejected by Xero"
                    _reject(conn, row, why, now=now, result=result)
        if progress is not None:
            progress(len(rows))


def _reject(conn: Connection, row: Any, why: str, *, now: datetime, result: PostResult) -> None:
    conn.execute(
        t.outbox.update()
        .where(t.outbox.c.id == row.id)
        .values(status="failed", last_error=why, updated_at=now)
    )
    conn.execute(t.invoices.update().where(t.invoices.c.id == row.invoice_id).values(status="approved"))
    repository.record_findings(
        conn,
        [
            Finding(
                "posting.rejected",
                Severity.ERROR,
                (f"revloop:invoice:{row.key}",),
                f"Xero refused {row.key}: {why}",
                action="correct the cause (account code, tax type, contact), then `revloop post` again",
            )
        ],
        at=now,
    )
    audit.record(
        conn,
        at=now,
        actor="revloop",
        action="invoice.rejected",
        entity="invoice",
        entity_id=row.key,
        details={"why": why},
    )
    result.rejected.append((row.key, why))


def _finish(
    conn: Connection, row: Any, invoice: Any, *, now: datetime, result: PostResult, recovered: bool
) -> None:
    ours = conn.execute(sa.select(t.invoices).where(t.invoices.c.id == row.invoice_id)).one()
    number = invoice.InvoiceNumber or ""
    conn.execute(
        t.outbox.update()
        .where(t.outbox.c.id == row.id)
        .values(status="done", external_id=invoice.InvoiceID, updated_at=now, last_error=None)
    )
    conn.execute(
        t.invoices.update()
        .where(t.invoices.c.id == ours.id)
        .values(
            status="posted",
            external_id=invoice.InvoiceID,
            number=number,
            posted_at=now,
            date=invoice.Date,
            due_date=invoice.DueDate,
        )
    )
    _store_xero_copy(conn, ours, invoice, now)
    lines = list(
        conn.execute(
            sa.select(t.invoice_lines)
            .where(t.invoice_lines.c.invoice_id == ours.id)
            .order_by(t.invoice_lines.c.position)
        )
    )
    mismatch = _compare(ours, lines, invoice)
    if mismatch:
        result.mismatches.append(ours.key)
        repository.record_findings(
            conn,
            [
                Finding(
                    "amount.mismatch",
                    Severity.ERROR,
                    (f"revloop:invoice:{ours.key}", f"xero:invoice:{invoice.InvoiceID}"),
                    f"Xero's figures for {number} differ from revloop's: {mismatch}",
                    action="compare the lines in Xero with `revloop invoices`; correct with a credit note",
                    amount=abs(Decimal(invoice.Total or 0) - ours.total),
                    currency=ours.currency,
                )
            ],
            at=now,
        )
    if ours.doc_type == "credit_note":
        _credited(conn, row, ours, invoice, number, now=now)
    else:
        _mark_billed(conn, row, ours, lines, number, now=now)
    audit.record(
        conn,
        at=now,
        actor="revloop",
        action="invoice.posted",
        entity="invoice",
        entity_id=ours.key,
        details={"xero_id": invoice.InvoiceID, "number": number, "recovered": recovered},
    )
    (result.recovered if recovered else result.posted).append((ours.key, number))


def _mark_billed(
    conn: Connection, row: Any, ours: Any, lines: list[Any], number: str, *, now: datetime
) -> None:
    """An invoice in Xero: the work on its lines is invoiced (or covered), HaloPSA to be told."""
    actions: list[list[int]] = []
    for line in lines:
        state = "covered" if line.kind == "covered" else "invoiced"
        keys = [s for s in line.sources]
        if not keys:
            continue
        conn.execute(
            t.time_entries.update()
            .where(t.time_entries.c.source_key.in_(keys))
            .values(billing_state=state, invoice_key=ours.key, invoice_number=number, state_at=now)
        )
        for table in (t.expenses, t.items_issued):
            conn.execute(
                table.update()
                .where(table.c.source_key.in_(keys))
                .values(billing_state="invoiced", invoice_key=ours.key)
            )
        for key in keys:
            ticket, _, action = key.partition("/")
            if state == "invoiced" and ticket.isdigit() and action.isdigit():
                actions.append([int(ticket), int(action)])
    if actions:
        conn.execute(
            t.outbox.insert().values(
                key=f"{ours.key}:halopsa",
                kind="halopsa_writeback",
                invoice_id=ours.id,
                idempotency_key=f"{row.idempotency_key}:halopsa",
                payload={"number": number, "actions": actions},
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )


def _credited(conn: Connection, row: Any, ours: Any, note: Any, number: str, *, now: datetime) -> None:
    """A credit note in Xero: the invoice it corrects is credited, the work still carrying that
    invoice is billable again (its replacement, if posted, has taken its own work already), HaloPSA is
    told, and the credit is queued for allocation against the corrected invoice."""
    corrected = conn.execute(sa.select(t.invoices).where(t.invoices.c.id == ours.corrects_invoice_id)).one()
    conn.execute(t.invoices.update().where(t.invoices.c.id == corrected.id).values(status="credited"))
    freed = [
        key
        for (key,) in conn.execute(
            sa.select(t.time_entries.c.source_key).where(t.time_entries.c.invoice_key == corrected.key)
        )
    ]
    conn.execute(
        t.time_entries.update()
        .where(t.time_entries.c.invoice_key == corrected.key)
        .values(billing_state="unbilled", invoice_key=None, invoice_number=None, state_at=now)
    )
    for table in (t.expenses, t.items_issued):
        conn.execute(
            table.update()
            .where(table.c.invoice_key == corrected.key)
            .values(billing_state="unbilled", invoice_key=None)
        )
    actions = []
    for key in freed:
        ticket, _, action = key.partition("/")
        if ticket.isdigit() and action.isdigit():
            actions.append([int(ticket), int(action)])
    extra = [
        {
            "key": f"{ours.key}:allocation",
            "kind": "credit_allocation",
            "idempotency_key": f"{row.idempotency_key}:allocation",
            "payload": {
                "credit_note_id": note.CreditNoteID,
                "invoice_id": corrected.external_id,
                "corrected_key": corrected.key,
                "amount": str(ours.total),
                "date": note.Date.isoformat() if note.Date else now.date().isoformat(),
            },
        }
    ]
    if actions:
        extra.append(
            {
                "key": f"{ours.key}:halopsa",
                "kind": "halopsa_writeback",
                "idempotency_key": f"{row.idempotency_key}:halopsa",
                "payload": {"number": "", "actions": actions},
            }
        )
    for values in extra:
        conn.execute(
            t.outbox.insert().values(
                invoice_id=ours.id, status="pending", attempts=0, created_at=now, updated_at=now, **values
            )
        )


def allocate(app: App, xero: Accounting, tenant: str, *, now: datetime, result: PostResult) -> None:
    """Allocate each posted credit note to the invoice it corrects, up to what that invoice still owes
    (as last read from Xero). A paid invoice leaves the credit on the customer's account: a finding."""
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(t.outbox)
                .where(t.outbox.c.kind == "credit_allocation", t.outbox.c.status.in_(("pending", "sent")))
                .order_by(t.outbox.c.id)
            )
        )
    for row in rows:
        meta = row.payload
        credit = Decimal(meta["amount"])
        with app.engine.begin() as conn:
            due = conn.execute(
                sa.select(t.invoices.c.amount_due).where(
                    t.invoices.c.origin == "xero", t.invoices.c.external_id == meta["invoice_id"]
                )
            ).scalar_one_or_none()
            conn.execute(
                t.outbox.update()
                .where(t.outbox.c.id == row.id)
                .values(status="sent", attempts=t.outbox.c.attempts + 1, updated_at=now)
            )
        amount = credit if due is None else min(credit, due)
        why = ""
        if amount > 0:
            answer = xero.allocate_credit_note(
                tenant,
                meta["credit_note_id"],
                meta["invoice_id"],
                amount,
                date.fromisoformat(meta["date"]),
                idempotency_key=row.idempotency_key,
            )
            result.xero_calls += 1
            if answer.ok:
                result.allocated.append((row.key.removesuffix(":allocation"), amount))
            else:
                amount = Decimal(0)
                why = "; ".join(answer.errors) or "refused by Xero"
        with app.engine.begin() as conn:
            conn.execute(
                t.outbox.update()
                .where(t.outbox.c.id == row.id)
                .values(status="done", updated_at=now, last_error=why or None)
            )
            left = credit - amount
            if left > 0:
                note_key = row.key.removesuffix(":allocation")
                repository.record_findings(
                    conn,
                    [
                        Finding(
                            "credit.unallocated",
                            Severity.WARNING,
                            (f"revloop:invoice:{note_key}", f"xero:creditnote:{meta['credit_note_id']}"),
                            f"{left} of credit note {note_key} is not allocated to {meta['corrected_key']}"
                            + (f": {why}" if why else " (the invoice was already paid)"),
                            action="refund the credit, or allocate it to another of the customer's "
                            "invoices in Xero",
                            amount=left,
                        )
                    ],
                    at=now,
                )


def _compare(ours: Any, lines: list[Any], invoice: Any) -> str:
    problems = []
    for name, mine, theirs in (
        ("subtotal", ours.subtotal, invoice.SubTotal),
        ("tax", ours.tax, invoice.TotalTax),
        ("total", ours.total, invoice.Total),
    ):
        if theirs is None or Decimal(theirs) != mine:
            problems.append(f"{name} {theirs} against {mine}")
    xero_lines = list(invoice.LineItems or [])
    if len(xero_lines) != len(lines):
        problems.append(f"{len(xero_lines)} lines against {len(lines)}")
    else:
        for index, (mine, theirs) in enumerate(zip(lines, xero_lines, strict=True), start=1):
            if Decimal(theirs.LineAmount or 0) != mine.amount or Decimal(theirs.TaxAmount or 0) != mine.tax:
                problems.append(
                    f"line {index}: {theirs.LineAmount}/{theirs.TaxAmount} against {mine.amount}/{mine.tax}"
                )
    return "; ".join(problems)


def _store_xero_copy(conn: Connection, ours: Any, invoice: Any, now: datetime) -> None:
    repository.upsert(
        conn,
        t.invoices,
        [
            {
                "origin": "xero",
                "doc_type": ours.doc_type,
                "external_id": invoice.InvoiceID,
                "customer_id": ours.customer_id,
                "contract_id": ours.contract_id,
                "period_start": ours.period_start,
                "period_end": ours.period_end,
                "currency": ours.currency,
                "line_amount_types": ours.line_amount_types,
                "status": str(invoice.Status or "AUTHORISED"),
                "number": invoice.InvoiceNumber,
                "reference": ours.key,
                "date": invoice.Date,
                "due_date": invoice.DueDate,
                "subtotal": Decimal(invoice.SubTotal or 0),
                "tax": Decimal(invoice.TotalTax or 0),
                "total": Decimal(invoice.Total or 0),
                "amount_due": Decimal(
                    (invoice.RemainingCredit if ours.doc_type == "credit_note" else invoice.AmountDue) or 0
                ),
                "created_at": now,
            }
        ],
        key=("origin", "external_id"),
    )


def write_back(app: App, halo: Psa | None, *, now: datetime, result: PostResult) -> None:
    if halo is None:
        return
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(t.outbox)
                .where(t.outbox.c.kind == "halopsa_writeback", t.outbox.c.status.in_(("pending", "sent")))
                .order_by(t.outbox.c.id)
            )
        )
    for row in rows:
        for ticket, action in row.payload["actions"]:
            halo.set_action_invoice_number(ticket, action, row.payload["number"])
            result.written_back += 1
        with app.engine.begin() as conn:
            conn.execute(
                t.outbox.update().where(t.outbox.c.id == row.id).values(status="done", updated_at=now)
            )


def post(
    app: App,
    xero: Accounting,
    tenant: str,
    *,
    now: datetime,
    halo: Psa | None = None,
    batch: int = BATCH,
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> PostResult:
    result = PostResult()
    enqueue(app, now=now, result=result, actor=actor)
    recover(app, xero, tenant, now=now, result=result)
    send(app, xero, tenant, now=now, result=result, batch=batch, progress=progress)
    allocate(app, xero, tenant, now=now, result=result)
    write_back(app, halo, now=now, result=result)
    return result

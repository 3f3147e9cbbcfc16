"""``sync_xero``: one Xero organisation into the store.

Contacts (matched to customers in the mapping ledger), items, tax rates, accounts (into the ledger:
code ↔ AccountID, with their status), invoices and credit notes (origin ``xero``, with lines),
payments and quotes. Incremental reads send ``If-Modified-Since`` (the watermark minus the overlap);
because Xero does not move ``UpdatedDateUTC`` on every change (NOTES §3.3), a resource whose last
full read is older than ``FULL_EVERY`` is read in full again. Voids and deletions arrive as statuses.

Invoices and contacts that a webhook marked (``marks``) are read by id on an incremental run, whatever
their ``UpdatedDateUTC``, and landed like the rest; their marks are deleted in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db.tables import customers, external_ids, invoices, items, payments, quotes, tax_rates
from revloop.adapters.db.types import RATE_SCALE
from revloop.adapters.xero import wire
from revloop.adapters.xero.client import Read, XeroClient
from revloop.domain.findings import Finding
from revloop.domain.issues import Issue, Severity
from revloop.exactjson import read_decimal

from .common import Runner, Step, clip, engine_of, issue
from .halo_catalogue import replace_lines
from .marks import Mark, clear_marks, pending_marks
from .report import Progress, SyncReport, WaitTally
from .xero_contacts import adopt_currencies, match_contacts

SYSTEM = "xero"
FULL_EVERY = timedelta(days=7)
CENT = Decimal("0.01")
GONE = ("VOIDED", "DELETED")
T = TypeVar("T", bound=wire.Wire)
RESOURCES = ("contacts", "items", "tax_rates", "accounts", "invoices", "credit_notes", "payments", "quotes")


def _subject(kind: str, ident: str | None) -> str:
    return f"xero:{kind}:{ident or '?'}"


def _malformed(kind: str, found: Issue) -> Finding:
    ident = found.subject.rsplit(" ", 1)[-1]
    return issue(
        "xero.malformed", _subject(kind, ident), found.message, "fix the record in Xero, then sync again"
    )


def _rate(rate: Decimal | None, currency: str, base: str) -> Decimal | None:
    """Xero's CurrencyRate of a document in another currency than the base (``None`` in the base
    currency, or without a usable rate: revenue then falls back to ``costs.fx_rates``)."""
    if currency == base or rate is None or rate <= 0:
        return None
    if rate * RATE_SCALE != (rate * RATE_SCALE).to_integral_value():
        return None  # more places than Xero keeps: not a rate it booked
    return rate


class XeroSync:
    def __init__(self, runner: Runner, client: XeroClient, tenant: str | None, currency: str) -> None:
        self.runner = runner
        self.client = client
        self.tenant = tenant
        self.currency = currency

    @property
    def now(self) -> datetime:
        return self.runner.now

    def since(self, resource: str) -> datetime | None:
        if self.runner.full:
            return None
        mark = self.runner.watermark(resource)
        if mark is None or mark.last_full_at is None or self.now - mark.last_full_at > FULL_EVERY:
            return None
        return self.runner.since(resource)

    def _customers(self, conn: Any) -> dict[str, int]:
        """Xero contact id → customer id, through the confirmed links."""
        codes = repository.id_map(conn, customers, "code")
        rows = conn.execute(
            sa.select(external_ids.c.external_id, external_ids.c.local_id).where(
                external_ids.c.entity == "customer",
                external_ids.c.system == SYSTEM,
                external_ids.c.status == "confirmed",
            )
        )
        return {r.external_id: codes[r.local_id] for r in rows if r.local_id in codes}

    def _read(self, step: Step, kind: str, got: Read[Any]) -> None:
        self.runner.advanced(step, len(got.records) + len(got.issues))
        step.issues += [_malformed(kind, i) for i in got.issues]

    def _marked(self, resource: str) -> list[Mark]:
        """The webhook marks waiting for ``resource`` in this organisation (all, if none is named)."""
        with self.runner.engine.connect() as conn:
            return pending_marks(conn, SYSTEM, resource, tenant_id=self.tenant)

    def _with_marked(
        self,
        step: Step,
        kind: str,
        records: list[T],
        marked: Sequence[Mark],
        ident: Callable[[T], str | None],
        by_id: Callable[[list[str]], Read[T]],
        *,
        incremental: bool,
    ) -> list[T]:
        """``records`` plus the marked records an incremental read did not return, read by id.
        (A full read returns every record: its marks are satisfied by it.)"""
        if not incremental or not marked:
            return records
        have = {(ident(r) or "").lower() for r in records}
        wanted = sorted({m.record_id for m in marked} - have)
        if not wanted:
            return records
        extra = by_id(wanted)
        self._read(step, kind, extra)
        return records + [r for r in extra.records if (ident(r) or "").lower() not in have]

    # --- resources ----------------------------------------------------------------------------------

    def contacts(self) -> None:
        since = self.since("contacts")
        with self.runner.step("contacts", incremental=since is not None, subjects="xero:contact:") as step:
            marked = self._marked("contacts")
            got = self.client.contacts(self.tenant, modified_since=since)
            self._read(step, "contact", got)
            records = self._with_marked(
                step,
                "contact",
                got.records,
                marked,
                lambda c: c.ContactID,
                lambda ids: self.client.contacts(self.tenant, ids=ids),
                incremental=since is not None,
            )
            with self.runner.engine.begin() as conn:
                counts = match_contacts(conn, records, self.now)
                adopt_currencies(conn, records, self.now)
                step.report.upserted = counts["stored_id"] + counts["contact_number"] + counts["suggested"]
                clear_marks(conn, marked)
                for contact in records:
                    cid = (contact.ContactID or "").lower()
                    if str(contact.ContactStatus or "") == "ARCHIVED" and cid in self._customers(conn):
                        step.add(
                            issue(
                                "xero.contact_archived",
                                _subject("contact", cid),
                                f"Xero contact {contact.Name} is archived but linked to a customer",
                                "restore the contact in Xero, or link the customer to another contact "
                                "with `revloop map`",
                                Severity.WARNING,
                            )
                        )

    def items(self) -> None:
        since = self.since("items")
        with self.runner.step("items", incremental=since is not None) as step:
            got = self.client.items(self.tenant, modified_since=since)
            self._read(step, "item", got)
            rows = []
            for item in got.records:
                if not item.Code:
                    continue
                sales = item.SalesDetails
                rows.append(
                    {
                        "code": item.Code[:64],
                        "xero_id": (item.ItemID or "").lower() or None,
                        "name": clip(item.Name or item.Code, 255),
                        "unit_price": sales.UnitPrice if sales else None,
                        "tax_code": sales.TaxType if sales else None,
                        "account_code": sales.AccountCode if sales else None,
                    }
                )
            with self.runner.engine.begin() as conn:
                # HaloPSA owns an item's name and price; Xero adds its id (and fills a new item)
                step.report.upserted = repository.upsert(
                    conn, items, rows, key=("code",), update=("xero_id",)
                )

    def tax_rates(self) -> None:
        with self.runner.step("tax_rates", incremental=False) as step:
            got = self.client.tax_rates(self.tenant)
            self._read(step, "taxrate", got)
            rows = [
                {
                    "code": rate.TaxType,
                    "name": clip(rate.Name or rate.TaxType, 200),
                    "rate_percent": rate.EffectiveRate
                    if rate.EffectiveRate is not None
                    else rate.DisplayTaxRate,
                    "status": rate.Status or "ACTIVE",
                    "updated_at": self.now,
                }
                for rate in got.records
                if rate.TaxType and (rate.EffectiveRate is not None or rate.DisplayTaxRate is not None)
            ]
            with self.runner.engine.begin() as conn:
                step.report.upserted = repository.upsert(conn, tax_rates, rows, key=("code",))

    def accounts(self) -> None:
        """Accounts go into the mapping ledger (entity ``account``: code ↔ AccountID); an item whose
        sales account is missing or archived in Xero is raised as an issue before billing needs it."""
        with self.runner.step("accounts", incremental=False, subjects="revloop:item:") as step:
            got = self.client.accounts(self.tenant)
            self._read(step, "account", got)
            active: set[str] = set()
            with self.runner.engine.begin() as conn:
                for account in got.records:
                    if not account.Code or not account.AccountID:
                        continue
                    status = "confirmed" if (account.Status or "ACTIVE") == "ACTIVE" else "rejected"
                    if status == "confirmed":
                        active.add(account.Code)
                    repository.link(
                        conn,
                        entity="account",
                        local_id=account.Code,
                        system=SYSTEM,
                        external_id=account.AccountID.lower(),
                        at=self.now,
                        method="stored_id",
                        status=status,
                        by="revloop",
                    )
                    step.report.upserted += 1
                for row in conn.execute(sa.select(items.c.code, items.c.account_code)):
                    if row.account_code and row.account_code not in active:
                        step.add(
                            issue(
                                "xero.unknown_account",
                                f"revloop:item:{row.code}",
                                f"item {row.code} posts to account {row.account_code}, which is not an "
                                "active account in Xero",
                                "choose an active sales account for the item",
                                Severity.WARNING,
                            )
                        )

    def _document_rows(
        self, conn: Any, docs: list[dict[str, Any]], doc_type: str
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        contacts = self._customers(conn)
        headers, lines = [], {}
        for doc in docs:
            ext = doc["id"]
            currency = (doc["currency"] or self.currency)[:3]
            headers.append(
                {
                    "origin": SYSTEM,
                    "external_id": ext,
                    "doc_type": doc_type,
                    "customer_id": contacts.get(doc["contact"] or ""),
                    "currency": currency,
                    "currency_rate": _rate(doc.get("rate"), currency, self.currency),
                    "line_amount_types": str(doc["amount_types"] or "Exclusive")[:16],
                    "status": str(doc["status"] or "DRAFT")[:16],
                    "number": clip(doc["number"], 64),
                    "reference": clip(doc["reference"], 255),
                    "date": doc["date"],
                    "due_date": doc["due"],
                    "subtotal": doc["subtotal"],
                    "tax": doc["tax"],
                    "total": doc["total"],
                    "amount_due": doc["amount_due"],
                    "amount_paid": doc["amount_paid"],
                    "source_updated_at": doc["updated"],
                    "created_at": self.now,
                }
            )
            lines[ext] = [
                {
                    "position": n,
                    "kind": "imported",
                    "item_code": line.ItemCode,
                    "account_code": line.AccountCode,
                    "description": line.Description or "",
                    "quantity": line.Quantity if line.Quantity is not None else Decimal(1),
                    "unit_amount": line.UnitAmount if line.UnitAmount is not None else Decimal(0),
                    "amount": _cents(line.LineAmount),
                    "tax_code": line.TaxType,
                    "tax": _cents(line.TaxAmount),
                    "explanation": "",
                    "sources": [],
                }
                for n, line in enumerate(doc["lines"], 1)
            ]
        return headers, lines

    def _land_documents(
        self, step: Step, docs: list[dict[str, Any]], doc_type: str, marked: Sequence[Mark] = ()
    ) -> None:
        with self.runner.engine.begin() as conn:
            clear_marks(conn, marked)
            headers, lines = self._document_rows(conn, docs, doc_type)
            update = (
                [c for c in headers[0] if c not in ("origin", "external_id", "created_at")]
                if headers
                else None
            )
            step.report.upserted = repository.upsert(
                conn, invoices, headers, key=("origin", "external_id"), update=update
            )
            replace_lines(conn, SYSTEM, lines)
            gone = [h["external_id"] for h in headers if h["status"] in GONE]
            if gone:
                for row in conn.execute(
                    sa.select(invoices.c.number, invoices.c.external_id).where(
                        invoices.c.origin == "revloop",
                        invoices.c.external_id.in_(gone),
                        invoices.c.status.in_(("posted", "posting")),
                    )
                ):
                    step.add(
                        issue(
                            "xero.voided",
                            _subject(doc_type, row.external_id),
                            f"{doc_type.replace('_', ' ')} {row.number} that revloop posted is voided or "
                            "deleted in Xero",
                            "check why it was voided; re-run billing for its period "
                            "if the work should still be invoiced",
                            Severity.WARNING,
                        )
                    )

    def invoices(self) -> None:
        since = self.since("invoices")
        with self.runner.step("invoices", incremental=since is not None, subjects="xero:invoice:") as step:
            marked = self._marked("invoices")
            got = self.client.invoices(self.tenant, modified_since=since)
            self._read(step, "invoice", got)
            records = self._with_marked(
                step,
                "invoice",
                got.records,
                marked,
                lambda i: i.InvoiceID,
                lambda ids: self.client.invoices(self.tenant, ids=ids),
                incremental=since is not None,
            )
            docs = []
            for inv in records:
                if not inv.InvoiceID or str(inv.Type or "") != "ACCREC":
                    continue
                docs.append(
                    {
                        "id": inv.InvoiceID.lower(),
                        "contact": (inv.Contact.ContactID or "").lower() if inv.Contact else None,
                        "currency": inv.CurrencyCode,
                        "rate": inv.CurrencyRate,
                        "amount_types": inv.LineAmountTypes,
                        "status": inv.Status,
                        "number": inv.InvoiceNumber,
                        "reference": inv.Reference,
                        "date": inv.Date,
                        "due": inv.DueDate,
                        "subtotal": _cents(inv.SubTotal),
                        "tax": _cents(inv.TotalTax),
                        "total": _cents(inv.Total),
                        "amount_due": inv.AmountDue,
                        "amount_paid": inv.AmountPaid,
                        "updated": inv.UpdatedDateUTC,
                        "lines": inv.LineItems,
                    }
                )
            self._land_documents(step, docs, "invoice", marked)

    def credit_notes(self) -> None:
        since = self.since("credit_notes")
        with self.runner.step("credit_notes", incremental=since is not None) as step:
            got = self.client.credit_notes(self.tenant, modified_since=since)
            self._read(step, "creditnote", got)
            docs = []
            for note in got.records:
                if not note.CreditNoteID or str(note.Type or "ACCRECCREDIT") != "ACCRECCREDIT":
                    continue
                total = _cents(note.Total)
                tax = _cents(note.TotalTax)
                docs.append(
                    {
                        "id": note.CreditNoteID.lower(),
                        "contact": (note.Contact.ContactID or "").lower() if note.Contact else None,
                        "currency": note.CurrencyCode,
                        "rate": note.CurrencyRate,
                        "amount_types": note.LineAmountTypes,
                        "status": note.Status,
                        "number": note.CreditNoteNumber,
                        "reference": note.Reference,
                        "date": note.Date,
                        "due": None,
                        "subtotal": total - tax,
                        "tax": tax,
                        "total": total,
                        "amount_due": note.RemainingCredit,
                        "amount_paid": None,
                        "updated": note.UpdatedDateUTC,
                        "lines": note.LineItems,
                    }
                )
            self._land_documents(step, docs, "credit_note")

    def payments(self) -> None:
        since = self.since("payments")
        with self.runner.step("payments", incremental=since is not None) as step:
            got = self.client.payments(self.tenant, modified_since=since)
            self._read(step, "payment", got)
            with self.runner.engine.begin() as conn:
                found = {
                    r.external_id: (r.id, r.currency)
                    for r in conn.execute(
                        sa.select(invoices.c.external_id, invoices.c.id, invoices.c.currency).where(
                            invoices.c.origin == SYSTEM
                        )
                    )
                }
                rows = []
                for pay in got.records:
                    if not pay.PaymentID or pay.Date is None or pay.Amount is None:
                        continue
                    target = (pay.Invoice.InvoiceID or "").lower() if pay.Invoice else ""
                    invoice_id, currency = found.get(target, (None, self.currency))
                    rows.append(
                        {
                            "external_id": pay.PaymentID.lower(),
                            "invoice_id": invoice_id,
                            "date": pay.Date,
                            "amount": _cents(pay.Amount),
                            "currency": currency,
                            "status": pay.Status or "AUTHORISED",
                            "source_updated_at": pay.UpdatedDateUTC,
                        }
                    )
                step.report.upserted = repository.upsert(conn, payments, rows, key=("external_id",))

    def quotes(self) -> None:
        since = self.since("quotes")
        with self.runner.step("quotes", incremental=since is not None) as step:
            raws = list(self.client.iter_pages(self.tenant, "Quotes", key="Quotes", modified_since=since))
            self.runner.advanced(step, len(raws))
            with self.runner.engine.begin() as conn:
                contacts = self._customers(conn)
                rows = []
                for raw in raws:
                    qid = str(raw.get("QuoteID") or "").lower()
                    if not qid:
                        continue
                    try:
                        contact = str((raw.get("Contact") or {}).get("ContactID") or "").lower()
                        rows.append(
                            {
                                "system": SYSTEM,
                                "external_id": qid,
                                "customer_id": contacts.get(contact),
                                "number": clip(raw.get("QuoteNumber"), 64),
                                "date": wire.parse_date(raw.get("Date")),
                                "expiry": wire.parse_date(raw.get("ExpiryDate")),
                                "status": raw.get("Status"),
                                "currency": raw.get("CurrencyCode") or self.currency,
                                "total": _cents(read_decimal(raw.get("Total"))),
                                "title": raw.get("Title"),
                                "source_updated_at": wire.parse_timestamp(raw.get("UpdatedDateUTC")),
                            }
                        )
                    except ValueError as exc:
                        step.add(
                            issue(
                                "xero.malformed",
                                _subject("quote", qid),
                                f"Xero quote: {exc}",
                                "fix the quote in Xero, then sync again",
                            )
                        )
                step.report.upserted = repository.upsert(conn, quotes, rows, key=("system", "external_id"))


def _cents(value: Decimal | None) -> Decimal:
    if value is None:
        return Decimal(0)
    return value.quantize(CENT) if value == value.quantize(CENT) else value


def sync_xero(
    app_or_engine: Any,
    client: XeroClient,
    *,
    tenant_id: str | None,
    full: bool,
    settings: Any,
    now: datetime,
    progress: Progress | None = None,
    waits: WaitTally | None = None,
) -> SyncReport:
    """Bring one Xero organisation into the store (see the module docstring)."""
    runner = Runner(
        SYSTEM,
        engine_of(app_or_engine),
        full=full,
        now=now,
        calls=lambda: client.requests_sent,
        progress=progress,
        waits=waits,
    )
    sync = XeroSync(runner, client, tenant_id, settings.currency)
    sync.contacts()
    sync.items()
    sync.tax_rates()
    sync.accounts()
    sync.invoices()
    sync.credit_notes()
    sync.payments()
    sync.quotes()
    return runner.report

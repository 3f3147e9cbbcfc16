"""The store read into the plain records of ``revloop.domain.reconciliation``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.config import Settings
from revloop.domain.periods import Period
from revloop.domain.reconciliation import (
    BilledLine,
    ContractTerms,
    CustomerInfo,
    Document,
    QuoteInfo,
    month_of,
    reference_period,
)


@dataclass
class Snapshot:
    """What every check reads, loaded once per run."""

    customers: dict[str, CustomerInfo]  # code -> info
    customer_codes: dict[int, str]  # store id -> code
    contracts: dict[str, ContractTerms]  # code -> terms
    contract_rows: dict[str, Any]  # code -> store row
    contract_codes: dict[int, str]  # store id -> code
    xero: list[Document]
    halopsa: list[Document]
    revloop: list[Document]
    lines: dict[str, list[BilledLine]]  # Xero id -> lines
    quotes: list[QuoteInfo]
    sourced: dict[str, list[BilledLine]]  # Xero id -> revloop's work lines naming their entries
    halo_lines: dict[str, list[BilledLine]]  # HaloPSA invoice id -> lines
    closed: set[date] = field(default_factory=set)  # period starts closed with `revloop close`

    def contract_subject(self, code: str | None) -> str | None:
        if code is None:
            return None
        terms = self.contracts.get(code)
        return terms.subject if terms else f"revloop:contract:{code}"


def contract_subject(row: Any) -> str:
    return f"halopsa:contract:{row.halopsa_id}" if row.halopsa_id else f"revloop:contract:{row.code}"


def fee_items(row: Any, settings: Settings) -> frozenset[str]:
    codes = {row.item_code, settings.billing_contract_item_codes.get(row.kind)}
    return frozenset(c for c in codes if c)


def load(
    conn: Connection, settings: Settings, documents: bool = True, customer_id: int | None = None
) -> Snapshot:
    """Everything the checks read; without the invoices and their lines unless ``documents``.

    With ``customer_id`` (and without documents): only what one customer's checks read — its
    contracts and any other contract its time entries name, their customers, and its quotes."""
    contract_query = sa.select(t.contracts)
    customer_query = sa.select(t.customers)
    quote_query = sa.select(t.quotes.c.customer_id, t.quotes.c.date, t.quotes.c.status)
    if customer_id is not None:
        if documents:
            raise ValueError("a snapshot of one customer holds no documents")
        named = sa.select(t.time_entries.c.contract_id).where(t.time_entries.c.customer_id == customer_id)
        contract_query = contract_query.where(
            sa.or_(t.contracts.c.customer_id == customer_id, t.contracts.c.id.in_(named))
        )
        theirs = sa.select(t.contracts.c.customer_id).where(t.contracts.c.id.in_(named))
        customer_query = customer_query.where(
            sa.or_(t.customers.c.id == customer_id, t.customers.c.id.in_(theirs))
        )
        quote_query = quote_query.where(t.quotes.c.customer_id == customer_id)
    customer_rows = list(conn.execute(customer_query))
    ledger_query = sa.select(
        t.external_ids.c.local_id, t.external_ids.c.system, t.external_ids.c.external_id
    ).where(t.external_ids.c.entity == "customer", t.external_ids.c.status == "confirmed")
    if customer_id is not None:
        ledger_query = ledger_query.where(t.external_ids.c.local_id.in_([r.code for r in customer_rows]))
    ledger: dict[tuple[str, str], str] = {}
    for r in conn.execute(ledger_query):
        ledger[(r.local_id, r.system)] = r.external_id
    customers: dict[str, CustomerInfo] = {}
    for r in customer_rows:
        halo = ledger.get((r.code, "halopsa"))
        contact = ledger.get((r.code, "xero"))
        customers[r.code] = CustomerInfo(
            r.code,
            f"halopsa:client:{halo}" if halo else f"revloop:customer:{r.code}",
            r.currency,
            r.name,
            f"xero:contact:{contact}" if contact else None,
        )
    customer_codes = {r.id: r.code for r in customer_rows}
    contract_rows = {r.code: r for r in conn.execute(contract_query)}
    contracts = {
        code: ContractTerms(
            contract_subject(r),
            code,
            customer_codes.get(r.customer_id, ""),
            r.kind,
            r.start,
            r.end,
            r.fee,
            r.billing,
            customers[customer_codes[r.customer_id]].currency
            if r.customer_id in customer_codes
            else settings.currency,
            fee_items(r, settings),
        )
        for code, r in contract_rows.items()
    }
    contract_codes = {r.id: code for code, r in contract_rows.items()}
    halopsa: list[Document] = []
    xero: list[Document] = []
    revloop: list[Document] = []
    xero_ids: dict[int, str] = {}
    halo_ids: dict[int, str] = {}
    invoices = conn.execute(sa.select(t.invoices).order_by(t.invoices.c.id)) if documents else ()
    for r in invoices:
        customer = customer_codes.get(r.customer_id) if r.customer_id is not None else None
        common: dict[str, Any] = {
            "customer": customer,
            "status": r.status,
            "currency": r.currency,
            "total": r.total,
            "subtotal": r.subtotal,
            "number": r.number,
            "reference": r.reference,
            "issued": r.date,
            "due_date": r.due_date,
            "amount_due": r.amount_due,
            "updated_at": r.source_updated_at,
            "doc_type": r.doc_type,
        }
        if r.origin == "xero" and r.external_id:
            xero_ids[r.id] = r.external_id.lower()
            xero.append(Document("xero", r.external_id.lower(), **common))
        elif r.origin == "halopsa" and r.external_id:
            period = month_of(r.period_start) if r.period_start else None
            halo_ids[r.id] = r.external_id
            halopsa.append(
                Document("halopsa", r.external_id, period=period, external_id=r.xero_invoice_id, **common)
            )
        elif r.origin == "revloop" and r.key:
            period = Period(r.period_start, r.period_end) if r.period_start and r.period_end else None
            revloop.append(
                Document(
                    "revloop",
                    r.key,
                    period=period,
                    external_id=r.external_id.lower() if r.external_id else None,
                    posted_at=r.posted_at,
                    **common,
                )
            )
    halo_periods = {h.number: h.period for h in halopsa if h.number and h.period is not None}
    xero = [_with_period(x, halo_periods) for x in xero]
    lines: dict[str, list[BilledLine]] = defaultdict(list)
    halo_lines: dict[str, list[BilledLine]] = defaultdict(list)
    if xero_ids or halo_ids:
        query = sa.select(
            t.invoice_lines.c.invoice_id,
            t.invoice_lines.c.item_code,
            t.invoice_lines.c.unit_amount,
            t.invoice_lines.c.quantity,
            t.invoice_lines.c.amount,
            t.invoice_lines.c.description,
            t.invoice_lines.c.sources,
        ).order_by(t.invoice_lines.c.invoice_id, t.invoice_lines.c.position)
        for lr in conn.execute(query).all():
            xid = xero_ids.get(lr.invoice_id)
            target = lines if xid is not None else halo_lines
            xid = xid if xid is not None else halo_ids.get(lr.invoice_id)
            if xid is not None:
                target[xid].append(
                    BilledLine(
                        lr.item_code,
                        lr.unit_amount,
                        lr.quantity,
                        tuple(lr.sources or ()),
                        lr.amount,
                        lr.description,
                    )
                )
    # revloop's own lines name their entries: give them to the Xero copy they were posted as
    posted = {d.id: d.external_id for d in revloop if d.external_id}
    sourced: dict[str, list[BilledLine]] = defaultdict(list)
    if posted:
        keys = {r.id: r.key for r in conn.execute(sa.select(t.invoices.c.id, t.invoices.c.key))}
        query = sa.select(
            t.invoice_lines.c.invoice_id,
            t.invoice_lines.c.item_code,
            t.invoice_lines.c.unit_amount,
            t.invoice_lines.c.quantity,
            t.invoice_lines.c.sources,
            t.invoice_lines.c.kind,
        ).where(t.invoice_lines.c.invoice_id.in_([i for i, k in keys.items() if k in posted]))
        ordered = query.order_by(t.invoice_lines.c.invoice_id, t.invoice_lines.c.position)
        for line in conn.execute(ordered).all():
            if line.kind in ("labour", "overage", "travel"):
                xid = posted[keys[line.invoice_id]] or ""
                sourced[xid].append(
                    BilledLine(line.item_code, line.unit_amount, line.quantity, tuple(line.sources))
                )
    quotes = [
        QuoteInfo(customer_codes.get(r.customer_id, ""), r.date, r.status)
        for r in conn.execute(quote_query)
        if r.customer_id is not None
    ]
    closed = {
        r.start
        for r in conn.execute(
            sa.select(t.billing_periods.c.start).where(t.billing_periods.c.status == "closed")
        )
    }
    return Snapshot(
        customers,
        customer_codes,
        contracts,
        contract_rows,
        contract_codes,
        xero,
        halopsa,
        revloop,
        dict(lines),
        quotes,
        dict(sourced),
        dict(halo_lines),
        closed,
    )


def _with_period(x: Document, halo_periods: dict[str, Period]) -> Document:
    """A Xero document's period: from the revloop key in its Reference, else from the HaloPSA
    document with its number."""
    keyed = reference_period(x.reference)
    if keyed is not None:
        return replace(x, period=keyed[1])
    if x.number and x.number in halo_periods:
        return replace(x, period=halo_periods[x.number])
    return x


def first_month(conn: Connection) -> date | None:
    """The earliest work date or invoice period the store holds."""
    work = conn.execute(sa.select(sa.func.min(t.time_entries.c.work_date))).scalar_one_or_none()
    billed = conn.execute(
        sa.select(sa.func.min(t.invoices.c.period_start)).where(t.invoices.c.origin != "xero")
    ).scalar_one_or_none()
    found = [d for d in (work, billed) if d is not None]
    return min(found) if found else None


def purchases(conn: Connection) -> dict[int, list[tuple[date, Decimal]]]:
    out: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for r in conn.execute(sa.select(t.contract_purchases).order_by(t.contract_purchases.c.date)):
        out[r.contract_id].append((r.date, r.amount))
    return out

"""Xero's invoices against HaloPSA's and revloop's: drift, mismatches, invoices missing from Xero,
invoices nothing explains, and payments overdue."""

from __future__ import annotations

from datetime import date

from revloop.domain.findings import Finding
from revloop.domain.reconciliation import document_findings, match_documents, no_contract, overdue
from revloop.services.reconcile.store import Snapshot


def _fee_items_on_date(snapshot: Snapshot) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for x in snapshot.xero:
        if x.issued is None or x.customer is None:
            continue
        codes: set[str] = set()
        for c in snapshot.contracts.values():
            if c.customer == x.customer and c.start <= x.issued and (c.end is None or x.issued < c.end):
                codes |= c.fee_items
        out[x.id] = frozenset(codes)
    return out


def check(snapshot: Snapshot, today: date, overdue_grace_days: int) -> list[Finding]:
    matched = match_documents(snapshot.xero, snapshot.halopsa, snapshot.revloop)
    found = document_findings(matched, today)
    found += overdue(snapshot.xero, today, overdue_grace_days, snapshot.customers)
    found += no_contract(
        snapshot.xero, matched, _fee_items_on_date(snapshot), snapshot.lines, snapshot.customers
    )
    return found

"""``contract.billed_vs_contracted``: each contract's fee against the fee lines Xero holds."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.domain.periods import Period
from revloop.domain.reconciliation import (
    Adjustment,
    ContractTerms,
    Document,
    FeeBilled,
    IdentityRow,
    identity_rows,
    match_documents,
    month_of,
)
from revloop.services.reconcile.store import Snapshot


def _contract_for(
    terms: Sequence[ContractTerms], item: str | None, period: Period, description: str
) -> ContractTerms | None:
    """The customer's contract in force in ``period`` whose fee item this line is; where several
    are, the one whose reference the line's description names."""
    found = [c for c in terms if item in c.fee_items and period.overlap_days(c.start, c.end) > 0]
    if len(found) > 1:
        named = [c for c in found if c.code in description]
        return named[0] if named else found[0]
    return found[0] if found else None


def fees_billed(snapshot: Snapshot) -> list[FeeBilled]:
    by_customer: dict[str, list[ContractTerms]] = {}
    for c in sorted(snapshot.contracts.values(), key=lambda x: x.code):
        if c.fee_items:
            by_customer.setdefault(c.customer, []).append(c)
    refs = {code: (row.description or "") for code, row in snapshot.contract_rows.items()}
    out: list[FeeBilled] = []
    for x in snapshot.xero:
        if not x.live or x.customer not in by_customer:
            continue
        period = x.period or (month_of(x.issued) if x.issued else None)
        if period is None:
            continue
        for line in snapshot.lines.get(x.id, ()):
            terms = by_customer[x.customer]
            named = [c for c in terms if refs.get(c.code) and refs[c.code] in line.description]
            contract = _contract_for(named or terms, line.item_code, period, line.description)
            if contract is None:
                continue
            out.append(
                FeeBilled(contract.code, period, line.amount, x.subject, credit=x.doc_type == "credit_note")
            )
    matched = match_documents(snapshot.xero, snapshot.halopsa, snapshot.revloop)
    for h, copy in matched.halopsa:
        if (
            copy is not None
            or h.status.upper() != "POSTED"
            or h.period is None
            or h.customer not in by_customer
        ):
            continue
        for line in snapshot.halo_lines.get(h.id, ()):
            contract = _contract_for(by_customer[h.customer], line.item_code, h.period, line.description)
            if contract is not None:
                out.append(FeeBilled(contract.code, h.period, line.amount, h.subject, in_xero=False))
    return out


def adjustments(conn: Connection, snapshot: Snapshot) -> list[Adjustment]:
    return [
        Adjustment(snapshot.contract_codes.get(r.contract_id, ""), r.period_start, r.kind, r.amount, r.reason)
        for r in conn.execute(sa.select(t.contract_adjustments).order_by(t.contract_adjustments.c.id))
    ]


def rows(conn: Connection, snapshot: Snapshot, periods: Sequence[Period]) -> list[IdentityRow]:
    return identity_rows(
        list(snapshot.contracts.values()), periods, fees_billed(snapshot), adjustments(conn, snapshot)
    )


def live_invoices(snapshot: Snapshot) -> list[Document]:
    return [x for x in snapshot.xero if x.live and x.doc_type == "invoice"]

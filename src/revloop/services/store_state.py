"""A fingerprint of the store's state, for answers computed from it and kept for later requests.

Two reads of the store that give the same fingerprint hold the same records for what billing and
profitability read: the large tables by their row count and newest id (their rows change in place
only through a sync, which moves the sync watermarks, or through billing, which changes invoices),
the tables people change in place (costs, contracts, rates, calendars, charge types, items, periods)
by their contents, and the invoices by status with their counts, subtotals and latest changes.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t

#: large tables: their row count and newest id
COUNTED = (
    t.time_entries,
    t.tickets,
    t.invoice_lines,
    t.invoices,
    t.expenses,
    t.items_issued,
    t.item_lots,
    t.customers,
    t.agents,
    t.pnl_lines,
    t.external_ids,
    t.contracts,
    t.recurring_charges,
    t.assets,
    t.contract_purchases,
    t.payments,
)
#: tables changed in place by people (costs set, contract set, rate add, ...): their contents
READ = (
    sa.select(t.agent_costs).order_by(t.agent_costs.c.id),
    sa.select(t.contracts).order_by(t.contracts.c.id),
    sa.select(t.charge_types).order_by(t.charge_types.c.id),
    sa.select(t.rate_rows).order_by(t.rate_rows.c.id),
    sa.select(t.calendars).order_by(t.calendars.c.id),
    sa.select(t.tax_rates),
    sa.select(t.items.c.id, t.items.c.code, t.items.c.service_line).order_by(t.items.c.id),
    sa.select(t.item_prices),
    sa.select(t.billing_periods).order_by(t.billing_periods.c.start),
    sa.select(t.sync_watermarks),
    sa.select(t.customers.c.id, t.customers.c.code, t.customers.c.name).order_by(t.customers.c.id),
    sa.select(t.agents.c.id, t.agents.c.name).order_by(t.agents.c.id),
    sa.select(
        t.invoices.c.status,
        t.invoices.c.doc_type,
        sa.func.count(),
        sa.func.sum(t.invoices.c.subtotal),
        sa.func.max(t.invoices.c.source_updated_at),
        sa.func.max(t.invoices.c.posted_at),
    )
    .group_by(t.invoices.c.status, t.invoices.c.doc_type)
    .order_by(t.invoices.c.status, t.invoices.c.doc_type),
)


def fingerprint(conn: Connection) -> str:
    """The store's state as a short text: equal texts, equal records (for billing and profit)."""
    digest = hashlib.sha256()
    counts = sa.select(
        *[sa.select(sa.func.count()).select_from(table).scalar_subquery() for table in COUNTED],
        *[sa.select(sa.func.max(table.c.id)).scalar_subquery() for table in COUNTED],
    )
    digest.update(repr(tuple(conn.execute(counts).one())).encode())
    for query in READ:
        for row in conn.execute(query):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


__all__ = ["COUNTED", "READ", "fingerprint"]

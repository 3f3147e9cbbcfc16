"""A fingerprint of the store's state, for answers computed from it and kept for later requests.

Two reads of the store that give the same fingerprint hold the same records for what billing and
profitability read. It is read on every request that answers from a kept result, so it reads no
table row by row and counts no large table: it is the newest id of every table below (a primary
key's last entry), the row count of the small reference tables, the number of confirmed links, the
newest entry of the audit journal and the sync watermarks.

What it relies on (checked against every writer of these tables):

* a new row gets a higher id than the rows there (or, on SQLite, the id of a row removed by one of
  the changes below, which move the fingerprint themselves);
* rows are changed in place or removed only by a sync, which moves its resource's row in
  ``sync_watermarks`` (at least ``last_run_at``) once the resource has landed, or by revloop's own
  changes, which each append to the audit journal in the same transaction: billing (runs, approvals,
  posting, corrections, billing ahead, closing a period), agents' costs and Xero's Profit and Loss,
  rate rows, contract overrides and adjustments, and upgrading the store;
* the one change of that kind not journalled, confirming a customer's link (``revloop map``), is
  seen in the count of confirmed links and of links.

A change made behind revloop's back (SQL typed into the database) is seen once any of these moves,
for example at the next sync.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t

#: tables that grow (by syncs, billing and people's changes): their newest id
GROWING = (
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
    t.agent_costs,
    t.charge_types,
    t.rate_rows,
    t.calendars,
    t.items,
    t.audit_journal,
)
#: small reference tables (thousands of rows at most): also their row count
SMALL = (
    t.customers,
    t.agents,
    t.contracts,
    t.agent_costs,
    t.charge_types,
    t.rate_rows,
    t.calendars,
    t.items,
    t.item_prices,
    t.tax_rates,
    t.billing_periods,
    t.pnl_lines,
    t.external_ids,
    t.item_lots,
    t.recurring_charges,
    t.contract_purchases,
)


def _figures() -> sa.Select[tuple[object, ...]]:
    """One statement: every figure but the watermarks, each an index lookup or a small count."""
    links = t.external_ids.c.status == "confirmed"
    return sa.select(
        *[sa.select(sa.func.max(table.c.id)).scalar_subquery() for table in GROWING],
        *[sa.select(sa.func.count()).select_from(table).scalar_subquery() for table in SMALL],
        sa.select(sa.func.count()).select_from(t.external_ids).where(links).scalar_subquery(),
    )


WATERMARKS = sa.select(t.sync_watermarks).order_by(t.sync_watermarks.c.system, t.sync_watermarks.c.resource)


def fingerprint(conn: Connection) -> str:
    """The store's state as a short text: equal texts, equal records (for billing and profit)."""
    digest = hashlib.sha256()
    digest.update(repr(tuple(conn.execute(_figures()).one())).encode())
    for row in conn.execute(WATERMARKS):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


__all__ = ["GROWING", "SMALL", "fingerprint"]

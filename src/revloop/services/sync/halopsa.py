"""``sync_halopsa``: HaloPSA into the store, in dependency order, full or incremental.

Order: clients → customers, sites, agents, charge types, contracts, charge rates, prepay lots,
tickets, actions → time entries, expenses, items, assets, recurring invoices, quotations, invoices.
Each resource lands in its own transaction with its watermark, so a failure part-way keeps what
landed and the next run picks up from there. See docs/sync.md for the mapping of every field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from revloop.adapters.halopsa.client import HaloClient

from .common import Runner, engine_of
from .halo_catalogue import sync_assets, sync_invoices, sync_items, sync_quotes, sync_recurring
from .halo_context import SYSTEM, HaloContext
from .halo_reference import (
    sync_agents,
    sync_charge_rates,
    sync_charge_types,
    sync_clients,
    sync_contracts,
    sync_prepay,
    sync_sites,
)
from .halo_work import sync_actions, sync_expenses, sync_tickets
from .report import Progress, SyncReport, WaitTally

RESOURCES = (
    "clients",
    "sites",
    "agents",
    "charge_types",
    "contracts",
    "charge_rates",
    "prepay",
    "tickets",
    "actions",
    "expenses",
    "items",
    "assets",
    "recurring_invoices",
    "quotations",
    "invoices",
)


def sync_halopsa(
    app_or_engine: Any,
    client: HaloClient,
    *,
    full: bool,
    settings: Any,
    now: datetime,
    progress: Progress | None = None,
    waits: WaitTally | None = None,
) -> SyncReport:
    """Bring HaloPSA into the store. ``full`` reads everything (and notices deletions); otherwise
    each resource is read from its watermark. Build ``client`` with ``on_wait=waits`` to have its
    rate-limit waits counted per resource."""
    engine = engine_of(app_or_engine)
    runner = Runner(
        SYSTEM,
        engine,
        full=full,
        now=now,
        calls=lambda: client.requests_sent,
        progress=progress,
        waits=waits,
    )
    ctx = HaloContext(runner, client, currency=settings.currency, zone=ZoneInfo(settings.timezone))
    sync_clients(ctx)
    sync_sites(ctx)
    sync_agents(ctx)
    sync_charge_types(ctx)
    sync_contracts(ctx)
    sync_charge_rates(ctx)
    sync_prepay(ctx)
    changed = sync_tickets(ctx)
    sync_actions(ctx, changed)
    sync_expenses(ctx, changed)
    sync_items(ctx)
    sync_assets(ctx)
    sync_recurring(ctx)
    sync_quotes(ctx)
    sync_invoices(ctx)
    return runner.report

"""Counting what landed, and what a sync asked of the simulators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db import tables
from revloop.demo.generator import DemoMsp


def count(engine: Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def rows(engine: Engine, table: sa.Table) -> dict[Any, tuple[Any, ...]]:
    """Every row keyed by its natural key, without surrogate ids."""
    key = "source_key" if "source_key" in table.c else "halopsa_id"
    with engine.connect() as conn:
        return {
            r._mapping[key]: tuple(v for k, v in r._mapping.items() if k != "id")
            for r in conn.execute(sa.select(table))
        }


def expected_halopsa(msp: DemoMsp) -> dict[str, int]:
    h = msp.halopsa
    return {
        "customers": len(h["client"]),
        "sites": len(h["site"]),
        "agents": len(h["agent"]),
        "charge_types": len(h["lookup"]),
        "contracts": len(h["clientcontract"]),
        "rate_rows": len(h["chargerate"]),
        "contract_purchases": len(h["clientprepay"]),
        "tickets": len([t for t in h["tickets"] if not t.get("deleted")]),
        "time_entries": len(h["actions"]),
        "expenses": len(h["expense"]),
        "items": len(h["item"]),
        "assets": len(h["asset"]),
        "recurring_charges": sum(len(r["lines"]) for r in h["recurringinvoice"]),
        "quotes": len(h["quotation"]),
        "invoices": len(h["invoice"]),
    }


def landed_halopsa(engine: Engine) -> dict[str, int]:
    t = tables
    return {
        "customers": count(engine, t.customers),
        "sites": count(engine, t.sites),
        "agents": count(engine, t.agents),
        "charge_types": count(engine, t.charge_types),
        "contracts": count(engine, t.contracts),
        "rate_rows": count(engine, t.rate_rows),
        "contract_purchases": count(engine, t.contract_purchases),
        "tickets": count(engine, t.tickets),
        "time_entries": count(engine, t.time_entries),
        "expenses": count(engine, t.expenses),
        "items": count(engine, t.items),
        "assets": count(engine, t.assets),
        "recurring_charges": count(engine, t.recurring_charges),
        "quotes": count(engine, t.quotes, t.quotes.c.system == "halopsa"),
        "invoices": count(engine, t.invoices, t.invoices.c.origin == "halopsa"),
    }


def api_calls(counts: dict[str, int]) -> dict[str, int]:
    """Calls per route, leaving out the token endpoints."""
    return {route: n for route, n in counts.items() if "token" not in route}

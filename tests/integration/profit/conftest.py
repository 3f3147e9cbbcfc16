"""The small demo MSP synced into a store once for the module, with the demo's agent costs imported
from ``msp.facts`` and Xero's Profit and Loss read; settings as the demo was billed with."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import make_engine
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.demo.generator import DemoMsp
from revloop.services.profit import costs
from revloop.services.sync import sync_halopsa, sync_xero
from tests.integration.sync.conftest import SETTINGS, World, make_world, small_msp

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HISTORY = [date(2025, 11, 1)] + [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 11)]


def demo_settings(msp: DemoMsp) -> dict[str, Any]:
    """The [costs] and [billing] settings that describe the demo MSP (its facts)."""
    facts = msp.facts
    return {
        "costs_item_unit_costs": {
            r["item_code"]: r["unit_cost"] for rs in facts["recurring"].values() for r in rs
        },
        "costs_service_lines": dict(facts["service_lines"]["items"]),
        "costs_fx_rates": {k: v for k, v in facts["fx"].items() if k != facts["currency"]},
        "costs_mileage_cost_per_unit": facts["mileage_rate"],
        "costs_payroll_accounts": ["477", "478"],
        "costs_overhead_accounts": list(facts["overheads"]["accounts"]),
        "billing_contract_item_codes": {
            "fixed_price": "FEE-FIXED",
            "allowance": "FEE-ALLOW",
            "prepay": "PREPAY",
        },
    }


def write_costs_csv(msp: DemoMsp, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["agent", "from", "salary", "oncost_percent", "productive_hours", "hourly_cost"])
        for a in msp.facts["agents"]:
            oncost = Decimal(a["on_cost_rate"]) * 100
            writer.writerow(
                [a["id"], "2024-01-01", a["salary"], oncost, a["productive_hours"], a["hourly_cost"]]
            )
    return path


@dataclass
class Synced:
    world: World
    app: App
    url: str
    home: Path


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    root = tmp_path_factory.mktemp("profit")
    url = f"sqlite:///{root / 'store.db'}"
    msp = small_msp()
    world = make_world(msp)
    engine = make_engine(url)
    migrations.upgrade(engine)
    sync_halopsa(engine, world.halo, full=True, settings=SETTINGS, now=world.later())
    sync_xero(engine, world.xero, tenant_id=world.tenant, full=True, settings=SETTINGS, now=world.later())
    app = App(Settings(home=root / "home", database_url=url, **demo_settings(msp)), engine)
    costs.import_csv(app, write_costs_csv(msp, root / "costs.csv"), now=NOW)
    costs.sync_pnl(engine, world.xero, world.tenant, HISTORY, currency="GBP", now=NOW)
    yield Synced(world, app, url, root / "home")
    for closer in world.closers:
        closer.close()
    engine.dispose()

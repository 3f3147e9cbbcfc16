"""Posting benchmark: Xero calls per posted invoice, against the lower bound ceil(n / 50).

Builds a store with N customers each owed one invoice, bills and approves them, and posts them
to the in-process Xero simulator. Prints JSON and writes bench/results/post.json.
Machine: 2 cores, shared and noisy; compare figures within one run.

    python bench/post.py --invoices 1000 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from revloop.adapters.db import migrations, repository
from revloop.adapters.db import tables as t
from revloop.adapters.xero.factory import custom_connection_client
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.demo.catalogue import xero_settings
from revloop.domain.periods import Period
from revloop.services.billing import post, run
from revloop.simulators.common import mock_transport
from revloop.simulators.xero import XeroSimulator

TENANT = "7a1d0c2e-0000-4000-8000-00000000cccc"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = Period.month(2026, 10)


def build_store(app: App, invoices: int) -> None:
    with app.engine.begin() as conn:
        conn.execute(t.tax_rates.insert().values(code="OUTPUT2", name="VAT", rate_percent=Decimal(20)))
        ct = conn.execute(
            t.charge_types.insert()
            .values(
                code="remote",
                name="Remote support",
                item_code="LAB-REMOTE",
                account_code="200",
                tax_code="OUTPUT2",
                billable=True,
            )
            .returning(t.charge_types.c.id)
        ).scalar_one()
        conn.execute(
            t.rate_rows.insert().values(
                charge_type_id=ct,
                scope="global",
                effective_from=date(2026, 1, 1),
                hourly_rate=Decimal(95),
                increment_minutes=Decimal(15),
                rounding="up",
                source="local",
            )
        )
        agent = conn.execute(
            t.agents.insert().values(name="alice", active=True).returning(t.agents.c.id)
        ).scalar_one()
        customers = [
            {
                "code": f"c{i}",
                "name": f"Client {i}",
                "currency": "GBP",
                "active": True,
                "local_overrides": {},
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(invoices)
        ]
        repository.upsert(conn, t.customers, customers, key=("code",))
        ids = repository.id_map(conn, t.customers, "code")
        entries = [
            {
                "source_key": f"{1000 + i}/1",
                "customer_id": ids[f"c{i}"],
                "agent_id": agent,
                "charge_type_id": ct,
                "start_utc": datetime(2026, 10, 6, 9, 0, tzinfo=UTC),
                "work_date": date(2026, 10, 6),
                "minutes": Decimal(20 + i % 40),
                "non_billable_minutes": 0,
                "travel_minutes": 0,
                "mileage": 0,
                "billing_state": "unbilled",
            }
            for i in range(invoices)
        ]
        repository.upsert(conn, t.time_entries, entries, key=("source_key",))
        for i in range(invoices):
            repository.link(
                conn,
                entity="customer",
                local_id=f"c{i}",
                system="xero",
                external_id=f"c0000000-0000-4000-8000-{i:012d}",
                at=NOW,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="revloop-bench-post-"))
    sim = XeroSimulator(demo_org=False, minute_limit=10_000, day_limit=1_000_000)
    data = {k: v for k, v in xero_settings(TENANT).items() if k != "Organisation"}
    data["Contacts"] = [
        {"ContactID": f"c0000000-0000-4000-8000-{i:012d}", "Name": f"Client {i}", "ContactStatus": "ACTIVE"}
        for i in range(args.invoices)
    ]
    sim.seed(data, tenant_id=TENANT, name="Bench IT Ltd", chart=False)
    sim.add_custom_connection("BENCH", "bench-secret", TENANT)
    app = App(
        Settings(
            home=folder,
            database_url=f"sqlite:///{folder / 'store.db'}",
            xero_client_id="BENCH",
            xero_client_secret=SecretStr("bench-secret"),
            xero_identity_url="http://sim/identity",
            xero_api_url="http://sim/api.xro/2.0",
            xero_connections_url="http://sim/connections",
        )
    )
    migrations.upgrade(app.engine)
    build_store(app, args.invoices)
    started = time.perf_counter()
    billed = run.bill(app, PERIOD, now=NOW)
    bill_seconds = time.perf_counter() - started
    run.approve(app, now=NOW, by="bench", everything=True)
    sim.log.clear()
    started = time.perf_counter()
    with custom_connection_client(app.settings, transport=mock_transport(sim)) as client:
        result = post.post(app, client, TENANT, now=NOW)
    post_seconds = time.perf_counter() - started
    counts = sim.log.counts()
    invoice_calls = sum(n for route, n in counts.items() if "/Invoices" in route)
    all_calls = sum(counts.values())
    bound = math.ceil(args.invoices / 50)
    figures = {
        "invoices": args.invoices,
        "posted": len(result.posted),
        "drafts": len(billed.drafts),
        "xero_invoice_calls": invoice_calls,
        "xero_calls_all": all_calls,
        "lower_bound": bound,
        "ratio_to_lower_bound": round(invoice_calls / bound, 3),
        "calls_per_invoice": round(all_calls / max(len(result.posted), 1), 4),
        "bill_seconds": round(bill_seconds, 3),
        "post_seconds": round(post_seconds, 3),
        "load_average": os.getloadavg()[0],
        "machine": "2 cores, shared",
    }
    out = Path(__file__).with_name("results") / "post.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
    app.close()


if __name__ == "__main__":
    main()

"""Dashboard response times: ``python bench/web.py [--entries N] [--repeat N] [--db both] --json``.

Builds (or reuses) a store shaped like a real MSP with ``--entries`` time entries (default
1,000,000: 1,000 customers, 360 agents, half a million tickets, contracts of every kind, dated rate
rows, a year of posted invoices with their lines and Xero's copies, payments, contract balances,
findings, assets and recurring charges) on SQLite and PostgreSQL, written with bulk inserts
(executemany on SQLite, COPY on PostgreSQL). Then signs in a finance user (an admin for the routes a
finance user may not open) and requests every GET page and API route of the dashboard, enumerated
from the app's router so new pages are covered, with real sample values for path parameters (a
customer code, a period, an invoice key, ...): each ``--repeat`` times after 3 warm-ups, in-process
through the ASGI app. A route whose warm-ups are slow is repeated fewer times (``--budget`` seconds
per route, at least 5 times). The dashboard is started as a server starts it, and timed once its
background pass (the profitability figures, charts and cost view, computed when it starts and again
after the store changes) is done; that pass's time is reported apart. The billing run's preview is
computed in the background: before the routes are timed, the open month's preview is asked for until
it is ready (its cold computation time is reported apart, with the stages seen), so its pages and
API routes are timed ready; then it is dropped and the answers given while it is computed again
(202 with the progress, and the page) are timed with the computation running.

Figures per route: the server time (inside the ASGI app, from the request to the last byte of the
response) p50, p95 and max in milliseconds, the first (cold) request, the response size, and
whether p95 is under 150 ms. Machine: 2 cores, shared and noisy; the load average at the start is
recorded. Writes ``bench/results/web.json`` (keeping the other database's entry when only one runs).

Stores are cached under ``bench/.cache/`` (SQLite files, and a marker naming each PostgreSQL
database), keyed by the size fingerprint (entries, seed, builder version); the schema revision is
recorded, and a cached store behind the code's migrations is upgraded in place (a newer or unknown
one is rebuilt). ``--rebuild`` builds afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Route as StarletteRoute

from revloop.adapters.db import migrations
from revloop.adapters.db import tables as t
from revloop.adapters.db.engine import make_engine
from revloop.adapters.db.types import UtcDateTime
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.web import auth
from revloop.web.app import create_app
from revloop.web.roles import Action, Role, can

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "web.json"
PG_SERVER = os.environ.get("REVLOOP_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BUILDER = "1"  # bump when the store's shape changes: cached stores are then rebuilt
SEED = 7
TARGET_MS = 150.0
WARMUPS = 3
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
OPEN = date(2026, 11, 1)  # the open month: work not billed yet
FIRST = date(2025, 11, 1)  # twelve closed months before it
PASSWORD = "bench password 1234"
USERS = {Role.FINANCE: "bench-finance", Role.ADMIN: "bench-admin"}

# -- the MSP -------------------------------------------------------------------------------------

CHARGE_TYPES = [  # id, code, name, item, travel type, service line, weight, minutes (low, high)
    (1, "ct1", "Remote Support", "LAB-REMOTE", None, "Support", 70, (15, 90)),
    (2, "ct2", "On-site Support", "LAB-ONSITE", 4, "Support", 8, (60, 300)),
    (3, "ct3", "Project Work", "LAB-PROJECT", None, "Projects", 14, (60, 480)),
    (4, "ct4", "Travel", "LAB-TRAVEL", None, "Support", 0, (15, 60)),
    (5, "ct5", "After-hours Emergency", "LAB-EMERG", None, "Support", 2, (60, 240)),
]
NO_TYPE_WEIGHT = 6  # entries without a charge type: not billable
GLOBAL_RATES = [  # charge type, from, rate, minimum, increment, rounding, ooh, weekend, holiday, overage
    (1, date(2025, 4, 1), "90", 15, 15, "nearest", "1.5", "1.5", "2", "1.25"),
    (1, date(2026, 4, 1), "95", 15, 15, "nearest", "1.5", "1.5", "2", "1.25"),
    (2, date(2025, 4, 1), "110", 60, 15, "up", "1.5", "1.5", "2", "1.25"),
    (2, date(2026, 4, 1), "115", 60, 15, "up", "1.5", "1.5", "2", "1.25"),
    (3, date(2025, 4, 1), "120", 0, 30, "nearest", "1.5", "1.5", "2", "1"),
    (3, date(2026, 4, 1), "125", 0, 30, "nearest", "1.5", "1.5", "2", "1"),
    (4, date(2025, 4, 1), "45", 0, 15, "up", "1", "1", "1", "1"),
    (5, date(2025, 4, 1), "150", 60, 30, "up", "1", "1", "1.5", "1"),
    (5, date(2026, 6, 1), "160", 60, 30, "up", "1", "1", "1.5", "1"),
]
ITEMS = [  # code, name, unit price, account, service line
    ("LAB-REMOTE", "Remote support (per hour)", "95", "200", "Support"),
    ("LAB-ONSITE", "On-site support (per hour)", "115", "200", "Support"),
    ("LAB-PROJECT", "Project work (per hour)", "125", "202", "Projects"),
    ("LAB-TRAVEL", "Travel time (per hour)", "45", "200", "Support"),
    ("LAB-EMERG", "After-hours emergency (per hour)", "160", "200", "Support"),
    ("MILEAGE", "Mileage (per mile)", "0.45", "200", "Support"),
    ("EXPENSES", "Recharged expenses", "0", "260", "Support"),
    ("FEE-FIXED", "Managed service agreement (monthly)", "0", "201", "Managed"),
    ("FEE-ALLOW", "Support hours agreement (monthly)", "0", "201", "Managed"),
    ("PREPAY", "Prepaid support credit", "0", "201", "Support"),
    ("BACKUP", "Cloud backup per server (monthly)", "35", "203", "Cloud"),
    ("M365-BP", "Microsoft 365 Business Premium per user (monthly)", "18.10", "203", "Cloud"),
    ("HOSTING", "Hosted server (monthly)", "120", "203", "Cloud"),
    ("MONITOR", "RMM monitoring & AV per device (monthly)", "6.50", "201", "Managed"),
    ("CONSULT", "Consultancy day", "850", "202", "Projects"),
]
TAX_RATES = [
    ("INPUT2", "20% (VAT on Expenses)", "20"),
    ("OUTPUT2", "20% (VAT on Income)", "20"),
    ("EXEMPTOUTPUT", "Exempt Income", "0"),
    ("NONE", "No VAT", "0"),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0"),
]
KINDS = [("payg", 40), ("fixed_price", 25), ("allowance", 20), ("prepay", 15)]
FEE_ITEMS = {"fixed_price": "FEE-FIXED", "allowance": "FEE-ALLOW", "prepay": "PREPAY"}
FIRST_WORDS = [
    "Millbrook",
    "Dunmore",
    "Ashford",
    "Kestrel",
    "Harbour",
    "Larchwood",
    "Redfern",
    "Oakleigh",
    "Thornbury",
    "Westgate",
    "Brightwater",
    "Calder",
    "Elmstead",
    "Foxhall",
    "Greyfriars",
    "Hollins",
    "Ivybridge",
    "Juniper",
    "Kingsmead",
    "Lindale",
    "Marlow",
    "Northcote",
    "Orchard",
    "Pemberton",
    "Queensway",
    "Riverside",
    "Saltash",
    "Tamworth",
    "Upton",
    "Valemount",
    "Whitcombe",
    "Yarrow",
]
TRADES = [
    "Estate Agents",
    "Dental Practice",
    "Accountants",
    "Solicitors",
    "Veterinary Clinic",
    "Architects",
    "Engineering",
    "Logistics",
    "Builders Merchants",
    "Surveyors",
    "Opticians",
    "Recruitment",
    "Insurance Brokers",
    "Pharmacy",
    "Marketing",
    "Property Management",
    "Financial Planning",
    "Printing",
    "Joinery",
    "Care Homes",
]
FORMS = ("Ltd", "LLP", "Ltd", "Group Ltd", "& Co")
AGENT_FIRST = [
    "Ethan",
    "Sophie",
    "Oliver",
    "Amelia",
    "Jack",
    "Isla",
    "Harry",
    "Ava",
    "Noah",
    "Mia",
    "Leo",
    "Grace",
    "Oscar",
    "Freya",
    "Arthur",
    "Lily",
]
AGENT_LAST = [
    "Wright",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Hughes",
]
AGENT_ROLES = ("Helpdesk Engineer L1", "Helpdesk Engineer L2", "Field Engineer", "Project Engineer")
SUMMARIES = (
    "PC very slow after updates",
    "Printer offline on first floor",
    "New starter setup",
    "Leaver: disable accounts",
    "Outlook keeps asking for password",
    "VPN will not connect from home",
    "Server disk space warning",
    "Firewall firmware update",
    "Backup job failed overnight",
    "Phishing email reported",
    "Shared mailbox permissions",
    "Laptop screen flickering",
    "Wi-Fi drops in meeting room",
    "Line-of-business app upgrade",
    "Microsoft 365 licence change",
)
NOTES = (
    "Remoted in, cleared cached credentials, tested with user.",
    "Called user, walked through the change, confirmed working.",
    "Replaced the part on site, tested, left working.",
    "Applied updates, rebooted out of hours, checked services.",
    "Investigated logs, raised with vendor, workaround in place.",
)
FINDING_CODES = (  # code, severity, has an amount
    ("xero.drift", "error", True),
    ("work.unbilled", "warning", True),
    ("contract.renewal_due", "info", False),
    ("prepay.below_threshold", "warning", True),
    ("rate.below_global", "warning", True),
    ("invoice.overdue", "error", True),
    ("recurring.count_changed", "warning", True),
    ("mapping.suggested", "info", False),
)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


CLOSED = [add_months(FIRST, i) for i in range(12)]
MONTHS = [*CLOSED, OPEN]


def minor(value: Decimal | str | int) -> int:
    """Money2: minor units."""
    return int((Decimal(value) * 100).to_integral_value())


def qty(value: Decimal | str | int) -> int:
    """Qty4: 1/10,000."""
    return int((Decimal(value) * 10000).to_integral_value())


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@dataclass
class Contract:
    id: int
    code: str
    kind: str
    start: date
    end: date
    fee: Decimal | None
    hours: Decimal | None
    unit: str | None


@dataclass
class Customer:
    id: int
    code: str
    name: str
    weight: float
    itemised: bool
    agents: list[int]
    sites: list[int]
    contracts: list[Contract] = field(default_factory=list)
    recurring: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)  # code, item, qty, unit
    rates: dict[int, Decimal] = field(default_factory=dict)  # charge type id -> customer rate

    def contract_on(self, day: date) -> Contract | None:
        for c in self.contracts:
            if c.start <= day < c.end:
                return c
        return None


@dataclass
class Rows:
    """Rows for one table, in the table's column order of ``columns``."""

    table: sa.Table
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class Sink:
    """Buffers rows per table and hands them to a writer in batches, parents first."""

    ORDER = (
        "tickets",
        "time_entries",
        "invoices",
        "invoice_lines",
        "payments",
        "contract_balances",
    )

    def __init__(self, write: Callable[[Rows], None], batch: int = 50_000) -> None:
        self.write = write
        self.batch = batch
        self.buffers: dict[tuple[str, tuple[str, ...]], Rows] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: sa.Table, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        buffer = self.buffers.get((table.name, columns))
        if buffer is None:
            buffer = self.buffers[(table.name, columns)] = Rows(table, columns)
        buffer.rows.append(row)
        if len(buffer.rows) >= self.batch:
            self.flush()

    def many(self, table: sa.Table, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            self.add(table, columns, row)

    def flush(self) -> None:
        def rank(key: tuple[str, tuple[str, ...]]) -> int:
            return self.ORDER.index(key[0]) if key[0] in self.ORDER else -1

        for key in sorted(self.buffers, key=rank):
            buffer = self.buffers[key]
            if buffer.rows:
                self.write(buffer)
                self.counts[key[0]] = self.counts.get(key[0], 0) + len(buffer.rows)
                buffer.rows = []


class Msp:
    """Generates the store's rows deterministically from the seed and the number of entries."""

    def __init__(self, entries: int, seed: int = SEED) -> None:
        self.entries = entries
        self.rng = random.Random(seed)
        self.customer_count = max(10, round(entries / 1000))
        self.agent_count = max(8, round(entries * 360 / 1_000_000))
        self.ids: dict[str, int] = {}
        self.samples: dict[str, str] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    # -- reference data -------------------------------------------------------------------------
    def reference(self, sink: Sink) -> None:
        sink.many(
            t.tax_rates,
            ("code", "name", "rate_percent", "status", "updated_at"),
            ((c, n, qty(r), "ACTIVE", NOW) for c, n, r in TAX_RATES),
        )
        sink.many(
            t.items,
            ("id", "code", "halopsa_id", "xero_id", "name", "unit_price", "tax_code", "account_code"),
            (
                (i, c, str(i), str(uuid.UUID(int=0xB1 << 96 | i)), n, qty(p), "OUTPUT2", a)
                for i, (c, n, p, a, _line) in enumerate(ITEMS, 1)
            ),
        )
        cts = ("id", "code", "halopsa_id", "name", "item_code", "travel_charge_type_id", "service_line")
        sink.many(
            t.charge_types,
            (*cts, "billable"),
            ((i, c, str(i), n, item, tr, line, True) for i, c, n, item, tr, line, _w, _m in CHARGE_TYPES),
        )
        rate_cols = (
            "id",
            "charge_type_id",
            "scope",
            "effective_from",
            "hourly_rate",
            "minimum_minutes",
            "increment_minutes",
            "rounding",
            "ooh_multiplier",
            "weekend_multiplier",
            "holiday_multiplier",
            "overage_multiplier",
            "source",
        )
        for ct, start, rate, low, inc, rounding, ooh, wkd, hol, over in GLOBAL_RATES:
            sink.add(
                t.rate_rows,
                rate_cols,
                (
                    self.next_id("rate_rows"),
                    ct,
                    "global",
                    start,
                    qty(rate),
                    qty(low),
                    qty(inc),
                    rounding,
                    qty(ooh),
                    qty(wkd),
                    qty(hol),
                    qty(over),
                    "halopsa",
                ),
            )
        agent_cols = ("id", "halopsa_id", "name", "email", "role", "active")
        cost_cols = (
            "id",
            "agent_id",
            "effective_from",
            "currency",
            "annual_salary",
            "oncost_percent",
            "productive_hours_per_year",
        )
        rng = self.rng
        for i in range(1, self.agent_count + 1):
            first, last = rng.choice(AGENT_FIRST), rng.choice(AGENT_LAST)
            name = f"{first} {last} {i}"
            email = f"{first}.{last}{i}@msp.example".lower()
            sink.add(t.agents, agent_cols, (i, str(i + 1), name, email, rng.choice(AGENT_ROLES), True))
            salary = Decimal(rng.randrange(28_000, 62_000, 500))
            sink.add(
                t.agent_costs, cost_cols, (i, i, date(2024, 1, 1), "GBP", minor(salary), qty(18), qty(1540))
            )
            if i % 4 == 0:  # a pay rise during the year
                raised = minor(salary * Decimal("1.04"))
                sink.add(
                    t.agent_costs,
                    cost_cols,
                    (self.agent_count + i, i, date(2026, 4, 1), "GBP", raised, qty(18), qty(1540)),
                )
        sink.add(
            t.billing_periods,
            ("start", "end", "status", "closed_at", "closed_by"),
            (OPEN, add_months(OPEN, 1), "open", None, None),
        )
        for month in CLOSED:
            status = "open" if month == CLOSED[-1] else "closed"
            closed_at = at(add_months(month, 1), 17) + timedelta(days=9) if status == "closed" else None
            sink.add(
                t.billing_periods,
                ("start", "end", "status", "closed_at", "closed_by"),
                (month, add_months(month, 1), status, closed_at, "finance" if closed_at else None),
            )
        pnl_cols = (
            "id",
            "month",
            "section",
            "account_code",
            "account_name",
            "amount",
            "currency",
            "fetched_at",
        )
        accounts = [
            ("Operating Expenses", "477", "Salaries", 9_000),
            ("Operating Expenses", "478", "Employer's NI and pensions", 1_600),
            ("Operating Expenses", "469", "Rent", 1_200),
            ("Operating Expenses", "489", "Telephone & Internet", 300),
            ("Operating Expenses", "463", "IT Software and Consumables", 900),
            ("Cost of Sales", "310", "Cost of Goods Sold", 2_500),
        ]
        for month in CLOSED:
            for section, code, name, per_agent_cost in accounts:
                amount = Decimal(per_agent_cost * self.agent_count // 10) * Decimal(rng.uniform(0.95, 1.05))
                row = (
                    self.next_id("pnl"),
                    month,
                    section,
                    code,
                    name,
                    minor(amount.quantize(Decimal("0.01"))),
                )
                sink.add(t.pnl_lines, pnl_cols, (*row, "GBP", NOW))
        sync_cols = ("system", "resource", "watermark", "last_run_at", "last_full_at", "records")
        for system, resources in (
            (
                "halopsa",
                "clients sites agents charge_types contracts charge_rates prepay tickets actions "
                "expenses items assets recurring_invoices quotations invoices",
            ),
            ("xero", "contacts items tax_rates accounts invoices credit_notes payments quotes"),
        ):
            for resource in resources.split():
                ran = NOW - timedelta(minutes=rng.randint(1, 14))
                sink.add(
                    t.sync_watermarks,
                    sync_cols,
                    (system, resource, ran.isoformat(), ran, NOW - timedelta(days=1), 0),
                )
        sink.add(
            t.job_leases,
            (
                "name",
                "holder",
                "lease_until",
                "last_started_at",
                "last_finished_at",
                "last_ok_at",
                "runs",
                "failures",
            ),
            (
                "sync",
                None,
                None,
                NOW - timedelta(minutes=6),
                NOW - timedelta(minutes=5),
                NOW - timedelta(minutes=5),
                9000,
                3,
            ),
        )

    # -- customers, contracts, rates --------------------------------------------------------------
    def customers(self, sink: Sink) -> list[Customer]:
        rng = self.rng
        out = []
        cust_cols = (
            "id",
            "code",
            "name",
            "currency",
            "presentation",
            "line_amount_types",
            "active",
            "separate_invoice_per_contract",
            "local_overrides",
            "source_updated_at",
            "created_at",
            "updated_at",
        )
        site_cols = ("id", "halopsa_id", "customer_id", "name", "timezone")
        for i in range(1, self.customer_count + 1):
            code = f"c{99 + i}"
            name = f"{rng.choice(FIRST_WORDS)} {rng.choice(TRADES)} {rng.choice(FORMS)}"
            itemised = rng.random() < 0.85
            pool = rng.sample(range(1, self.agent_count + 1), min(self.agent_count, rng.randint(6, 14)))
            sites = []
            for s in range(1 if rng.random() < 0.6 else rng.randint(2, 3)):
                site = self.next_id("sites")
                sites.append(site)
                sink.add(
                    t.sites,
                    site_cols,
                    (site, str(site), i, "Head Office" if s == 0 else f"Branch {s}", "Europe/London"),
                )
            customer = Customer(i, code, name, rng.paretovariate(1.6), itemised, pool, sites)
            out.append(customer)
            sink.add(
                t.customers,
                cust_cols,
                (
                    i,
                    code,
                    name,
                    "GBP",
                    "itemised" if itemised else "summary",
                    "Exclusive",
                    True,
                    False,
                    "{}",
                    NOW,
                    NOW,
                    NOW,
                ),
            )
            self.contracts(sink, customer)
            self.extras(sink, customer)
        total = sum(c.weight for c in out)
        for c in out:
            c.weight /= total
        return out

    def contracts(self, sink: Sink, customer: Customer) -> None:
        rng = self.rng
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        start = add_months(FIRST, -rng.randint(0, 24))
        cols = (
            "id",
            "code",
            "halopsa_id",
            "customer_id",
            "kind",
            "start",
            "end",
            "billing",
            "fee",
            "hours_per_period",
            "rollover",
            "unit",
            "threshold",
            "on_exhausted",
            "description",
            "annual_value",
            "local_overrides",
            "source_updated_at",
        )
        while True:
            length = rng.choice((12, 24, 36))
            end = add_months(start, length)
            cid = self.next_id("contracts")
            fee = hours = threshold = None
            unit = None
            if kind == "fixed_price":
                fee = Decimal(rng.randrange(150, 3000, 5))
            elif kind == "allowance":
                hours = Decimal(rng.randrange(2, 40))
                fee = hours * Decimal(80)
            elif kind == "prepay":
                unit = rng.choice(("hours", "money"))
                threshold = Decimal(5) if unit == "hours" else Decimal(500)
            contract = Contract(cid, f"k{1000 + cid}", kind, start, end, fee, hours, unit)
            customer.contracts.append(contract)
            label = {"payg": "PAY", "fixed_price": "MSA", "allowance": "SUPP", "prepay": "PRE"}[kind]
            sink.add(
                t.contracts,
                cols,
                (
                    cid,
                    contract.code,
                    str(cid),
                    customer.id,
                    kind,
                    start,
                    end,
                    "monthly",
                    None if fee is None else minor(fee),
                    None if hours is None else qty(hours),
                    kind == "allowance" and cid % 3 == 0,
                    unit,
                    None if threshold is None else qty(threshold),
                    "payg",
                    f"{customer.code[1:]}-{label}-{start:%y%m}",
                    None if fee is None else minor(fee * 12),
                    "{}",
                    at(start) - timedelta(days=14),
                ),
            )
            if kind == "prepay":
                amount = (
                    Decimal(rng.choice((20, 40, 80)))
                    if unit == "hours"
                    else Decimal(rng.choice((2000, 5000)))
                )
                day = start
                while day < min(end, TODAY):
                    sink.add(
                        t.contract_purchases,
                        ("id", "contract_id", "date", "amount", "source", "halopsa_id"),
                        (
                            self.next_id("purchases"),
                            cid,
                            day,
                            qty(amount),
                            "halopsa",
                            str(self.ids["purchases"]),
                        ),
                    )
                    day = add_months(day, 3)
            if kind in ("allowance", "prepay"):
                balance = Decimal(rng.randint(0, 40))
                for month in CLOSED:
                    if start <= month < end:
                        closing = balance - Decimal(rng.randint(0, 8))
                        sink.add(
                            t.contract_balances,
                            (
                                "contract_id",
                                "period_start",
                                "period_end",
                                "opening",
                                "closing",
                                "unit",
                                "computed_at",
                            ),
                            (
                                cid,
                                month,
                                add_months(month, 1),
                                qty(balance),
                                qty(closing),
                                unit or "hours",
                                at(add_months(month, 1)),
                            ),
                        )
                        balance = closing if closing > 0 else Decimal(rng.randint(10, 40))
            if rng.random() < 0.02:
                sink.add(
                    t.rate_rows,
                    (
                        "id",
                        "charge_type_id",
                        "scope",
                        "customer_id",
                        "contract_id",
                        "effective_from",
                        "hourly_rate",
                        "source",
                    ),
                    (self.next_id("rate_rows"), 3, "contract", customer.id, cid, start, qty(110), "halopsa"),
                )
            if end > TODAY:
                if end <= TODAY + timedelta(days=75) and rng.random() < 0.5:
                    sink.add(
                        t.quotes,
                        (
                            "id",
                            "system",
                            "external_id",
                            "customer_id",
                            "number",
                            "date",
                            "expiry",
                            "status",
                            "currency",
                            "total",
                            "title",
                            "source_updated_at",
                        ),
                        (
                            self.next_id("quotes"),
                            "halopsa",
                            str(self.ids["quotes"]),
                            customer.id,
                            f"QU-{self.ids['quotes']:05d}",
                            TODAY - timedelta(days=10),
                            TODAY + timedelta(days=20),
                            "1",
                            "GBP",
                            minor((fee or Decimal(900)) * 12),
                            f"Renewal of {contract.code}, 12 months",
                            NOW,
                        ),
                    )
                break
            start = end

    def extras(self, sink: Sink, customer: Customer) -> None:
        rng = self.rng
        if rng.random() < 0.35:
            for ct in rng.sample((1, 2, 3, 5), rng.randint(1, 2)):
                base = Decimal(GLOBAL_RATES[[r[0] for r in GLOBAL_RATES].index(ct)][2])
                rate = base + Decimal(rng.randrange(-10, 30, 5))
                customer.rates[ct] = rate
                sink.add(
                    t.rate_rows,
                    (
                        "id",
                        "charge_type_id",
                        "scope",
                        "customer_id",
                        "effective_from",
                        "hourly_rate",
                        "source",
                    ),
                    (
                        self.next_id("rate_rows"),
                        ct,
                        "customer",
                        customer.id,
                        date(2025, 4, 1),
                        qty(rate),
                        "halopsa",
                    ),
                )
        devices = rng.randint(5, 100)
        servers = rng.randint(0, 5)
        asset_cols = ("id", "halopsa_id", "customer_id", "site_id", "asset_type", "name", "active")
        for kind, count in (("workstation", devices), ("server", servers), ("firewall", 1)):
            for n in range(count):
                aid = self.next_id("assets")
                name = f"{customer.code.upper()}-{kind[:2].upper()}{n + 1:03d}"
                sink.add(
                    t.assets, asset_cols, (aid, str(aid), customer.id, customer.sites[0], kind, name, True)
                )
        rec_cols = (
            "id",
            "code",
            "halopsa_id",
            "customer_id",
            "item_code",
            "description",
            "quantity",
            "count_source",
            "unit_amount",
            "frequency",
            "start",
            "timing",
            "tax_code",
        )
        charges = [("MONITOR", "assets:device", Decimal(devices + servers), Decimal("6.50"))]
        charges.append(("M365-BP", "users", Decimal(max(1, devices - rng.randint(0, 3))), Decimal("18.10")))
        if servers:
            charges.append(("BACKUP", "assets:server", Decimal(servers), Decimal(35)))
        if rng.random() < 0.3:
            charges.append(("HOSTING", None, Decimal(1), Decimal(120)))  # type: ignore[arg-type]
        for item, source, quantity, unit in charges:
            rid = self.next_id("recurring")
            code = f"ri{customer.id}-{rid}"
            customer.recurring.append((code, item, quantity, unit))
            description = next(name for c, name, *_ in ITEMS if c == item)
            sink.add(
                t.recurring_charges,
                rec_cols,
                (
                    rid,
                    code,
                    f"{customer.id}/{rid}",
                    customer.id,
                    item,
                    description,
                    qty(quantity),
                    source,
                    qty(unit),
                    "monthly",
                    date(2024, 11, 1),
                    "advance",
                    "OUTPUT2",
                ),
            )
        ext_cols = (
            "id",
            "entity",
            "local_id",
            "system",
            "external_id",
            "status",
            "method",
            "confirmed_by",
            "created_at",
        )
        for system, external in (
            ("halopsa", str(customer.id + 99)),
            ("xero", str(uuid.UUID(int=0xC0 << 96 | customer.id))),
        ):
            sink.add(
                t.external_ids,
                ext_cols,
                (
                    self.next_id("external_ids"),
                    "customer",
                    customer.code,
                    system,
                    external,
                    "confirmed",
                    "stored_id",
                    "revloop",
                    NOW,
                ),
            )

    # -- work and invoices ---------------------------------------------------------------------------
    def work(self, sink: Sink, customers: list[Customer]) -> None:
        rng = self.rng
        weights = [w for *_, w, _m in CHARGE_TYPES] + [NO_TYPE_WEIGHT]
        types = [ct[0] for ct in CHARGE_TYPES] + [None]
        days_in = {m: [add_months(m, 1) - timedelta(days=d) for d in range(1, 32)] for m in MONTHS}
        working = {
            m: sorted(
                d for d in days_in[m] if d.month == m.month and d.weekday() < 5 and (m != OPEN or d < TODAY)
            )
            for m in MONTHS
        }
        span = len(CLOSED) + (TODAY.day - 1) / 30
        ticket_cols = (
            "id",
            "halopsa_id",
            "customer_id",
            "site_id",
            "contract_id",
            "summary",
            "service_line",
            "opened_at",
            "closed_at",
            "source_updated_at",
        )
        entry_cols = (
            "id",
            "source_key",
            "ticket_id",
            "customer_id",
            "agent_id",
            "charge_type_id",
            "contract_id",
            "start_utc",
            "work_date",
            "minutes",
            "non_billable_minutes",
            "travel_minutes",
            "mileage",
            "service_line",
            "note",
            "billing_state",
            "invoice_key",
            "invoice_number",
            "state_reason",
            "state_by",
            "state_at",
            "source_updated_at",
        )
        written = 0
        number = 0
        remaining = self.entries
        for index, customer in enumerate(customers):
            share = (
                remaining
                if index == len(customers) - 1
                else min(remaining, round(self.entries * customer.weight))
            )
            remaining -= share
            per_month = share / span
            for month in MONTHS:
                count = round(per_month * (1 if month != OPEN else (TODAY.day - 1) / 30))
                if month == MONTHS[-1] and customer is customers[-1]:
                    count = self.entries - written
                count = max(0, min(count, self.entries - written))
                key = f"revloop:{customer.code}:all:{month.isoformat()}"
                entries_here = []
                made = 0
                while made < count:
                    ticket = self.next_id("tickets")
                    days = working[month]
                    day = rng.choice(days)
                    contract = customer.contract_on(day)
                    in_ticket = min(count - made, rng.choice((1, 1, 2, 2, 2, 3, 4)))
                    project = rng.random() < 0.1
                    line = "Projects" if project else "Support"
                    opened = at(day, rng.randint(7, 16), rng.randint(0, 59))
                    sink.add(
                        t.tickets,
                        ticket_cols,
                        (
                            ticket,
                            str(1000 + ticket),
                            customer.id,
                            rng.choice(customer.sites),
                            contract.id if contract else None,
                            rng.choice(SUMMARIES),
                            line,
                            opened,
                            opened + timedelta(hours=rng.randint(1, 72)),
                            opened + timedelta(hours=73),
                        ),
                    )
                    for action in range(1, in_ticket + 1):
                        entry_id = written + 1
                        ct = 3 if project else rng.choices(types, weights)[0]
                        low, high = CHARGE_TYPES[ct - 1][7] if ct else (15, 60)
                        minutes = rng.randrange(low, high + 1, 15)
                        work_day = day if action == 1 else rng.choice(days)
                        hour = rng.randint(8, 17) if rng.random() > 0.05 else rng.choice((6, 19, 21))
                        start = at(work_day, hour, rng.choice((0, 15, 30, 45)))
                        travel = rng.choice((20, 30, 45)) if ct == 2 else 0
                        state = "unbilled" if month == OPEN else "invoiced"
                        if ct is None:
                            state = "not_billable"
                        elif month != OPEN and contract and contract.kind == "fixed_price":
                            state = "covered"
                        reason = by = None
                        if state != "not_billable" and rng.random() < 0.005:
                            state, reason, by = "written_off", "goodwill: repeat visit", "finance"
                        billed = state in ("invoiced", "covered")
                        sink.add(
                            t.time_entries,
                            entry_cols,
                            (
                                entry_id,
                                f"{1000 + ticket}/{action}",
                                ticket,
                                customer.id,
                                rng.choice(customer.agents),
                                ct,
                                contract.id if contract else None,
                                start,
                                start.date(),
                                qty(minutes),
                                qty(15) if rng.random() < 0.03 else 0,
                                qty(travel),
                                qty(rng.randint(5, 40)) if travel else 0,
                                line if ct else None,
                                rng.choice(NOTES),
                                state,
                                key if billed else None,
                                None,
                                reason,
                                by,
                                NOW if by else None,
                                start + timedelta(minutes=minutes + 5),
                            ),
                        )
                        entries_here.append(
                            (entry_id, f"{1000 + ticket}/{action}", ct, minutes, travel, state, line)
                        )
                        written += 1
                        made += 1
                if month == OPEN:
                    continue
                number += 1
                self.invoice(sink, customer, month, key, number, entries_here)
        self.samples["entries_written"] = str(written)

    def invoice(
        self,
        sink: Sink,
        customer: Customer,
        month: date,
        key: str,
        number: int,
        entries: list[tuple[int, str, int | None, int, int, str, str]],
    ) -> None:
        rng = self.rng
        invoice_id = self.next_id("invoices")
        contract = customer.contract_on(month)
        amounts: list[tuple[str, str, str, Decimal, Decimal, list[str], int | None, str, str]] = []
        # (kind, item, description, quantity, unit amount, sources, contract, service line, class)
        for code, item, quantity, unit in customer.recurring:
            name = next(n for c, n, *_ in ITEMS if c == item)
            amounts.append(
                (
                    "recurring",
                    item,
                    f"{name}, {month:%B %Y}",
                    quantity,
                    unit,
                    [code],
                    None,
                    "Managed",
                    "normal",
                )
            )
        if contract and contract.fee is not None:
            item = FEE_ITEMS[contract.kind]
            amounts.append(
                (
                    "fee",
                    item,
                    f"{contract.code} {month:%B %Y}",
                    Decimal(1),
                    contract.fee,
                    [],
                    contract.id,
                    "Managed",
                    "normal",
                )
            )
        grouped: dict[int, tuple[Decimal, list[str]]] = {}
        for _entry_id, source, ct, minutes, travel, state, line in entries:
            if ct is None or state in ("written_off", "not_billable"):
                continue
            rate = customer.rates.get(ct) or Decimal(GLOBAL_RATES[[r[0] for r in GLOBAL_RATES].index(ct)][2])
            hours = (Decimal(math.ceil(minutes / 15) * 15) / 60).quantize(Decimal("0.0001"))
            covered = state == "covered"
            if customer.itemised:
                kind = "covered" if covered else "labour"
                name = CHARGE_TYPES[ct - 1][2]
                amounts.append(
                    (
                        kind,
                        CHARGE_TYPES[ct - 1][3],
                        f"{name}: {source}",
                        hours,
                        Decimal(0) if covered else rate,
                        [source],
                        contract.id if covered and contract else None,
                        line,
                        "normal",
                    )
                )
                if travel:
                    amounts.append(
                        (
                            "travel",
                            "LAB-TRAVEL",
                            f"Travel: {source}",
                            Decimal(travel) / 60,
                            Decimal(45),
                            [source],
                            None,
                            line,
                            "normal",
                        )
                    )
            elif not covered:
                total, sources = grouped.get(ct, (Decimal(0), []))
                sources.append(source)
                grouped[ct] = (total + hours, sources)
        for ct, (hours, sources) in sorted(grouped.items()):
            rate = customer.rates.get(ct) or Decimal(GLOBAL_RATES[[r[0] for r in GLOBAL_RATES].index(ct)][2])
            name = CHARGE_TYPES[ct - 1][2]
            amounts.append(
                (
                    "labour",
                    CHARGE_TYPES[ct - 1][3],
                    f"{name} (normal), {month:%B %Y}",
                    hours,
                    rate,
                    sources,
                    None,
                    CHARGE_TYPES[ct - 1][5],
                    "normal",
                )
            )
        subtotal = tax_total = Decimal(0)
        line_cols = (
            "id",
            "invoice_id",
            "position",
            "kind",
            "item_code",
            "account_code",
            "description",
            "line_class",
            "quantity",
            "unit_amount",
            "amount",
            "tax_code",
            "tax",
            "explanation",
            "sources",
            "contract_id",
            "service_line",
            "cost",
        )
        for position, (kind, item, text, quantity, unit, sources, contract_id, line, cls) in enumerate(
            amounts, 1
        ):
            amount = (quantity * unit).quantize(Decimal("0.01"))
            tax = (amount / 5).quantize(Decimal("0.01"))
            subtotal += amount
            tax_total += tax
            explanation = (
                f"{quantity.normalize()} h at {unit} an hour ({item}, {cls}); minimum and increment applied, "
                f"rate effective from {month:%Y-%m-01}"
                if kind in ("labour", "covered", "travel")
                else ""
            )
            sink.add(
                t.invoice_lines,
                line_cols,
                (
                    self.next_id("invoice_lines"),
                    invoice_id,
                    position,
                    kind,
                    item,
                    "200",
                    text,
                    cls,
                    qty(quantity),
                    qty(unit),
                    minor(amount),
                    "OUTPUT2",
                    minor(tax),
                    explanation,
                    json.dumps(sources),
                    contract_id,
                    line,
                    None,
                ),
            )
        total = subtotal + tax_total
        last = month == CLOSED[-1]
        status = "posted"
        if last:
            status = rng.choices(("posted", "approved", "draft"), (90, 6, 4))[0]
        posted = status == "posted"
        external = str(uuid.UUID(int=0x1F << 96 | invoice_id)) if posted else None
        invoice_number = f"INV-{number:06d}" if posted else None
        issued = add_months(month, 1)
        inv_cols = (
            "id",
            "origin",
            "doc_type",
            "key",
            "customer_id",
            "period_start",
            "period_end",
            "currency",
            "line_amount_types",
            "status",
            "external_id",
            "number",
            "reference",
            "date",
            "due_date",
            "subtotal",
            "tax",
            "total",
            "amount_due",
            "amount_paid",
            "approved_by",
            "approved_at",
            "posted_at",
            "source_updated_at",
            "created_at",
        )
        sink.add(
            t.invoices,
            inv_cols,
            (
                invoice_id,
                "revloop",
                "invoice",
                key,
                customer.id,
                month,
                issued,
                "GBP",
                "Exclusive",
                status,
                external,
                invoice_number,
                key,
                issued,
                issued + timedelta(days=30),
                minor(subtotal),
                minor(tax_total),
                minor(total),
                None,
                None,
                "finance" if status != "draft" else None,
                at(issued, 10) if status != "draft" else None,
                at(issued, 11) if posted else None,
                None,
                at(issued, 8),
            ),
        )
        if not posted:
            return
        paid = month < CLOSED[-2] or rng.random() < 0.5
        drift = rng.random() < 0.01
        xero_total = total + (Decimal("10.00") if drift else 0)
        xero_id = self.next_id("invoices")
        sink.add(
            t.invoices,
            inv_cols,
            (
                xero_id,
                "xero",
                "invoice",
                None,
                customer.id,
                None,
                None,
                "GBP",
                "Exclusive",
                "PAID" if paid else "AUTHORISED",
                external,
                invoice_number,
                key,
                issued,
                issued + timedelta(days=30),
                minor(subtotal),
                minor(tax_total),
                minor(xero_total),
                0 if paid else minor(xero_total),
                minor(xero_total) if paid else 0,
                None,
                None,
                None,
                at(issued, 12),
                at(issued, 12),
            ),
        )
        by_item: dict[str, Decimal] = {}
        for _kind, item, _text, quantity, unit, *_rest in amounts:
            by_item[item] = by_item.get(item, Decimal(0)) + (quantity * unit).quantize(Decimal("0.01"))
        for position, (item, amount) in enumerate(sorted(by_item.items()), 1):
            sink.add(
                t.invoice_lines,
                line_cols,
                (
                    self.next_id("invoice_lines"),
                    xero_id,
                    position,
                    "imported",
                    item,
                    "200",
                    item,
                    None,
                    qty(1),
                    qty(amount),
                    minor(amount),
                    "OUTPUT2",
                    minor((amount / 5).quantize(Decimal("0.01"))),
                    "",
                    "[]",
                    None,
                    None,
                    None,
                ),
            )
        if paid:
            sink.add(
                t.payments,
                (
                    "id",
                    "external_id",
                    "invoice_id",
                    "date",
                    "amount",
                    "currency",
                    "status",
                    "source_updated_at",
                ),
                (
                    self.next_id("payments"),
                    str(uuid.UUID(int=0x1C << 96 | xero_id)),
                    xero_id,
                    issued + timedelta(days=rng.randint(5, 40)),
                    minor(xero_total),
                    "GBP",
                    "AUTHORISED",
                    at(issued, 12),
                ),
            )
        if drift:
            self.finding(
                sink,
                "xero.drift",
                "error",
                [f"revloop:invoice:{key}"],
                f"Xero's copy totals {xero_total} against {total} in revloop",
                Decimal(10),
            )

    def finding(
        self, sink: Sink, code: str, severity: str, subjects: list[str], message: str, amount: Decimal | None
    ) -> None:
        rng = self.rng
        fid = self.next_id("findings")
        state = rng.choices(("open", "acknowledged", "resolved"), (60, 15, 25))[0]
        seen = NOW - timedelta(days=rng.randint(0, 300))
        sink.add(
            t.findings,
            (
                "id",
                "fingerprint",
                "kind",
                "code",
                "severity",
                "subjects",
                "message",
                "action",
                "amount",
                "currency",
                "state",
                "state_reason",
                "state_by",
                "first_seen",
                "last_seen",
                "resolved_at",
            ),
            (
                fid,
                hashlib.sha256(f"{code}{subjects}{fid}".encode()).hexdigest()[:40],
                "finding",
                code,
                severity,
                json.dumps(subjects),
                message,
                "check it and correct the record",
                None if amount is None else minor(amount),
                None if amount is None else "GBP",
                state,
                "checked with the customer" if state == "acknowledged" else None,
                "finance" if state != "open" else None,
                seen,
                max(seen, NOW - timedelta(days=1)),
                NOW - timedelta(days=1) if state == "resolved" else None,
            ),
        )

    def findings(self, sink: Sink, customers: list[Customer]) -> None:
        rng = self.rng
        for _ in range(max(20, self.customer_count * 2)):
            customer = rng.choice(customers)
            code, severity, money = rng.choice(FINDING_CODES)
            amount = Decimal(rng.randrange(2000, 250_000)) / 100 if money else None
            month = rng.choice(CLOSED)
            subject = f"customer:{customer.code}:{month:%Y-%m}"
            message = f"{code.split('.')[1].replace('_', ' ')} for {customer.name} in {month:%B %Y}"
            if amount is not None:
                message += f": {amount} GBP"
            self.finding(sink, code, severity, [subject], message, amount)

    def expenses(self, sink: Sink, customers: list[Customer]) -> None:
        rng = self.rng
        cols = ("id", "source_key", "customer_id", "date", "category", "cost", "currency", "billing_state")
        for n in range(1, max(10, self.entries // 150) + 1):
            customer = rng.choice(customers)
            month = rng.choice(MONTHS)
            day = month + timedelta(days=rng.randint(0, 27))
            if day >= TODAY:
                day = TODAY - timedelta(days=1)
            state = "unbilled" if month == OPEN else "invoiced"
            sink.add(
                t.expenses,
                cols,
                (n, f"expense:{n}", customer.id, day, "Parking", minor(rng.randint(3, 25)), "GBP", state),
            )

    def build(self, sink: Sink) -> None:
        self.reference(sink)
        customers = self.customers(sink)
        sink.flush()
        self.expenses(sink, customers)
        self.work(sink, customers)
        self.findings(sink, customers)
        sink.flush()
        biggest = max(customers, key=lambda c: c.weight)
        typical = sorted(customers, key=lambda c: c.weight)[len(customers) // 2]
        prepay = next(
            (c for c in customers if any(k.kind == "prepay" and k.end > TODAY for k in c.contracts)), typical
        )
        self.samples.update(
            customer=biggest.code,
            typical_customer=typical.code,
            invoice_key=f"revloop:{typical.code}:all:{CLOSED[-2].isoformat()}",
            balance_customer=prepay.code,
            period=f"{OPEN:%Y-%m}",
            closed_period=f"{CLOSED[-1]:%Y-%m}",
            agent=str(biggest.agents[0] + 1),
        )


# -- writers -------------------------------------------------------------------------------------


def _sqlite_value(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return lambda v: None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(kind, sa.DateTime):  # pragma: no cover - every timestamp is UTC
        return None
    if isinstance(kind, sa.Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, sa.Boolean):
        return lambda v: None if v is None else int(v)
    return None


class SqliteWriter:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)
        for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-400000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.statements: dict[tuple[str, tuple[str, ...]], tuple[str, list[Callable[[Any], Any] | None]]] = {}

    def __call__(self, rows: Rows) -> None:
        found = self.statements.get((rows.table.name, rows.columns))
        if found is None:
            names = ", ".join(f'"{c}"' for c in rows.columns)
            marks = ", ".join("?" for _ in rows.columns)
            convert = [_sqlite_value(rows.table.c[c]) for c in rows.columns]
            found = (f'INSERT INTO "{rows.table.name}" ({names}) VALUES ({marks})', convert)
            self.statements[(rows.table.name, rows.columns)] = found
        statement, convert = found
        pairs = [(i, f) for i, f in enumerate(convert) if f is not None]
        if pairs:
            data: list[Any] = []
            for row in rows.rows:
                values = list(row)
                for i, f in pairs:
                    values[i] = f(values[i])
                data.append(values)
        else:
            data = rows.rows
        self.conn.executemany(statement, data)

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()


class PostgresWriter:
    def __init__(self, engine: sa.Engine) -> None:
        self.raw = engine.raw_connection()
        self.cursor = self.raw.cursor()
        self.cursor.execute("SET session_replication_role = replica")  # no foreign key triggers while loading

    def __call__(self, rows: Rows) -> None:
        names = ", ".join(f'"{c}"' for c in rows.columns)
        with self.cursor.copy(f'COPY "{rows.table.name}" ({names}) FROM STDIN') as copy:
            for row in rows.rows:
                copy.write_row(row)

    def close(self) -> None:
        self.cursor.execute("SET session_replication_role = DEFAULT")
        for table in t.metadata.sorted_tables:
            column = table.c.get("id")
            if column is not None and column.autoincrement is True and isinstance(column.type, sa.Integer):
                self.cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f'coalesce((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                )
        self.raw.commit()
        self.raw.close()


# -- stores --------------------------------------------------------------------------------------


@dataclass
class Store:
    db: str
    url: str
    samples: dict[str, str]
    counts: dict[str, int]
    build_seconds: float | None  # None: reused from the cache
    revision: str
    note: str = ""


def fingerprint(entries: int) -> str:
    return hashlib.sha256(f"{BUILDER}|{entries}|{SEED}".encode()).hexdigest()[:12]


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")


def _pg_exists(name: str) -> bool:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            return (
                conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": name}).first()
                is not None
            )
    finally:
        admin.dispose()


def _pg_create(name: str) -> None:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def _pg_drop(name: str) -> None:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _load(
    url: str, db: str, entries: int, log: Callable[[str], None]
) -> tuple[dict[str, str], dict[str, int]]:
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        msp = Msp(entries)
        if db == "sqlite":
            engine.dispose()
            sqlite_writer = SqliteWriter(Path(engine.url.database or ""))
            sink = Sink(sqlite_writer)
            msp.build(sink)
            sqlite_writer.close()
        else:
            pg_writer = PostgresWriter(engine)
            sink = Sink(pg_writer)
            msp.build(sink)
            pg_writer.close()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))  # as autovacuum would soon after a load
        log(f"  {db}: " + ", ".join(f"{n} {c:,}" for n, c in sorted(sink.counts.items()) if c >= 1000))
        return msp.samples, dict(sink.counts)
    finally:
        engine.dispose()


def _reuse(url: str, log: Callable[[str], None]) -> tuple[str, str] | None:
    """(revision, note) of a cached store, upgraded when behind the code; None if unusable."""
    engine = make_engine(url)
    try:
        current = migrations.current_revision(engine)
        head = migrations.head_revision()
        if current == head:
            return head, ""
        script = ScriptDirectory(str(migrations.SCRIPT_LOCATION))
        known = {s.revision for s in script.walk_revisions()}
        if current not in known:
            return None
        log(f"  upgrading the cached store from {current} to {head}")
        began = time.perf_counter()
        migrations.upgrade(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        return (
            head,
            f"cached store built at {current}, upgraded to {head} in {time.perf_counter() - began:.1f}s",
        )
    except Exception:
        return None
    finally:
        engine.dispose()


def prepare(db: str, entries: int, *, rebuild: bool, log: Callable[[str], None]) -> Store:
    CACHE.mkdir(parents=True, exist_ok=True)
    print_ = fingerprint(entries)
    marker_path = CACHE / f"web-{db}-{print_}.json"
    if db == "sqlite":
        path = CACHE / f"web-{print_}.sqlite"
        url = f"sqlite:///{path}"
    else:
        name = f"revloop_bench_web_{print_}"
        url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    if marker_path.exists() and not rebuild:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        present = path.exists() if db == "sqlite" else _pg_exists(name)
        reused = _reuse(url, log) if present else None
        if reused is not None:
            revision, note = reused
            marker["revision"] = revision
            marker_path.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            log(f"  {db}: reusing the cached store ({marker_path.name})")
            return Store(db, url, marker["samples"], marker["counts"], None, revision, note)
    marker_path.unlink(missing_ok=True)
    for old in CACHE.glob(f"web-{db}-*.json"):  # an older build of this size: replaced
        stale = json.loads(old.read_text(encoding="utf-8"))
        if stale.get("entries") != entries:
            continue
        if db == "sqlite":
            Path(stale.get("path", "")).unlink(missing_ok=True)
        else:
            _pg_drop(stale.get("database", ""))
        old.unlink()
    log(f"  {db}: building a store with {entries:,} time entries")
    began = time.perf_counter()
    if db == "sqlite":
        building = path.with_suffix(".building")
        for leftover in (building, path, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)
        samples, counts = _load(f"sqlite:///{building}", db, entries, log)
        shutil.move(building, path)
    else:
        _pg_create(name)
        samples, counts = _load(url, db, entries, log)
    seconds = time.perf_counter() - began
    marker = {
        "db": db,
        "entries": entries,
        "builder": BUILDER,
        "seed": SEED,
        "revision": migrations.head_revision(),
        "build_seconds": round(seconds, 1),
        "samples": samples,
        "counts": counts,
        **({"path": str(path)} if db == "sqlite" else {"database": name}),
    }
    marker_path.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    log(f"  {db}: built in {seconds:.0f}s")
    return Store(db, url, samples, counts, seconds, marker["revision"])


# -- routes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    route: str  # the route's path, as declared
    url: str
    role: Role
    note: str = ""


def _action(dependant: Dependant) -> Action | None:
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            return Action(name.removeprefix("require_"))
        found = _action(dep)
        if found is not None:
            return found
    return None


#: path and required query parameters, filled from the store's samples
PARAMETERS = {
    "period": "period",
    "code": "customer",
    "customer": "balance_customer",
    "key": "invoice_key",
    "agent": "agent",
    "name": "user",
}
#: further requests of some routes with the query a person would use most
VARIANTS = {
    "/invoices": ("period={closed_period}",),
    "/api/invoices": ("period={closed_period}",),
    "/findings": ("state=all",),
    "/api/findings": ("state=all",),
    "/contracts": ("all=true",),
    "/api/contracts": ("all=true",),
    "/contracts/balance": ("customer={balance_customer}",),
    "/profit/client/{code}": ("page=5",),
    "/billing": ("page=2", "sort=total", "q={typical_customer}"),
    "/api/billing/{period}/preview": ("page=2", "sort=total"),
}
#: parameters named alike that take another sample on some routes: a draft of the open month's preview
ROUTE_PARAMETERS = {
    "/billing/{period}/draft": {"key": "draft_key"},
    "/api/billing/{period}/draft": {"key": "draft_key"},
}
#: routes that cannot be reached with what the store holds
UNREACHABLE = {
    "/connections/xero/callback": "needs a Xero sign-in started from the session (a code flow in progress)",
}


def targets(app: FastAPI, samples: dict[str, str]) -> tuple[list[Target], list[dict[str, str]]]:
    found: list[Target] = []
    skipped: list[dict[str, str]] = []
    values = {**samples, "user": USERS[Role.FINANCE]}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, StarletteRoute) or "GET" not in (route.methods or ()):
            continue
        path = str(route.path)
        if path in UNREACHABLE:
            skipped.append({"route": path, "reason": UNREACHABLE[path]})
            continue
        api_route = isinstance(route.original_route, APIRoute)
        action = _action(route.dependant) if api_route else None
        role = Role.FINANCE if action is None or can(Role.FINANCE, action) else Role.ADMIN
        note = "" if role == Role.FINANCE else f"as an admin: a finance user may not {action}"
        names = re.findall(r"{(\w+)}", path)
        required = []
        if api_route:
            required = [p.alias for p in route.dependant.query_params if p.field_info.is_required()]
        sample = {**PARAMETERS, **ROUTE_PARAMETERS.get(path, {})}
        missing = [n for n in [*names, *required] if values.get(sample.get(n, "")) is None]
        if missing:
            skipped.append({"route": path, "reason": f"no sample value for {', '.join(missing)}"})
            continue
        url = path
        for name in names:
            value = quote(values[sample[name]], safe="")
            url = url.replace("{" + name + "}", value)
        query = str(httpx.QueryParams({n: values[sample[n]] for n in required})) if required else ""
        found.append(Target(path, url + (f"?{query}" if query else ""), role, note))
        for variant in VARIANTS.get(path, ()):
            extra = variant.format(**values)
            joined = f"{query}&{extra}" if query else extra
            found.append(Target(path, f"{url}?{joined}", role, note))
    return found, skipped


# -- measuring -----------------------------------------------------------------------------------


class Timed:
    """The ASGI app with a stopwatch: the time from the request to the last byte of the response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - began


#: the longest a preview is waited for (its computation at 1,000,000 entries takes seconds, not minutes)
PREVIEW_WAIT = 900.0
#: answers timed while a preview is being computed
COMPUTING_REPEAT = 20


async def _preview_ready(
    client: httpx.AsyncClient, timed: Timed, url: str
) -> tuple[float, float, list[str], dict[str, Any]]:
    """Ask for a preview until it is ready: (first answer's server time, seconds until ready, the
    stages seen, the ready answer). The computation runs in the app's background thread."""
    began = time.perf_counter()
    response = await client.get(url)
    first = timed.last
    stages: list[str] = []
    while response.status_code == 202:
        body = response.json()
        progress = body.get("progress") or {}
        seen = f"{progress.get('stage')} {progress.get('done')}/{progress.get('out_of')}"
        if not stages or stages[-1] != seen:
            stages.append(seen)
        if time.perf_counter() - began > PREVIEW_WAIT:
            raise RuntimeError(f"the preview at {url} was not ready after {PREVIEW_WAIT:.0f} s")
        await asyncio.sleep(0.25)  # polling a background computation, as the page does
        response = await client.get(url)
    response.raise_for_status()
    return first, time.perf_counter() - began, stages, response.json()


async def _prepare_billing(
    app: FastAPI, client: httpx.AsyncClient, timed: Timed, samples: dict[str, str], log: Callable[[str], None]
) -> dict[str, Any]:
    """The open month's preview computed (cold) before the billing routes are timed ready; a draft of
    it as the sample for the draft routes."""
    period = samples["period"]
    url = f"/api/billing/{period}/preview"
    first, seconds, stages, body = await _preview_ready(client, timed, url)
    log(f"  preview of {period}: first answer {first * 1000:.1f} ms, ready after {seconds:.1f} s")
    found = await client.get(url, params={"q": samples.get("typical_customer", "")})
    drafts = found.json()["drafts"] or body["drafts"]
    if drafts:
        samples["draft_key"] = drafts[0]["key"]
    return {
        "period": period,
        "first_answer_ms": round(first * 1000, 1),
        "cold_seconds": round(seconds, 1),
        "stages": stages,
        "drafts": body["draft_count"],
        "note": "the preview computed in the background from a cold start, polled every 0.25 s until ready",
    }


async def _measure_computing(
    app: FastAPI, client: httpx.AsyncClient, timed: Timed, samples: dict[str, str]
) -> list[dict[str, Any]]:
    """The answers while the open month's preview is being computed (202 and the page's progress),
    timed with the computation running in the background; then the preview is ready again."""
    from revloop.domain.periods import Period

    period = samples["period"]
    app.state.web.billing.forget(Period.parse(period))
    rows = []
    for url in (f"/api/billing/{period}/preview", f"/billing?period={period}"):
        times: list[float] = []
        status = size = 0
        for _ in range(COMPUTING_REPEAT):
            response = await client.get(url)
            if url.startswith("/api/") and response.status_code != 202:
                break
            times.append(timed.last)
            status, size = response.status_code, len(response.content)
        if not times:
            continue
        ms = [x * 1000 for x in times]
        rows.append(
            {
                "route": url.split("?")[0] if url.startswith("/api/") else "/billing",
                "url": f"{url} (while computing)",
                "role": Role.FINANCE.value,
                "status": status,
                "n": len(ms),
                "cold_ms": round(ms[0], 1),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p95_ms": round(percentile(ms, 0.95), 1),
                "max_ms": round(max(ms), 1),
                "bytes": size,
                "under_150ms": percentile(ms, 0.95) < TARGET_MS,
                "note": "answered while the preview is computed in the background (progress, no drafts)",
            }
        )
    await _preview_ready(client, timed, f"/api/billing/{period}/preview")
    return rows


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def _measure(
    app: FastAPI, store: Store, repeat: int, budget: float, log: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    timed = Timed(app)
    transport = httpx.ASGITransport(app=timed, raise_app_exceptions=False)  # a failure is a 500
    clients: dict[Role, httpx.AsyncClient] = {}
    try:
        for role, name in USERS.items():
            client = httpx.AsyncClient(
                transport=transport, base_url="http://testserver", follow_redirects=False
            )
            response = await client.post("/api/session", json={"name": name, "password": PASSWORD})
            response.raise_for_status()
            client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
            clients[role] = client
        samples = {**store.samples}
        billing = await _prepare_billing(app, clients[Role.FINANCE], timed, samples, log)
        found, skipped = targets(app, samples)
        results = []
        for target in found:
            client = clients[target.role]
            times: list[float] = []
            cold = 0.0
            size = 0
            status = 0
            for n in range(WARMUPS):
                response = await client.get(target.url)
                status, size = response.status_code, len(response.content)
                if n == 0:
                    cold = timed.last
                    if cold > budget / 2:  # far too slow to repeat: the one request is the figure
                        times.append(cold)
                        break
            warm = timed.last
            count = 0 if times else repeat
            if count and warm * repeat > budget:
                count = max(5, min(repeat, int(budget / max(warm, 1e-6))))
            for _ in range(count):
                response = await client.get(target.url)
                times.append(timed.last)
                status, size = response.status_code, len(response.content)
            count = len(times)
            ms = [x * 1000 for x in times]
            row: dict[str, Any] = {
                "route": target.route,
                "url": target.url,
                "role": target.role.value,
                "status": status,
                "n": count,
                "cold_ms": round(cold * 1000, 1),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p95_ms": round(percentile(ms, 0.95), 1),
                "max_ms": round(max(ms), 1),
                "bytes": size,
                "under_150ms": percentile(ms, 0.95) < TARGET_MS,
            }
            if target.note:
                row["note"] = target.note
            if status != 200:
                row["note"] = (row.get("note", "") + f"; answered {status}").lstrip("; ")
            results.append(row)
            log(
                f"  {store.db:10} {target.url[:60]:60} p50 {row['p50_ms']:8.1f}  p95 {row['p95_ms']:8.1f} ms"
                f"  (n={count}, {status})"
            )
        computing = await _measure_computing(app, clients[Role.FINANCE], timed, samples)
        for row in computing:
            log(f"  {store.db:10} {row['url'][:60]:60} p50 {row['p50_ms']:8.1f}  p95 {row['p95_ms']:8.1f} ms")
        return [*results, *computing], skipped, billing
    finally:
        for client in clients.values():
            await client.aclose()


def _sign_up(app: App) -> None:
    """The bench's users, afresh (a cached store keeps last run's)."""
    names = list(USERS.values())
    with app.engine.begin() as conn:
        ids = [r.id for r in conn.execute(sa.select(t.users.c.id).where(t.users.c.name.in_(names)))]
        conn.execute(t.web_sessions.delete().where(t.web_sessions.c.user_id.in_(ids)))
        conn.execute(t.users.delete().where(t.users.c.id.in_(ids)))
    for role, name in USERS.items():
        auth.add_user(app.engine, name, role, PASSWORD, now=NOW, by="bench")


def run_db(
    db: str, entries: int, repeat: int, budget: float, rebuild: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    began = time.perf_counter()
    store = prepare(db, entries, rebuild=rebuild, log=log)
    prepared = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="revloop-bench-web-") as home:
        settings = Settings.model_validate(
            {
                "home": Path(home),
                "database_url": store.url,
                "company_name": "Northgate IT Services Ltd",
                "billing_contract_item_codes": dict(FEE_ITEMS),
                "billing_expense_item_code": "EXPENSES",
                "costs_payroll_accounts": ["477", "478"],
                "costs_overhead_accounts": ["469", "489", "463"],
                "costs_service_lines": {code: line for code, _n, _p, _a, line in ITEMS},
            }
        )
        app = App(settings)
        try:
            _sign_up(app)
            web = create_app(app, clock=lambda: NOW)
            measured = time.perf_counter()
            routes, skipped, billing, warming = asyncio.run(_served(web, store, repeat, budget, log))
            measure_seconds = time.perf_counter() - measured
        finally:
            app.close()
    return {
        "store": {
            "entries": entries,
            "counts": store.counts,
            "revision": store.revision,
            "reused": store.build_seconds is None,
            "build_seconds": None if store.build_seconds is None else round(store.build_seconds, 1),
            "prepare_seconds": round(prepared, 1),
            **({"note": store.note} if store.note else {}),
            "samples": store.samples,
        },
        "measure_seconds": round(measure_seconds, 1),
        "profit_warming": warming,
        "billing_preview": billing,
        "routes": routes,
        "skipped": skipped,
    }


#: the longest the dashboard's first background pass (profit model, charts, cost view) is waited for
WARM_WAIT = 600.0


async def _served(
    web: FastAPI, store: Store, repeat: int, budget: float, log: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any], dict[str, Any]]:
    """The routes timed as a running dashboard answers them: started (its startup events start the
    thread that computes the profitability figures in the background), and timed once that thread's
    first pass is done; how long the pass took is reported apart."""
    async with web.router.lifespan_context(web):
        began = time.perf_counter()
        warming = getattr(web.state, "profit_warming", None)
        while warming is not None and not warming.warmed:
            if time.perf_counter() - began > WARM_WAIT:
                raise RuntimeError(f"the dashboard's background pass took over {WARM_WAIT:.0f} s")
            await asyncio.sleep(0.25)
        seconds = time.perf_counter() - began
        log(f"  background pass (profit model, charts, cost view) done after {seconds:.1f} s")
        warmed = {
            "seconds": round(seconds, 1),
            "note": "the profitability figures, charts and cost view computed in the background when "
            "the dashboard starts (and again after the store changes); routes are timed after it",
        }
        routes, skipped, billing = await _measure(web, store, repeat, budget, log)
    return routes, skipped, billing, warmed


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "note": "2 cores, shared and noisy: compare figures within one run",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def record(result: dict[str, Any]) -> None:
    """Write the results, keeping the other database's entry when only one was measured."""
    old: dict[str, Any] = {}
    if RESULTS.exists():
        old = json.loads(RESULTS.read_text(encoding="utf-8"))
    databases = {**old.get("databases", {}), **result["databases"]}
    out = {**result, "databases": databases}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


def table(result: dict[str, Any]) -> str:
    dbs = list(result["databases"])
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for db in dbs:
        for r in result["databases"][db]["routes"]:
            rows.setdefault(r["url"], {})[db] = r
    width = max(len(u) for u in rows) if rows else 10
    head = f"{'route':{width}}" + "".join(f"  {db + ' p50':>16} {'p95':>9} {'bytes':>9} ok " for db in dbs)
    lines = [head, "-" * len(head)]
    for url, per in rows.items():
        line = f"{url:{width}}"
        for db in dbs:
            r = per.get(db)
            if r is None:
                line += " " * 42
                continue
            mark = "✓" if r["under_150ms"] else "✗"
            line += f"  {r['p50_ms']:16.1f} {r['p95_ms']:9.1f} {r['bytes']:9d} {mark}  "
        lines.append(line.rstrip())
    for db in dbs:
        cold = result["databases"][db].get("billing_preview")
        if cold:
            lines.append(
                f"{db}: preview of {cold['period']} computed in the background in {cold['cold_seconds']} s "
                f"({cold['drafts']} drafts; first answer {cold['first_answer_ms']} ms)"
            )
    for db in dbs:
        for s in result["databases"][db]["skipped"]:
            lines.append(f"skipped on {db}: {s['route']} ({s['reason']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000, help="time entries in the store")
    parser.add_argument("--repeat", type=int, default=30, help="requests per route after 3 warm-ups")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds per route at most (at least 5 requests)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the stores afresh, ignoring the cache")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    began = time.perf_counter()
    result: dict[str, Any] = {
        "machine": machine(),
        "entries": args.entries,
        "repeat": args.repeat,
        "warmups": WARMUPS,
        "target_p95_ms": TARGET_MS,
        "now": NOW.isoformat(),
        "databases": {},
    }
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        log(f"== {db}")
        result["databases"][db] = run_db(db, args.entries, args.repeat, args.budget, args.rebuild, log)
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    record(result)
    print(json.dumps(result, indent=2) if args.json else table(result))
    if args.json:
        log(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

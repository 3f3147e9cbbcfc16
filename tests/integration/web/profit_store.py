"""A store for the profitability and contract pages: the dashboard fixtures' store with its two
invoices posted (revenue), agent costs (alice 30.00 an hour; bob 40.00, then 50.00 from 8 October),
two service lines, three contracts with stored balances and a quote."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.services.profit.costs import CostInput, set_costs

from .conftest import NOW

ACME_REVENUE = Decimal("344.38")
GLOBEX_REVENUE = Decimal("42.75")
ALLOWANCE_FEE = Decimal("517.25")
FIXED_FEE = Decimal("1525.50")
PREPAY_LEFT = Decimal("150.75")
PREPAY_THRESHOLD = Decimal("275.25")


def _contract(conn: sa.Connection, **values: object) -> int:
    return int(conn.execute(t.contracts.insert().values(**values)).inserted_primary_key[0])


@pytest.fixture
def profit_store(store: App) -> App:
    set_costs(
        store,
        [
            CostInput("alice", date(2026, 1, 1), hourly_cost=Decimal("30.00")),
            CostInput("bob", date(2026, 1, 1), hourly_cost=Decimal("40.00")),
            CostInput("bob", date(2026, 10, 8), hourly_cost=Decimal("50.00")),
        ],
        now=NOW,
    )
    with store.engine.begin() as conn:
        conn.execute(t.charge_types.update().values(service_line="Support"))
        conn.execute(
            t.time_entries.update()
            .where(t.time_entries.c.source_key == "T103/1")
            .values(service_line="Projects")
        )
        conn.execute(
            t.invoices.update()
            .where(t.invoices.c.origin == "revloop")
            .values(status="posted", posted_at=NOW, external_id=sa.func.lower(t.invoices.c.key))
        )
        for key, number in (
            ("revloop:acme:all:2026-10-01", "INV-0101"),
            ("revloop:globex:all:2026-10-01", "INV-0102"),
        ):
            conn.execute(t.invoices.update().where(t.invoices.c.key == key).values(number=number))
        customers = {r.code: r.id for r in conn.execute(sa.select(t.customers.c.code, t.customers.c.id))}
        allowance = _contract(
            conn,
            code="k-allow",
            customer_id=customers["acme"],
            kind="allowance",
            start=date(2026, 1, 1),
            end=date(2026, 12, 1),
            fee=ALLOWANCE_FEE,
            hours_per_period=Decimal(10),
        )
        prepay = _contract(
            conn,
            code="k-prepay",
            customer_id=customers["acme"],
            kind="prepay",
            start=date(2026, 1, 1),
            end=date(2026, 11, 20),
            unit="money",
            threshold=PREPAY_THRESHOLD,
        )
        _contract(
            conn,
            code="k-fixed",
            customer_id=customers["globex"],
            kind="fixed_price",
            start=date(2026, 1, 1),
            end=date(2026, 12, 15),
            fee=FIXED_FEE,
        )
        for contract, opening, closing, unit in (
            (allowance, Decimal(10), Decimal("6.5"), "hours"),
            (prepay, None, PREPAY_LEFT, "money"),
        ):
            conn.execute(
                t.contract_balances.insert().values(
                    contract_id=contract,
                    period_start=date(2026, 10, 1),
                    period_end=date(2026, 11, 1),
                    opening=opening,
                    closing=closing,
                    unit=unit,
                    computed_at=NOW,
                )
            )
        conn.execute(
            t.quotes.insert().values(
                system="xero",
                external_id="q-1",
                customer_id=customers["globex"],
                date=date(2026, 10, 20),
                status="SENT",
            )
        )
    return store


def profit_money(app: App) -> set[str]:
    """The money this store adds to the dashboard fixtures': fees, balances, costs and margins."""
    figures = {ALLOWANCE_FEE, FIXED_FEE, PREPAY_LEFT, PREPAY_THRESHOLD, ACME_REVENUE, GLOBEX_REVENUE}
    return {f"{v:.2f}" for v in figures} | {f"{v:,.2f}" for v in figures}

"""The store's fingerprint: the same for the same store, different after every kind of change billing
and profitability care about, and cheap: no large table is counted or read row by row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.periods import Period
from revloop.services import rates
from revloop.services.billing import run
from revloop.services.profit.costs import CostInput, set_costs
from revloop.services.store_state import SMALL, fingerprint
from tests.integration.billing.conftest import NOW, app

__all__ = ["app"]  # the billing tests' billed store


def _print(store: App) -> str:
    with store.engine.connect() as conn:
        return fingerprint(conn)


@pytest.fixture
def moved(app: App) -> Iterator[Any]:
    """``moved(change)``: runs the change and asserts the fingerprint moved (and is stable after)."""

    def check(change: Any) -> None:
        before = _print(app)
        change()
        after = _print(app)
        assert after != before, change
        assert _print(app) == after

    yield check


def _entry(conn: sa.Connection) -> Any:
    return conn.execute(sa.select(t.time_entries).order_by(t.time_entries.c.id)).first()


def test_the_same_store_gives_the_same_fingerprint(app: App) -> None:
    assert _print(app) == _print(app)
    assert re.fullmatch(r"[0-9a-f]{64}", _print(app))


def test_a_sync_landing_work_moves_it(app: App, moved: Any) -> None:
    def new_entry() -> None:
        with app.engine.begin() as conn:
            row = dict(_entry(conn)._mapping)
            row.pop("id")
            conn.execute(t.time_entries.insert().values(**{**row, "source_key": "T999/1"}))

    def changed_in_place() -> None:  # as a sync does: the records, then the resource's watermark
        with app.engine.begin() as conn:
            first = _entry(conn)
            conn.execute(
                t.time_entries.update().where(t.time_entries.c.id == first.id).values(minutes=Decimal(7))
            )
        with app.engine.begin() as conn:
            repository.set_watermark(
                conn, "halopsa", "time_entries", NOW.isoformat(), at=NOW, records=1, full=False
            )

    moved(new_entry)
    moved(changed_in_place)


def test_peoples_changes_move_it(app: App, moved: Any) -> None:
    with app.engine.connect() as conn:
        period_start = conn.execute(
            sa.select(sa.func.min(t.invoices.c.period_start)).where(t.invoices.c.origin == "revloop")
        ).scalar_one()
        charge_type = conn.execute(sa.select(t.charge_types.c.code).limit(1)).scalar_one()
    period = Period.month(period_start.year, period_start.month)
    moved(lambda: set_costs(app, [CostInput("alice", date(2026, 1, 1), hourly_cost=Decimal(30))], now=NOW))
    moved(lambda: set_costs(app, [CostInput("alice", date(2026, 1, 1), hourly_cost=Decimal(31))], now=NOW))
    moved(
        lambda: rates.add_rate_row(
            app,
            rates.RateInput(charge_type, date(2026, 12, 1), hourly_rate=Decimal(99)),
            now=NOW,
            actor="test",
        )
    )
    moved(lambda: run.bill(app, period, now=NOW))


def test_links_and_reference_rows_move_it(app: App, moved: Any) -> None:
    def link(status: str) -> None:
        with app.engine.begin() as conn:
            repository.link(
                conn,
                entity="customer",
                local_id="acme",
                system="halopsa",
                external_id="77",
                at=NOW,
                status=status,
            )

    moved(lambda: link("suggested"))
    moved(lambda: link("confirmed"))  # the same row, confirmed in place

    def removed() -> None:
        with app.engine.begin() as conn:
            first = conn.execute(sa.select(sa.func.min(t.rate_rows.c.id))).scalar_one()
            conn.execute(t.rate_rows.delete().where(t.rate_rows.c.id == first))

    moved(removed)


def test_it_counts_no_large_table(app: App) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(app.engine, "before_cursor_execute", seen)
    try:
        _print(app)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", seen)
    assert len(statements) == 2
    counted = set(re.findall(r"count\(\*\) AS \w+\s+FROM (\w+)", " ".join(statements)))
    assert counted and counted <= {table.name for table in SMALL}
    assert not {"time_entries", "invoice_lines", "tickets", "invoices", "audit_journal"} & counted

"""Billing from the store gives exactly what the scenario path gives, for every golden scenario
the store can express: the store round trip (resolve) loses nothing and invents nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from revloop.adapters.db import migrations
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.services import scenario
from revloop.services.billing import run

from .book_store import Unsupported, settings_overrides, write_book

GOLDEN = sorted((Path(__file__).resolve().parents[2] / "golden").glob("*.yaml"))
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _invoices(result: dict) -> dict:  # type: ignore[type-arg]
    return {
        inv["key"]: (
            inv["subtotal"],
            inv["tax"],
            inv["total"],
            sorted(
                (ln["kind"], ln["quantity"], ln["unit_amount"], ln["amount"], ln["tax"])
                for ln in inv["lines"]
            ),
        )
        for inv in result["invoices"]
    }


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_store_billing_matches_scenario(path: Path, tmp_path: Path) -> None:
    loaded = scenario.load(path)
    book = loaded.book
    try:
        overrides = settings_overrides(book)
    except Unsupported as reason:
        pytest.skip(f"the store cannot express this scenario yet: {reason}")
    app = App(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}", **overrides))
    migrations.upgrade(app.engine)
    try:
        with app.engine.begin() as conn:
            write_book(conn, book, loaded.period)
    except Unsupported as reason:
        pytest.skip(f"the store cannot express this scenario yet: {reason}")
    outcome = run.bill(app, loaded.period, now=NOW)
    expected = scenario.result_dict(scenario.run(loaded))
    got = scenario.result_dict(outcome.rating)
    assert _invoices(got) == _invoices(expected)
    assert got["balances"] == expected["balances"]
    stored = {row["key"]: row["total"] for row in run.invoice_rows(app, loaded.period)}
    assert stored == {inv["key"]: __import__("decimal").Decimal(inv["total"]) for inv in expected["invoices"]}
    # billing again with nothing changed changes nothing
    again = run.bill(app, loaded.period, now=NOW)
    assert again.created == [] and again.updated == [] and sorted(again.unchanged) == sorted(stored)
    app.close()

"""A billing run in two steps: ``compute`` (rate the period, change nothing; with progress, a group
of customers at a time) and ``keep`` (store the computed drafts, all or some): together exactly
``revloop bill``. One customer's run reads only that customer and rates exactly as the whole run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.adapters.db import migrations
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.periods import Period
from revloop.services import scenario
from revloop.services.billing import run

from .book_store import Unsupported, settings_overrides, write_book

GOLDEN = sorted((Path(__file__).resolve().parents[2] / "golden").glob("*.yaml"))
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: scenarios with several customers or contracts, enough to cover the groups without rating all 56
SAMPLE = [p for p in GOLDEN if p.stem[:2] in ("01", "11", "20", "31", "38", "41", "42", "50")]


def _store(path: Path, tmp_path: Path) -> tuple[App, Period]:
    loaded = scenario.load(path)
    try:
        overrides = settings_overrides(loaded.book)
    except Unsupported as reason:
        pytest.skip(f"the store cannot express this scenario: {reason}")
    app = App(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}", **overrides))
    migrations.upgrade(app.engine)
    try:
        with app.engine.begin() as conn:
            write_book(conn, loaded.book, loaded.period)
    except Unsupported as reason:
        app.close()
        pytest.skip(f"the store cannot express this scenario: {reason}")
    return app, loaded.period


def _kept(app: App) -> list[tuple[Any, ...]]:
    """The stored drafts and their lines, without ids and times."""
    with app.engine.connect() as conn:
        invoices = {
            r.id: (r.key, r.status, r.currency, r.subtotal, r.tax, r.total)
            for r in conn.execute(sa.select(t.invoices).where(t.invoices.c.origin == "revloop"))
        }
        lines = [
            (
                invoices[r.invoice_id][0],
                r.position,
                r.kind,
                r.description,
                r.quantity,
                r.amount,
                r.explanation,
            )
            for r in conn.execute(sa.select(t.invoice_lines))
            if r.invoice_id in invoices
        ]
    return sorted(invoices.values()) + sorted(lines)


@pytest.mark.parametrize("path", SAMPLE, ids=[p.stem for p in SAMPLE])
def test_compute_with_progress_rates_exactly_as_bill(path: Path, tmp_path: Path) -> None:
    app, period = _store(path, tmp_path)
    try:
        steps: list[tuple[str, int, int]] = []
        stepped = run.compute(app, period, progress=lambda *step: steps.append(step))
        plain = run.compute(app, period)
        assert stepped.drafts == plain.drafts
        assert (stepped.issues, stepped.findings) == (plain.issues, plain.findings)
        assert dict(stepped.rating.balances) == dict(plain.rating.balances)
        assert steps[0] == ("reading", 0, 0) and steps[1][0] == "rating"
        assert steps[-1][0] == "rating" and steps[-1][1] == steps[-1][2]
        with app.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.invoices)).scalar_one() == 0
        # keeping the computed drafts is what `revloop bill` keeps
        kept = run.keep(app, stepped, now=NOW)
        assert sorted(kept.created) == sorted(d.key for d in plain.drafts)
        assert stepped.created == [] and stepped.preview  # the computed outcome is left as it was
        by_keep = _kept(app)
        with app.engine.begin() as conn:
            conn.execute(t.invoice_lines.delete())
            conn.execute(t.invoices.delete())
        billed = run.bill(app, period, now=NOW)
        assert sorted(billed.created) == sorted(kept.created)
        assert _kept(app) == by_keep
    finally:
        app.close()


@pytest.mark.parametrize("path", SAMPLE, ids=[p.stem for p in SAMPLE])
def test_one_customer_rates_as_in_the_whole_run(path: Path, tmp_path: Path) -> None:
    loaded = scenario.load(path)
    if loaded.book.items_issued:
        pytest.skip("catalogue stock is drawn across customers")
    app, period = _store(path, tmp_path)
    try:
        whole = run.compute(app, period)
        for customer in sorted(loaded.book.customers):
            one = run.compute(app, period, customer=customer)
            assert one.drafts == tuple(d for d in whole.drafts if d.customer == customer)
            mine = {k: v for k, v in whole.rating.balances.items() if k in one.rating.balances}
            assert dict(one.rating.balances) == mine
    finally:
        app.close()


def test_keep_only_the_keys_given(tmp_path: Path) -> None:
    app, period = _store(GOLDEN[0], tmp_path)
    try:
        computed = run.compute(app, period)
        keys = sorted(d.key for d in computed.drafts)
        assert len(keys) >= 2
        first = run.keep(app, computed, now=NOW, keys=[keys[0]])
        assert first.created == [keys[0]] and first.removed == []
        assert [r["key"] for r in run.invoice_rows(app, period)] == [keys[0]]
        steps: list[tuple[str, int, int]] = []
        with app.engine.begin() as conn:
            rest = run.keep_in(conn, computed, now=NOW, progress=lambda *step: steps.append(step))
        assert rest.unchanged == [keys[0]] and sorted(rest.created) == keys[1:]
        assert steps and steps[0] == ("keeping", 0, len(keys))
        with app.engine.begin() as conn:
            approved = run.approve_in(conn, now=NOW, by="finance", keys=[keys[1]], period=period)
        assert approved.approved == [keys[1]]
    finally:
        app.close()

"""Periodic invoices made ahead of their due date: fees and recurring charges of the next period on
their own invoice, due on the period's first day, and left off the period's usual invoice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from revloop.adapters.db import migrations, repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.periods import Period
from revloop.services import scenario
from revloop.services.billing import ahead, post, run
from revloop.simulators.xero import XeroSimulator

from .book_store import settings_overrides, write_book
from .conftest import CONTACTS, GOLDEN, TENANT, xero_client

NOVEMBER = Period.month(2026, 11)
NOW = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)  # 7 days before November starts


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    loaded = scenario.load(GOLDEN / "46-show-covered-work.yaml")
    settings = Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        xero_client_id="POSTCLIENT",
        xero_client_secret=SecretStr("post-secret"),
        xero_identity_url="http://sim/identity",
        xero_api_url="http://sim/api.xro/2.0",
        xero_connections_url="http://sim/connections",
        billing_invoice_days_ahead=10,
        **settings_overrides(loaded.book),
    )
    application = App(settings)
    migrations.upgrade(application.engine)
    with application.engine.begin() as conn:
        write_book(conn, loaded.book, loaded.period)
        for code, contact in CONTACTS.items():
            repository.link(
                conn, entity="customer", local_id=code, system="xero", external_id=contact, at=NOW
            )
    yield application
    application.close()


@pytest.mark.parametrize(
    ("today", "days", "expected"),
    [
        (date(2026, 10, 25), 10, NOVEMBER),
        (date(2026, 10, 25), 7, NOVEMBER),  # 1 November is 7 days away
        (date(2026, 10, 25), 6, None),
        (date(2026, 12, 31), 1, Period.month(2027, 1)),
        (date(2026, 10, 25), 0, None),  # off
    ],
)
def test_which_period_is_due(today: date, days: int, expected: Period | None) -> None:
    assert ahead.due_period(today, days) == expected


def _keys(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return {r.key: r for r in conn.execute(sa.select(t.invoices).where(t.invoices.c.origin == "revloop"))}


def test_periodic_invoices_are_made_ahead_and_not_billed_again(app: App, sim: XeroSimulator) -> None:
    made = ahead.bill_ahead(app, now=NOW)
    assert made.period == NOVEMBER
    assert sorted(made.created) == [
        "revloop:acme:all:2026-11-01:periodic",
        "revloop:globex:all:2026-11-01:periodic",
    ]
    rows = _keys(app)
    assert rows["revloop:acme:all:2026-11-01:periodic"].total == Decimal("300.00")  # the 250.00 fee + tax
    assert rows["revloop:globex:all:2026-11-01:periodic"].total == Decimal("45.00")  # backup 3 x 12.50 + tax
    again = ahead.bill_ahead(app, now=NOW)
    assert again.created == [] and len(again.unchanged) == 2

    run.approve(app, now=NOW, by="finance", everything=True)
    with xero_client(app, sim) as client:
        fee = {"Code": "FIXED-IT", "Name": "Managed service fee", "SalesDetails": {"AccountCode": "200"}}
        client.save_items(TENANT, [fee], idempotency_key="fee-item")
        posted = post.post(app, client, TENANT, now=NOW)
        xero = {i.Reference: i for i in client.invoices(TENANT).records}
    assert len(posted.posted) == 2
    periodic = xero["revloop:acme:all:2026-11-01:periodic"]
    assert periodic.Date == NOW.date() and periodic.DueDate == NOVEMBER.start

    # November's work, billed after November: the fee and the backup are not billed a second time.
    with app.engine.begin() as conn:
        entry = dict(
            conn.execute(sa.select(t.time_entries).where(t.time_entries.c.source_key.like("%SC1%")))
            .one()
            ._mapping
        )
        entry.pop("id")
        entry.update(
            source_key="T1/SC9",
            start_utc=datetime(2026, 11, 10, 10, 0, tzinfo=UTC),
            work_date=date(2026, 11, 10),
            billing_state="unbilled",
            invoice_key=None,
            invoice_number=None,
        )
        conn.execute(t.time_entries.insert().values(**entry))
    november = run.bill(app, NOVEMBER, now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    kinds = {d.key: [line.kind for line in d.lines] for d in november.drafts}
    assert kinds == {"revloop:acme:all:2026-11-01": ["covered"]}
    assert "revloop:acme:all:2026-11-01:periodic" in _keys(app)  # kept, never removed as stale

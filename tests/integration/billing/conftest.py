"""Fixtures of the posting tests: the Xero simulator with two contacts, and a store billed and
approved from a golden scenario."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from revloop.adapters.db import migrations, repository
from revloop.adapters.xero.factory import custom_connection_client
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.demo.catalogue import xero_settings
from revloop.services import scenario
from revloop.services.billing import run
from revloop.simulators.common import mock_transport
from revloop.simulators.xero import XeroSimulator

from .book_store import settings_overrides, write_book

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
TENANT = "7a1d0c2e-0000-4000-8000-00000000aaaa"
CONTACTS = {"acme": "c0000000-0000-4000-8000-000000000001", "globex": "c0000000-0000-4000-8000-000000000002"}
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> XeroSimulator:
    simulator = XeroSimulator(demo_org=False)
    data: dict[str, Any] = {k: v for k, v in xero_settings(TENANT).items() if k != "Organisation"}
    data["Contacts"] = [
        {"ContactID": cid, "Name": name.title(), "ContactNumber": name, "ContactStatus": "ACTIVE"}
        for name, cid in CONTACTS.items()
    ]
    simulator.seed(data, tenant_id=TENANT, name="Northgate IT Services Ltd", chart=False)
    simulator.add_custom_connection("POSTCLIENT", "post-secret", TENANT)
    return simulator


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    loaded = scenario.load(GOLDEN / "01-classes-and-overrides.yaml")
    settings = Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        xero_client_id="POSTCLIENT",
        xero_client_secret=SecretStr("post-secret"),
        xero_identity_url="http://sim/identity",
        xero_api_url="http://sim/api.xro/2.0",
        xero_connections_url="http://sim/connections",
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
    run.bill(application, loaded.period, now=NOW)
    run.approve(application, now=NOW, by="finance", everything=True)
    yield application
    application.close()


def xero_client(app: App, sim: XeroSimulator):  # type: ignore[no-untyped-def]
    return custom_connection_client(app.settings, transport=mock_transport(sim), sleep=lambda s: None)

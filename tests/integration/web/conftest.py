"""Fixtures of the dashboard tests: the billing tests' store (billed from a golden scenario, with
the Xero simulator) with its drafts waiting for approval, a finding with an amount, one user per
role, and a signed-in client per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity
from revloop.simulators.xero import XeroSimulator
from revloop.web import auth
from revloop.web.app import create_app
from revloop.web.roles import Role
from tests.integration.billing.conftest import NOW, TENANT, app, sim, xero_client

__all__ = ["app", "sim"]  # the billing tests' fixtures, used here as they are

PASSWORD = "correct horse battery"
PERIOD = "2026-10"
AT_RISK = Decimal("1234.56")


class Clock:
    """A clock the tests move by hand (session expiry, lockouts): no sleeping, no timing."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def quick_hashes() -> Iterator[None]:
    """Cheap argon2 parameters: the tests sign in hundreds of times, and the parameters are not
    what they test (unit tests check the real ones)."""
    old = auth.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    auth.use_hasher(old)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW + timedelta(hours=1))


@pytest.fixture
def store(app: App) -> App:
    """The billed store with its drafts back to waiting for approval, a finding with an amount and a
    user per role (named after the role)."""
    with app.engine.begin() as conn:
        conn.execute(
            t.invoices.update()
            .where(t.invoices.c.origin == "revloop", t.invoices.c.status == "approved")
            .values(status="draft", approved_by=None, approved_at=None)
        )
        repository.record_findings(
            conn,
            [
                Finding(
                    "xero.drift",
                    Severity.ERROR,
                    ("revloop:invoice:revloop:acme:all:2026-10-01",),
                    f"Xero's copy totals {AT_RISK} against 413.26 in revloop",
                    action="check the invoice in Xero",
                    amount=AT_RISK,
                    currency="GBP",
                )
            ],
            at=NOW,
        )
    for role in Role:
        auth.add_user(app.engine, role.value, role, PASSWORD, now=NOW, by="test")
    return app


def sim_clients(sim: XeroSimulator) -> Callable[[App], tuple[Any, str, Any]]:
    return lambda application: (xero_client(application, sim), TENANT, None)


@pytest.fixture
def web(store: App, sim: XeroSimulator, clock: Clock) -> Iterator[FastAPI]:
    """The dashboard over the store; billing previews and approvals run in the request (the tests of
    the background runs make their own app)."""
    application = create_app(store, clients=sim_clients(sim), clock=clock, billing_runs="request", warm=False)
    yield application
    application.state.web.billing.join()


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the API; returns the CSRF token (the cookie stays in the client)."""
    response = client.post("/api/session", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


@pytest.fixture
def client_for(web: FastAPI) -> Iterator[Callable[[Role], TestClient]]:
    made: list[TestClient] = []

    def make(role: Role) -> TestClient:
        client = TestClient(web, base_url="http://testserver", follow_redirects=False)
        made.append(client)
        sign_in(client, role.value)
        return client

    yield make
    for client in made:
        client.close()


def money_figures(app: App) -> set[str]:
    """Every amount of money the fixture's store holds, as text ("413.26"), for leak detection."""
    figures: set[Decimal] = {AT_RISK}
    with app.engine.connect() as conn:
        for row in conn.execute(sa.select(t.invoices.c.subtotal, t.invoices.c.tax, t.invoices.c.total)):
            figures.update(v for v in row if v)
        for row in conn.execute(
            sa.select(t.invoice_lines.c.unit_amount, t.invoice_lines.c.amount, t.invoice_lines.c.tax)
        ):
            figures.update(v for v in row if v)
        for (rate,) in conn.execute(sa.select(t.rate_rows.c.hourly_rate)):
            if rate:
                figures.add(rate)
    texts = set()
    for value in figures:
        if abs(value) >= 10:  # small figures collide with hours and counts
            texts.add(f"{abs(value):.2f}")
            texts.add(f"{abs(value):,.2f}")
    return texts

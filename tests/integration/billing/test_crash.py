"""Posting survives being killed anywhere.

The poster runs in a forked child against both simulators served over real HTTP; the parent kills
it with SIGKILL after a random delay (some runs also lose Xero's answer after Xero committed), then
posts again to the end and checks: no invoice twice in Xero, no approved draft left unposted, every
time entry billed exactly once and stamped in HaloPSA with its invoice number.
Runs: REVLOOP_CRASH_RUNS (default 200).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr

from revloop.adapters.db import migrations, repository
from revloop.adapters.db import tables as t
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.factory import custom_connection_client
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.demo.catalogue import xero_settings
from revloop.domain.calendar import Calendar, Holidays
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow
from revloop.domain.records import Book, Customer, TimeEntry
from revloop.domain.records import Settings as RatingSettings
from revloop.services.billing import post, run
from revloop.simulators.common import Fault
from revloop.simulators.server import SimulatorServer

from .book_store import write_book

RUNS = int(os.environ.get("REVLOOP_CRASH_RUNS", "200"))
TENANT = "7a1d0c2e-0000-4000-8000-00000000bbbb"
CUSTOMERS = 12
PERIOD = Period.month(2026, 10)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BATCH = 4


def _book() -> Book:
    hours = tuple(((510, 1050),) if d < 5 else () for d in range(7))  # Monday to Friday 08:30-17:30
    calendar = Calendar("Europe/London", hours, Holidays("GB", "ENG"))
    ratebook = Ratebook(
        {
            "remote": ChargeType(
                "remote",
                "Remote support",
                "LAB-REMOTE",
                "200",
                "OUTPUT2",
                rates=(
                    RateRow(
                        date(2026, 1, 1),
                        hourly_rate=Decimal("95"),
                        minimum_minutes=Decimal(15),
                        increment_minutes=Decimal(15),
                        rounding="up",
                        ooh_multiplier=Decimal("1.5"),
                    ),
                ),
            )
        }
    )
    customers = {f"c{i}": Customer(f"c{i}", f"Client {i}") for i in range(CUSTOMERS)}
    entries = []
    for i in range(CUSTOMERS):
        for n in range(3):
            ticket = 1000 + i
            entries.append(
                TimeEntry(
                    id=f"{ticket}/{n + 1}",
                    customer=f"c{i}",
                    charge_type="remote",
                    ticket=str(ticket),
                    agent="alice",
                    start=datetime(2026, 10, 5 + n, 9 + i % 8, 0),
                    minutes=Decimal(20 + 7 * n + i),
                )
            )
    return Book(
        settings=RatingSettings(),
        calendar=calendar,
        tax_rates={"OUTPUT2": Decimal(20)},
        ratebook=ratebook,
        customers=customers,
        entries=tuple(entries),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    server: SimulatorServer
    base: str
    template: Path
    db: Path
    snapshot: dict  # type: ignore[type-arg]
    approved: set[str]

    def settings(self) -> Settings:
        return Settings(
            home=self.db.parent,
            database_url=f"sqlite:///{self.db}",
            xero_client_id="CRASHCLIENT",
            xero_client_secret=SecretStr("crash-secret"),
            xero_identity_url=f"{self.base}/xero/identity",
            xero_api_url=f"{self.base}/xero/api.xro/2.0",
            xero_connections_url=f"{self.base}/xero/connections",
        )

    def post(self) -> post.PostResult:
        app = App(self.settings())
        h = self.server.halopsa.credentials
        xero = custom_connection_client(app.settings, sleep=lambda s: time.sleep(min(s, 0.05)))
        halo = HaloClient(
            f"{self.base}/halopsa/api",
            f"{self.base}/halopsa/auth",
            h["client_id"],
            h["client_secret"],
            tenant=h["tenant"],
            sleep=lambda s: time.sleep(min(s, 0.05)),
        )
        try:
            return post.post(app, xero, TENANT, now=NOW, halo=halo, batch=BATCH)
        finally:
            xero.close()
            halo.close()
            app.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("crash")
    server = SimulatorServer()
    data = {k: v for k, v in xero_settings(TENANT).items() if k != "Organisation"}
    data["Contacts"] = [
        {"ContactID": f"c0000000-0000-4000-8000-{i:012d}", "Name": f"Client {i}", "ContactStatus": "ACTIVE"}
        for i in range(CUSTOMERS)
    ]
    server.xero.seed(data, tenant_id=TENANT, name="Crash Test IT Ltd", chart=False)
    server.xero.add_custom_connection("CRASHCLIENT", "crash-secret", TENANT)
    book = _book()
    server.halopsa.seed(
        {
            "client": [{"id": i + 1, "name": f"Client {i}"} for i in range(CUSTOMERS)],
            "tickets": [{"id": 1000 + i, "client_id": i + 1, "summary": "Printer"} for i in range(CUSTOMERS)],
            "actions": [
                {
                    "ticket_id": int(e.ticket or 0),
                    "id": int(e.id.split("/")[1]),
                    "timetaken": e.minutes / 60,
                    "datetime": e.start.isoformat(),
                }
                for e in book.entries
            ],
        }
    )
    port = _free_port()
    config = uvicorn.Config(server.asgi(), host="127.0.0.1", port=port, log_level="error", lifespan="off")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.02)
    template = folder / "template.db"
    world = World(server, f"http://127.0.0.1:{port}", template, folder / "store.db", {}, set())
    app = App(Settings(home=folder, database_url=f"sqlite:///{template}"))
    migrations.upgrade(app.engine)
    with app.engine.begin() as conn:
        write_book(conn, book, PERIOD)
        for i in range(CUSTOMERS):
            repository.link(
                conn,
                entity="customer",
                local_id=f"c{i}",
                system="xero",
                external_id=f"c0000000-0000-4000-8000-{i:012d}",
                at=NOW,
            )
    run.bill(app, PERIOD, now=NOW)
    world.approved = set(run.approve(app, now=NOW, by="finance", everything=True).approved)
    app.close()
    world.snapshot = server.snapshot()
    yield world
    web.should_exit = True
    thread.join(timeout=10)


def _reset(world: World) -> None:
    shutil.copy(world.template, world.db)
    for suffix in ("-wal", "-shm"):
        Path(str(world.db) + suffix).unlink(missing_ok=True)
    world.server.restore(world.snapshot)
    world.server.faults.clear()
    world.server.clock.advance(301)  # every vendor rate window starts afresh


def _check(world: World) -> None:
    app = App(world.settings())
    with custom_connection_client(app.settings) as client:
        xero = [i for i in client.invoices(TENANT).records if (i.Reference or "").startswith("revloop:")]
    app.close()
    references = [i.Reference for i in xero]
    assert len(references) == len(set(references)), "an invoice was created twice in Xero"
    if set(references) != world.approved:
        engine = sa.create_engine(f"sqlite:///{world.db}")
        with engine.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(
                        t.invoices.c.key, t.invoices.c.status, t.invoices.c.external_id, t.invoices.c.number
                    ).where(t.invoices.c.origin == "revloop")
                )
            ]
            messages = [m for (m,) in conn.execute(sa.select(t.findings.c.message))]
        engine.dispose()
        missing = world.approved - set(references)
        raise AssertionError(f"missing in Xero: {sorted(missing)}; store: {rows}; findings: {messages}")
    numbers = {i.Reference: i.InvoiceNumber for i in xero}
    engine = sa.create_engine(f"sqlite:///{world.db}")
    with engine.connect() as conn:
        statuses = {
            k: s
            for k, s in conn.execute(
                sa.select(t.invoices.c.key, t.invoices.c.status).where(t.invoices.c.origin == "revloop")
            )
        }
        entries = list(
            conn.execute(
                sa.select(
                    t.time_entries.c.source_key,
                    t.time_entries.c.billing_state,
                    t.time_entries.c.invoice_key,
                    t.time_entries.c.invoice_number,
                )
            )
        )
        pending = conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.status != "done")
        )
        assert pending.scalar_one() == 0, "an outbox row was left unfinished"
    engine.dispose()
    assert set(statuses.values()) == {"posted"}, statuses
    for key, state, invoice_key, number in entries:
        assert state == "invoiced" and invoice_key in numbers and number == numbers[invoice_key], key
    h = world.server.halopsa.credentials
    with HaloClient(
        f"{world.base}/halopsa/api",
        f"{world.base}/halopsa/auth",
        h["client_id"],
        h["client_secret"],
        tenant=h["tenant"],
    ) as halo:
        stamped = {
            r.source_key: r.invoice_number
            for ticket in range(1000, 1000 + CUSTOMERS)
            for r in halo.time_entries(ticket).records
        }
    for key, _state, invoice_key, _number in entries:
        assert stamped[key] == numbers[invoice_key], f"HaloPSA action {key} not stamped"


def test_posting_survives_sigkill_anywhere(world: World) -> None:
    rng = random.Random(20261102)
    kills = 0
    for attempt in range(RUNS):
        _reset(world)
        if attempt % 4 == 1:  # Xero commits, the answer is lost
            world.server.faults.add(
                Fault(route=r"xero PUT /api.xro/2.0/Invoices", count=1, drop_after_commit=True)
            )
        pid = os.fork()
        if pid == 0:  # the poster, to be killed
            try:
                world.post()
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.35))
        try:
            os.kill(pid, signal.SIGKILL)
            kills += 1
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        world.server.faults.clear()
        world.post()
        try:
            _check(world)
        except AssertionError as exc:
            raise AssertionError(f"attempt {attempt}: {exc}") from None
    assert kills > RUNS // 2

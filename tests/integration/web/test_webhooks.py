"""The Xero webhooks receiver served by uvicorn on 127.0.0.1, fed by the Xero simulator's webhook hub
over real HTTP: signatures and the intent-to-receive check, marks stored idempotently, and the next
incremental sync reading the marked records by id."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from revloop.adapters.db import migrations, tables
from revloop.adapters.db.engine import make_engine
from revloop.bootstrap import build
from revloop.config import load_settings
from revloop.domain.issues import SecretError
from revloop.services.sync import sync_xero
from revloop.services.sync.marks import Mark, clear_marks, pending_marks, record_marks
from revloop.simulators.xero import XeroSimulator, sign_webhook
from revloop.web.webhooks import PATH, create_app
from tests.integration.sync.conftest import SETTINGS, World, make_world, small_msp

KEY = "test-webhook-signing-key"
OTHER_TENANT = "9b2f6c1e-0000-4000-8000-00000000beef"


@contextmanager
def serving(engine: Engine, key: str, tenant: str | None) -> Iterator[str]:
    """The receiver under uvicorn on a free 127.0.0.1 port, in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(engine, key, tenant_id=tenant), log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def world() -> Iterator[World]:
    made = make_world(small_msp())
    made.xero_sim.webhooks.key = KEY
    yield made
    for closer in made.closers:
        closer.close()


def marks(engine: Engine) -> list[Mark]:
    with engine.connect() as conn:
        return pending_marks(conn)


def event(
    resource_id: str, tenant: str, *, category: str = "INVOICE", at: str = "2026-11-24T07:00:00.123"
) -> Any:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": at,
        "eventType": "UPDATE",
        "eventCategory": category,
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
    }


def post(url: str, body: bytes, key: str | None = KEY) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-xero-signature"] = sign_webhook(body, key)
    return httpx.post(url, content=body, headers=headers, timeout=5.0)


def payload(*events: Any) -> bytes:
    n = len(events)
    return json.dumps(
        {"events": list(events), "firstEventSequence": 1 if n else 0, "lastEventSequence": n, "entropy": "X"}
    ).encode()


# --- signatures and the intent-to-receive check ----------------------------------------------------------


def test_intent_to_receive_and_signatures(store: Engine) -> None:
    hub = XeroSimulator(webhook_key=KEY).webhooks
    with serving(store, KEY, None) as url:
        hub.url = url
        assert hub.intent_to_receive(rounds=6) is True  # good → 200, bad → 401, as Xero checks
        empty = payload()
        ok = post(url, empty)
        assert (ok.status_code, ok.content, ok.headers.get("set-cookie")) == (200, b"", None)
        wrong = post(url, empty, key=KEY + "x")
        assert (wrong.status_code, wrong.content) == (401, b"")
        missing = post(url, empty, key=None)
        assert (missing.status_code, missing.content) == (401, b"")
        assert post(url, b"not json", key=KEY).status_code == 400
        assert post(url, b'{"no": "events"}', key=KEY).status_code == 400
        assert post(url, b"not json", key=None).status_code == 401  # the signature is checked first
        assert httpx.get(url, timeout=5.0).status_code == 405
    assert marks(store) == []


# --- events into marks -------------------------------------------------------------------------------------


def test_an_invoice_changed_in_xero_is_read_by_id_on_the_next_sync(world: World, store: Engine) -> None:
    sim, tenant = world.xero_sim, world.tenant
    sync_xero(store, world.xero, tenant_id=tenant, full=True, settings=SETTINGS, now=world.later())
    org = sim.orgs[tenant]
    accrec = [i for i in org.invoices.values() if i["Type"] == "ACCREC"]
    changed = next(i["InvoiceID"] for i in accrec if i["Status"] == "AUTHORISED" and not i.get("AmountPaid"))
    silent = next(i["InvoiceID"] for i in accrec if i["Status"] == "PAID")
    world.later()
    with serving(store, KEY, tenant) as url:
        sim.webhooks.url = url
        # a change through the API: the simulator queues the event itself
        sent = world.xero.send("POST", tenant, f"Invoices/{changed}", body={"Reference": "changed by API"})
        assert sent.status_code == 200
        # a change that leaves UpdatedDateUTC where it was (NOTES §3.3): only the webhook tells
        org.invoices[silent]["Reference"] = "changed quietly"
        sim.webhooks.record(tenant, "INVOICE", "UPDATE", silent)
        assert sim.deliver_webhooks() == 200
    assert sorted((m.resource, m.record_id, m.tenant_id) for m in marks(store)) == sorted(
        [("invoices", changed.lower(), tenant.lower()), ("invoices", silent.lower(), tenant.lower())]
    )

    report = sync_xero(store, world.xero, tenant_id=tenant, full=False, settings=SETTINGS, now=world.later())
    invoices = report.resource("invoices")
    assert invoices.mode == "incremental"
    assert invoices.read == 2 and invoices.calls == 2  # the modified-since read, then one read by id
    with store.connect() as conn:
        references = dict(
            conn.execute(
                sa.select(tables.invoices.c.external_id, tables.invoices.c.reference).where(
                    tables.invoices.c.origin == "xero",
                    tables.invoices.c.external_id.in_([changed.lower(), silent.lower()]),
                )
            ).all()
        )
    assert references == {changed.lower(): "changed by API", silent.lower(): "changed quietly"}
    assert marks(store) == []


def test_a_marked_contact_is_read_by_id(world: World, store: Engine) -> None:
    sim, tenant = world.xero_sim, world.tenant
    sync_xero(store, world.xero, tenant_id=tenant, full=True, settings=SETTINGS, now=world.later())
    contact = next(iter(sim.orgs[tenant].contacts))
    with serving(store, KEY, tenant) as url:
        body = payload(event(contact, tenant, category="CONTACT"))
        assert post(url, body).status_code == 200
    assert [(m.resource, m.record_id) for m in marks(store)] == [("contacts", contact.lower())]
    report = sync_xero(store, world.xero, tenant_id=tenant, full=False, settings=SETTINGS, now=world.later())
    contacts = report.resource("contacts")
    assert (contacts.mode, contacts.read, contacts.calls) == ("incremental", 1, 2)
    assert marks(store) == []


def test_duplicate_deliveries_make_one_mark(store: Engine) -> None:
    tenant = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
    invoice = "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777"
    with serving(store, KEY, tenant) as url:
        body = payload(event(invoice, tenant), event(invoice.upper(), tenant))
        for _ in range(3):  # at-least-once: the same batch again
            assert post(url, body).status_code == 200
        later = payload(event(invoice, tenant, at="2026-11-24T08:00:00.000"))
        assert post(url, later).status_code == 200
        assert post(url, body).status_code == 200  # an older event, late: changes nothing
    found = marks(store)
    assert [(m.record_id, m.event_at) for m in found] == [(invoice, datetime(2026, 11, 24, 8, tzinfo=UTC))]


def test_other_tenants_and_categories_are_acknowledged_and_ignored(store: Engine) -> None:
    tenant = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
    with serving(store, KEY, tenant) as url:
        body = payload(
            event("717f2bfc-c6d4-41fd-b238-3f2f0c0cf777", OTHER_TENANT),
            event("55d84274-a3da-4829-a7c0-0cab601b95cc", tenant, category="CREDITNOTE"),
            event("0b1c2d3e-0000-4000-8000-000000000001", tenant, category="SUBSCRIPTION"),
            {"resourceId": 7},
        )
        assert post(url, body).status_code == 200
        sim = XeroSimulator(webhook_key=KEY, webhook_url=url)  # its demo organisation is another tenant
        sim.webhooks.record(
            sim.credentials["tenant_id"], "INVOICE", "UPDATE", "0b1c2d3e-0000-4000-8000-0000000000aa"
        )
        assert sim.deliver_webhooks() == 200
    assert marks(store) == []


# --- the marks themselves, on both databases ------------------------------------------------------------


def test_marks_are_idempotent_and_cleared_only_if_unchanged(migrated_engine: Engine) -> None:
    t0 = datetime(2026, 11, 24, 7, tzinfo=UTC)
    first = Mark("invoices", "a", "t", t0, t0)
    newer = Mark("invoices", "a", "t", t0 + timedelta(seconds=1), t0 + timedelta(seconds=5))
    with migrated_engine.begin() as conn:
        assert record_marks(conn, [first, first, Mark("contacts", "b", "t", t0, t0)]) == 2
        record_marks(conn, [first])
    with migrated_engine.connect() as conn:
        seen = pending_marks(conn, resource="invoices", tenant_id="T")
    assert seen == [first]
    with migrated_engine.begin() as conn:
        record_marks(conn, [newer])  # the record changed again while a sync was reading it
        assert clear_marks(conn, seen) == 0
    with migrated_engine.connect() as conn:
        assert pending_marks(conn, resource="invoices") == [newer]
        assert pending_marks(conn, tenant_id="other") == []
    with migrated_engine.begin() as conn:
        assert clear_marks(conn, [newer]) == 1
    with migrated_engine.connect() as conn:
        assert [m.resource for m in pending_marks(conn)] == ["contacts"]


# --- the command line --------------------------------------------------------------------------------------


def _cli() -> Any:
    import typer

    from revloop.cli.webhooks import register

    app = typer.Typer()
    register(app)
    return app


def test_cli_needs_a_key_and_lists_pending_marks() -> None:
    application = build()
    try:
        migrations.upgrade(application.engine)
        runner = CliRunner()
        result = runner.invoke(_cli(), ["webhooks", "serve", "--port", "0"])
        assert isinstance(result.exception, SecretError)
        assert "REVLOOP_XERO_WEBHOOK_KEY" in result.exception.one_line()
        assert "xero_webhook_key" in result.exception.one_line()

        from revloop.cli.webhooks import webhook_key

        application.secrets.put("xero_webhook_key", "stored-key")
        assert webhook_key(application) == "stored-key"
        keyed = type(application)(load_settings(xero_webhook_key=SecretStr("env-key")))
        try:
            assert webhook_key(keyed) == "env-key"
        finally:
            keyed.close()

        assert "No records waiting" in runner.invoke(_cli(), ["webhooks", "pending"]).stdout
        t0 = datetime(2026, 11, 24, 7, tzinfo=UTC)
        with application.engine.begin() as conn:
            record_marks(conn, [Mark("invoices", "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777", "t", t0, t0)])
        shown = runner.invoke(_cli(), ["webhooks", "pending"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0 and "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777" in shown.stdout
    finally:
        application.close()

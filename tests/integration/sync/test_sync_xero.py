"""Xero into the store through the simulator: documents, payments, quotes, tax rates; customers linked
to contacts by stored id, then contact number, with name matches only suggested."""

from __future__ import annotations

import copy
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db import repository, tables
from revloop.services.sync import sync_halopsa, sync_xero
from revloop.simulators.common import Fault

from .conftest import SETTINGS, World, make_world, small_msp
from .helpers import api_calls, count


def both(world: World, store: Engine, *, full: bool = True) -> None:
    sync_halopsa(store, world.halo, full=full, settings=SETTINGS, now=world.later())
    report = sync_xero(
        store, world.xero, tenant_id=world.tenant, full=full, settings=SETTINGS, now=world.later()
    )
    assert report.issues == []


def test_a_full_sync_lands_documents_and_links_every_customer(world: World, store: Engine) -> None:
    both(world, store)
    xero = world.msp.xero
    accrec = [i for i in xero["Invoices"] if i.get("Type") == "ACCREC"]
    assert count(store, tables.invoices, tables.invoices.c.origin == "xero") == len(accrec)
    assert count(store, tables.payments) == len(xero["Payments"])
    assert count(store, tables.quotes, tables.quotes.c.system == "xero") == len(xero["Quotes"])
    assert count(store, tables.tax_rates) == len(xero["TaxRates"])
    with store.connect() as conn:
        for client in world.msp.halopsa["client"]:
            linked = repository.external_id_for(conn, "customer", f"c{client['id']}", "xero")
            assert linked == client["xeroid"].lower()
        first = accrec[0]
        stored = conn.execute(
            sa.select(tables.invoices).where(
                tables.invoices.c.origin == "xero",
                tables.invoices.c.external_id == first["InvoiceID"].lower(),
            )
        ).one()
        lines = count(conn.engine, tables.invoice_lines, tables.invoice_lines.c.invoice_id == stored.id)
        paid = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.payments)
            .where(tables.payments.c.invoice_id.is_not(None))
        ).scalar_one()
    assert stored.status == first["Status"] and stored.customer_id is not None
    assert stored.total == Decimal(str(first.get("Total") or stored.total))
    assert lines == len(first["LineItems"])
    assert paid == len(xero["Payments"])


def test_a_quiet_second_sync_makes_one_call_per_resource(world: World, store: Engine) -> None:
    both(world, store)
    world.xero_sim.log.clear()
    report = sync_xero(
        store, world.xero, tenant_id=world.tenant, full=False, settings=SETTINGS, now=world.later()
    )
    calls = api_calls(world.xero_sim.log.counts())
    assert calls and max(calls.values()) == 1, calls
    assert {r.resource: r.mode for r in report.resources}["invoices"] == "incremental"
    assert all(r.read == 0 for r in report.resources if r.mode == "incremental")


def test_a_void_in_xero_lands_as_its_status(world: World, store: Engine) -> None:
    both(world, store)
    draft = next(
        i for i in world.msp.xero["Invoices"] if i["Status"] == "AUTHORISED" and not i.get("AmountPaid")
    )
    world.later()
    world.xero.send("POST", world.tenant, f"Invoices/{draft['InvoiceID']}", body={"Status": "VOIDED"})
    report = sync_xero(
        store, world.xero, tenant_id=world.tenant, full=False, settings=SETTINGS, now=world.later()
    )
    assert report.resource("invoices").read == 1
    with store.connect() as conn:
        status = conn.execute(
            sa.select(tables.invoices.c.status).where(
                tables.invoices.c.origin == "xero",
                tables.invoices.c.external_id == draft["InvoiceID"].lower(),
            )
        ).scalar_one()
    assert status == "VOIDED"


def test_contact_numbers_link_and_names_only_suggest(store: Engine) -> None:
    msp = copy.deepcopy(small_msp())
    for client in msp.halopsa["client"]:
        client.pop("xeroid", None)
    renamed = msp.xero["Contacts"][1]
    renamed["ContactNumber"] = "X-999"  # no longer the HaloPSA id: only the name can match
    world = make_world(msp)
    try:
        both(world, store)
    finally:
        world.halo.close()
        world.xero.close()
    with store.connect() as conn:
        methods = dict(
            conn.execute(
                sa.select(tables.external_ids.c.method, sa.func.count())
                .where(tables.external_ids.c.entity == "customer", tables.external_ids.c.system == "xero")
                .group_by(tables.external_ids.c.method)
            ).all()
        )
        suggestions = repository.suggestions(conn, "customer")
    assert methods == {"contact_number": len(msp.xero["Contacts"]) - 1, "name": 1}
    assert [(s.external_id, s.status) for s in suggestions] == [(renamed["ContactID"].lower(), "suggested")]


def test_xero_429s_and_503s_lose_nothing(world: World, store: Engine) -> None:
    world.xero_sim.faults.add(
        Fault(route=r"GET /api\.xro/2\.0/Invoices", status=429, count=3, headers={"Retry-After": "5"})
    )
    world.xero_sim.faults.add(Fault(route=r"GET /api\.xro/2\.0/Payments", status=503, count=2))
    sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    report = sync_xero(
        store,
        world.xero,
        tenant_id=world.tenant,
        full=True,
        settings=SETTINGS,
        now=world.later(),
        waits=world.waits,
    )
    assert report.issues == []
    assert count(store, tables.invoices, tables.invoices.c.origin == "xero") == len(
        world.msp.xero["Invoices"]
    )
    assert count(store, tables.payments) == len(world.msp.xero["Payments"])
    assert report.resource("invoices").rate_limit_waits == 3
    assert report.resource("invoices").rate_limit_seconds > 14
    assert report.resource("payments").retry_waits == 2

"""``revloop import``: Xero's customers and items into the store and into HaloPSA, against both simulators.

The small demo MSP, plus Xero contacts and items HaloPSA lacks: two new customers, one whose only match
is a HaloPSA client of the same name (in other letter case), a supplier and an archived customer; two
new sold items, one item named like a HaloPSA item under another code, and an item that is not sold.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from revloop.adapters.db import migrations, repository, tables
from revloop.adapters.db.engine import make_engine
from revloop.cli import importing as cli
from revloop.services.importing import (
    CREATED,
    LINKED,
    MISSING,
    SKIPPED,
    SUGGESTED,
    WOULD_CREATE,
    ImportReport,
    import_xero_contacts,
    import_xero_items,
)

from ..sync.conftest import SETTINGS, World, make_world, new_halo, new_xero, small_msp

NEW_CONTACTS = {
    "000000e1-7e57-4d00-8000-000000000501": ("Northgate Dental Ltd", "N-501", "EUR"),
    "000000e1-7e57-4d00-8000-000000000502": ("Pellow & Sons", None, None),
}
SAME_NAME = "000000e1-7e57-4d00-8000-000000000503"
SUPPLIER = "000000e1-7e57-4d00-8000-000000000504"
ARCHIVED = "000000e1-7e57-4d00-8000-000000000505"
NAMED_CLIENT = 900

NEW_ITEMS = {
    "000000b1-7e57-4d00-8000-000000000501": ("BACKUP-TB", "Cloud backup (per TB)", Decimal("42.50")),
    "000000b1-7e57-4d00-8000-000000000502": ("ONSITE-HALF", "On-site half day", Decimal("300.00")),
}
SAME_NAME_ITEM = "000000b1-7e57-4d00-8000-000000000503"
NOT_SOLD = "000000b1-7e57-4d00-8000-000000000504"


def _contact(cid: str, name: str, number: str | None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"ContactID": cid, "Name": name, "ContactStatus": "ACTIVE", "IsCustomer": True}
    if number:
        record["ContactNumber"] = number
    return {**record, **extra}


def _item(iid: str, code: str, name: str, price: Decimal, **extra: Any) -> dict[str, Any]:
    sales = {"UnitPrice": price, "AccountCode": "200", "TaxType": "OUTPUT2"}
    return {"ItemID": iid, "Code": code, "Name": name, "IsSold": True, "SalesDetails": sales, **extra}


def msp_with_extras() -> Any:
    msp = copy.deepcopy(small_msp())
    contacts = msp.xero["Contacts"]
    for cid, (name, number, currency) in NEW_CONTACTS.items():
        contacts.append(_contact(cid, name, number, **({"DefaultCurrency": currency} if currency else {})))
    contacts.append(_contact(SAME_NAME, "TAMSIN WARD ACCOUNTANCY", "T-77"))
    contacts.append(_contact(SUPPLIER, "Paper Supplies Ltd", None, IsCustomer=False, IsSupplier=True))
    contacts.append(_contact(ARCHIVED, "Closed Customer Ltd", None, ContactStatus="ARCHIVED"))
    msp.halopsa["client"].append({"id": NAMED_CLIENT, "name": "Tamsin Ward Accountancy", "ref": "TW1"})
    items = msp.xero["Items"]
    for iid, (code, name, price) in NEW_ITEMS.items():
        items.append(_item(iid, code, name, price))
    items.append(_item(SAME_NAME_ITEM, "RS-HOUR", "REMOTE SUPPORT (PER HOUR)", Decimal("90")))
    items.append(_item(NOT_SOLD, "TONER", "Toner", Decimal("10"), IsSold=False, IsPurchased=True))
    return msp


@pytest.fixture
def world() -> Iterator[World]:
    made = make_world(msp_with_extras())
    yield made
    for closer in made.closers:
        closer.close()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def contacts(world: World, store: Engine, *, into: bool = True, dry_run: bool = False) -> ImportReport:
    return import_xero_contacts(
        store,
        world.xero,
        tenant_id=world.tenant,
        halo=world.halo if into else None,
        settings=SETTINGS,
        now=world.later(),
        dry_run=dry_run,
        waits=world.waits,
    )


def items(world: World, store: Engine, *, into: bool = True, dry_run: bool = False) -> ImportReport:
    return import_xero_items(
        store,
        world.xero,
        tenant_id=world.tenant,
        halo=world.halo if into else None,
        settings=SETTINGS,
        now=world.later(),
        dry_run=dry_run,
        waits=world.waits,
    )


def halo_rows(world: World, table: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in world.halo_sim.store.tables[table].all()}


def xero_writes(world: World) -> list[str]:
    return [r for r in world.xero_sim.log.counts() if "/api.xro/" in r and " GET " not in r]


def by_result(report: ImportReport, result: str) -> set[str]:
    return {o.xero_id for o in report.outcomes if o.result == result}


def test_into_halopsa_creates_exactly_the_missing_clients_with_their_xero_ids(
    world: World, store: Engine
) -> None:
    before = halo_rows(world, "client")
    report = contacts(world, store)
    after = halo_rows(world, "client")
    new = {cid: rec for cid, rec in after.items() if cid not in before}
    assert {rec["xeroid"] for rec in new.values()} == set(NEW_CONTACTS)
    for rec in new.values():
        name, number, currency = NEW_CONTACTS[rec["xeroid"]]
        assert (rec["name"], rec["accountsid"]) == (name, number or "")
        assert rec["currencyisocode"] == (currency or SETTINGS.currency)
        assert rec["xero_tenant_id"] == world.tenant
    assert by_result(report, CREATED) == set(NEW_CONTACTS)
    assert by_result(report, SKIPPED) == {SUPPLIER, ARCHIVED}
    assert len(by_result(report, LINKED)) == len(world.msp.halopsa["client"]) - 1
    assert xero_writes(world) == []
    with store.connect() as conn:
        for cid, rec in new.items():
            assert repository.local_id_for(conn, "customer", "xero", rec["xeroid"]) == f"c{cid}"
            customer = conn.execute(
                sa.select(tables.customers.c.name, tables.customers.c.currency).where(
                    tables.customers.c.code == f"c{cid}"
                )
            ).one()
            assert tuple(customer) == (rec["name"], rec["currencyisocode"])


def test_a_second_run_creates_nothing(world: World, store: Engine) -> None:
    first = contacts(world, store)
    clients = halo_rows(world, "client")
    second = contacts(world, store)
    assert halo_rows(world, "client") == clients
    assert second.count(CREATED) == 0
    assert by_result(second, LINKED) >= by_result(first, CREATED)
    assert second.count(SUGGESTED) == 1


def test_a_name_only_match_is_a_suggestion_not_a_new_client(world: World, store: Engine) -> None:
    report = contacts(world, store)
    assert not [
        r
        for r in halo_rows(world, "client").values()
        if r["name"].lower() == "tamsin ward accountancy" and r["id"] != NAMED_CLIENT
    ]
    suggested = [o for o in report.outcomes if o.result == SUGGESTED]
    assert [(o.xero_id, o.halopsa_id) for o in suggested] == [(SAME_NAME, str(NAMED_CLIENT))]
    with store.connect() as conn:
        hints = [(r.local_id, r.external_id) for r in repository.suggestions(conn, "customer")]
        assert (f"c{NAMED_CLIENT}", SAME_NAME) in hints
        assert repository.external_id_for(conn, "customer", f"c{NAMED_CLIENT}", "xero") is None


def test_dry_run_creates_nothing_and_writes_nowhere(world: World, store: Engine) -> None:
    before = halo_rows(world, "client")
    report = contacts(world, store, dry_run=True)
    assert halo_rows(world, "client") == before
    assert by_result(report, WOULD_CREATE) == set(NEW_CONTACTS)
    assert report.count(CREATED) == 0
    assert by_result(report, SUGGESTED) == {SAME_NAME}
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.external_ids)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.customers)).scalar_one() == 0


def test_without_halopsa_the_missing_customers_are_only_reported(world: World, store: Engine) -> None:
    before = halo_rows(world, "client")
    report = contacts(world, store, into=False)
    assert halo_rows(world, "client") == before
    # nothing of HaloPSA is in the store yet: every customer is missing
    assert by_result(report, MISSING) >= set(NEW_CONTACTS)
    assert report.count(CREATED) == 0


def test_items_into_halopsa_are_created_once_with_their_xero_ids(world: World, store: Engine) -> None:
    before = halo_rows(world, "item")
    report = items(world, store)
    new = {iid: rec for iid, rec in halo_rows(world, "item").items() if iid not in before}
    assert {rec["accountsid"] for rec in new.values()} == set(NEW_ITEMS)
    for rec in new.values():
        code, name, price = NEW_ITEMS[rec["accountsid"]]
        assert (rec["internalreference"], rec["name"], rec["baseprice"]) == (code, name, price)
        assert isinstance(rec["baseprice"], Decimal)
        assert rec["nominalcode"] == "200"
    assert by_result(report, CREATED) == set(NEW_ITEMS)
    assert by_result(report, SUGGESTED) == {SAME_NAME_ITEM}
    assert by_result(report, SKIPPED) == {NOT_SOLD}
    assert report.count(LINKED) == len(world.msp.halopsa["item"])
    assert xero_writes(world) == []
    with store.connect() as conn:
        landed = {
            r.code: (r.halopsa_id, r.xero_id, r.unit_price)
            for r in conn.execute(
                sa.select(
                    tables.items.c.code,
                    tables.items.c.halopsa_id,
                    tables.items.c.xero_id,
                    tables.items.c.unit_price,
                )
            )
        }
    for iid, rec in new.items():
        code, _name, price = NEW_ITEMS[rec["accountsid"]]
        assert landed[code] == (str(iid), rec["accountsid"], price)
    again = items(world, store)
    assert again.count(CREATED) == 0
    assert len(halo_rows(world, "item")) == len(before) + len(NEW_ITEMS)
    dry = items(world, store, dry_run=True)
    assert dry.count(WOULD_CREATE) == 0


def test_items_dry_run_creates_nothing(world: World, store: Engine) -> None:
    before = halo_rows(world, "item")
    report = items(world, store, dry_run=True)
    assert halo_rows(world, "item") == before
    assert by_result(report, WOULD_CREATE) == set(NEW_ITEMS)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.items)).scalar_one() == 0


runner = CliRunner()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, world: World) -> Iterator[typer.Typer]:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("REVLOOP_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(
        cli, "make_halo_client", lambda application, waits: new_halo(world.halo_sim, world.sleep, waits)
    )
    monkeypatch.setattr(
        cli,
        "make_xero_client",
        lambda application, waits: (new_xero(world.xero_sim, world.sleep, waits), world.tenant),
    )
    typer_app = typer.Typer()
    cli.register(typer_app)
    yield typer_app


def test_the_command_prints_a_summary_and_creates_once(app: typer.Typer, world: World) -> None:
    env = {"COLUMNS": "220"}
    dry = runner.invoke(app, ["import", "xero-contacts", "--into-halopsa", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would create" in dry.output and "Northgate Dental Ltd" in dry.output
    clients = len(halo_rows(world, "client"))
    done = runner.invoke(app, ["import", "xero-contacts", "--into-halopsa"], env=env)
    assert done.exit_code == 0, done.output
    assert "created" in done.output and "Tamsin Ward" not in done.output.split("Records")[0]
    assert len(halo_rows(world, "client")) == clients + len(NEW_CONTACTS)
    again = runner.invoke(app, ["import", "xero-contacts", "--into-halopsa"], env=env)
    assert again.exit_code == 0, again.output
    assert len(halo_rows(world, "client")) == clients + len(NEW_CONTACTS)
    listed = runner.invoke(app, ["import", "xero-items"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "missing in HaloPSA" in listed.output and "sync HaloPSA first" in listed.output

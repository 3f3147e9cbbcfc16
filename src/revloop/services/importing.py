"""``revloop import``: Xero's customers and sold items into the store and, on request, into HaloPSA.

Xero is only read. Its contacts and items land in the store exactly as ``sync_xero`` lands them (the
same steps run). With a HaloPSA client, each customer contact with no HaloPSA client is matched, in
order of trust, through:

1. the mapping ledger (a confirmed customer ↔ contact link);
2. a HaloPSA client whose ``xeroid`` is the ContactID;
3. a HaloPSA client whose ``accountsid`` or ``ref`` is the contact's ``ContactNumber``;
4. a HaloPSA client of the same name (exact, ignoring case): only a *suggestion*, recorded in the ledger
   for ``revloop map`` to confirm, and never a reason to create a second client.

Links found by 2 and 3 are recorded in the ledger. A contact matched by none of them becomes a new
HaloPSA client (``name``, ``xeroid`` = ContactID, ``accountsid`` = ContactNumber, ``currencyisocode``
= the contact's default currency, ``xero_tenant_id``), linked in the ledger, and the HaloPSA clients
are then synced so the store has the customer (in the contact's currency, as ``sync_xero`` sets
it). Items work the same way against HaloPSA items: ``accountsid`` = ItemID, then the item code
(``internalreference``, else ``externalreference``), then the name (a suggestion, reported only); a new
item carries ``name``, ``description``, ``internalreference`` = Code, ``baseprice`` = the sales unit
price, ``nominalcode`` = the sales account and ``accountsid`` = ItemID.

Which records count: a *customer* is an ACTIVE contact whose ``IsCustomer`` is true, or absent (an
organisation whose API answer leaves the flag out); archived contacts and contacts Xero marks as not
customers (suppliers, never invoiced) are skipped. An item is imported when ``IsSold`` is true or
absent and it has a ``Code`` (the store keys items by code); other items are skipped.

Running it again creates nothing: everything created the first time is found by its Xero id.
``dry_run`` reads both systems and writes nowhere, not even the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from revloop.adapters.db import repository
from revloop.adapters.db.tables import external_ids, items
from revloop.adapters.halopsa import mapping
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero import wire
from revloop.adapters.xero.client import XeroClient

from .sync.common import Runner, engine_of
from .sync.halo_catalogue import item_code, sync_items
from .sync.halo_context import HaloContext
from .sync.halo_read import read_pairs
from .sync.halo_reference import sync_clients
from .sync.report import WaitTally
from .sync.xero import XeroSync
from .sync.xero_contacts import adopt_currencies

CREATED = "created"
WOULD_CREATE = "would create"  # --dry-run with --into-halopsa
MISSING = "missing"  # not in HaloPSA, and HaloPSA was not asked to get it
LINKED = "linked"
SUGGESTED = "suggested"
SKIPPED = "skipped"
RESULTS = (CREATED, WOULD_CREATE, MISSING, LINKED, SUGGESTED, SKIPPED)


@dataclass(frozen=True)
class Outcome:
    """What became of one Xero record."""

    xero_id: str
    name: str
    result: str
    halopsa_id: str | None = None
    detail: str = ""


@dataclass
class ImportReport:
    what: str  # contacts | items
    into_halopsa: bool
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    def counts(self) -> dict[str, int]:
        return {result: self.count(result) for result in RESULTS}


def _key(text: str | None) -> str:
    return (text or "").strip().lower()


def _xero_runner(engine: Engine, xero: XeroClient, now: datetime, waits: WaitTally | None) -> Runner:
    return Runner(
        "xero", engine, full=True, now=now, calls=lambda: xero.requests_sent, progress=None, waits=waits
    )


def _halo_context(
    engine: Engine, halo: HaloClient, settings: Any, now: datetime, waits: WaitTally | None
) -> HaloContext:
    runner = Runner(
        "halopsa", engine, full=True, now=now, calls=lambda: halo.requests_sent, progress=None, waits=waits
    )
    return HaloContext(runner, halo, currency=settings.currency, zone=ZoneInfo(settings.timezone))


def _ledger(conn: Connection, entity: str) -> dict[str, tuple[str, str]]:
    """Xero id → (local id, status) of the confirmed and suggested links of one entity."""
    out: dict[str, tuple[str, str]] = {}
    rows = conn.execute(
        sa.select(external_ids.c.external_id, external_ids.c.local_id, external_ids.c.status).where(
            external_ids.c.entity == entity,
            external_ids.c.system == "xero",
            external_ids.c.status.in_(("confirmed", "suggested")),
        )
    )
    for row in rows:
        if row.status == "confirmed" or row.external_id not in out:
            out[row.external_id] = (row.local_id, row.status)
    return out


def _rejected(conn: Connection, entity: str) -> set[tuple[str, str]]:
    """(local id, Xero id) pairs a person turned down."""
    rows = conn.execute(
        sa.select(external_ids.c.local_id, external_ids.c.external_id).where(
            external_ids.c.entity == entity,
            external_ids.c.system == "xero",
            external_ids.c.status == "rejected",
        )
    )
    return {(r.local_id, r.external_id) for r in rows}


def is_customer(contact: wire.Contact) -> bool:
    return str(contact.ContactStatus or "ACTIVE") == "ACTIVE" and contact.IsCustomer is not False


def is_sold(item: wire.Item) -> bool:
    return item.IsSold is not False and bool(item.Code)


# --- contacts -------------------------------------------------------------------------------------------


def import_xero_contacts(
    app_or_engine: Any,
    xero: XeroClient,
    *,
    tenant_id: str | None,
    halo: HaloClient | None,
    settings: Any,
    now: datetime,
    dry_run: bool = False,
    waits: WaitTally | None = None,
) -> ImportReport:
    """Xero's customers into the store; with ``halo``, the missing ones created as HaloPSA clients."""
    engine = engine_of(app_or_engine)
    report = ImportReport("contacts", into_halopsa=halo is not None, dry_run=dry_run)
    if not dry_run:
        XeroSync(_xero_runner(engine, xero, now, waits), xero, tenant_id, settings.currency).contacts()
    contacts = [c for c in xero.contacts(tenant_id).records if c.ContactID]
    with engine.connect() as conn:
        ledger = _ledger(conn, "customer")
        rejected = _rejected(conn, "customer")
    match = _client_matcher(halo)
    to_create: list[wire.Contact] = []
    links: list[tuple[str, str, str, str]] = []  # customer code, contact id, method, status
    for contact in contacts:
        cid = contact.ContactID.lower() if contact.ContactID else ""
        name = contact.Name or cid
        if not is_customer(contact):
            why = "archived" if str(contact.ContactStatus or "") != "ACTIVE" else "not a customer in Xero"
            report.outcomes.append(Outcome(cid, name, SKIPPED, detail=why))
            continue
        local, status = ledger.get(cid, (None, None))
        if local is not None and status == "confirmed":
            report.outcomes.append(Outcome(cid, name, LINKED, local.removeprefix("c"), "mapping ledger"))
            continue
        found = match(contact) if match is not None else None
        if found is not None and found[2] == SUGGESTED and (f"c{found[0]}", cid) in rejected:
            found = None  # a person said this same-named client is another customer
        if found is not None:
            halo_id, method, result = found
            links.append((f"c{halo_id}", cid, method, "confirmed" if result == LINKED else "suggested"))
            detail = {"stored_id": "HaloPSA xeroid", "contact_number": "ContactNumber", "name": "same name"}
            report.outcomes.append(Outcome(cid, name, result, halo_id, detail[method]))
            continue
        if local is not None:  # a suggestion already waiting for `revloop map`
            report.outcomes.append(Outcome(cid, name, SUGGESTED, local.removeprefix("c"), "mapping ledger"))
            continue
        if halo is None:
            report.outcomes.append(Outcome(cid, name, MISSING))
        elif dry_run:
            report.outcomes.append(Outcome(cid, name, WOULD_CREATE))
        else:
            to_create.append(contact)
    if dry_run or halo is None:
        return report
    created: list[dict[str, Any]] = []
    if to_create:
        records = [_client_record(c, tenant_id, settings.currency) for c in to_create]
        created = halo.upsert_clients(records)
        for contact, saved in zip(to_create, created, strict=True):
            cid = (contact.ContactID or "").lower()
            links.append((f"c{saved['id']}", cid, "stored_id", "confirmed"))
            report.outcomes.append(Outcome(cid, contact.Name or cid, CREATED, str(saved["id"]), "new client"))
    if links:
        with engine.begin() as conn:
            for code, cid, method, status in links:
                repository.link(
                    conn,
                    entity="customer",
                    local_id=code,
                    system="xero",
                    external_id=cid,
                    at=now,
                    method=method,
                    status=status,
                    by="revloop" if status == "confirmed" else None,
                )
    if created or links:
        sync_clients(_halo_context(engine, halo, settings, now, waits))
        with engine.begin() as conn:  # HaloPSA's list of clients carries no currency: Xero's applies
            adopt_currencies(conn, contacts, now)
    return report


def _client_record(contact: wire.Contact, tenant_id: str | None, currency: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": contact.Name or contact.ContactNumber or contact.ContactID,
        "xeroid": (contact.ContactID or "").lower(),
        "accountsid": contact.ContactNumber or "",
        "currencyisocode": (contact.DefaultCurrency or currency).upper(),
    }
    if tenant_id:
        record["xero_tenant_id"] = tenant_id
    return record


def _client_matcher(
    halo: HaloClient | None,
) -> Callable[[wire.Contact], tuple[str, str, str] | None] | None:
    """A lookup of HaloPSA's clients: contact → (client id, method, linked|suggested), or None."""
    if halo is None:
        return None
    clients = read_pairs(halo, mapping.CLIENTS, {"includeinactive": True}).rows
    by_xero: dict[str, str] = {}
    by_number: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for _raw, rec in clients:
        if _key(rec.name):  # every client: a same-named contact is never created twice
            by_name.setdefault(_key(rec.name), []).append(rec.source_key)
        if rec.xero_id:
            by_xero.setdefault(_key(rec.xero_id), rec.source_key)
            continue  # a client that names its contact is not matched to another by number
        for number in (rec.accounts_id, rec.ref):
            if _key(number):
                by_number.setdefault(_key(number), rec.source_key)

    def match(contact: wire.Contact) -> tuple[str, str, str] | None:
        found = by_xero.get(_key(contact.ContactID))
        if found is not None:
            return found, "stored_id", LINKED
        found = by_number.get(_key(contact.ContactNumber)) if _key(contact.ContactNumber) else None
        if found is not None:
            return found, "contact_number", LINKED
        named = by_name.get(_key(contact.Name), []) if _key(contact.Name) else []
        if named:
            return named[0], "name", SUGGESTED
        return None

    return match


# --- items ----------------------------------------------------------------------------------------------


def import_xero_items(
    app_or_engine: Any,
    xero: XeroClient,
    *,
    tenant_id: str | None,
    halo: HaloClient | None,
    settings: Any,
    now: datetime,
    dry_run: bool = False,
    waits: WaitTally | None = None,
) -> ImportReport:
    """Xero's sold items into the store; with ``halo``, the missing ones created as HaloPSA items."""
    engine = engine_of(app_or_engine)
    report = ImportReport("items", into_halopsa=halo is not None, dry_run=dry_run)
    if not dry_run:
        XeroSync(_xero_runner(engine, xero, now, waits), xero, tenant_id, settings.currency).items()
    got = [i for i in xero.items(tenant_id).records if i.ItemID]
    with engine.connect() as conn:
        stored = {
            _key(r.code): r.halopsa_id
            for r in conn.execute(sa.select(items.c.code, items.c.halopsa_id))
            if r.halopsa_id
        }
    match = _item_matcher(halo)
    to_create: list[wire.Item] = []
    for item in got:
        xid = (item.ItemID or "").lower()
        name = item.Name or item.Code or xid
        if not is_sold(item):
            why = "no code" if not item.Code else "not sold"
            report.outcomes.append(Outcome(xid, name, SKIPPED, detail=why))
            continue
        found = match(item) if match is not None else None
        if found is None and match is None and _key(item.Code) in stored:
            found = (str(stored[_key(item.Code)]), "store", LINKED)
        if found is not None:
            halo_id, how, result = found
            report.outcomes.append(Outcome(xid, name, result, halo_id, how))
        elif halo is None:
            report.outcomes.append(Outcome(xid, name, MISSING))
        elif dry_run:
            report.outcomes.append(Outcome(xid, name, WOULD_CREATE))
        else:
            to_create.append(item)
    if dry_run or halo is None:
        return report
    if to_create:
        created = halo.upsert_items([_item_record(i, tenant_id) for i in to_create])
        for item, saved in zip(to_create, created, strict=True):
            xid = (item.ItemID or "").lower()
            report.outcomes.append(Outcome(xid, item.Name or xid, CREATED, str(saved["id"]), "new item"))
        sync_items(_halo_context(engine, halo, settings, now, waits))
    return report


def _item_record(item: wire.Item, tenant_id: str | None) -> dict[str, Any]:
    sales = item.SalesDetails
    record: dict[str, Any] = {
        "name": item.Name or item.Code,
        "description": item.Description or item.Name or item.Code,
        "internalreference": item.Code,
        "accountsid": (item.ItemID or "").lower(),
    }
    if sales is not None and sales.UnitPrice is not None:
        record["baseprice"] = sales.UnitPrice
    if sales is not None and sales.AccountCode:
        record["nominalcode"] = sales.AccountCode
    if tenant_id:
        record["xero_tenant_id"] = tenant_id
    return record


def _item_matcher(halo: HaloClient | None) -> Callable[[wire.Item], tuple[str, str, str] | None] | None:
    """A lookup of HaloPSA's items: item → (item id, matched on, linked|suggested), or None."""
    if halo is None:
        return None
    pairs = read_pairs(halo, mapping.ITEMS, {"includeinactive": True}).rows
    by_xero: dict[str, str] = {}
    by_code: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for raw, rec in pairs:
        if _key(rec.accounts_id):
            by_xero.setdefault(_key(rec.accounts_id), rec.source_key)
        by_code.setdefault(_key(item_code(raw, rec.source_key)), rec.source_key)
        if _key(rec.name):
            by_name.setdefault(_key(rec.name), []).append(rec.source_key)

    def match(item: wire.Item) -> tuple[str, str, str] | None:
        found = by_xero.get(_key(item.ItemID))
        if found is not None:
            return found, "HaloPSA accountsid", LINKED
        found = by_code.get(_key(item.Code))
        if found is not None:
            return found, "item code", LINKED
        named = by_name.get(_key(item.Name), []) if _key(item.Name) else []
        if named:
            return named[0], "same name", SUGGESTED
        return None

    return match

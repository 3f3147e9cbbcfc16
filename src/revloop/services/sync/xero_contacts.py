"""Matching Xero contacts to customers, into the mapping ledger.

In order of trust: (1) the Xero contact id stored on the HaloPSA client (``xeroid``), linked by the
HaloPSA sync; (2) the contact's ``ContactNumber`` equal to the HaloPSA client's id, ``accountsid`` or
``ref`` (confirmed, method ``contact_number``); (3) the same name once legal suffixes and punctuation
are set aside: only a *suggestion*, which a person confirms with ``revloop map``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import repository
from revloop.adapters.db.tables import customers, external_ids
from revloop.adapters.xero import wire

SUFFIXES = re.compile(r"\b(ltd|limited|llp|plc|inc|incorporated|llc|pty|co|company|corp|corporation|the)\b")
#: ledger systems under which the HaloPSA sync records a client's own accounts identifiers
HALO_KEYS = ("halopsa", "halopsa.accounts", "halopsa.ref")


def normal_name(name: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace("&", " and "))
    return " ".join(SUFFIXES.sub(" ", text).split())


def _confirmed(conn: Connection, system: str) -> dict[str, str]:
    """external id → local id of the confirmed customer links in one system."""
    return {
        r.external_id: r.local_id
        for r in conn.execute(
            sa.select(external_ids.c.external_id, external_ids.c.local_id).where(
                external_ids.c.entity == "customer",
                external_ids.c.system == system,
                external_ids.c.status == "confirmed",
            )
        )
    }


def match_contacts(conn: Connection, contacts: list[wire.Contact], at: datetime) -> dict[str, int]:
    """Link what can be linked; suggest name matches. Returns counts per method."""
    counts = {"stored_id": 0, "contact_number": 0, "suggested": 0, "unmatched": 0}
    linked = _confirmed(conn, "xero")  # contact id → customer code
    by_customer = {code: cid for cid, code in linked.items()}
    numbers: dict[str, str] = {}
    for system in HALO_KEYS:
        for external, code in _confirmed(conn, system).items():
            numbers.setdefault(external.strip().lower(), code)
    names: dict[str, list[str]] = {}
    for row in conn.execute(sa.select(customers.c.code, customers.c.name)):
        names.setdefault(normal_name(row.name), []).append(row.code)
    for contact in contacts:
        cid = (contact.ContactID or "").lower()
        if not cid:
            continue
        if cid in linked:
            counts["stored_id"] += 1
            continue
        number = (contact.ContactNumber or "").strip().lower()
        found = numbers.get(number) if number else None
        if found is not None and found not in by_customer:
            code = found
            repository.link(
                conn,
                entity="customer",
                local_id=code,
                system="xero",
                external_id=cid,
                at=at,
                method="contact_number",
                by="revloop",
            )
            linked[cid], by_customer[code] = code, cid
            counts["contact_number"] += 1
            continue
        candidates = [c for c in names.get(normal_name(contact.Name or ""), []) if c not in by_customer]
        if len(candidates) == 1 and contact.Name:
            repository.link(
                conn,
                entity="customer",
                local_id=candidates[0],
                system="xero",
                external_id=cid,
                at=at,
                method="name",
                status="suggested",
            )
            counts["suggested"] += 1
        else:
            counts["unmatched"] += 1
    return counts


def adopt_currencies(conn: Connection, contacts: list[wire.Contact], at: datetime) -> int:
    """A linked customer bills in its Xero contact's default currency, unless set locally."""
    linked = _confirmed(conn, "xero")
    changed = 0
    for contact in contacts:
        code = linked.get((contact.ContactID or "").lower())
        currency = (contact.DefaultCurrency or "").upper()
        if code is None or len(currency) != 3:
            continue
        row = conn.execute(
            sa.select(customers.c.currency, customers.c.local_overrides).where(customers.c.code == code)
        ).one_or_none()
        overrides: dict[str, Any] = (row.local_overrides or {}) if row is not None else {}
        if row is None or row.currency == currency or "currency" in overrides:
            continue
        conn.execute(
            customers.update().where(customers.c.code == code).values(currency=currency, updated_at=at)
        )
        changed += 1
    return changed

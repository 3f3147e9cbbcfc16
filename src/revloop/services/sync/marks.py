"""Sync marks: records a Xero webhook said changed, waiting for the next incremental sync.

A webhook event is thin (NOTES §8): it names a record, not its new state. The receiver stores one
mark per record (``record_marks``); the next incremental sync reads the marked records by id
(``pending_marks``), lands them, and deletes the marks in the same transaction (``clear_marks``).

Delivery is at-least-once and unordered, so marking is idempotent: a record has at most one mark,
carrying the newest event's time. Clearing is a compare-and-swap on that time: a mark that a newer
event moved while the sync was reading stays for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from revloop.adapters.db.tables import sync_marks
from revloop.adapters.xero import wire

log = logging.getLogger(__name__)

SYSTEM = "xero"
#: webhook event categories that mark records, and the sync resource that reads them by id
CATEGORY_RESOURCES = {"INVOICE": "invoices", "CONTACT": "contacts"}
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Mark:
    resource: str
    record_id: str
    tenant_id: str
    event_at: datetime
    received_at: datetime
    system: str = SYSTEM

    def row(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "resource": self.resource,
            "record_id": self.record_id,
            "tenant_id": self.tenant_id,
            "event_at": self.event_at,
            "received_at": self.received_at,
        }


def marks_from_events(
    events: Iterable[Any], *, received_at: datetime, tenant_id: str | None = None
) -> tuple[list[Mark], int]:
    """The marks a webhook payload's events ask for, and how many events were set aside.

    Set aside: events of another tenant than ``tenant_id`` (when given), categories revloop does not
    read by id (credit notes, subscriptions: the incremental sync finds those), and malformed events.
    An event time that cannot be read is taken as the time of receipt.
    """
    wanted = tenant_id.strip().lower() if tenant_id else None
    marks: list[Mark] = []
    skipped = 0
    for event in events:
        if not isinstance(event, Mapping):
            skipped += 1
            continue
        resource = CATEGORY_RESOURCES.get(str(event.get("eventCategory") or "").upper())
        record = str(event.get("resourceId") or "").strip().lower()
        tenant = str(event.get("tenantId") or "").strip().lower()
        if resource is None or not record or len(record) > 64 or len(tenant) > 64:
            skipped += 1
            continue
        if wanted is not None and tenant != wanted:
            skipped += 1
            continue
        try:
            event_at = wire.parse_timestamp(event.get("eventDateUtc")) or received_at
        except ValueError:
            event_at = received_at
        marks.append(Mark(resource, record, tenant, event_at, received_at))
    return marks, skipped


def _newest(marks: Sequence[Mark]) -> list[Mark]:
    """One mark per record: the newest event wins (a batch may name a record twice)."""
    best: dict[tuple[str, str, str], Mark] = {}
    for mark in marks:
        key = (mark.system, mark.resource, mark.record_id)
        if key not in best or mark.event_at > best[key].event_at:
            best[key] = mark
    return list(best.values())


def record_marks(conn: Connection, marks: Sequence[Mark]) -> int:
    """Store marks idempotently: a record already marked keeps one mark, moved on only by a newer
    event. Returns the number of records named."""
    rows = [m.row() for m in _newest(marks)]
    if not rows:
        return 0
    insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(rows), CHUNK):
        statement = insert_fn(sync_marks).values(rows[start : start + CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=["system", "resource", "record_id"],
            set_={
                "tenant_id": statement.excluded.tenant_id,
                "event_at": statement.excluded.event_at,
                "received_at": statement.excluded.received_at,
            },
            where=statement.excluded.event_at > sync_marks.c.event_at,
        )
        conn.execute(statement)
    return len(rows)


def pending_marks(
    conn: Connection,
    system: str = SYSTEM,
    resource: str | None = None,
    *,
    tenant_id: str | None = None,
) -> list[Mark]:
    """Marks waiting for a sync, oldest event first; ``tenant_id`` keeps that tenant's only."""
    query = sa.select(sync_marks).where(sync_marks.c.system == system)
    if resource is not None:
        query = query.where(sync_marks.c.resource == resource)
    if tenant_id:
        query = query.where(sync_marks.c.tenant_id == tenant_id.strip().lower())
    query = query.order_by(sync_marks.c.event_at, sync_marks.c.resource, sync_marks.c.record_id)
    return [
        Mark(r.resource, r.record_id, r.tenant_id, r.event_at, r.received_at, system=r.system)
        for r in conn.execute(query)
    ]


def clear_marks(conn: Connection, seen: Sequence[Mark]) -> int:
    """Delete the marks a sync satisfied: those still as ``seen`` (no newer event since)."""
    cleared = 0
    for mark in seen:
        result = conn.execute(
            sync_marks.delete().where(
                sync_marks.c.system == mark.system,
                sync_marks.c.resource == mark.resource,
                sync_marks.c.record_id == mark.record_id,
                sync_marks.c.event_at == mark.event_at,
            )
        )
        cleared += result.rowcount or 0
    if cleared:
        log.debug("cleared %d sync mark(s)", cleared)
    return cleared


__all__ = [
    "CATEGORY_RESOURCES",
    "Mark",
    "clear_marks",
    "marks_from_events",
    "pending_marks",
    "record_marks",
]

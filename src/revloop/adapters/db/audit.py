"""The append-only audit journal: every change a person or a run makes, hash-chained.

Each row's ``hash`` is SHA-256 over the previous row's hash and this row's canonical content,
so an edited or removed row breaks the chain (``verify``). The database refuses UPDATE and
DELETE on the table (triggers installed by the first migration).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db.tables import audit_journal

GENESIS = "0" * 64


def _digest(
    prev: str, at: datetime, actor: str, action: str, entity: str, entity_id: str, details: Any
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps([prev, stamp, actor, action, entity, entity_id, details], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: dict[str, Any] | None = None,
) -> str:
    """Append one entry inside the caller's transaction; returns its hash."""
    details = details or {}
    if conn.dialect.name == "postgresql":
        # serialise appenders so the chain never forks
        conn.execute(sa.text("LOCK TABLE audit_journal IN EXCLUSIVE MODE"))
    prev = conn.execute(
        sa.select(audit_journal.c.hash).order_by(audit_journal.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = prev or GENESIS
    digest = _digest(prev, at, actor, action, entity, entity_id, details)
    conn.execute(
        audit_journal.insert().values(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details,
            prev_hash=prev,
            hash=digest,
        )
    )
    return digest


def verify(conn: Connection) -> tuple[bool, int, str]:
    """Walk the chain: (intact, rows checked, first problem)."""
    prev = GENESIS
    count = 0
    for row in conn.execute(sa.select(audit_journal).order_by(audit_journal.c.id)).mappings():
        count += 1
        if row["prev_hash"] != prev:
            return False, count, f"entry {row['id']} does not follow the entry before it"
        at = row["at"]
        expected = _digest(
            prev, at, row["actor"], row["action"], row["entity"], row["entity_id"], row["details"]
        )
        if expected != row["hash"]:
            return False, count, f"entry {row['id']} was altered"
        prev = row["hash"]
    return True, count, ""

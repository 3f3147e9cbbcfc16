"""The notifications queue in the store: one row per (finding, channel, recipient), ever.

A row is created ``pending`` (before anything is sent), becomes ``sent`` once the channel accepted
the message, or ``failed`` (with ``attempts`` and ``last_error``) to be tried again. The unique key
on (fingerprint, channel, recipient) is what makes "never the same alert twice" hold, also when two
processes queue at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from revloop.adapters.db.tables import findings, notifications

from .message import Item
from .recipients import Recipient

CHUNK = 500


@dataclass(frozen=True)
class Queued:
    """A queued notification with the finding it is about."""

    id: int
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    item: Item
    last_attempt_at: datetime | None = None


def _wanted(recipient: Recipient) -> sa.ColumnElement[bool]:
    return sa.or_(
        findings.c.code.in_(list(recipient.codes) or [""]),
        findings.c.severity.in_(list(recipient.severities) or [""]),
    )


def candidates(conn: Connection, recipient: Recipient) -> list[str]:
    """Fingerprints of open findings this recipient wants and has never been queued."""
    already = sa.select(notifications.c.id).where(
        notifications.c.fingerprint == findings.c.fingerprint,
        notifications.c.channel == recipient.channel,
        notifications.c.recipient == recipient.to,
    )
    query = (
        sa.select(findings.c.fingerprint)
        .where(findings.c.state == "open", _wanted(recipient), ~sa.exists(already))
        .order_by(findings.c.id)
    )
    return list(conn.execute(query).scalars())


def enqueue(conn: Connection, recipient: Recipient, now: datetime) -> int:
    """Queue (pending) every new finding the recipient wants; returns how many were queued."""
    prints = candidates(conn, recipient)
    insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    queued = 0
    for start in range(0, len(prints), CHUNK):
        rows = [
            {
                "fingerprint": fp,
                "channel": recipient.channel,
                "recipient": recipient.to,
                "mode": recipient.mode,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for fp in prints[start : start + CHUNK]
        ]
        statement = insert_fn(notifications).values(rows)
        returning = statement.on_conflict_do_nothing(
            index_elements=["fingerprint", "channel", "recipient"]
        ).returning(notifications.c.id)
        queued += len(conn.execute(returning).all())
    return queued


def waiting(conn: Connection, recipient: Recipient, *, max_attempts: int | None = None) -> list[Queued]:
    """The recipient's notifications not yet sent (pending, or failed with attempts left), oldest first,
    with their findings. ``max_attempts=None`` lists the given-up ones too."""
    query = (
        sa.select(
            notifications.c.id,
            notifications.c.status,
            notifications.c.attempts,
            notifications.c.last_error,
            notifications.c.created_at,
            notifications.c.last_attempt_at,
            findings.c.fingerprint,
            findings.c.code,
            findings.c.severity,
            findings.c.subjects,
            findings.c.message,
            findings.c.action,
            findings.c.amount,
            findings.c.currency,
            findings.c.state,
            findings.c.first_seen,
        )
        .join(findings, findings.c.fingerprint == notifications.c.fingerprint)
        .where(
            notifications.c.channel == recipient.channel,
            notifications.c.recipient == recipient.to,
            notifications.c.status.in_(("pending", "failed")),
        )
        .order_by(notifications.c.id)
    )
    if max_attempts is not None:
        query = query.where(notifications.c.attempts < max_attempts)
    out = []
    for r in conn.execute(query):
        item = Item(
            r.fingerprint,
            r.code,
            r.severity,
            tuple(r.subjects or ()),
            r.message,
            r.action or "",
            r.amount,
            r.currency,
            r.state,
            r.first_seen,
        )
        out.append(Queued(r.id, r.status, r.attempts, r.last_error, r.created_at, item, r.last_attempt_at))
    return out


def open_items(conn: Connection, recipient: Recipient) -> list[Item]:
    """Open findings the recipient wants and that were never queued for it (what would go next)."""
    prints = candidates(conn, recipient)
    out: list[Item] = []
    for start in range(0, len(prints), CHUNK):
        rows = conn.execute(
            sa.select(findings).where(findings.c.fingerprint.in_(prints[start : start + CHUNK]))
        )
        out.extend(
            Item(
                r.fingerprint,
                r.code,
                r.severity,
                tuple(r.subjects or ()),
                r.message,
                r.action or "",
                r.amount,
                r.currency,
                r.state,
                r.first_seen,
            )
            for r in rows
        )
    return out


def mark_sent(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            notifications.update()
            .where(notifications.c.id.in_(list(ids[start : start + CHUNK])))
            .values(
                status="sent",
                sent_at=now,
                attempts=notifications.c.attempts + 1,
                last_error=None,
                last_attempt_at=now,
            )
        )


def mark_failed(conn: Connection, ids: Sequence[int], error: str, now: datetime) -> None:
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            notifications.update()
            .where(notifications.c.id.in_(list(ids[start : start + CHUNK])))
            .values(
                status="failed",
                attempts=notifications.c.attempts + 1,
                last_error=error[:2000],
                last_attempt_at=now,
            )
        )


def last_digest(conn: Connection, recipient: Recipient) -> datetime | None:
    """When the recipient's last digest went out."""
    value = conn.execute(
        sa.select(sa.func.max(notifications.c.sent_at)).where(
            notifications.c.channel == recipient.channel,
            notifications.c.recipient == recipient.to,
            notifications.c.mode == "digest",
            notifications.c.status == "sent",
        )
    ).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


__all__ = [
    "Queued",
    "candidates",
    "enqueue",
    "last_digest",
    "mark_failed",
    "mark_sent",
    "open_items",
    "waiting",
]

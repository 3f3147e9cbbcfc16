"""What the next notification runs would send: ``revloop notify pending``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from revloop.bootstrap import App

from . import queue
from .message import Item
from .recipients import Recipient, recipients


@dataclass(frozen=True)
class Pending:
    recipient: Recipient
    status: str  # new (not queued yet) | pending | failed | gave up
    attempts: int
    error: str | None
    when: datetime | None  # None: the next run
    item: Item

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.recipient.channel,
            "recipient": self.recipient.to,
            "mode": self.recipient.mode,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "when": None if self.when is None else self.when.isoformat(),
            "finding": self.item.as_dict(),
        }


def next_digest(last: datetime | None, now: datetime, zone: ZoneInfo, hour: int) -> datetime | None:
    """When the recipient's next digest goes (None: at the next run)."""
    local = now.astimezone(zone)
    today = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    sent_today = last is not None and last.astimezone(zone).date() >= local.date()
    if local >= today and not sent_today:
        return None
    day = today if local < today else today + timedelta(days=1)
    return day.replace(tzinfo=zone)


def pending(app: App, now: datetime) -> list[Pending]:
    settings = app.settings
    zone = ZoneInfo(settings.timezone)
    out: list[Pending] = []
    with app.engine.connect() as conn:
        for recipient in recipients(settings):
            when = None
            if recipient.mode == "digest":
                when = next_digest(queue.last_digest(conn, recipient), now, zone, settings.notify_digest_hour)
            for row in queue.waiting(conn, recipient):
                gave_up = row.attempts >= settings.notify_max_attempts
                status = "gave up" if gave_up else row.status
                out.append(Pending(recipient, status, row.attempts, row.last_error, when, row.item))
            for item in queue.open_items(conn, recipient):
                out.append(Pending(recipient, "new", 0, None, when, item))
    return out


__all__ = ["Pending", "next_digest", "pending"]

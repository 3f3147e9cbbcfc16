"""Sending notifications: queue what is new, then send each recipient's alert or daily digest.

Delivery is at least once per message and at most once per finding and recipient, with one
exception: a message is sent after its rows are stored ``pending`` and marked ``sent`` after the
channel accepted it, so a crash between those two steps leaves the rows pending and the next run
sends that one message again. The message carries the same ``Message-ID`` / ``Idempotency-Key``
both times, so a receiver that honours them shows it once.

A failing channel marks its rows ``failed`` and is tried again on a later run (waiting longer after
each failure, counted from the store, so a restart keeps the wait); other recipients go on. After
``notify_max_attempts`` a row stays failed and is listed by ``revloop notify pending``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from revloop.adapters.notify.errors import NotifyError
from revloop.adapters.notify.smtp import send_email
from revloop.adapters.notify.webhook import post_webhook
from revloop.bootstrap import App
from revloop.domain.issues import RevloopError

from . import queue
from .message import Message, compose, trial_message
from .recipients import Recipient, recipients, secret, smtp_config, webhook_url

log = logging.getLogger("revloop.notify")

#: sends one message to one recipient; raises a RevloopError (NotifyError) when it cannot
Channel = Callable[[Recipient, Message], None]
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)


def email_channel(app: App) -> Channel:
    def send(recipient: Recipient, message: Message) -> None:
        send_email(
            smtp_config(app),
            recipient.to,
            subject=message.subject,
            text=message.text,
            html=message.html,
            key=message.key,
        )

    return send


def webhook_channel(app: App) -> Channel:
    def send(recipient: Recipient, message: Message) -> None:
        url = webhook_url(secret(app, "notify_webhook_urls"), recipient.to)
        post_webhook(
            url, message.payload, key=message.key, timeout=float(app.settings.notify_timeout_seconds)
        )

    return send


def default_channels(app: App) -> dict[str, Channel]:
    return {"email": email_channel(app), "webhook": webhook_channel(app)}


@dataclass
class Delivery:
    recipient: Recipient
    mode: str
    count: int
    ok: bool
    error: str = ""


@dataclass
class NotifyReport:
    queued: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    waiting_digest: int = 0  # queued for a digest that is not due yet
    backing_off: int = 0  # queued for a recipient whose channel failed a moment ago

    @property
    def sent(self) -> int:
        return sum(d.count for d in self.deliveries if d.ok)

    @property
    def failed(self) -> int:
        return sum(d.count for d in self.deliveries if not d.ok)

    def summary(self) -> str:
        parts = [f"{self.sent} sent in {sum(1 for d in self.deliveries if d.ok)} message(s)"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.waiting_digest:
            parts.append(f"{self.waiting_digest} waiting for the digest")
        if self.backing_off:
            parts.append(f"{self.backing_off} waiting to retry")
        return ", ".join(parts)


def digest_due(last: datetime | None, now: datetime, zone: ZoneInfo, hour: int) -> bool:
    """A digest goes once a day, at or after ``hour`` local time."""
    local = now.astimezone(zone)
    if local.hour < hour:
        return False
    return last is None or last.astimezone(zone).date() < local.date()


def retry_at(rows: Sequence[queue.Queued]) -> datetime | None:
    """When a recipient whose waiting notifications are ``rows`` may be tried again: after its last
    failed try, 1 minute after one failure, doubling with each further one, at most an hour
    (``None``: nothing failed, try now). Worked out from the store, so a restart keeps the wait."""
    tried = [(r.attempts, r.last_attempt_at) for r in rows if r.status == "failed" and r.last_attempt_at]
    if not tried:
        return None
    count = max(max(n for n, _at in tried), 1)
    wait: timedelta = min(RETRY_FIRST * 2 ** (count - 1), RETRY_MAX)
    last: datetime = max(at for _n, at in tried)
    return last + wait


class Notifier:
    """Queues and sends notifications; a recipient that failed waits before it is tried again."""

    def __init__(self, app: App, *, channels: Mapping[str, Channel] | None = None) -> None:
        self.app = app
        self.channels = dict(channels) if channels is not None else default_channels(app)

    def run(self, now: datetime, *, only: Sequence[Recipient] | None = None) -> NotifyReport:
        settings = self.app.settings
        chosen = list(only) if only is not None else recipients(settings)
        zone = ZoneInfo(settings.timezone)
        report = NotifyReport()
        engine = self.app.engine
        with engine.begin() as conn:
            for recipient in chosen:
                report.queued += queue.enqueue(conn, recipient, now)
        for recipient in chosen:
            with engine.connect() as conn:
                rows = queue.waiting(conn, recipient, max_attempts=settings.notify_max_attempts)
                last = queue.last_digest(conn, recipient) if recipient.mode == "digest" else None
            if not rows:
                continue
            if recipient.mode == "digest" and not digest_due(last, now, zone, settings.notify_digest_hour):
                report.waiting_digest += len(rows)
                continue
            after = retry_at(rows)
            if after is not None and now < after:
                report.backing_off += len(rows)
                continue
            report.deliveries.append(self._deliver(recipient, rows, now))
        return report

    def _deliver(self, recipient: Recipient, rows: Sequence[queue.Queued], now: datetime) -> Delivery:
        settings = self.app.settings
        message = compose(
            recipient.mode,
            [r.item for r in rows],
            channel=recipient.channel,
            to=recipient.to,
            now=now,
            timezone=settings.timezone,
            company=settings.company_name,
        )
        ids = [r.id for r in rows]
        try:
            self.channels[recipient.channel](recipient, message)
        except RevloopError as exc:
            line = exc.one_line()
            with self.app.engine.begin() as conn:
                queue.mark_failed(conn, ids, line, now)
            log.warning("%s %s to %s not sent: %s", recipient.mode, _count(len(ids)), recipient.label, line)
            return Delivery(recipient, recipient.mode, len(ids), False, line)
        with self.app.engine.begin() as conn:
            queue.mark_sent(conn, ids, now)
        log.info("%s sent to %s: %s", recipient.mode, recipient.label, message.subject)
        return Delivery(recipient, recipient.mode, len(ids), True)

    def send_test(self, now: datetime, *, only: Sequence[Recipient] | None = None) -> list[Delivery]:
        """Send a test message to each recipient (nothing is queued or marked)."""
        settings = self.app.settings
        chosen = list(only) if only is not None else recipients(settings)
        out = []
        for recipient in chosen:
            message = trial_message(
                channel=recipient.channel,
                to=recipient.to,
                now=now,
                timezone=settings.timezone,
                company=settings.company_name,
            )
            try:
                self.channels[recipient.channel](recipient, message)
            except RevloopError as exc:
                out.append(Delivery(recipient, "test", 0, False, exc.one_line()))
                continue
            out.append(Delivery(recipient, "test", 0, True))
        return out


def _count(n: int) -> str:
    return f"({n} finding{'s' if n != 1 else ''})"


__all__ = ["Channel", "Delivery", "Notifier", "NotifyError", "NotifyReport", "default_channels", "digest_due"]

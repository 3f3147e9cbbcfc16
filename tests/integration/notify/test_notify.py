"""Queueing and sending: never the same alert twice, digests per recipient, a failing channel
retried later without holding up the others, and the crash window."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import findings, notifications
from revloop.adapters.notify.errors import NotifyError
from revloop.domain.issues import Severity
from revloop.services.notify import Message, Notifier, Recipient
from revloop.services.notify import queue as notify_queue

from .helpers import T0, add_findings, finding, make_app


class Outbox:
    """Fake channels: record what would be sent; ``broken`` channels raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.broken: set[str] = set()

    def channel(self, recipient: Recipient, message: Message) -> None:
        if recipient.label in self.broken:
            raise NotifyError(f"{recipient.label} is down", hint="later")
        self.sent.append((recipient.label, message))

    def channels(self) -> dict:  # type: ignore[type-arg]
        return {"email": self.channel, "webhook": self.channel}


def _rows(engine: Engine) -> list[tuple[str, str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                notifications.c.recipient,
                notifications.c.mode,
                notifications.c.status,
                notifications.c.attempts,
            ).order_by(notifications.c.id)
        ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_running_twice_sends_nothing_the_second_time(migrated_engine: Engine) -> None:
    add_findings(
        migrated_engine,
        finding("prepay.negative", "revloop:contract:k1", amount="-5"),
        finding("rate.missing", "halopsa:actions:1/1", Severity.ERROR),  # wanted for its severity
        finding("time.unbilled", "halopsa:actions:1/2", Severity.WARNING),  # not wanted
    )
    app = make_app(migrated_engine, notify_recipients=[{"channel": "email", "to": "ops@msp.example"}])
    box = Outbox()
    notifier = Notifier(app, channels=box.channels())
    first = notifier.run(T0)
    assert first.queued == 2 and first.sent == 2 and len(box.sent) == 1
    assert Notifier(app, channels=box.channels()).run(T0 + timedelta(minutes=1)).sent == 0  # another process
    assert notifier.run(T0 + timedelta(minutes=2)).sent == 0
    assert len(box.sent) == 1
    # a finding resolved and detected again is not alerted again; a new one is
    with migrated_engine.begin() as conn:
        conn.execute(findings.update().values(state="resolved"))
    add_findings(
        migrated_engine,
        finding("prepay.negative", "revloop:contract:k1", amount="-5"),
        finding("xero.drift", "xero:invoices:INV-2", amount="12"),
        at=T0 + timedelta(minutes=3),
    )
    third = notifier.run(T0 + timedelta(minutes=4))
    assert third.sent == 1 and len(box.sent) == 2
    assert [i["code"] for i in box.sent[1][1].payload["findings"]] == ["xero.drift"]
    assert [r[2] for r in _rows(migrated_engine)] == ["sent", "sent", "sent"]


def test_digest_groups_per_recipient_once_a_day(migrated_engine: Engine) -> None:
    early = T0.replace(hour=6)  # 06:00 Europe/London (GMT in November)
    add_findings(
        migrated_engine,
        finding("prepay.negative", "revloop:contract:k1", amount="-5"),
        finding("renewal.no_quote", "revloop:contract:k2", amount="100"),
        finding("xero.drift", "xero:invoices:INV-3", amount="3"),
        at=early,
    )
    app = make_app(
        migrated_engine,
        notify_digest_hour=8,
        notify_recipients=[
            {"channel": "email", "to": "boss@msp.example", "mode": "digest"},
            {
                "channel": "webhook",
                "to": "teams",
                "mode": "digest",
                "codes": ["xero.drift"],
                "severities": [],
            },
            {"channel": "email", "to": "ops@msp.example", "mode": "alert", "codes": ["prepay.negative"]},
        ],
    )
    box = Outbox()
    notifier = Notifier(app, channels=box.channels())
    report = notifier.run(early)
    assert [label for label, _ in box.sent] == ["email:ops@msp.example"]  # the alert goes at once
    assert report.waiting_digest == 4  # 3 for the boss, 1 for teams
    assert notifier.run(early.replace(hour=7, minute=59)).sent == 0
    at_eight = early.replace(hour=8)
    report = notifier.run(at_eight)
    digests = {label: message for label, message in box.sent[1:]}
    assert set(digests) == {"email:boss@msp.example", "webhook:teams"}
    assert digests["email:boss@msp.example"].payload["count"] == 3
    assert digests["email:boss@msp.example"].subject.startswith("revloop digest 2026-11-24: 3 findings")
    assert [i["code"] for i in digests["webhook:teams"].payload["findings"]] == ["xero.drift"]
    # later the same day: a new finding waits for tomorrow's digest
    add_findings(migrated_engine, finding("xero.drift", "xero:invoices:INV-4", amount="4"), at=at_eight)
    later = notifier.run(at_eight + timedelta(hours=3))
    assert later.sent == 0 and later.waiting_digest == 2
    tomorrow = notifier.run(at_eight + timedelta(days=1))
    assert tomorrow.sent == 2 and len(box.sent) == 5


def test_a_failing_channel_is_retried_later_and_does_not_block_others(migrated_engine: Engine) -> None:
    add_findings(migrated_engine, finding("prepay.negative", "revloop:contract:k1", amount="-5"))
    app = make_app(
        migrated_engine,
        notify_max_attempts=3,
        notify_recipients=[
            {"channel": "webhook", "to": "teams"},
            {"channel": "email", "to": "ops@msp.example"},
        ],
    )
    box = Outbox()
    box.broken.add("webhook:teams")
    notifier = Notifier(app, channels=box.channels())
    report = notifier.run(T0)
    assert [(d.recipient.label, d.ok) for d in report.deliveries] == [
        ("webhook:teams", False),
        ("email:ops@msp.example", True),
    ]
    assert "error [notify.delivery]: webhook:teams is down" in report.deliveries[0].error
    assert _rows(migrated_engine) == [
        ("teams", "alert", "failed", 1),
        ("ops@msp.example", "alert", "sent", 1),
    ]
    assert notifier.run(T0 + timedelta(seconds=30)).backing_off == 1
    assert notifier.run(T0 + timedelta(minutes=1)).failed == 1  # retried: 1 minute after the first failure
    restarted = Notifier(app, channels=box.channels())  # the wait is in the store, not the process
    assert restarted.run(T0 + timedelta(minutes=2)).backing_off == 1  # then 2 minutes
    assert notifier.run(T0 + timedelta(minutes=3)).failed == 1
    gave_up = notifier.run(T0 + timedelta(hours=1))
    assert not gave_up.deliveries  # 3 attempts: given up, listed by `revloop notify pending`
    assert _rows(migrated_engine)[0] == ("teams", "alert", "failed", 3)


def test_a_crash_between_send_and_mark_resends_that_one_message(migrated_engine: Engine) -> None:
    add_findings(migrated_engine, finding("prepay.negative", "revloop:contract:k1", amount="-5"))
    app = make_app(migrated_engine, notify_recipients=[{"channel": "email", "to": "ops@msp.example"}])
    keys: list[str] = []

    def crashing(recipient: Recipient, message: Message) -> None:
        keys.append(message.key)
        raise SystemExit("killed after the server accepted the message")

    with pytest.raises(SystemExit):
        Notifier(app, channels={"email": crashing}).run(T0)
    assert _rows(migrated_engine) == [("ops@msp.example", "alert", "pending", 0)]
    box = Outbox()
    assert Notifier(app, channels=box.channels()).run(T0 + timedelta(minutes=1)).sent == 1
    assert box.sent[0][1].key == keys[0]  # the same Message-ID / Idempotency-Key as the lost one


def test_queueing_is_idempotent(migrated_engine: Engine) -> None:
    add_findings(migrated_engine, finding("xero.drift", "xero:invoices:INV-1", amount="1"))
    app = make_app(migrated_engine)
    recipient = Recipient("webhook", "teams", "alert", ("xero.drift",), ())
    with app.engine.begin() as conn:
        assert notify_queue.enqueue(conn, recipient, T0) == 1
    with app.engine.begin() as conn:
        assert notify_queue.enqueue(conn, recipient, T0) == 0
    assert len(_rows(migrated_engine)) == 1

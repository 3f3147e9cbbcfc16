"""The webhook channel against a local HTTP server: payload, idempotency key, failure and retry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import notifications
from revloop.cli.main import main
from revloop.domain.issues import Severity
from revloop.services.notify import Notifier

from .helpers import T0, add_findings, finding, make_app
from .servers import webhook_server

TOKEN = "/hooks/T0K3N-abc"


def test_webhook_payload_and_retry_after_a_failure(
    migrated_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    add_findings(migrated_engine, finding("xero.drift", "xero:invoices:INV-1", Severity.WARNING, "75.25"))
    with webhook_server() as (base, hook):
        app = make_app(
            migrated_engine,
            notify_recipients=[{"channel": "webhook", "to": "teams", "mode": "alert"}],
            notify_webhook_urls=json.dumps({"teams": base + TOKEN}),
        )
        notifier = Notifier(app)
        hook.status = 500
        first = notifier.run(T0)
        assert first.failed == 1 and "answered 500" in first.deliveries[0].error
        assert "T0K3N" not in first.deliveries[0].error and "T0K3N" not in caplog.text
        again = notifier.run(T0.replace(second=30))
        assert again.backing_off == 1 and not again.deliveries  # waits before trying again
        hook.status = 204
        later = notifier.run(T0.replace(minute=31))
        assert later.sent == 1
    assert len(hook.requests) == 2
    failed, sent = hook.requests
    assert sent["path"] == TOKEN
    assert sent["headers"]["Idempotency-Key"] == failed["headers"]["Idempotency-Key"]  # the same message
    body = sent["json"]
    assert body["text"] == "revloop alert: 1 finding, GBP 75.25 at stake"
    assert body["mode"] == "alert" and body["count"] == 1
    [item] = body["findings"]
    assert (
        item["code"] == "xero.drift"
        and item["amount"] == "75.25"
        and item["subjects"] == ["xero:invoices:INV-1"]
    )
    with migrated_engine.connect() as conn:
        row = conn.execute(notifications.select()).one()
    assert (row.status, row.attempts, row.recipient, row.last_error) == ("sent", 2, "teams", None)


def test_notify_test_and_pending_commands(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add_findings(migrated_engine, finding("prepay.below_threshold", "revloop:contract:k7", amount="10"))
    url = migrated_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("REVLOOP_DATABASE_URL", url)
    monkeypatch.setenv("REVLOOP_NOTIFY_RECIPIENTS", json.dumps([{"channel": "webhook", "to": "slack"}]))
    monkeypatch.setenv("COLUMNS", "200")
    with webhook_server() as (base, hook):
        monkeypatch.setenv("REVLOOP_NOTIFY_WEBHOOK_URLS", base + TOKEN)  # one URL for every webhook
        assert main(["notify", "test"]) == 0
        assert "sent to webhook:slack" in capsys.readouterr().out
        assert hook.requests[0]["json"]["mode"] == "test"
        assert main(["notify", "test", "--recipient", "nobody"]) == 2
        assert "error [notify.config]: no notify recipient 'nobody'" in capsys.readouterr().err
        hook.status = 404
        assert main(["notify", "test"]) == 5
        captured = capsys.readouterr()
        assert "NOT sent to webhook:slack" in captured.out and "[notify.delivery]" in captured.err
    assert main(["notify", "pending", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["pending"]
    assert [(p["recipient"], p["status"], p["finding"]["code"]) for p in listed] == [
        ("slack", "new", "prepay.below_threshold")
    ]
    assert main(["notify", "pending"]) == 0
    assert "prepay.below_threshold" in capsys.readouterr().out

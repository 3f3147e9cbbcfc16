"""E-mail through a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import notifications
from revloop.adapters.notify.errors import NotifyError
from revloop.adapters.notify.smtp import SmtpConfig, send_email
from revloop.domain.issues import Severity
from revloop.services.notify import Notifier

from .helpers import T0, add_findings, finding, make_app
from .servers import free_port, smtp_server

RECIPIENT = [{"channel": "email", "to": "Ops@MSP.example", "mode": "alert"}]


def _settings(port: int, **extra: object) -> dict[str, object]:
    return {
        "notify_recipients": RECIPIENT,
        "notify_smtp_host": "127.0.0.1",
        "notify_smtp_port": port,
        "notify_smtp_security": "none",
        "notify_from": "revloop@msp.example",
        "company_name": "Acme IT",
        **extra,
    }


def test_an_alert_arrives_by_email(migrated_engine: Engine) -> None:
    add_findings(
        migrated_engine,
        finding("prepay.negative", "revloop:contract:k1", Severity.ERROR, "-120.50"),
        finding("xero.drift", "xero:invoices:INV-9", Severity.WARNING, "30"),
        finding("time.unbilled", "halopsa:actions:1/2", Severity.INFO, "99"),  # not wanted
    )
    with smtp_server() as (port, box):
        app = make_app(migrated_engine, **_settings(port))
        report = Notifier(app).run(T0)
    assert report.sent == 2 and report.failed == 0
    [mail] = box.messages
    assert box.envelopes == [("revloop@msp.example", ["ops@msp.example"])]
    assert mail["Subject"] == "[Acme IT] revloop alert: 2 findings (1 error), GBP 150.50 at stake"
    assert mail["Message-ID"].startswith("<revloop-") and mail["Message-ID"].endswith("@msp.example>")
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "[error] prepay.negative — GBP -120.50" in text and "What to do: look at it" in text
    assert "time.unbilled" not in text
    assert "<table" in html and "xero:invoices:INV-9" in html
    with migrated_engine.connect() as conn:
        rows = conn.execute(notifications.select()).all()
    assert {(r.status, r.recipient, r.attempts) for r in rows} == {("sent", "ops@msp.example", 1)}


def test_login_and_a_refused_login() -> None:
    with smtp_server(login=("revloop", "s3cret")) as (port, box):
        good = SmtpConfig("127.0.0.1", port, "none", "revloop", "s3cret", "revloop@msp.example", 5)
        send_email(good, "ops@msp.example", subject="hello", text="hi", key="k1")
        assert len(box.messages) == 1
        bad = SmtpConfig("127.0.0.1", port, "none", "revloop", "wrong", "revloop@msp.example", 5)
        try:
            send_email(bad, "ops@msp.example", subject="hello", text="hi", key="k2")
        except NotifyError as exc:
            assert exc.code == "notify.delivery" and "refused the login 'revloop'" in exc.message
            assert "wrong" not in exc.one_line()
        else:  # pragma: no cover
            raise AssertionError("the login was accepted")


def test_no_smtp_server_is_recorded_and_retried(migrated_engine: Engine) -> None:
    add_findings(migrated_engine, finding("renewal.no_quote", "revloop:contract:k2", amount="1200"))
    port = free_port()  # nothing listens here
    app = make_app(migrated_engine, **_settings(port, notify_timeout_seconds=5))
    notifier = Notifier(app)
    report = notifier.run(T0)
    assert report.failed == 1 and "[notify.delivery]" in report.deliveries[0].error
    with migrated_engine.connect() as conn:
        row = conn.execute(notifications.select()).one()
    assert row.status == "failed" and row.attempts == 1 and "cannot send e-mail" in row.last_error
    with smtp_server() as (port2, box):
        app.settings = app.settings.model_copy(update={"notify_smtp_port": port2})
        later = notifier.run(T0.replace(minute=40))
    assert later.sent == 1 and len(box.messages) == 1

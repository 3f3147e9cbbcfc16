"""Recipients from the settings (file and environment), secrets kept out of the file, and what a
message says."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revloop.adapters.notify.errors import NotifyConfigError
from revloop.adapters.notify.webhook import redact
from revloop.config import load_settings
from revloop.domain.issues import SettingsFileError
from revloop.services.notify import Item, compose, recipients
from revloop.services.notify.pending import next_digest
from revloop.services.notify.recipients import webhook_url
from revloop.services.notify.run import digest_due

LONDON = ZoneInfo("Europe/London")


def _write(home: Path, text: str) -> None:
    home.mkdir(exist_ok=True)
    (home / "revloop.toml").write_text(text)


def test_recipients_from_an_inline_list_and_from_tables(isolated_home: Path) -> None:
    _write(
        isolated_home,
        '[notify]\ndigest_hour = 7\nrecipients = [{ channel = "email", to = "Ops@MSP.example", '
        'mode = "digest" },'
        ' { channel = "webhook", to = "teams", codes = ["xero.drift"] }]\n',
    )
    found = recipients(load_settings())
    assert [(r.channel, r.to, r.mode) for r in found] == [
        ("email", "ops@msp.example", "digest"),
        ("webhook", "teams", "alert"),
    ]
    assert found[0].codes == ("prepay.below_threshold", "prepay.negative", "renewal.no_quote", "xero.drift")
    assert found[0].severities == ("error",)
    assert found[1].codes == ("xero.drift",) and found[1].wants("rate.missing", "error")
    _write(isolated_home, '[[notify.recipients]]\nchannel = "email"\nto = "a@b.example"\n')
    assert [r.to for r in recipients(load_settings())] == ["a@b.example"]


def test_recipients_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "REVLOOP_NOTIFY_RECIPIENTS", '[{"channel": "webhook", "to": "slack", "mode": "digest"}]'
    )
    assert [r.label for r in recipients(load_settings())] == ["webhook:slack"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"channel": "sms", "to": "x"}, "channel must be email or webhook"),
        ({"channel": "email", "to": "not an address"}, "is not an e-mail address"),
        ({"channel": "email"}, "`to` is missing"),
        ({"channel": "email", "to": "a@b.example", "mode": "hourly"}, "mode must be alert or digest"),
        (
            {"channel": "webhook", "to": "https://hooks.example/T0K3N"},
            "must not be written in the settings file",
        ),
        ({"channel": "webhook", "to": "t", "url": "https://hooks.example/T0K3N"}, "must not be written"),
        ({"channel": "email", "to": "a@b.example", "cc": "x"}, "unknown keys"),
        ({"channel": "email", "to": "a@b.example", "codes": [1]}, "codes must be a list of strings"),
    ],
)
def test_bad_recipients_are_named(raw: dict, message: str) -> None:  # type: ignore[type-arg]
    settings = load_settings(notify_recipients=[raw])
    with pytest.raises(NotifyConfigError, match=message) as caught:
        recipients(settings)
    assert caught.value.code == "notify.config" and "T0K3N" not in caught.value.one_line()


def test_secrets_are_refused_in_the_file(isolated_home: Path) -> None:
    _write(isolated_home, '[notify]\nsmtp_password = "p"\n')
    with pytest.raises(SettingsFileError, match="notify_smtp_password must not be written"):
        load_settings()
    _write(isolated_home, '[notify]\nwebhook_urls = "https://hooks.example/T"\n')
    with pytest.raises(SettingsFileError, match="notify_webhook_urls"):
        load_settings()


def test_webhook_urls_by_name_or_one_for_all() -> None:
    assert webhook_url('{"teams": "https://t.example/1", "slack": "https://s.example/2"}', "slack") == (
        "https://s.example/2"
    )
    assert webhook_url("https://one.example/x", "anything") == "https://one.example/x"
    with pytest.raises(NotifyConfigError, match="no URL for the webhook 'ops'"):
        webhook_url('{"teams": "https://t.example/1"}', "ops")
    with pytest.raises(NotifyConfigError) as caught:
        webhook_url(None, "teams")
    assert "REVLOOP_NOTIFY_WEBHOOK_URLS" in caught.value.one_line()
    assert redact("https://outlook.office.com/webhook/SECRET/abc?x=1") == "https://outlook.office.com/…"


def test_digest_timing_in_the_msp_timezone() -> None:
    # 07:30 UTC in June is 08:30 in London (BST)
    june = datetime(2026, 6, 10, 7, 30, tzinfo=UTC)
    assert digest_due(None, june, LONDON, 8)
    assert not digest_due(None, june, LONDON, 9)
    sent = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
    assert not digest_due(sent, june, LONDON, 8)
    assert next_digest(sent, june, LONDON, 8) == datetime(2026, 6, 11, 8, 0, tzinfo=LONDON)
    assert next_digest(None, june, LONDON, 8) is None


def test_the_message_says_counts_and_amount_at_stake() -> None:
    items = [
        Item(
            "a",
            "prepay.negative",
            "error",
            ("revloop:contract:k1",),
            "k1 is negative",
            "",
            Decimal("-10.5"),
            "GBP",
        ),
        Item("b", "xero.drift", "warning", ("xero:invoices:1",), "drift <b>", "fix", Decimal("2"), "AUD"),
        Item(
            "c",
            "renewal.no_quote",
            "warning",
            ("revloop:contract:k2",),
            "no quote",
            "",
            None,
            None,
            "resolved",
        ),
    ]
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    message = compose("alert", items, channel="email", to="x@y.example", now=now, timezone="Europe/London")
    assert message.subject == "revloop alert: 3 findings (1 error), AUD 2.00 + GBP 10.50 at stake"
    assert "drift &lt;b&gt;" in message.html and "drift <b>" in message.text
    assert "(resolved since)" in message.text
    assert message.payload["text"] == message.subject and message.payload["count"] == 3
    again = compose(
        "alert", list(reversed(items)), channel="email", to="x@y.example", now=now, timezone="UTC"
    )
    assert again.key == message.key  # the same findings, the same Message-ID

"""Who is told what: the ``[notify]`` recipients, read from the settings, and the channel secrets.

A recipient is ``{channel = "email" | "webhook", to = ..., mode = "alert" | "digest", codes = [...],
severities = [...]}``. For e-mail ``to`` is the address; for a webhook it names the URL held in the
secret ``notify_webhook_urls`` (a JSON object of name → URL, or one URL for every webhook), because
webhook URLs carry their token and never go in the settings file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from revloop.adapters.notify.errors import NotifyConfigError
from revloop.adapters.notify.smtp import SmtpConfig
from revloop.bootstrap import App
from revloop.config import Settings

CHANNELS = ("email", "webhook")
MODES = ("alert", "digest")
KEYS = frozenset({"channel", "to", "mode", "codes", "severities"})
SECRET_HINT = "set REVLOOP_NOTIFY_WEBHOOK_URLS, or `revloop secret set notify_webhook_urls`"


@dataclass(frozen=True)
class Recipient:
    channel: Literal["email", "webhook"]
    to: str
    mode: Literal["alert", "digest"] = "alert"
    codes: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.channel}:{self.to}"

    def wants(self, code: str, severity: str) -> bool:
        return code in self.codes or severity in self.severities


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise NotifyConfigError(
            f"{where}: {what} must be a list of strings", hint=f'e.g. {what} = ["xero.drift"]'
        )
    return tuple(v.strip() for v in value)


def parse_recipient(raw: Any, settings: Settings, index: int = 0) -> Recipient:
    where = f"notify recipient {index + 1}"
    if not isinstance(raw, Mapping):
        raise NotifyConfigError(
            f"{where} is not a table",
            hint='write recipients = [{ channel = "email", to = "ops@msp.example" }]',
        )
    if "url" in raw:
        raise NotifyConfigError(
            f"{where}: a webhook URL carries its token and must not be written in the settings file",
            hint=f'give the webhook a name (to = "teams") and its URL in the secret: {SECRET_HINT}',
        )
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise NotifyConfigError(f"{where}: unknown keys {unknown}", hint=f"known: {', '.join(sorted(KEYS))}")
    channel = str(raw.get("channel", "")).strip().lower()
    if channel not in CHANNELS:
        raise NotifyConfigError(f"{where}: channel must be email or webhook, not {channel!r}")
    to = str(raw.get("to", "")).strip()
    if not to or len(to) > 255:
        raise NotifyConfigError(f"{where}: `to` is missing (an e-mail address, or the webhook's name)")
    if channel == "email" and ("@" not in to or any(c.isspace() for c in to)):
        raise NotifyConfigError(f"{where}: {to!r} is not an e-mail address")
    if channel == "webhook" and "://" in to:
        raise NotifyConfigError(
            f"{where}: a webhook URL carries its token and must not be written in the settings file",
            hint=f'give the webhook a name (to = "teams") and its URL in the secret: {SECRET_HINT}',
        )
    mode = str(raw.get("mode", "alert")).strip().lower()
    if mode not in MODES:
        raise NotifyConfigError(f"{where}: mode must be alert or digest, not {mode!r}")
    codes = _strings(raw["codes"], "codes", where) if "codes" in raw else tuple(settings.notify_codes)
    severities = (
        _strings(raw["severities"], "severities", where)
        if "severities" in raw
        else tuple(settings.notify_severities)
    )
    return Recipient(
        cast(Literal["email", "webhook"], channel),
        to.lower() if channel == "email" else to,
        cast(Literal["alert", "digest"], mode),
        codes,
        severities,
    )


def recipients(settings: Settings) -> list[Recipient]:
    """Every configured recipient; a malformed one is a ``NotifyConfigError`` saying which."""
    found = [parse_recipient(raw, settings, i) for i, raw in enumerate(settings.notify_recipients)]
    seen: set[tuple[str, str]] = set()
    for recipient in found:
        key = (recipient.channel, recipient.to)
        if key in seen:
            raise NotifyConfigError(f"notify recipient {recipient.label} is listed twice")
        seen.add(key)
    return found


def pick(found: Sequence[Recipient], name: str | None) -> list[Recipient]:
    """The recipients named ``name`` (its address or webhook name, or ``channel:to``), or all."""
    if name is None:
        return list(found)
    wanted = name.strip()
    chosen = [r for r in found if wanted in (r.to, r.label) or wanted.lower() == r.to]
    if not chosen:
        listed = ", ".join(r.label for r in found) or "none configured"
        raise NotifyConfigError(f"no notify recipient {wanted!r}", hint=f"recipients: {listed}")
    return chosen


def secret(app: App, name: str) -> str | None:
    """A notification secret: the environment first, else the encrypted store."""
    value = getattr(app.settings, name, None)
    if value is not None:
        text = str(value.get_secret_value()).strip()
        if text:
            return text
    stored = app.secrets.get(name)
    return stored.strip() if stored else None


def webhook_url(urls: str | None, name: str) -> str:
    """The URL of the webhook recipient ``name`` from the secret's text (JSON object or one URL)."""
    if not urls:
        raise NotifyConfigError(f"no URL for the webhook {name!r}", hint=SECRET_HINT)
    text = urls.strip()
    if text.startswith("{"):
        try:
            table = json.loads(text)
        except ValueError:
            raise NotifyConfigError(
                "notify_webhook_urls is not valid JSON", hint='write {"teams": "https://..."}'
            ) from None
        url = table.get(name) if isinstance(table, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise NotifyConfigError(
                f"no URL for the webhook {name!r} in notify_webhook_urls", hint=SECRET_HINT
            )
        return url.strip()
    return text


def smtp_config(app: App) -> SmtpConfig:
    settings = app.settings
    return SmtpConfig(
        host=settings.notify_smtp_host.strip(),
        port=settings.notify_smtp_port,
        security=settings.notify_smtp_security,
        username=settings.notify_smtp_username.strip(),
        password=secret(app, "notify_smtp_password") if settings.notify_smtp_username else None,
        sender=settings.notify_from.strip(),
        timeout=float(settings.notify_timeout_seconds),
    )


__all__ = ["Recipient", "parse_recipient", "pick", "recipients", "secret", "smtp_config", "webhook_url"]

"""E-mail over SMTP (smtplib): one message, plain text with an HTML alternative.

The ``Message-ID`` is derived from what the message carries (the caller's ``key``), so a message
sent again after a crash has the same id and a mail system that de-duplicates by it shows it once.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from .errors import NotifyConfigError, NotifyError

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: str | None = None
    sender: str = ""
    timeout: float = 20.0

    def check(self) -> None:
        if not self.host:
            raise NotifyConfigError(
                "no SMTP server for e-mail notifications", hint="set [notify] smtp_host (and smtp_port)"
            )
        if not self.sender or "@" not in self.sender:
            raise NotifyConfigError(
                "no sender address for e-mail notifications", hint='set [notify] from = "revloop@your.domain"'
            )
        if self.username and not self.password:
            raise NotifyConfigError(
                f"no SMTP password for {self.username}",
                hint="set REVLOOP_NOTIFY_SMTP_PASSWORD, or `revloop secret set notify_smtp_password`",
            )


def build_message(
    config: SmtpConfig, to: str, subject: str, text: str, html: str | None, key: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = config.sender.rsplit("@", 1)[-1] or "revloop"
    message["Message-ID"] = f"<{key}@{domain}>"
    message["X-Revloop-Key"] = key
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


Connect = Callable[[SmtpConfig], smtplib.SMTP]


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.security == "ssl":
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    if config.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client


def send_email(
    config: SmtpConfig,
    to: str,
    *,
    subject: str,
    text: str,
    html: str | None = None,
    key: str,
    connect: Connect | None = None,
) -> None:
    """Send one e-mail; any SMTP or network failure is a ``NotifyError`` naming the server."""
    config.check()
    message = build_message(config, to, subject, text, html, key)
    where = f"{config.host}:{config.port}"
    try:
        client = (connect or _connect)(config)
        try:
            if config.username:
                client.login(config.username, config.password or "")
            refused = client.send_message(message)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(
            f"the SMTP server {where} refused the login {config.username!r} ({exc.smtp_code})",
            hint="check [notify] smtp_username and REVLOOP_NOTIFY_SMTP_PASSWORD",
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise NotifyError(
            f"the SMTP server {where} refused the recipient {to}", hint="check the address"
        ) from None
    except smtplib.SMTPResponseException as exc:
        reason = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        raise NotifyError(
            f"the SMTP server {where} answered {exc.smtp_code} {reason}".strip(),
            hint="it will be tried again later",
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise NotifyError(
            f"cannot send e-mail through {where}: {exc.__class__.__name__}: {exc}".rstrip(": "),
            hint="check [notify] smtp_host, smtp_port and smtp_security; it will be tried again later",
        ) from None
    if refused:
        raise NotifyError(f"the SMTP server {where} refused the recipient {to}", hint="check the address")


__all__ = ["SmtpConfig", "build_message", "send_email"]

"""Errors of the notification channels (e-mail over SMTP, generic webhooks)."""

from __future__ import annotations

from revloop.domain.issues import ConfigError, ConnectorError


class NotifyError(ConnectorError):
    """A notification could not be delivered: the SMTP server or the webhook refused it or did not
    answer. The notification stays queued and is tried again later."""

    code = "notify.delivery"


class NotifyConfigError(ConfigError):
    """The notification settings cannot be used: a malformed recipient, no SMTP server, no URL for a
    webhook recipient."""

    code = "notify.config"


__all__ = ["NotifyConfigError", "NotifyError"]

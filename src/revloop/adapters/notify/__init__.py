"""Notification channels: e-mail over SMTP (smtplib) and a generic JSON webhook (httpx)."""

from .errors import NotifyConfigError, NotifyError
from .smtp import SmtpConfig, send_email
from .webhook import post_webhook

__all__ = ["NotifyConfigError", "NotifyError", "SmtpConfig", "post_webhook", "send_email"]

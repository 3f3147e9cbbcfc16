"""A generic JSON webhook (Teams, Slack, or anything that takes a POST), over httpx.

The body is ``{"text": <summary>, ...}`` plus whatever structured fields the caller adds; Teams and
Slack incoming webhooks show ``text``. Every request carries an ``Idempotency-Key`` header derived
from what it carries, so a receiver that honours it ignores a resend after a crash.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from revloop.exactjson import dumps

from .errors import NotifyConfigError, NotifyError


def redact(url: str) -> str:
    """The URL without its path and query, which usually carry the token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}/…"


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    key: str,
    timeout: float = 20.0,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """POST the payload as JSON; a refusal (not 2xx) or no answer is a ``NotifyError``. The URL is
    never shown whole (its path holds the token)."""
    if not url.startswith(("https://", "http://")):
        raise NotifyConfigError(f"not a webhook URL: {redact(url)}", hint="webhook URLs start with https://")
    where = redact(url)
    body = dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "revloop"}
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise NotifyError(
            f"the webhook at {where} did not answer: {exc.__class__.__name__}",
            hint="it will be tried again later",
        ) from None
    if not 200 <= response.status_code < 300:
        raise NotifyError(
            f"the webhook at {where} answered {response.status_code}",
            hint="check the URL in REVLOOP_NOTIFY_WEBHOOK_URLS; it will be tried again later",
        )


__all__ = ["post_webhook", "redact"]

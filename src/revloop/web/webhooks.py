"""The Xero webhooks receiver: ``POST /webhooks/xero`` (NOTES §8).

The raw body is checked against ``x-xero-signature`` (base64 HMAC-SHA256 with the webhook key,
compared in constant time) before anything reads it as JSON. A wrong or missing signature is 401; a
correctly signed body that is not a webhook payload is 400; otherwise each event marks its record
for the next incremental sync (``revloop.services.sync.marks``) and the answer is 200. Every answer
has an empty body and no cookies. The intent-to-receive check (signed payloads with no events) gets
200 or 401 accordingly. Nothing is synced during the request: Xero waits 5 seconds at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revloop.services.sync.marks import Mark, marks_from_events, record_marks

log = logging.getLogger(__name__)

PATH = "/webhooks/xero"
SIGNATURE_HEADER = "x-xero-signature"
#: Xero's payloads are a few kilobytes; anything far larger is refused before it is hashed
MAX_BODY = 1024 * 1024


def signature(body: bytes, key: str) -> bytes:
    """``x-xero-signature`` for ``body``: base64 of HMAC-SHA256 with the webhook key."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())


def signature_ok(body: bytes, header: str | None, key: str) -> bool:
    if not header or not key:
        return False
    # starlette decodes header values as latin-1, so this round trip is exact
    return hmac.compare_digest(signature(body, key), header.strip().encode("latin-1"))


def _store(engine: Engine, marks: list[Mark]) -> int:
    with engine.begin() as conn:
        return record_marks(conn, marks)


async def _body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than ``MAX_BODY``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(engine: Engine, key: str, *, tenant_id: str | None = None) -> Starlette:
    """The receiver as an ASGI app. ``tenant_id`` (when given) is the one organisation whose events
    are kept; events of any other are acknowledged and dropped."""
    if not key:
        raise ValueError("a webhook key is required")

    async def receive(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        if not signature_ok(body, request.headers.get(SIGNATURE_HEADER), key):
            log.warning("xero webhook: refused a request with a missing or wrong signature")
            return Response(status_code=401)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            log.warning("xero webhook: signed body is not JSON")
            return Response(status_code=400)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            log.warning("xero webhook: signed body has no events list")
            return Response(status_code=400)
        if not events:
            log.info("xero webhook: intent-to-receive check answered")
            return Response(status_code=200)
        marks, skipped = marks_from_events(events, received_at=datetime.now(UTC), tenant_id=tenant_id)
        if marks:
            try:
                await run_in_threadpool(_store, engine, marks)
            except Exception as exc:  # Xero retries anything but 200: let it
                log.error("xero webhook: could not store %d mark(s): %s", len(marks), type(exc).__name__)
                return Response(status_code=503)
        log.info("xero webhook: %d event(s), %d marked, %d set aside", len(events), len(marks), skipped)
        return Response(status_code=200)

    return Starlette(routes=[Route(PATH, receive, methods=["POST"])])


__all__ = ["MAX_BODY", "PATH", "SIGNATURE_HEADER", "create_app", "signature", "signature_ok"]

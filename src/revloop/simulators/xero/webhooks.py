"""Xero webhooks (NOTES §8): events queued as invoices, contacts and credit notes change, delivered
as signed JSON (``x-xero-signature`` = base64 HMAC-SHA256 of the raw body with the webhook key), and
the intent-to-receive handshake."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from ..common import SimClock
from .wire import IdSource

Sender = Callable[[str, bytes, dict[str, str]], int]
RESOURCE_PATHS = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def signature_ok(body: bytes, header: str | None, key: str) -> bool:
    return hmac.compare_digest(sign(body, key), header or "")


def http_send(url: str, body: bytes, headers: dict[str, str]) -> int:
    """Default sender: POST with httpx and a 5-second timeout, as Xero waits no longer."""
    response = httpx.post(url, content=body, headers=headers, timeout=5.0)
    return response.status_code


def _event_stamp(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


class WebhookHub:
    def __init__(
        self,
        clock: SimClock,
        ids: IdSource,
        *,
        key: str,
        url: str | None = None,
        send: Sender | None = None,
        api_base: str = "https://api.xero.com/api.xro/2.0",
    ) -> None:
        self.clock = clock
        self.ids = ids
        self.key = key
        self.url = url
        self.send: Sender = send or http_send
        self.api_base = api_base
        self.queue: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.sequence = 0
        self._lock = threading.Lock()
        self._sending = threading.Lock()

    def record(
        self,
        tenant_id: str,
        category: str,
        event_type: str,
        resource_id: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "resourceUrl": f"{self.api_base}/{RESOURCE_PATHS[category]}/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": _event_stamp(self.clock.now()),
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        if data is not None:
            event["data"] = data
        with self._lock:
            self.queue.append(event)

    def _entropy(self) -> str:
        letters = string.ascii_uppercase
        token = self.ids.token(20)
        return "".join(letters[int(token[i : i + 2], 16) % 26] for i in range(0, 40, 2))

    def payload(self, events: list[dict[str, Any]]) -> bytes:
        first = self.sequence + 1 if events else 0
        last = self.sequence + len(events) if events else 0
        body = {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": last,
            "entropy": self._entropy(),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def deliver(self) -> int | None:
        """Send every queued event in one signed POST. Events stay queued unless the answer is 200.

        The queue lock is not held while sending, so a receiver may call back into the simulator
        (and cause new events) without deadlocking; deliveries themselves run one at a time.
        """
        with self._sending:
            with self._lock:
                if not self.url or not self.queue:
                    return None
                url = self.url
                events = list(self.queue)
                body = self.payload(events)
            status = self.send(url, body, self._headers(body, self.key))
            if status == 200:
                with self._lock:
                    self.sequence += len(events)
                    self.delivered.extend(events)
                    del self.queue[: len(events)]
            return status

    @staticmethod
    def _headers(body: bytes, key: str) -> dict[str, str]:
        return {"content-type": "application/json", "x-xero-signature": sign(body, key)}

    def intent_to_receive(self, rounds: int = 4) -> bool:
        """Xero's handshake: empty-event payloads, alternately well and badly signed; the endpoint must
        answer 200 to each good one and 401 to each bad one."""
        if not self.url:
            raise ValueError("no webhook URL configured")
        passed = True
        for n in range(rounds):
            body = self.payload([])
            good = n % 2 == 0
            key = self.key if good else self.key + "-wrong"
            status = self.send(self.url, body, self._headers(body, key))
            passed = passed and status == (200 if good else 401)
        return passed

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"queue": list(self.queue), "sequence": self.sequence}

    def load(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.queue = list(state.get("queue", []))
            self.sequence = int(state.get("sequence", 0))

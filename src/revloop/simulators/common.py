"""What both simulators share: a clock that can travel, a request log, fault injection, and the
bridges from a plain request handler to ``httpx.MockTransport`` and to ASGI (for uvicorn).

## The shared simulator contract

Both simulators follow it; the demo generator and `revloop simulate` rely on it.

This module provides: `SimClock` (now(), monotonic(), advance(seconds) for time travel),
`RequestLog` (record(route, status, at), counts()), `FaultInjector` + `Fault` (fail next N calls of
a route regex with status/headers/body, add latency, `drop_after_commit`), `run_with_faults(route,
faults, call)`, `DroppedResponse`, `mock_transport(handler)` (in-process `httpx.MockTransport`; a
dropped response becomes `httpx.RemoteProtocolError`), `AsgiBridge(handler)` (serve over uvicorn).
If you find a bug in common.py, fix it minimally and tell me in your report.

Each simulator is a class with:
```python
class XxxSimulator:
    def __init__(self, *, prefix: str = "", clock: SimClock | None = None,
                 faults: FaultInjector | None = None, log: RequestLog | None = None,
                 **limits) -> None: ...
    def handle(self, request: httpx.Request) -> httpx.Response
        # sync; paths under `prefix` (stripped first)
    def seed(self, data: dict[str, Any], **kw) -> None
        # records in the vendor's own wire shape, per resource
    def snapshot(self) -> dict[str, Any]                         # whole state as JSON-able data
    def restore(self, snapshot: dict[str, Any]) -> None
    def expire_all_tokens(self) -> None
    credentials: dict[str, str]
        # the demo credentials (fixed, deterministic)
```
- `handle` records every request in `log` with a route label `"<vendor> <METHOD> <path template>"`
  (e.g. `"xero GET /api.xro/2.0/Invoices"`, `"halopsa POST /api/actions"`; lower-case the halopsa
  path), and applies `faults` through `run_with_faults(label, ...)`. Time comes only from `clock`
  (so time travel moves token expiry and rate windows).
- When served together by `revloop simulate` on one port, Xero lives under prefix `/xero`
  (`/xero/identity/connect/token`, `/xero/identity/connect/authorize`, `/xero/connections`,
  `/xero/api.xro/2.0/...`) and HaloPSA under `/halopsa` (`/halopsa/auth/token`, `/halopsa/api/...`).
  In tests you may use prefix "" and base URL `http://sim` through `mock_transport`.
- `seed()` takes wire-shaped dicts exactly as the vendor's API would return them (missing optional
  fields are filled with what the real API gives); it must be fast: 1,000,000 HaloPSA actions seed
  in well under a minute (store plain dicts, index by id; don't deep-validate on seed).
- Money in and out as JSON numbers but parsed/emitted exactly: parse requests with `json.loads(body,
  parse_float=Decimal)`, keep Decimal in state, serialise Decimal as a JSON number without float
  conversion (a small custom encoder). Never float.
- Deterministic: no uuid4/random without a seeded `random.Random`; ids from counters or a seeded
  RNG.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx


class Handler(Protocol):
    def handle(self, request: httpx.Request) -> httpx.Response: ...


class SimClock:
    """Real time plus an offset that the admin API can move forward (time travel)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self._offset = start - datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset.total_seconds()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


class RequestLog:
    """Counts requests per route label (``"xero GET /api.xro/2.0/Invoices"``)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []

    def record(self, route: str, status: int, at: datetime) -> None:
        with self._lock:
            self._counts[route] += 1
            self.entries.append({"route": route, "status": status, "at": at.isoformat()})
            if len(self.entries) > 50_000:
                del self.entries[:10_000]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for route, n in self._counts.items() if route.startswith(prefix))

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self.entries.clear()


class DroppedResponse(Exception):
    """The write was committed but the response is lost on the way back."""


@dataclass
class Fault:
    """Fail the next ``count`` calls whose route matches ``route`` (a regex, case-insensitive)."""

    route: str
    count: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    latency: float = 0.0  # seconds added before handling
    drop_after_commit: bool = False  # handle the call, then lose the response

    def matches(self, route: str) -> bool:
        return re.search(self.route, route, re.IGNORECASE) is not None


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, route: str) -> Fault | None:
        """The first fault that matches, counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(route) and fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self._faults]


def run_with_faults(
    route: str,
    faults: FaultInjector,
    call: Callable[[], httpx.Response],
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Apply the injected fault for ``route`` (if any) around ``call``.

    A status fault answers without calling. ``drop_after_commit`` calls (the write lands) and
    then raises ``DroppedResponse``, which the transports turn into a broken connection.
    """
    fault = faults.take(route)
    if fault is None:
        return call()
    if fault.latency:
        sleep(fault.latency)
    if fault.drop_after_commit:
        call()
        raise DroppedResponse(route)
    if fault.status and fault.status >= 400:
        body = fault.body if fault.body is not None else f"Injected fault: {fault.status}"
        return httpx.Response(fault.status, headers=fault.headers, text=body)
    return call()


def mock_transport(handler: Handler) -> httpx.MockTransport:
    """An httpx transport that hands every request to the simulator in-process."""

    def _handle(request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            return handler.handle(request)
        except DroppedResponse as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc

    return httpx.MockTransport(_handle)


class AsgiBridge:
    """Serve a plain handler over ASGI (uvicorn). Handlers are synchronous and run in a thread
    pool; a dropped response is sent as a truncated body so the client sees a broken connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before its request arrived whole: nothing to handle
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode()}"
        if query:
            url += "?" + query.decode()
        request = httpx.Request(
            scope["method"],
            url,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            content=body,
        )
        try:
            response = await asyncio.to_thread(self.handler.handle, request)
        except DroppedResponse:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": False})
            return
        content = response.read()
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-length", "transfer-encoding")
        ]
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

"""``SimulatorServer``: HaloPSA and Xero on one app, with an admin API, for ``revloop simulate``.

Paths: ``/halopsa/...`` (HaloPSA), ``/xero/...`` (Xero identity, /connections, Accounting API) and
``/admin/...``. Both simulators share one ``SimClock``, ``RequestLog`` and ``FaultInjector``.

Admin API (JSON in and out):

- ``GET /admin/info`` — the same JSON object ``revloop simulate`` prints first (URLs, credentials)
- ``GET /admin/health`` — ``{"status": "ok", "now": ..., "records": {...}}``
- ``GET /admin/log`` — request counts per route label; ``DELETE /admin/log`` clears them
- ``POST /admin/faults`` — ``{"route": regex, "count": N, "status": 503, "headers": {...}, "body": "...",
  "latency": 0.5, "drop_after_commit": false}``; ``GET`` lists pending faults; ``DELETE`` clears them
- ``POST /admin/expire-tokens`` — every issued token of both simulators stops working
- ``POST /admin/time-travel`` — ``{"seconds": N}`` moves the shared clock forward (token expiry,
  rate-limit windows)
- ``GET /admin/snapshot`` — the whole state of both simulators (and the manifest) as JSON;
  ``POST /admin/restore`` takes such a snapshot back
- ``GET /admin/manifest`` — the planted problems of the seeded demo MSP
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from revloop.demo.model import DemoMsp, dumps
from revloop.demo.seeding import seed_simulators

from .common import AsgiBridge, Fault, FaultInjector, RequestLog, SimClock
from .halopsa import HaloSimulator
from .xero import XeroSimulator

SNAPSHOT_FORMAT = "revloop-simulate/1"
ORG_NAME = "Northgate IT Services Ltd"


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=dumps(body).encode(), headers={"content-type": "application/json"})


class SimulatorServer:
    """Both simulators behind one handler; serve it with ``asgi()`` or in-process with
    ``revloop.simulators.common.mock_transport(server)``."""

    def __init__(self, *, clock: SimClock | None = None, halopsa_rate_limit: int = 300) -> None:
        self.clock = clock or SimClock()
        self.log = RequestLog()
        self.faults = FaultInjector()
        common = {"clock": self.clock, "faults": self.faults, "log": self.log}
        self.halopsa = HaloSimulator(prefix="/halopsa", rate_limit=halopsa_rate_limit, **common)  # type: ignore[arg-type]
        self.xero = XeroSimulator(prefix="/xero", demo_org=False, **common)  # type: ignore[arg-type]
        self.manifest: list[dict[str, Any]] = []

    # -- set-up ---------------------------------------------------------------------------------------
    def seed_demo(self, msp: DemoMsp) -> None:
        tenant = self.xero.credentials["tenant_id"]
        seed_simulators(msp, self.halopsa, self.xero, tenant_id=tenant, name=ORG_NAME)
        self.manifest = list(msp.manifest)

    def info(self, base_url: str) -> dict[str, Any]:
        """The first line ``revloop simulate`` prints: base URLs and the demo credentials."""
        base = base_url.rstrip("/")
        h, x = self.halopsa.credentials, self.xero.credentials
        return {
            "halopsa": {
                "base_url": f"{base}/halopsa",
                "auth_url": f"{base}/halopsa/auth",
                "client_id": h["client_id"],
                "client_secret": h["client_secret"],
                "tenant": h["tenant"],
                "rate_limit": self.halopsa.limiter.limit,
            },
            "xero": {
                "api_url": f"{base}/xero/api.xro/2.0",
                "identity_url": f"{base}/xero/identity",
                "token_url": f"{base}/xero/identity/connect/token",
                "connections_url": f"{base}/xero/connections",
                "authorize_url": f"{base}/xero/identity/connect/authorize",
                "client_id": x["custom_client_id"],
                "client_secret": x["custom_client_secret"],
                "tenant_id": x["tenant_id"],
                "app_client_id": x["client_id"],
                "app_client_secret": x["client_secret"],
                "redirect_uri": x["redirect_uri"],
            },
            "admin_url": f"{base}/admin",
        }

    def asgi(self) -> AsgiBridge:
        return AsgiBridge(self)

    # -- state ----------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "halopsa": self.halopsa.snapshot(),
            "xero": self.xero.snapshot(),
            "manifest": self.manifest,
        }

    def snapshot_json(self) -> str:
        return dumps(self.snapshot())

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a {SNAPSHOT_FORMAT} snapshot")
        self.halopsa.restore(snapshot["halopsa"])
        self.xero.restore(snapshot["xero"])
        self.manifest = list(snapshot.get("manifest", []))

    # -- HTTP -----------------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lower()
        if path == "/halopsa" or path.startswith("/halopsa/"):
            return self.halopsa.handle(request)
        if path == "/xero" or path.startswith("/xero/"):
            return self.xero.handle(request)
        if path == "/admin" or path.startswith("/admin/"):
            try:
                return self._admin(request.method.upper(), path[len("/admin") :].strip("/"), request)
            except (ValueError, KeyError, TypeError) as exc:
                return _json(400, {"error": "bad_request", "message": str(exc)})
        return _json(404, {"error": "not_found", "message": "paths start with /halopsa, /xero or /admin"})

    def _body(self, request: httpx.Request) -> Any:
        request.read()
        if not request.content:
            return {}
        return json.loads(request.content, parse_float=Decimal)

    def _admin(self, method: str, action: str, request: httpx.Request) -> httpx.Response:
        if action == "info" and method == "GET":
            return _json(200, self.info(f"{request.url.scheme}://{request.url.netloc.decode()}"))
        if action in ("", "health") and method == "GET":
            return _json(
                200,
                {
                    "status": "ok",
                    "now": self.clock.now().isoformat(),
                    "planted": len(self.manifest),
                    "requests": self.log.total(),
                },
            )
        if action == "log":
            if method == "GET":
                return _json(
                    200, {"counts": dict(sorted(self.log.counts().items())), "total": self.log.total()}
                )
            if method == "DELETE":
                self.log.clear()
                return _json(200, {"cleared": True})
        if action == "faults":
            if method == "GET":
                return _json(200, {"faults": self.faults.pending()})
            if method == "DELETE":
                self.faults.clear()
                return _json(200, {"cleared": True})
            if method == "POST":
                body = self._body(request)
                items = body if isinstance(body, list) else [body]
                for item in items:
                    self.faults.add(
                        Fault(
                            route=str(item["route"]),
                            count=int(item.get("count", 1)),
                            status=int(item.get("status", 500)),
                            headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
                            body=item.get("body"),
                            latency=float(item.get("latency", 0) or 0),
                            drop_after_commit=bool(item.get("drop_after_commit", False)),
                        )
                    )
                return _json(200, {"faults": self.faults.pending()})
        if action == "expire-tokens" and method == "POST":
            self.halopsa.expire_all_tokens()
            self.xero.expire_all_tokens()
            return _json(200, {"expired": True})
        if action == "time-travel" and method == "POST":
            seconds = self._body(request).get("seconds", 0)
            if Decimal(str(seconds)) < 0:
                raise ValueError("time only travels forward")
            self.clock.advance(float(seconds))
            return _json(200, {"now": self.clock.now().isoformat()})
        if action == "snapshot" and method == "GET":
            return httpx.Response(
                200, content=self.snapshot_json().encode(), headers={"content-type": "application/json"}
            )
        if action == "restore" and method == "POST":
            self.restore(self._body(request))
            return _json(200, {"restored": True})
        if action == "manifest" and method == "GET":
            return _json(200, self.manifest)
        return _json(
            404 if method in ("GET", "POST", "DELETE") else 405,
            {"error": "not_found", "message": f"no admin route {method} /admin/{action}"},
        )

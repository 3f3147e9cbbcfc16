"""``XeroSimulator``: routing, authentication, tenancy, rate limits, idempotency, faults and the log
around the resource handlers."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta
from decimal import ROUND_HALF_UP
from typing import Any

import httpx

from ..common import FaultInjector, RequestLog, SimClock, run_with_faults
from . import demo
from .auth import IdentityServer, TokenInfo
from .filters import QueryError
from .limits import RateLimiter
from .routes import API, Route, api_routes
from .seeding import Seeder
from .state import Ctx, OrgState, to_plain
from .webhooks import Sender, WebhookHub
from .wire import (
    IdSource,
    WireError,
    bad_request,
    json_response,
    loads,
    not_found,
    plain,
    post_data_invalid,
    problem,
    query_parse_error,
    xml_response,
)

IDEMPOTENCY_SECONDS = 360
IDEMPOTENCY_MAX_LENGTH = 128
MAX_QUERY_LENGTH = 2048  # the front end's query-string limit: why IDs= lists cap out near 52 GUIDs
MAX_BODY_BYTES = 3_500_000
QUERY_TOO_LONG = (
    "HTTP Error 404.15 - Not Found. The request filtering module is configured to deny a request where "
    "the query string is too long."
)
KNOWN_PARAMS = (
    "where",
    "order",
    "page",
    "pageSize",
    "unitdp",
    "summarizeErrors",
    "IDs",
    "InvoiceNumbers",
    "ContactIDs",
    "Statuses",
    "includeArchived",
    "summaryOnly",
    "searchTerm",
    "createdByMyApp",
    "fromDate",
    "toDate",
    "periods",
    "timeframe",
    "trackingCategoryID",
    "trackingOptionID",
    "trackingCategoryID2",
    "trackingOptionID2",
    "standardLayout",
    "paymentsOnly",
    "DateFrom",
    "DateTo",
    "ExpiryDateFrom",
    "ExpiryDateTo",
    "ContactID",
    "Status",
    "QuoteNumber",
    "TaxType",
    "authEventId",
)
_CANONICAL = {p.lower(): p for p in KNOWN_PARAMS}


class XeroSimulator:
    """A faithful, in-memory Xero: identity service, /connections and the Accounting API."""

    def __init__(
        self,
        *,
        prefix: str = "",
        clock: SimClock | None = None,
        faults: FaultInjector | None = None,
        log: RequestLog | None = None,
        seed: int = 20261001,
        concurrent_limit: int = 5,
        minute_limit: int = 60,
        day_limit: int = 5000,
        app_minute_limit: int = 10_000,
        rounding: str = ROUND_HALF_UP,
        webhook_url: str | None = None,
        webhook_send: Sender | None = None,
        webhook_key: str = demo.WEBHOOK_KEY,
        demo_org: bool = True,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.clock = clock or SimClock()
        self.faults = faults or FaultInjector()
        self.log = log or RequestLog()
        self.rounding = rounding
        self.ids = IdSource(seed)
        self._lock = threading.RLock()
        self.orgs: dict[str, OrgState] = {}
        self.identity = IdentityServer(self.clock, self.ids, self._tenant_names)
        self.limits = RateLimiter(
            self.clock,
            concurrent_limit=concurrent_limit,
            minute_limit=minute_limit,
            day_limit=day_limit,
            app_minute_limit=app_minute_limit,
        )
        # Webhooks draw their entropy from their own generator: deliveries run outside the state lock.
        self.webhooks = WebhookHub(
            self.clock, IdSource(seed + 1), key=webhook_key, url=webhook_url, send=webhook_send
        )
        self._idempotency: dict[tuple[str, str], dict[str, Any]] = {}
        self._seeder = Seeder(self)
        self._api = api_routes()
        self.credentials: dict[str, str] = {
            "client_id": demo.DEMO_CLIENT_ID,
            "client_secret": demo.DEMO_CLIENT_SECRET,
            "redirect_uri": demo.DEMO_REDIRECT_URI,
            "tenant_id": demo.DEMO_TENANT_ID,
            "scopes": demo.DEMO_SCOPES,
            "custom_client_id": demo.CUSTOM_CLIENT_ID,
            "custom_client_secret": demo.CUSTOM_CLIENT_SECRET,
            "webhook_key": webhook_key,
            "authorize_url": f"{self.prefix}/identity/connect/authorize",
            "token_url": f"{self.prefix}/identity/connect/token",
            "revocation_url": f"{self.prefix}/identity/connect/revocation",
            "connections_url": f"{self.prefix}/connections",
            "api_url": f"{self.prefix}{API}",
        }
        self.identity.add_client(demo.DEMO_CLIENT_ID, demo.DEMO_CLIENT_SECRET, [demo.DEMO_REDIRECT_URI])
        if demo_org:
            self.add_organisation(demo.DEMO_TENANT_ID, "Demo MSP Pty Ltd")
            self._seeder.seed_demo(demo.DEMO_TENANT_ID)
        self.identity.add_client(
            demo.CUSTOM_CLIENT_ID,
            demo.CUSTOM_CLIENT_SECRET,
            [],
            custom_tenant=demo.DEMO_TENANT_ID,
            scopes=demo.CUSTOM_SCOPES,
        )

    # --- set-up ----------------------------------------------------------------------------------

    def _tenant_names(self) -> dict[str, str]:
        return {tid: str(org.organisation.get("Name", "")) for tid, org in self.orgs.items()}

    def add_organisation(self, tenant_id: str, name: str) -> OrgState:
        with self._lock:
            tenant_id = tenant_id.lower()
            if tenant_id not in self.orgs:
                self.orgs[tenant_id] = OrgState(tenant_id, demo.organisation(tenant_id, name))
            return self.orgs[tenant_id]

    def seed(
        self,
        data: dict[str, Any],
        *,
        tenant_id: str | None = None,
        name: str | None = None,
        chart: bool = True,
        **_: Any,
    ) -> None:
        """Load wire-shaped records (``{"Contacts": [...], "Invoices": [...], ...}``) into an organisation.

        A new ``tenant_id`` creates the organisation (with the demo chart of accounts, tax rates and
        currencies unless ``chart=False``). ``ProfitAndLossRows`` adds report-only amounts:
        ``{"AccountCode": "477", "Date": "2026-10-31", "Amount": 12000}``. ``DayRates`` gives the
        rate a document in another currency takes when it is sent without a ``CurrencyRate`` (Xero
        takes the day's rate): ``{"USD": "1.27"}`` (units per unit of the base currency; else 1).
        """
        with self._lock:
            self._seeder.seed(
                data, tenant_id=(tenant_id or demo.DEMO_TENANT_ID).lower(), name=name, chart=chart
            )

    def add_custom_connection(
        self, client_id: str, client_secret: str, tenant_id: str, scopes: str = demo.CUSTOM_SCOPES
    ) -> None:
        with self._lock:
            self.identity.add_client(
                client_id, client_secret, [], custom_tenant=tenant_id.lower(), scopes=scopes
            )

    def add_app(self, client_id: str, client_secret: str | None, redirect_uris: list[str]) -> None:
        """Register another OAuth app (``client_secret=None`` for a PKCE-only public client)."""
        with self._lock:
            self.identity.add_client(client_id, client_secret, redirect_uris)

    def expire_all_tokens(self) -> None:
        with self._lock:
            self.identity.expire_all()

    def deliver_webhooks(self) -> int | None:
        return self.webhooks.deliver()

    # --- snapshot --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rng = self.ids.getstate()
            return {
                "orgs": {tid: org.dump() for tid, org in self.orgs.items()},
                "identity": to_plain(self.identity.state),
                "webhooks": self.webhooks.state(),
                "rng": [rng[0], list(rng[1]), rng[2]],
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.orgs = {tid: OrgState.load(data) for tid, data in snapshot["orgs"].items()}
            self.identity.state = {k: dict(v) for k, v in snapshot["identity"].items()}
            self.webhooks.load(snapshot.get("webhooks", {}))
            rng = snapshot.get("rng")
            if rng:
                self.ids.setstate((rng[0], tuple(rng[1]), rng[2]))
            self._idempotency.clear()

    # --- HTTP ------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.prefix:
            if not path.lower().startswith(self.prefix.lower()):
                self.log.record(f"xero {request.method} {path}", 404, self.clock.now())
                return not_found()
            path = path[len(self.prefix) :] or "/"
        method = request.method.upper()
        route, params, template = self._match(method, path)
        label = f"xero {method} {template}"
        status = 0  # stays 0 when the response is dropped on the way back
        try:
            response = self._serve(request, method, route, params, label, template)
            status = response.status_code
            return response
        finally:
            self.log.record(label, status, self.clock.now())

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], str]:
        identity = {
            ("GET", "/identity/connect/authorize"),
            ("POST", "/identity/connect/token"),
            ("POST", "/identity/connect/revocation"),
            ("GET", "/connections"),
        }
        lowered = path.rstrip("/").lower() or "/"
        for m, t in identity:
            if lowered == t:
                return (None, {"identity": t, "allowed": str(m == method)}, t)
        match = re.match(r"^/connections/([^/]+)$", path, re.IGNORECASE)
        if match:
            return (
                None,
                {"identity": "/connections/{id}", "id": match.group(1), "allowed": str(method == "DELETE")},
                "/connections/{id}",
            )
        allowed_elsewhere = None
        for route in self._api:
            found = route.pattern.match(path)
            if not found:
                continue
            names = re.findall(r"\{([A-Za-z]+)\}", route.template)
            values = dict(zip(names, found.groups(), strict=True))
            if route.method == method:
                return route, values, route.template
            allowed_elsewhere = route.template
        if allowed_elsewhere:
            return None, {"allowed": "False"}, allowed_elsewhere
        return None, {}, path

    def _serve(
        self,
        request: httpx.Request,
        method: str,
        route: Route | None,
        params: dict[str, str],
        label: str,
        template: str,
    ) -> httpx.Response:
        if route is None:
            if params.get("allowed") == "False":
                text = f"The requested resource does not support http method '{method}'."
                return run_with_faults(label, self.faults, lambda: plain(405, text))
            if "identity" in params:
                return self._serve_identity(request, params, label)
            return run_with_faults(label, self.faults, not_found)
        with self._lock:
            auth = self.identity.authenticate(request)
        if isinstance(auth, httpx.Response):
            return auth
        readers, writers = route.scopes
        needed = readers if method == "GET" else writers
        if not (auth.scopes & needed):
            return problem(
                401,
                "Unauthorized",
                "AuthorizationUnsuccessful",
                self._instance(),
                {"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        tenant = self._tenant(request, auth)
        if tenant is None:
            return problem(403, "Forbidden", "AuthenticationUnsuccessful", self._instance())
        admission = self.limits.admit(tenant, auth.client_id)
        if not admission.admitted:
            return plain(429, "Rate limit exceeded", admission.headers)
        try:
            response = run_with_faults(
                label, self.faults, lambda: self._dispatch(request, route, params, tenant, auth)
            )
        finally:
            self.limits.release(tenant)
        response.headers.update(admission.headers)
        return response

    def _instance(self) -> str:
        with self._lock:
            return self.ids.guid()

    def _serve_identity(self, request: httpx.Request, params: dict[str, str], label: str) -> httpx.Response:
        kind = params["identity"]
        if params.get("allowed") != "True":
            text = f"The requested resource does not support http method '{request.method}'."
            return plain(405, text)
        if kind in ("/connections", "/connections/{id}"):
            with self._lock:
                auth = self.identity.authenticate(request)
            if isinstance(auth, httpx.Response):
                return auth
            admission = self.limits.admit(None, auth.client_id)
            headers = {"X-AppMinLimit-Remaining": admission.headers["X-AppMinLimit-Remaining"]}
            if not admission.admitted:
                return plain(429, "Rate limit exceeded", admission.headers)

            def call() -> httpx.Response:
                with self._lock:
                    if kind == "/connections":
                        rows = self.identity.list_connections(auth, request.url.params.get("authEventId"))
                        return json_response(200, rows)
                    return self.identity.delete_connection(auth, params["id"])

            response = run_with_faults(label, self.faults, call)
            response.headers.update(headers)
            return response

        def identity_call() -> httpx.Response:
            with self._lock:
                if kind == "/identity/connect/authorize":
                    return self.identity.authorize(request)
                if kind == "/identity/connect/token":
                    return self.identity.token(request)
                return self.identity.revoke(request)

        return run_with_faults(label, self.faults, identity_call)

    def _tenant(self, request: httpx.Request, auth: TokenInfo) -> str | None:
        header = request.headers.get("xero-tenant-id")
        with self._lock:
            connected = self.identity.connected_tenants(auth)
            if auth.custom_tenant:
                if header and header.strip().lower() != auth.custom_tenant:
                    return None
                return auth.custom_tenant if auth.custom_tenant in self.orgs else None
            if not header:
                return None
            tenant = header.strip().lower()
            return tenant if tenant in connected and tenant in self.orgs else None

    # --- dispatch with idempotency ------------------------------------------------------------------

    def _dispatch(
        self, request: httpx.Request, route: Route, path_params: dict[str, str], tenant: str, auth: TokenInfo
    ) -> httpx.Response:
        key = request.headers.get("idempotency-key")
        if key is None or route.method == "GET":
            return self._execute(request, route, path_params, tenant)
        if len(key) > IDEMPOTENCY_MAX_LENGTH or not key.strip():
            return bad_request(
                f"The Idempotency-Key header must be between 1 and {IDEMPOTENCY_MAX_LENGTH} characters"
            )
        fingerprint = hashlib.sha256(
            b"\n".join([tenant.encode(), route.method.encode(), str(request.url).encode(), request.content])
        ).hexdigest()
        cache_key = (auth.client_id, key)
        with self._lock:
            now = self.clock.now()
            for stale in [
                k
                for k, v in self._idempotency.items()
                if now - v["at"] > timedelta(seconds=IDEMPOTENCY_SECONDS)
            ]:
                del self._idempotency[stale]
            cached = self._idempotency.get(cache_key)
            if cached is not None:
                if cached["fingerprint"] != fingerprint:
                    return bad_request(
                        f"Idempotency Key '{key}' has already been used with a different request. "
                        "Please use a different key."
                    )
                return httpx.Response(cached["status"], headers=cached["headers"], content=cached["content"])
            response = self._execute(request, route, path_params, tenant)
            content = response.read()
            self._idempotency[cache_key] = {
                "fingerprint": fingerprint,
                "status": response.status_code,
                "headers": dict(response.headers),
                "content": content,
                "at": now,
            }
            return httpx.Response(response.status_code, headers=dict(response.headers), content=content)

    def _execute(
        self, request: httpx.Request, route: Route, path_params: dict[str, str], tenant: str
    ) -> httpx.Response:
        response = self._execute_json(request, route, path_params, tenant)
        accept = request.headers.get("accept", "").lower()
        if "json" not in accept and response.headers.get("content-type", "").startswith("application/json"):
            return xml_response(response)  # Xero answers in XML unless JSON is asked for
        return response

    def _execute_json(
        self, request: httpx.Request, route: Route, path_params: dict[str, str], tenant: str
    ) -> httpx.Response:
        if len(request.url.query) > MAX_QUERY_LENGTH:
            return plain(404, QUERY_TOO_LONG)
        if len(request.content) > MAX_BODY_BYTES:
            return plain(413, "Request Entity Too Large: the request body is limited to 3.5 MB")
        params: dict[str, str] = {}
        for name, value in request.url.params.multi_items():
            params[_CANONICAL.get(name.lower(), name)] = value
        body: Any = None
        if route.method in ("PUT", "POST"):
            if not request.content.strip():
                return post_data_invalid("The request body is empty")
            try:
                body = loads(request.content)
            except WireError:
                return post_data_invalid("JSON for the request body could not be parsed")
        unitdp = 4 if params.get("unitdp", "").strip() == "4" else 2
        with self._lock:
            org = self.orgs[tenant]
            ctx = Ctx(
                org=org,
                ids=self.ids,
                now=self.clock.now(),
                params=params,
                unitdp=unitdp,
                rounding=self.rounding,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
            try:
                response = route.handler(ctx, path_params, body)
            except QueryError as exc:
                return query_parse_error(str(exc))
            except WireError as exc:
                return bad_request(str(exc))
            for category, event_type, resource_id in ctx.events:
                data = None
                if category == "CREDITNOTE":
                    credit = org.credit_notes.get(resource_id, {})
                    data = {"Type": credit.get("Type"), "Status": credit.get("Status")}
                self.webhooks.record(tenant, category, event_type, resource_id, data)
            return response


__all__ = ["XeroSimulator"]

"""The HaloPSA simulator: routing, auth, the rate limit and the read/write handlers.

Routes are matched case-insensitively (``/api/Tickets`` == ``/api/tickets``); the request log uses
lower-case templates such as ``halopsa GET /api/actions/{id}``.

Error shapes: 400 plain text naming the field (``[0].ticket_id: ...``); 401 empty body with
``WWW-Authenticate: Bearer`` (OAuth JSON ``invalid_client`` on the token endpoint); 403 plain text;
404 plain text; 429 ``Rate Limit Reached - 300 Requests per rolling 5 minute window``; 500 plain text
(e.g. an unknown ``tenant`` on the token endpoint, as PYPI observed).

Choices where the sources are unsure:
- ``POST`` answers 200 with the saved object for a one-element array and an array for several; POST
  /Actions answers 201 (newer spec builds). An ``id`` that does not exist is a 404, not a create.
- ``/api/authinfo`` needs no token. The token endpoint is not rate limited; every ``/api`` call is,
  counted before authentication.
- Actions: ``GET``/``DELETE /Actions/{id}`` need ``ticket_id`` (400 without). A date window searches
  the ``datetime`` field unless ``datesearch`` names another action date field (``actiondatecreated``,
  ``last_updated``...). The one-day window limit one source reports is off unless
  ``action_window_days`` is set. ``enddate`` without a time covers that whole day.
- Scopes: ``all``, ``all:standard`` and ``admin`` open everything; otherwise ``read:<area>`` reads and
  ``edit:<area>`` reads and writes (tickets, customers, contracts, invoices, items, assets, quotes).
- Accepted and ignored: ``utcoffset``, ``includechildren``, ``view_id``/``columns_id``/``list_id``
  (ignored by Halo too, HaloAPI#29), and other display-only flags.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

from ..common import DroppedResponse, FaultInjector, RequestLog, SimClock, run_with_faults
from .auth import ALL_SCOPES, Token, TokenStore
from .limits import RollingWindow
from .query import (
    Params,
    action_filters,
    generic_filters,
    order,
    page,
    parse_window,
    select,
    ticket_filters,
    window,
)
from .resources import INVOICE_LINE, RESOURCES, SEED_ALIASES, Resource
from .store import Store
from .views import full, list_item, post_echo
from .wire import WireError, dumps, format_dt, loads, q_bool, q_int
from .writes import WriteError, delete, process_recurring, update_lines, upsert

VENDOR = "halopsa"
DEMO_CREDENTIALS = {
    "client_id": "revloop-demo-client",
    "client_secret": "revloop-demo-secret-0000000000000000",
    "tenant": "revloop-demo",
}
_SUB_ROUTES = {
    ("agent", "me"),
    ("recurringinvoice", "process"),
    ("invoice", "updatelines"),
    ("recurringinvoice", "updatelines"),
}
_JSON = "application/json; charset=utf-8"
PAGING_CACHE_SIZE = 8  # queries whose ordered matches are kept for their later pages


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=dumps(body).encode(), headers={"content-type": _JSON, **(headers or {})}
    )


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, text=text, headers={"content-type": "text/plain; charset=utf-8", **(headers or {})}
    )


class HaloSimulator:
    """An in-memory HaloPSA tenant speaking Halo's REST API (see the package docstring)."""

    vendor = VENDOR

    def __init__(
        self,
        *,
        prefix: str = "",
        clock: SimClock | None = None,
        faults: FaultInjector | None = None,
        log: RequestLog | None = None,
        rate_limit: int = 300,
        rate_window: float = 300.0,
        token_lifetime: int = 3600,
        page_cap: int = 100,
        default_count: int = 50,
        retry_after: bool = False,
        invalidate_previous_tokens: bool = False,
        action_window_days: int | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.clock = clock or SimClock()
        self.faults = faults or FaultInjector()
        self.log = log or RequestLog()
        self.credentials = dict(credentials or DEMO_CREDENTIALS)
        self.tenant = self.credentials["tenant"]
        self.page_cap = page_cap
        self.default_count = default_count
        self.retry_after = retry_after
        self.action_window_days = action_window_days
        self.store = Store()
        self.tokens = TokenStore(
            client_id=self.credentials["client_id"],
            client_secret=self.credentials["client_secret"],
            lifetime=token_lifetime,
            invalidate_previous=invalidate_previous_tokens,
        )
        self.limiter = RollingWindow(rate_limit, rate_window)
        self._paging: dict[tuple[Any, ...], tuple[int, list[dict[str, Any]]]] = {}

    # --- the shared simulator contract ----------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.prefix:
            if not path.lower().startswith(self.prefix.lower()):
                return _text(404, "Not Found")
            path = path[len(self.prefix) :] or "/"
        method = request.method.upper()
        segments = [s for s in path.lower().split("/") if s]
        label = f"{VENDOR} {method} {self._template(segments)}"
        status = {"code": 0}

        def call() -> httpx.Response:
            response = self._dispatch(method, segments, path, request)
            status["code"] = response.status_code
            return response

        try:
            response = run_with_faults(label, self.faults, call)
        except DroppedResponse:
            self.log.record(label, status["code"] or 200, self.clock.now())
            raise
        self.log.record(label, response.status_code, self.clock.now())
        return response

    def seed(self, data: dict[str, Any], *, replace: bool = False, **_: Any) -> None:
        """Load wire-shaped records per resource (keys: ``clients``/``client``/``Client``, ``actions``...).

        Missing fields get Halo's defaults; records without a last-updated stamp get the current clock
        time; nothing is deep-validated, so a million actions seed in seconds.
        """
        stamp = format_dt(self.clock.now(), fraction=True)
        with self.store.lock:
            for key, records in data.items():
                name = SEED_ALIASES.get(key.lower())
                if name is None:
                    raise KeyError(f"unknown HaloPSA resource {key!r}")
                table = self.store.tables[name]
                if replace:
                    table.rows.clear()
                    if name == "actions":
                        self.store.actions.by_ticket.clear()
                if name in ("invoice", "recurringinvoice"):
                    records = [self._seed_invoice(r) for r in records]
                table.seed(records, stamp)

    def snapshot(self) -> dict[str, Any]:
        return {"store": self.store.snapshot(), "tokens": self.tokens.snapshot()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.store.restore(snapshot["store"])
        self.tokens.restore(snapshot.get("tokens", {}))

    def expire_all_tokens(self) -> None:
        self.tokens.expire_all()

    # --- routing ---------------------------------------------------------------------------------

    @staticmethod
    def _template(segments: list[str]) -> str:
        if len(segments) >= 2 and segments[0] == "api":
            if len(segments) == 2:
                return f"/api/{segments[1]}"
            if len(segments) == 3:
                if (segments[1], segments[2]) in _SUB_ROUTES:
                    return f"/api/{segments[1]}/{segments[2]}"
                return f"/api/{segments[1]}/{{id}}"
        return "/" + "/".join(segments)

    def _dispatch(
        self, method: str, segments: list[str], path: str, request: httpx.Request
    ) -> httpx.Response:
        if segments == ["auth", "token"]:
            if method != "POST":
                return _text(405, "Method Not Allowed")
            return self._token(request)
        if not segments or segments[0] != "api" or len(segments) < 2:
            return _text(404, "Not Found")
        wait = self.limiter.hit(self.tenant, self.clock.monotonic())
        if wait is not None:
            headers = {"Retry-After": str(max(1, int(wait + 0.999)))} if self.retry_after else {}
            return _text(429, self.limiter.message, headers)
        if segments[1] == "authinfo" and len(segments) == 2:
            return self._authinfo(request)
        token = self._bearer(request)
        if token is None:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        res = RESOURCES.get(segments[1])
        if res is None or len(segments) > 3:
            return _text(404, f"No HTTP resource was found that matches the request URI '{path}'.")
        write = method in ("POST", "DELETE")
        if not token.allows(res.scope, write):
            return _text(403, "You do not have permission to access this resource.")
        params: Params = {k.lower(): v for k, v in request.url.params.multi_items()}
        try:
            return self._resource(method, res, segments[2:], params, request)
        except WriteError as exc:
            return _text(exc.status, exc.message)
        except WireError as exc:
            return _text(400, str(exc))

    def _resource(
        self, method: str, res: Resource, rest: list[str], params: Params, request: httpx.Request
    ) -> httpx.Response:
        now = self.clock.now()
        sub = rest[0] if rest else None
        if method == "GET":
            if sub is None:
                return self._list(res, params)
            if (res.name, sub) == ("agent", "me"):
                return _json(200, self._api_agent())
            return self._get_one(res, sub, params)
        if method == "POST":
            body = self._body(request)
            if sub == "process" and res.name == "recurringinvoice":
                return _json(200, process_recurring(self.store, body, now))
            if sub == "updatelines" and res.name in ("invoice", "recurringinvoice"):
                return _json(200, update_lines(self.store, res, body, now))
            if sub is not None or not res.writable:
                return _text(405, "The requested resource does not support http method 'POST'.")
            saved = upsert(self.store, res, body, now)
            status = 201 if res.name == "actions" else 200
            with self.store.lock:
                if len(saved) == 1:
                    return _json(status, post_echo(res, saved[0]))
                return _json(status, [post_echo(res, rec) for rec in saved])
        if method == "DELETE" and sub is not None and res.deletable:
            rec = delete(self.store, res, self._id(res, sub), q_int(params.get("ticket_id")), now)
            return _json(200, rec)
        return _text(405, f"The requested resource does not support http method '{method}'.")

    # --- reads -----------------------------------------------------------------------------------

    def _list(self, res: Resource, params: Params) -> httpx.Response:
        with self.store.lock:
            rows = self._matches(res, params)
            total = len(rows)
            shown, extra = page(res, rows, params, page_cap=self.page_cap, default_count=self.default_count)
            items = [list_item(res, rec, params, self.store) for rec in shown]
            if res.name == "workday":
                items = [full(res, rec, params, self.store) for rec in shown]
            if res.list_key is None:
                return _json(200, items)
            return _json(200, {**extra, "record_count": total, res.list_key: items})

    def _matches(self, res: Resource, params: Params) -> list[dict[str, Any]]:
        """The filtered, ordered records of a list read.

        Paging one query (``pageinate``) re-asks it once per page; the ordered matches of page 1 are
        kept and later pages of the same query slice them while no table has been written since, so
        walking a window costs one scan instead of one per page. Page 1 always scans afresh.
        """
        key: tuple[Any, ...] | None = None
        version = 0
        if res.paged and q_bool(params.get("pageinate")):
            key = (res.name, tuple(sorted((k, v) for k, v in params.items() if k != "page_no")))
            version = self.store.version()
            if (q_int(params.get("page_no"), 1) or 1) > 1:
                cached = self._paging.get(key)
                if cached is not None and cached[0] == version:
                    return cached[1]
        if res.name == "actions":
            rows = self._action_candidates(params)
            preds = action_filters(params)
        elif res.name == "tickets":
            rows = list(self.store.tables["tickets"].all())
            preds = ticket_filters(self.store, params)
        else:
            rows = list(self.store.tables[res.name].all())
            preds = generic_filters(self.store, res, params)
        rows = order(res, select(rows, preds), params)
        if key is not None:
            self._paging.pop(key, None)
            self._paging[key] = (version, rows)
            while len(self._paging) > PAGING_CACHE_SIZE:
                del self._paging[next(iter(self._paging))]
        return rows

    def _action_candidates(self, params: Params) -> list[dict[str, Any]]:
        """Actions need ``ticket_id`` or a ``startdate``+``enddate`` window; otherwise nothing comes back."""
        actions = self.store.actions
        ticket_id = q_int(params.get("ticket_id"))
        if ticket_id is not None:
            rows = actions.for_ticket(ticket_id)
            start, end = parse_window(params)
            if start is None and end is None:
                return rows
            return select(rows, [self._action_window(params, start, end)])
        start, end = parse_window(params)
        if start is None or end is None:
            return []
        if self.action_window_days is not None and end - start > timedelta(days=self.action_window_days):
            raise WireError(f"The date range can be at most {self.action_window_days} day(s)")
        return select(list(actions.all()), [self._action_window(params, start, end)])

    @staticmethod
    def _action_window(params: Params, start: datetime | None, end: datetime | None) -> Any:
        field = (params.get("datesearch") or "").strip().lower() or "datetime"
        if field not in RESOURCES["actions"].date_fields:
            raise WireError(f"Invalid datesearch column: {field}")
        return window(field, start, end)

    def _id(self, res: Resource, raw: str) -> Any:
        if res.id_is_uuid:
            return raw
        try:
            return int(raw)
        except ValueError as exc:
            raise WireError(f"The value '{raw}' is not valid.") from exc

    def _get_one(self, res: Resource, raw_id: str, params: Params) -> httpx.Response:
        rid = self._id(res, raw_id)
        with self.store.lock:
            if res.name == "actions":
                ticket_id = q_int(params.get("ticket_id"))
                if ticket_id is None:
                    return _text(400, "ticket_id: A ticket_id is required to get an action")
                rec = self.store.actions.get((ticket_id, rid))
            else:
                rec = self.store.tables[res.name].get(rid)
            if rec is None:
                return _text(404, f"{res.title} {raw_id} not found")
            return _json(200, full(res, rec, params, self.store))

    def _api_agent(self) -> dict[str, Any]:
        with self.store.lock:
            for agent in self.store.tables["agent"].all():
                if agent.get("isapiagent"):
                    return dict(agent)
        me = dict(RESOURCES["agent"].defaults)
        me.update({"id": 2, "name": "API Agent", "isapiagent": True, "email": "api@revloop.invalid"})
        return me

    # --- auth ------------------------------------------------------------------------------------

    def _bearer(self, request: httpx.Request) -> Token | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return self.tokens.check(value.strip(), self.clock.now())

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[-1] for k, v in parse_qs(request.content.decode("utf-8", "replace")).items()}
        tenant = request.url.params.get("tenant") or form.get("tenant")
        if tenant and tenant.lower() != self.tenant.lower():
            return _text(500, "An error has occurred.")
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            error = (
                "invalid_grant"
                if grant in ("refresh_token", "authorization_code", "password")
                else ("unsupported_grant_type")
            )
            return _json(400, {"error": error, "error_description": f"grant_type '{grant}' is not allowed"})
        tokens = self.tokens
        if form.get("client_id") != tokens.client_id or form.get("client_secret") != tokens.client_secret:
            return _json(401, {"error": "invalid_client", "error_description": "Invalid client credentials"})
        scope = " ".join(form.get("scope", "all").split()) or "all"
        unknown = [s for s in scope.split() if s not in ALL_SCOPES]
        if unknown:
            return _json(400, {"error": "invalid_scope", "error_description": f"Unknown scope {unknown[0]}"})
        token = self.tokens.issue(scope, self.clock.now())
        return _json(
            200,
            {
                "scope": scope,
                "token_type": "Bearer",
                "access_token": token.value,
                "expires_in": self.tokens.lifetime,
            },
        )

    def _authinfo(self, request: httpx.Request) -> httpx.Response:
        base = f"{request.url.scheme}://{request.url.netloc.decode()}{self.prefix}"
        return _json(
            200, {"auth_url": f"{base}/auth", "tenant_id": self.tenant, "auth_method": "client_credentials"}
        )

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _body(request: httpx.Request) -> list[Any]:
        body = loads(request.content or b"null")
        if not isinstance(body, list):
            raise WireError("The request body must be a JSON array of records.")
        return body

    def _seed_invoice(self, raw: dict[str, Any]) -> dict[str, Any]:
        lines = raw.get("lines")
        if not lines:
            return raw
        rec = dict(raw)
        rec["lines"] = [{**INVOICE_LINE, "ihid": raw.get("id", 0), **line} for line in lines]
        self.store.note_line_ids(rec["lines"])
        for line in rec["lines"]:
            if not line["id"]:
                line["id"] = self.store.allocate_line_id()
        return rec

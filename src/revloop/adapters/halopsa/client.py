"""The HaloPSA REST client: authenticated calls, paging that survives Halo's 100-row cap, retries,
rate-limit waits, typed reads and the few writes revloop makes.

Every request goes through ``transport`` (tests pass a simulator's in-process transport). Reads are
retried on 500/502/503/504 and on broken connections; writes only when they are idempotent (an
update by id). A 429 is always waited out and retried: Halo refused the call before doing anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import httpx

from revloop.domain.issues import ConnectorError

from . import errors, mapping, wire
from .auth import HaloAuth
from .pacing import RetryPolicy, RollingWindow, Wait, WaitCallback

R = TypeVar("R")
W = TypeVar("W", bound=wire.Wire)

PAGE_SIZE = 100
WRITE_CHUNK = 50

#: resources Halo answers with a bare JSON array and does not page (NOTES §2.1, §3.1)
UNPAGED = frozenset(
    {
        "agent",
        "chargerate",
        "lookup",
        "holiday",
        "workday",
        "status",
        "priority",
        "sla",
        "team",
        "tickettype",
        "timesheet",
        "timesheetevent",
        "tax",
        "webhook",
    }
)
#: the envelope key of each enveloped list (NOTES §2.1)
LIST_KEYS = {
    "client": "clients",
    "site": "sites",
    "users": "users",
    "tickets": "tickets",
    "actions": "actions",
    "clientcontract": "contracts",
    "invoice": "invoices",
    "recurringinvoice": "invoices",
    "quotation": "quotes",
    "item": "items",
    "asset": "assets",
    "appointment": "appointments",
    "supplier": "suppliers",
    "salesorder": "salesorders",
    "purchaseorder": "purchaseorders",
    "expense": "expenses",
    "report": "reports",
    "timesheet": "timesheets",
    "clientprepay": "prepay",
}


def records_of(resource: str, body: Any) -> tuple[list[Any], int | None]:
    """The records of a list answer and its ``record_count`` (None when Halo sent a bare array)."""
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict):
        raise ConnectorError(f"HaloPSA /{resource} answered with {type(body).__name__}, not a list")
    key = LIST_KEYS.get(resource.lower())
    items = body.get(key) if key else None
    if items is None:
        lists = [v for k, v in body.items() if isinstance(v, list) and k not in ("columns",)]
        items = lists[0] if len(lists) == 1 else None
    if not isinstance(items, list):
        raise ConnectorError(f"HaloPSA /{resource} answered without a list of records")
    count = body.get("record_count")
    try:
        total = wire.read_int(count) if count is not None else None
    except ValueError:
        total = None
    return items, total


class HaloClient:
    """One HaloPSA tenant. Thread-safe for reads; close it (or use ``with``) when done."""

    def __init__(
        self,
        base_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        *,
        tenant: str = "",
        scope: str = "all",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_wait: WaitCallback | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: int = 300,
        rate_window: float = 300.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = HaloAuth(
            auth_url.rstrip("/") + "/token", client_id, client_secret, tenant=tenant, scope=scope, clock=clock
        )
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        self._sleep = sleep
        self._on_wait = on_wait
        self.retry = retry or RetryPolicy()
        self.throttle = RollingWindow(rate_limit, rate_window, clock)
        self.page_size = page_size
        self.requests_sent = 0

    @classmethod
    def from_settings(cls, settings: Any, **options: Any) -> HaloClient:
        """Build from ``revloop.config.Settings`` (the secret comes from the settings' SecretStr)."""
        secret = settings.halopsa_client_secret
        if not (settings.halopsa_base_url and settings.halopsa_client_id and secret):
            raise ConnectorError(
                "HaloPSA is not configured",
                hint="set halopsa base_url, auth_url and client_id, and REVLOOP_HALOPSA_CLIENT_SECRET",
            )
        base = settings.halopsa_base_url.rstrip("/")
        auth_url = settings.halopsa_auth_url or (base.removesuffix("/api") + "/auth")
        return cls(
            base,
            auth_url,
            settings.halopsa_client_id,
            secret.get_secret_value(),
            tenant=settings.halopsa_tenant,
            **{"rate_limit": getattr(settings, "halopsa_rate_limit", 300), **options},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HaloClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the request loop ------------------------------------------------------------------------------

    def _wait(self, reason: str, seconds: float, attempt: int, what: str) -> None:
        if self._on_wait is not None:
            self._on_wait(Wait(reason, seconds, attempt, what))
        self._sleep(seconds)

    def _pace(self, what: str) -> None:
        while (pause := self.throttle.take()) > 0:
            self._wait("throttle", pause, 0, what)

    def request(
        self,
        method: str,
        resource: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One call with retries; the parsed JSON answer (``Decimal`` for every fraction)."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD")
        url = f"{self.base_url}/{resource.lstrip('/')}"
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        content = wire.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        what = f"{method.upper()} /{resource.lstrip('/')}"
        server_attempt = limited_attempt = 0
        while True:
            self._pace(what)
            self.requests_sent += 1
            try:
                response = self._http.request(method, url, params=query, content=content, headers=headers)
            except httpx.TransportError as exc:
                server_attempt += 1
                if not idempotent or server_attempt >= self.retry.attempts:
                    raise errors.unreachable(exc, what) from None
                self._wait("connection", self.retry.server_wait(server_attempt), server_attempt + 1, what)
                continue
            status = response.status_code
            if status == 429:
                limited_attempt += 1
                if limited_attempt >= self.retry.rate_limited_attempts:
                    raise errors.error_for(response)
                pause = self.retry.rate_limited_wait(limited_attempt, response)
                self._wait("rate_limited", pause, limited_attempt + 1, what)
                continue
            if status in errors.RETRYABLE_STATUS and idempotent:
                server_attempt += 1
                if server_attempt >= self.retry.attempts:
                    raise errors.error_for(response)
                self._wait("server_error", self.retry.server_wait(server_attempt), server_attempt + 1, what)
                continue
            if status >= 400:
                raise errors.error_for(response)
            if not response.content:
                return None
            try:
                return wire.loads(response.content)
            except ValueError:
                raise ConnectorError(f"HaloPSA {what} answered with something that is not JSON") from None

    def get(self, resource: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", resource, params=params)

    # --- reads ------------------------------------------------------------------------------------------

    def iter_pages(self, resource: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a list, page by page.

        Halo caps a page at 100 records whatever ``page_size`` asks for, while ``record_count`` stays
        the full total (HaloAPI#90). So the loop learns the real page length from the first page and
        stops at a shorter (or empty) page, or once ``record_count`` records have arrived.
        Bare-array resources are not paged: one call returns everything.
        """
        base = dict(params or {})
        if resource.lower() in UNPAGED:
            items, _ = records_of(resource, self.get(resource, base))
            yield from items
            return
        base.setdefault("order", "id")
        base.update(pageinate="true", page_size=self.page_size)
        page_no, seen, full = 1, 0, 0
        previous_first: Any = None
        while True:
            answer = self.get(resource, {**base, "page_no": page_no})
            items, total = records_of(resource, answer)
            first = _identity(items[0]) if items and isinstance(items[0], dict) else None
            if page_no > 1 and first is not None and first == previous_first:
                raise ConnectorError(
                    f"HaloPSA /{resource} answered page {page_no} with the records of page {page_no - 1}",
                    hint="this HaloPSA build does not page this resource; read it with a filter instead",
                )
            previous_first = first
            yield from items
            seen += len(items)
            if not items or (total is not None and seen >= total):
                return
            if isinstance(answer, list) and len(items) < self.page_size:
                return  # a bare array shorter than a page: Halo did not page it
            if len(items) < full:
                return
            full = max(full, len(items))
            page_no += 1

    def list_all(self, resource: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.iter_pages(resource, params))

    def get_one(self, resource: str, record_id: int | str, params: Mapping[str, Any] | None = None) -> Any:
        return self.get(f"{resource}/{record_id}", params)

    def read(self, kind: mapping.Kind[W, R], params: Mapping[str, Any] | None = None) -> mapping.Mapped[R]:
        """All records of one kind, mapped; unreadable records become issues."""
        return kind.many(self.iter_pages(kind.resource, params))

    def clients(self, *, include_inactive: bool = True) -> mapping.Mapped[mapping.ClientRecord]:
        params = {"includeinactive": include_inactive}
        return self.read(mapping.CLIENTS, params)

    def sites(self, *, client_id: int | None = None) -> mapping.Mapped[mapping.SiteRecord]:
        return self.read(mapping.SITES, {"client_id": client_id, "includeinactive": True})

    def agents(self) -> mapping.Mapped[mapping.AgentRecord]:
        """Every agent, including disabled ones, "Unassigned" (id 1) and API agents, so that every
        time entry's agent resolves; ``is_api_agent`` and ``active`` tell them apart."""
        params = {"includedisabled": True, "includeenabled": True, "includeunassigned": True}
        return self.read(mapping.AGENTS, {**params, "includeapiagents": True})

    def tickets(
        self, *, updated_since: datetime | None = None, open_only: bool = False, **params: Any
    ) -> mapping.Mapped[mapping.TicketRecord]:
        query: dict[str, Any] = dict(params)
        if updated_since is not None:
            query["lastupdatefromdate"] = updated_since
        if open_only:
            query["open_only"] = True
        return self.read(mapping.TICKETS, query)

    def time_entries(
        self,
        ticket_id: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        client_id: int | None = None,
        **params: Any,
    ) -> mapping.Mapped[mapping.TimeEntryRecord]:
        """The actions of one ticket (the reliable way, NOTES §3.3), or of a date window.

        ``client_id`` fills in the client on entries that do not carry one (actions usually don't).
        """
        if ticket_id is None and (start is None or end is None):
            raise ValueError("time entries are read per ticket, or for a start/end window")
        query: dict[str, Any] = {"ticket_id": ticket_id, "startdate": start, "enddate": end, **params}
        out = self.read(mapping.TIME_ENTRIES, query)
        if client_id is not None:
            out.records = [r if r.client_id else replace(r, client_id=client_id) for r in out.records]
        return out

    def contracts(self, **params: Any) -> mapping.Mapped[mapping.ContractRecord]:
        return self.read(mapping.CONTRACTS, {"includeinactive": True, **params})

    def charge_rates(self, **params: Any) -> mapping.Mapped[mapping.ChargeRateRecord]:
        return self.read(mapping.CHARGE_RATES, params)

    def invoices(self, **params: Any) -> mapping.Mapped[mapping.InvoiceRecord]:
        return self.read(mapping.INVOICES, {"includelines": True, **params})

    def recurring_invoices(self, **params: Any) -> mapping.Mapped[mapping.RecurringInvoiceRecord]:
        return self.read(mapping.RECURRING_INVOICES, {"includelines": True, **params})

    def items(self, **params: Any) -> mapping.Mapped[mapping.ItemRecord]:
        return self.read(mapping.ITEMS, {"includeinactive": True, **params})

    def assets(self, **params: Any) -> mapping.Mapped[mapping.AssetRecord]:
        return self.read(mapping.ASSETS, {"includeinactive": True, **params})

    def quotations(self, **params: Any) -> mapping.Mapped[mapping.QuotationRecord]:
        return self.read(mapping.QUOTATIONS, params)

    # --- writes -----------------------------------------------------------------------------------------

    def post(self, resource: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /<resource>`` with a JSON array: an element with ``id`` updates, one without creates.

        Sent in chunks of 50; retried on server errors only when every element has an id (an update
        can be repeated, a create cannot). Returns the saved records in order.
        """
        saved: list[dict[str, Any]] = []
        for start in range(0, len(records), WRITE_CHUNK):
            chunk = [dict(r) for r in records[start : start + WRITE_CHUNK]]
            idempotent = all(_has_id(r) for r in chunk)
            answer = self.request("POST", resource, body=chunk, idempotent=idempotent)
            saved.extend(_saved(answer))
        return saved

    def set_action_invoice_number(self, ticket_id: int, action_id: int, number: str) -> dict[str, Any]:
        """Write the invoice number back onto one action (an update by id, safe to repeat)."""
        body = {"id": action_id, "ticket_id": ticket_id, "actioninvoicenumber": number}
        saved = self.post("Actions", [body])
        return saved[0] if saved else {}

    def upsert_clients(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self.post("Client", records)

    def upsert_items(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self.post("Item", records)


def _identity(record: Mapping[str, Any]) -> Any:
    """What identifies a listed record: its id, with its ticket for actions (numbered per ticket)."""
    rid = record.get("id")
    if rid is None:
        return None
    return (record.get("ticket_id"), rid) if "ticket_id" in record else rid


def _has_id(record: Mapping[str, Any]) -> bool:
    try:
        return wire.read_ref(record.get("id")) is not None
    except ValueError:
        return False


def _saved(answer: Any) -> Iterable[dict[str, Any]]:
    if isinstance(answer, list):
        return [a for a in answer if isinstance(a, dict)]
    if isinstance(answer, dict):
        return [answer]
    return []


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return wire.format_dt(value)
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return str(value)

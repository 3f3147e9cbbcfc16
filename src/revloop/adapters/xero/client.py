"""The Xero Accounting API client: one organisation per call, limits kept on our side, retries that
cannot duplicate a document, paging, incremental reads and batch writes with per-item results.

- Every call names its organisation (``xero-tenant-id``); a Custom Connection may pass ``None``.
- Calls wait for a slot of the organisation's ``OrgLimiter`` (5 in flight, 60 a minute, the day
  budget) and honour ``Retry-After`` on a 429.
- GETs are retried on 500/502/503/504 and broken connections; writes only when they carry an
  ``Idempotency-Key`` (Xero answers a replay from its cache, so nothing is created twice).
- Batch writes send ``summarizeErrors=false`` and at most 50 elements per call, and return one
  ``ItemResult`` per element. ``unitdp=4`` goes on every invoice read and write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx
from pydantic import ValidationError

from revloop.domain.issues import ConnectorError, Issue, Severity

from . import errors, wire
from .limits import Limits, Wait, WaitCallback

T = TypeVar("T", bound=wire.Wire)
BATCH_SIZE = 50
ID_CHUNK = 50
PAGE_SIZE = 100
MAX_KEY = 128


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all for server errors and broken connections
    backoff: float = 1.0
    max_backoff: float = 30.0
    rate_limited_attempts: int = 6  # tries in all while Xero answers 429
    rate_limited_backoff: float = 2.0  # when a 429 carries no Retry-After (e.g. concurrent)

    def server_wait(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class ItemResult(Generic[T]):
    """One element of a batch write: ``ok`` with the saved object, or the validation messages."""

    index: int  # position in the caller's list
    ok: bool
    record: T | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def issue(self, subject: str) -> Issue | None:
        if self.ok:
            return None
        return Issue(
            code="xero.validation",
            severity=Severity.ERROR,
            subject=subject,
            message="Xero rejected it: " + "; ".join(self.errors or ("no reason given",)),
            action="correct the record and post it again",
        )


@dataclass
class Read(Generic[T]):
    """Records read from Xero, and an issue for each element that could not be read."""

    records: list[T] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def parse_many(model: type[T], raws: Sequence[Any], what: str) -> Read[T]:
    out: Read[T] = Read()
    for raw in raws:
        try:
            out.records.append(model.model_validate(raw))
        except ValidationError as exc:
            ident = raw.get(f"{what}ID") if isinstance(raw, dict) else None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            out.issues.append(
                Issue(
                    code="xero.malformed",
                    severity=Severity.ERROR,
                    subject=f"xero {what.lower()} {ident or '?'}",
                    message=f"Xero sent a record revloop cannot read: {problems}",
                )
            )
    return out


def batch_keys(key: str, count: int) -> list[str]:
    """Idempotency keys for ``count`` batches of one logical write (``key``, ``key:2``, ...)."""
    keys = []
    for n in range(count):
        suffix = "" if n == 0 else f":{n + 1}"
        keys.append(key[: MAX_KEY - len(suffix)] + suffix)
    return keys


class XeroClient:
    """Xero's Accounting API and ``/connections``. Thread-safe."""

    def __init__(
        self,
        api_url: str,
        *,
        auth: httpx.Auth,
        connections_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        limits: Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.connections_url = connections_url
        self._auth = auth
        self._http = httpx.Client(
            transport=transport, timeout=timeout, auth=auth, headers={"Accept": "application/json"}
        )
        self.limits = limits or Limits(sleep=sleep, on_wait=on_wait)
        self._sleep = sleep
        self._on_wait = on_wait
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0  # every HTTP request made, retries included

    def _backoff(self, reason: str, attempt: int, tenant: str) -> None:
        seconds = self.retry.server_wait(attempt)
        if self._on_wait is not None:
            self._on_wait(Wait(reason, seconds, tenant))
        self._sleep(seconds)

    def close(self) -> None:
        """Close the connections, the token service's included (it has a pool of its own)."""
        self._http.close()
        identity = getattr(getattr(self._auth, "source", None), "identity", None)
        if identity is not None and hasattr(identity, "close"):
            identity.close()

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the request loop ------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        tenant_id: str | None,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        modified_since: datetime | None = None,
    ) -> httpx.Response:
        """One call, with the limiter, retries and error mapping; returns a 2xx or a 400 response.

        A 400 is returned (not raised) so batch callers can read its validation messages.
        """
        url = path if path.startswith("http") else f"{self.api_url}/{path.lstrip('/')}"
        headers: dict[str, str] = {}
        if tenant_id:
            headers["xero-tenant-id"] = tenant_id
        if idempotency_key:
            if len(idempotency_key) > MAX_KEY:
                raise ValueError(f"an Idempotency-Key has at most {MAX_KEY} characters")
            headers["Idempotency-Key"] = idempotency_key
        if modified_since is not None:
            headers["If-Modified-Since"] = wire.http_date(modified_since)
        content = None
        if body is not None:
            content = wire.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        safe = method.upper() == "GET" or idempotency_key is not None
        limiter = self.limits.for_tenant(tenant_id or "app")
        what = f"{method.upper()} {url.removeprefix(self.api_url)}"
        server_attempt = limited_attempt = 0
        while True:
            limiter.acquire()
            self.requests_sent += 1
            try:
                response = self._http.request(method, url, params=query, content=content, headers=headers)
            except httpx.TransportError as exc:
                limiter.release()
                server_attempt += 1
                if not safe or server_attempt >= self.retry.attempts:
                    raise errors.unreachable(exc, what) from None
                self._backoff("connection", server_attempt, limiter.tenant)
                continue
            except BaseException:
                limiter.release()
                raise
            limiter.release(response.headers)
            status = response.status_code
            if status == 429:
                limited_attempt += 1
                if limited_attempt >= self.retry.rate_limited_attempts:
                    raise errors.error_for(response)
                told = _retry_after(response)
                problem = response.headers.get("x-rate-limit-problem", "").lower() or None
                limiter.pause(
                    told if told is not None else self.retry.rate_limited_backoff * limited_attempt, problem
                )
                continue
            if status in errors.RETRYABLE_STATUS and safe:
                server_attempt += 1
                if server_attempt >= self.retry.attempts:
                    raise errors.error_for(response)
                self._backoff("server_error", server_attempt, limiter.tenant)
                continue
            if status > 400:
                raise errors.error_for(response)
            return response

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 400:
            raise ConnectorError(
                f"Xero rejected {response.request.method} {response.request.url.path}: "
                + "; ".join(errors.validation_messages(response))
            )
        if not response.content:
            return None
        try:
            return wire.loads(response.content)
        except ValueError:
            raise ConnectorError("Xero answered with something that is not JSON") from None

    def get(
        self,
        tenant_id: str | None,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        modified_since: datetime | None = None,
    ) -> Any:
        return self._json(self.send("GET", tenant_id, path, params=params, modified_since=modified_since))

    # --- identity ----------------------------------------------------------------------------------------

    def connections(self) -> list[wire.Connection]:
        """The organisations this login may reach (``GET /connections``)."""
        if not self.connections_url:
            raise ConnectorError("no Xero connections URL is configured")
        body = self.get(None, self.connections_url)
        if not isinstance(body, list):
            raise ConnectorError("Xero /connections did not answer with a list")
        return [wire.Connection.model_validate(c) for c in body]

    # --- reads ---------------------------------------------------------------------------------------------

    def iter_pages(
        self,
        tenant_id: str | None,
        resource: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        modified_since: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every element of a paged list: ``page=1, 2, …`` until a short page (or ``pageCount``)."""
        key = key or resource
        page = 1
        while True:
            query = {**(params or {}), "page": page, "pageSize": page_size}
            body = self.get(tenant_id, resource, query, modified_since=modified_since)
            items = _elements(body, key)
            yield from items
            count = None
            if isinstance(body, dict) and isinstance(body.get("pagination"), dict):
                count = body["pagination"].get("pageCount")
            if len(items) < page_size or (isinstance(count, int) and page >= count):
                return
            page += 1

    def _unpaged(self, tenant_id: str | None, resource: str, key: str, **kw: Any) -> list[dict[str, Any]]:
        return _elements(self.get(tenant_id, resource, **kw), key)

    def invoices(
        self,
        tenant_id: str | None,
        *,
        ids: Sequence[str] = (),
        numbers: Sequence[str] = (),
        statuses: Sequence[str] = (),
        contact_ids: Sequence[str] = (),
        where: str | None = None,
        modified_since: datetime | None = None,
    ) -> Read[wire.Invoice]:
        """Invoices (with lines, ``unitdp=4``); ``ids``/``numbers`` are sent 50 at a time."""
        base: dict[str, Any] = {"unitdp": 4, "where": where}
        if statuses:
            base["Statuses"] = ",".join(statuses)
        if contact_ids:
            base["ContactIDs"] = ",".join(contact_ids)
        raws: list[dict[str, Any]] = []
        for extra in _chunked_filters({"IDs": ids, "InvoiceNumbers": numbers}):
            raws.extend(
                self.iter_pages(tenant_id, "Invoices", {**base, **extra}, modified_since=modified_since)
            )
        return parse_many(wire.Invoice, raws, "Invoice")

    def contacts(
        self,
        tenant_id: str | None,
        *,
        ids: Sequence[str] = (),
        where: str | None = None,
        include_archived: bool = True,
        modified_since: datetime | None = None,
    ) -> Read[wire.Contact]:
        base: dict[str, Any] = {"where": where, "includeArchived": include_archived}
        raws: list[dict[str, Any]] = []
        for extra in _chunked_filters({"IDs": ids}):
            raws.extend(
                self.iter_pages(tenant_id, "Contacts", {**base, **extra}, modified_since=modified_since)
            )
        return parse_many(wire.Contact, raws, "Contact")

    def credit_notes(
        self, tenant_id: str | None, *, where: str | None = None, modified_since: datetime | None = None
    ) -> Read[wire.CreditNote]:
        params = {"unitdp": 4, "where": where}
        raws = list(self.iter_pages(tenant_id, "CreditNotes", params, modified_since=modified_since))
        return parse_many(wire.CreditNote, raws, "CreditNote")

    def payments(
        self, tenant_id: str | None, *, modified_since: datetime | None = None
    ) -> Read[wire.Payment]:
        raws = list(self.iter_pages(tenant_id, "Payments", modified_since=modified_since))
        return parse_many(wire.Payment, raws, "Payment")

    def items(self, tenant_id: str | None, *, modified_since: datetime | None = None) -> Read[wire.Item]:
        raws = self._unpaged(tenant_id, "Items", "Items", params={"unitdp": 4}, modified_since=modified_since)
        return parse_many(wire.Item, raws, "Item")

    def tax_rates(self, tenant_id: str | None) -> Read[wire.TaxRate]:
        return parse_many(wire.TaxRate, self._unpaged(tenant_id, "TaxRates", "TaxRates"), "TaxRate")

    def accounts(self, tenant_id: str | None) -> Read[wire.Account]:
        return parse_many(wire.Account, self._unpaged(tenant_id, "Accounts", "Accounts"), "Account")

    def organisation(self, tenant_id: str | None) -> wire.Organisation:
        found = self._unpaged(tenant_id, "Organisation", "Organisations")
        if not found:
            raise ConnectorError("Xero /Organisation answered without an organisation")
        return wire.Organisation.model_validate(found[0])

    def profit_and_loss(
        self,
        tenant_id: str | None,
        from_date: date,
        to_date: date,
        periods: int = 0,
        timeframe: str = "MONTH",
    ) -> wire.Report:
        """``GET /Reports/ProfitAndLoss``: the range asked for, then ``periods`` (0-11) earlier ranges of
        ``timeframe`` (MONTH, QUARTER, YEAR) as further columns, newest first."""
        params = {"fromDate": from_date.isoformat(), "toDate": to_date.isoformat()}
        if periods:
            params |= {"periods": str(periods), "timeframe": timeframe}
        found = _elements(self.get(tenant_id, "Reports/ProfitAndLoss", params), "Reports")
        if not found:
            raise ConnectorError("Xero /Reports/ProfitAndLoss answered without a report")
        try:
            return wire.Report.model_validate(found[0])
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ConnectorError(f"Xero sent a Profit and Loss revloop cannot read: {problem}") from None

    # --- batch writes ------------------------------------------------------------------------------------

    def write_batch(
        self,
        method: str,
        tenant_id: str | None,
        resource: str,
        model: type[T],
        records: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[ItemResult[T]]:
        """PUT (create) or POST (create or update) ``records`` in batches of at most 50.

        Each batch carries its own ``Idempotency-Key`` derived from ``idempotency_key`` (the first batch
        uses it as given), so repeating the whole call repeats the same keys and Xero replays its
        answers instead of creating documents twice.
        """
        if not idempotency_key:
            raise ValueError("batch writes need an Idempotency-Key")
        results: list[ItemResult[T]] = []
        chunks = [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
        for offset, (chunk, key) in enumerate(
            zip(chunks, batch_keys(idempotency_key, len(chunks)), strict=True)
        ):
            query = {"summarizeErrors": "false", **(params or {})}
            response = self.send(
                method, tenant_id, resource, params=query, body={resource: list(chunk)}, idempotency_key=key
            )
            results.extend(_results(model, resource, response, chunk, offset * BATCH_SIZE))
        return results

    def create_invoices(
        self, tenant_id: str | None, invoices: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.Invoice]]:
        return self.write_batch(
            "PUT", tenant_id, "Invoices", wire.Invoice, invoices,
            idempotency_key=idempotency_key, params={"unitdp": 4},
        )  # fmt: skip

    def save_invoices(
        self, tenant_id: str | None, invoices: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.Invoice]]:
        """Create or update (POST); send every ``LineItemID`` when updating lines."""
        return self.write_batch(
            "POST", tenant_id, "Invoices", wire.Invoice, invoices,
            idempotency_key=idempotency_key, params={"unitdp": 4},
        )  # fmt: skip

    def create_credit_notes(
        self, tenant_id: str | None, notes: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.CreditNote]]:
        return self.write_batch(
            "PUT", tenant_id, "CreditNotes", wire.CreditNote, notes,
            idempotency_key=idempotency_key, params={"unitdp": 4},
        )  # fmt: skip

    def allocate_credit_note(
        self,
        tenant_id: str | None,
        credit_note_id: str,
        invoice_id: str,
        amount: Decimal,
        day: date,
        *,
        idempotency_key: str,
    ) -> ItemResult[wire.Allocation]:
        """Allocate part or all of a credit note to an invoice (PUT /CreditNotes/{id}/Allocations)."""
        allocation = {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": day}
        response = self.send(
            "PUT",
            tenant_id,
            f"CreditNotes/{credit_note_id}/Allocations",
            params={"summarizeErrors": "false"},
            body={"Allocations": [allocation]},
            idempotency_key=idempotency_key,
        )
        return _results(wire.Allocation, "Allocations", response, [allocation], 0)[0]

    def create_contacts(
        self, tenant_id: str | None, contacts: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.Contact]]:
        return self.write_batch(
            "PUT", tenant_id, "Contacts", wire.Contact, contacts, idempotency_key=idempotency_key
        )

    def save_contacts(
        self, tenant_id: str | None, contacts: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.Contact]]:
        return self.write_batch(
            "POST", tenant_id, "Contacts", wire.Contact, contacts, idempotency_key=idempotency_key
        )

    def save_items(
        self, tenant_id: str | None, items: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ItemResult[wire.Item]]:
        return self.write_batch(
            "POST",
            tenant_id,
            "Items",
            wire.Item,
            items,
            idempotency_key=idempotency_key,
            params={"unitdp": 4},
        )


# --- helpers -------------------------------------------------------------------------------------------


def _elements(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        found = body.get(key)
        if isinstance(found, list):
            return [f for f in found if isinstance(f, dict)]
        if found is None:
            return []
    raise ConnectorError(f"Xero answered without a {key} list")


def _chunked_filters(filters: Mapping[str, Sequence[str]]) -> Iterator[dict[str, str]]:
    """One query per 50 values of each list filter (``IDs=`` is capped near 52 by URL length)."""
    given = {name: list(values) for name, values in filters.items() if values}
    if not given:
        yield {}
        return
    for name, values in given.items():
        for start in range(0, len(values), ID_CHUNK):
            yield {name: ",".join(values[start : start + ID_CHUNK])}


def _results(
    model: type[T], key: str, response: httpx.Response, chunk: Sequence[Mapping[str, Any]], offset: int
) -> list[ItemResult[T]]:
    if response.status_code == 400:
        messages = tuple(errors.validation_messages(response))
        return [ItemResult(offset + i, False, None, messages) for i in range(len(chunk))]
    body = wire.loads(response.content) if response.content else None
    elements = _elements(body, key)
    if len(elements) != len(chunk):
        raise ConnectorError(f"Xero answered {len(elements)} {key} for {len(chunk)} sent")
    out: list[ItemResult[T]] = []
    for i, element in enumerate(elements):
        problems = tuple(wire.messages(element))
        warnings = tuple(wire.messages(element, "Warnings"))
        failed = bool(problems) or str(element.get("StatusAttributeString", "")).upper() == "ERROR"
        record = None
        if not failed:
            try:
                record = model.model_validate(element)
            except ValidationError as exc:
                failed, problems = (
                    True,
                    (f"the saved record could not be read: {exc.error_count()} problems",),
                )
        out.append(ItemResult(offset + i, not failed, record, problems, warnings, element))
    return out


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

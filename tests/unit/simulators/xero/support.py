"""Helpers for the Xero simulator tests: the OAuth dance, an API client, and spec validation."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from revloop.simulators.common import mock_transport
from revloop.simulators.xero import XeroSimulator

START = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
SPEC_DIR = Path("/work/shared/specs/xero")
API = "/api.xro/2.0"
SALES = "210"


def dumps(obj: Any) -> str:
    from revloop.simulators.xero.wire import dumps as wire_dumps

    return wire_dumps(obj)


def body(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def authorize(
    http: httpx.Client,
    sim: XeroSimulator,
    *,
    scope: str | None = None,
    pkce: str | None = None,
    state: str = "xyz",
) -> tuple[str, str | None]:
    """Run the consent redirect; returns (code, verifier)."""
    creds = sim.credentials
    params = {
        "response_type": "code",
        "client_id": creds["client_id"],
        "redirect_uri": creds["redirect_uri"],
        "scope": scope or creds["scopes"],
        "state": state,
    }
    verifier = None
    if pkce:
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if pkce == "S256"
            else verifier
        )
        params.update(code_challenge=challenge, code_challenge_method=pkce)
    response = http.get("/identity/connect/authorize", params=params)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["state"] == state
    return query["code"], verifier


def exchange(
    http: httpx.Client, sim: XeroSimulator, code: str, *, verifier: str | None = None, basic: bool = False
) -> httpx.Response:
    creds = sim.credentials
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": creds["redirect_uri"]}
    if verifier:
        form["code_verifier"] = verifier
    headers = {}
    if basic:
        raw = f"{creds['client_id']}:{creds['client_secret']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    else:
        form.update(client_id=creds["client_id"], client_secret=creds["client_secret"])
    return http.post("/identity/connect/token", data=form, headers=headers)


def refresh(http: httpx.Client, sim: XeroSimulator, token: str) -> httpx.Response:
    creds = sim.credentials
    return http.post(
        "/identity/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )


def login(http: httpx.Client, sim: XeroSimulator, scope: str | None = None) -> dict[str, Any]:
    code, _ = authorize(http, sim, scope=scope)
    response = exchange(http, sim, code)
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- spec validation -----------------------------------------------------------------------------


def _fix_booleans(node: Any) -> int:
    """The spec writes boolean defaults as strings ('false'); make them booleans, in memory only."""
    fixed = 0
    if isinstance(node, dict):
        if node.get("type") == "boolean" and isinstance(node.get("default"), str):
            node["default"] = node["default"].strip().lower() == "true"
            fixed += 1
        for value in node.values():
            fixed += _fix_booleans(value)
    elif isinstance(node, list):
        for value in node:
            fixed += _fix_booleans(value)
    return fixed


@cache
def accounting_spec_dict() -> dict[str, Any]:
    with open(SPEC_DIR / "xero_accounting.yaml", encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert _fix_booleans(spec) == 23
    return spec


@cache
def accounting_spec() -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(accounting_spec_dict())


@cache
def identity_spec() -> Any:
    from openapi_core import OpenAPI

    with open(SPEC_DIR / "xero-identity.yaml", encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    _fix_booleans(spec)
    return OpenAPI.from_dict(spec)


class SpecChecker:
    """Validates simulator responses against the published specs and remembers what it checked."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, str, int]] = []

    def documented(self, method: str, template: str, status: int) -> bool:
        operation = accounting_spec_dict()["paths"].get(template, {}).get(method.lower())
        return operation is not None and str(status) in operation.get("responses", {})

    def check(self, request: httpx.Request, response: httpx.Response, template: str) -> None:
        from openapi_core.testing import MockRequest, MockResponse

        path = request.url.path
        if template == "/Connections":
            spec, host, path = identity_spec(), "https://api.xero.com", "/Connections"
        else:
            spec, host = accounting_spec(), "https://api.xero.com"
            actual = path[path.lower().index(API.lower()) + len(API) :].strip("/").split("/")
            wanted = template.strip("/").split("/")
            path = (
                API
                + "/"
                + "/".join(a if w.startswith("{") else w for a, w in zip(actual, wanted, strict=True))
            )
        mock_request = MockRequest(
            host,
            request.method.lower(),
            path,
            args=dict(request.url.params),
            headers={"xero-tenant-id": request.headers.get("xero-tenant-id", "")},
        )
        content_type = response.headers.get("content-type", "application/json").split(";")[0]
        mock_response = MockResponse(
            response.content, status_code=response.status_code, content_type=content_type
        )
        try:
            spec.validate_response(mock_request, mock_response)
        except Exception as exc:
            if template != "/Connections" or not _only_connection_stamps(exc):
                raise
        self.checked.append((request.method, template, response.status_code))


def _only_connection_stamps(exc: Exception) -> bool:
    """The identity spec types createdDateUtc/updatedDateUtc as RFC 3339 ``date-time``, but Xero sends
    ``2019-12-07T18:46:19.5165400`` (no zone; the spec's own example fails the same way). That one
    mismatch is accepted; anything else is a failure."""
    errors = getattr(exc.__cause__, "schema_errors", None) or []
    return bool(errors) and all("is not a 'date-time'" in str(e).split("\n")[0] for e in errors)


def api_template(path: str, method: str = "GET") -> str | None:
    """``/api.xro/2.0/Invoices/abc`` → the spec's path template for that method, or None.

    Literal templates win over parameterised ones (``/Reports/ProfitAndLoss`` over ``/Reports/{ReportID}``),
    and ``/Contacts/{ContactNumber}`` vs ``/Contacts/{ContactID}`` is settled by which has the method.
    """
    import re

    lowered = path.lower()
    if lowered.rstrip("/").endswith("/connections"):
        return "/Connections"
    if API.lower() not in lowered:
        return None
    rest = path[lowered.index(API.lower()) + len(API) :]
    paths = accounting_spec_dict()["paths"]
    candidates = []
    for template in paths:
        pattern = "^" + re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)) + "/?$"
        if re.match(pattern, rest, re.IGNORECASE):
            candidates.append(template)
    candidates.sort(key=lambda t: (method.lower() not in paths[t], t.count("{")))
    return candidates[0] if candidates else None


class ValidatingTransport(httpx.BaseTransport):
    """Hands requests to the simulator and validates every documented API response against the spec."""

    def __init__(self, sim: XeroSimulator, checker: SpecChecker) -> None:
        self.inner = mock_transport(sim)
        self.checker = checker

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        template = api_template(request.url.path, request.method)
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response  # XML (no Accept: application/json) and plain-text answers are not in the spec
        if template == "/Connections":
            if response.status_code == 200 and request.method == "GET":
                self.checker.check(request, response, template)
        elif template and self.checker.documented(request.method, template, response.status_code):
            self.checker.check(request, response, template)
        return response


def api_client(sim: XeroSimulator, checker: SpecChecker, token: str, tenant: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if tenant:
        headers["xero-tenant-id"] = tenant
    return httpx.Client(
        transport=ValidatingTransport(sim, checker), base_url=f"http://sim{API}", headers=headers
    )


def put(client: httpx.Client, path: str, payload: Any, **params: Any) -> httpx.Response:
    return client.put(
        path, content=dumps(payload), params=params, headers={"Content-Type": "application/json"}
    )


def post(client: httpx.Client, path: str, payload: Any, **params: Any) -> httpx.Response:
    return client.post(
        path, content=dumps(payload), params=params, headers={"Content-Type": "application/json"}
    )


def invoice(contact_id: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-10-31",
        "DueDate": "2026-11-14",
        "LineItems": list(lines) or [line("Remote support", "2", "165.00")],
    }
    doc.update(fields)
    return doc


def line(description: str, quantity: str, unit: str, **fields: Any) -> dict[str, Any]:
    item = {
        "Description": description,
        "Quantity": Decimal(quantity),
        "UnitAmount": Decimal(unit),
        "AccountCode": SALES,
        "TaxType": "OUTPUT",
    }
    item.update(fields)
    return item


def iter_examples() -> Iterator[tuple[str, str, str, Any]]:
    """Every 200 response example of the endpoints the simulator serves: (path, method, status, example)."""
    served = (
        "/Organisation",
        "/Accounts",
        "/BrandingThemes",
        "/TaxRates",
        "/Currencies",
        "/TrackingCategories",
        "/Items",
        "/Contacts",
        "/Invoices",
        "/CreditNotes",
        "/Quotes",
        "/RepeatingInvoices",
        "/Payments",
        "/Reports/ProfitAndLoss",
    )
    for path, item in accounting_spec_dict()["paths"].items():
        if not any(path == s or path.startswith(s + "/{") for s in served):
            continue
        if path.count("/") > 2 and not path.endswith("}"):
            continue  # attachments, history, allocations, pdf
        for method, operation in item.items():
            if method not in ("get", "put", "post") or not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                example = response.get("content", {}).get("application/json", {}).get("example")
                if example is not None and status == "200":
                    yield path, method, status, example

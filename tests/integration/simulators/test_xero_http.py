"""The Xero simulator served by uvicorn on 127.0.0.1, spoken to over real HTTP (and, when installed, by
the official xero-python SDK)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from revloop.simulators.common import AsgiBridge, Fault, FaultInjector, RequestLog
from revloop.simulators.xero import XeroSimulator

D = Decimal


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[XeroSimulator, str]]:
    sim = XeroSimulator(prefix="/xero", faults=FaultInjector(), log=RequestLog(), minute_limit=1000)
    port = _free_port()
    config = uvicorn.Config(AsgiBridge(sim), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield sim, f"http://127.0.0.1:{port}/xero"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _tokens(sim: XeroSimulator, base: str) -> dict[str, Any]:
    creds = sim.credentials
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        consent = http.get(
            "/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": creds["client_id"],
                "redirect_uri": creds["redirect_uri"],
                "scope": creds["scopes"],
                "state": "s",
            },
        )
        assert consent.status_code == 302
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        response = http.post(
            "/identity/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": creds["redirect_uri"],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert response.status_code == 200
        return dict(response.json())


def test_real_http_round_trip(served: tuple[XeroSimulator, str]) -> None:
    sim, base = served
    tokens = _tokens(sim, base)
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": sim.credentials["tenant_id"],
        "Accept": "application/json",
    }
    with httpx.Client(base_url=f"{base}/api.xro/2.0", headers=headers) as xero:
        connections = httpx.get(f"{base}/connections", headers=headers).json()
        assert connections[0]["tenantId"] == sim.credentials["tenant_id"]
        contact = xero.get("/Contacts", params={"where": 'Name=="Acme Dental Group"'}).json()["Contacts"][0]
        payload = (
            '{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"CONTACT"},"Date":"2026-10-31",'
            '"LineItems":[{"Description":"Remote support","Quantity":1.25,"UnitAmount":165.0001,'
            '"AccountCode":"220","TaxType":"OUTPUT"}]}]}'
        ).replace("CONTACT", contact["ContactID"])
        created = xero.put(
            "/Invoices",
            content=payload,
            params={"unitdp": 4, "summarizeErrors": "false"},
            headers={"Content-Type": "application/json", "Idempotency-Key": "http-1"},
        )
        assert created.status_code == 200, created.text
        assert created.headers["X-MinLimit-Remaining"]
        invoice = json.loads(created.content, parse_float=Decimal)["Invoices"][0]
        assert invoice["StatusAttributeString"] == "OK"
        assert invoice["LineItems"][0]["UnitAmount"] == D("165.0001")
        assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (
            D("206.25"),
            D("20.63"),
            D("226.88"),
        )
        read = xero.get(f"/Invoices/{invoice['InvoiceNumber']}", params={"unitdp": 4})
        again = json.loads(read.content, parse_float=Decimal)["Invoices"][0]
        assert again["InvoiceID"] == invoice["InvoiceID"] and again["Total"] == D("226.88")
        assert xero.get("/Invoices/00000000-0000-4000-8000-000000000000").text == (
            "The resource you're looking for cannot be found"
        )
    assert sim.log.counts()["xero PUT /api.xro/2.0/Invoices"] == 1


def test_concurrency_limit_over_real_http(served: tuple[XeroSimulator, str]) -> None:
    sim, base = served
    tokens = _tokens(sim, base)
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": sim.credentials["tenant_id"],
    }
    sim.faults.add(Fault(route=r"GET /api\.xro/2\.0/Currencies", count=7, status=0, latency=0.5))
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(7)

    def call() -> None:
        with httpx.Client(timeout=10) as http:
            barrier.wait()
            status = http.get(f"{base}/api.xro/2.0/Currencies", headers=headers).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [429] * 2
    sim.faults.clear()


def test_dropped_response_breaks_the_connection(served: tuple[XeroSimulator, str]) -> None:
    sim, base = served
    tokens = _tokens(sim, base)
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": sim.credentials["tenant_id"],
    }
    sim.faults.add(Fault(route=r"PUT /api\.xro/2\.0/Contacts$", drop_after_commit=True))
    with pytest.raises(httpx.HTTPError):
        httpx.put(f"{base}/api.xro/2.0/Contacts", json={"Name": "Dropped Pty Ltd"}, headers=headers)
    names = {c["Name"] for c in sim.orgs[sim.credentials["tenant_id"]].contacts.values()}
    assert "Dropped Pty Ltd" in names


def test_xero_python_sdk_against_the_simulator(served: tuple[XeroSimulator, str]) -> None:
    pytest.importorskip(
        "xero_python",
        reason="xero-python is not installed in this venv (optional dev-time cross-check; "
        "pip install xero-python to run it)",
    )
    from xero_python.accounting import AccountingApi, Contact, Invoice, Invoices, LineItem
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.oauth2 import OAuth2Token

    sim, base = served
    tokens = _tokens(sim, base)
    token = dict(tokens, expires_at=time.time() + 1800)
    creds = sim.credentials
    config = Configuration(
        oauth2_token=OAuth2Token(client_id=creds["client_id"], client_secret=creds["client_secret"])
    )
    api_client = ApiClient(config, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None)
    api = AccountingApi(api_client, base_url=f"{base}/api.xro/2.0")
    contact_id = next(
        c["ContactID"]
        for c in sim.orgs[creds["tenant_id"]].contacts.values()
        if c["Name"] == "Brightwater Legal"
    )
    draft = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        line_items=[
            LineItem(
                description="Onsite support",
                quantity=D("3"),
                unit_amount=D("195.00"),
                account_code="220",
                tax_type="OUTPUT",
            )
        ],
        status="AUTHORISED",
        reference="SDK-1",
    )
    created = api.create_invoices(
        creds["tenant_id"],
        Invoices(invoices=[draft]),
        summarize_errors=False,
        unitdp=4,
        idempotency_key="sdk-create-1",
    )
    made = created.invoices[0]
    assert made.has_errors is False
    assert made.total == D("643.50") and made.total_tax == D("58.50")
    fetched = api.get_invoice(creds["tenant_id"], made.invoice_id).invoices[0]
    assert fetched.invoice_number == made.invoice_number
    assert fetched.line_items[0].unit_amount == D("195.00")
    assert fetched.status == "AUTHORISED"
    assert fetched.amount_due == D("643.50")
    listed = api.get_invoices(creds["tenant_id"], where='Reference=="SDK-1"', page=1)
    assert [i.invoice_id for i in listed.invoices] == [made.invoice_id]


def test_xero_python_reads_every_resource(served: tuple[XeroSimulator, str]) -> None:
    """The SDK's strict enums and models accept every read the simulator serves."""
    pytest.importorskip(
        "xero_python",
        reason="xero-python is not installed in this venv (optional dev-time cross-check; "
        "pip install xero-python to run it)",
    )
    from xero_python.accounting import AccountingApi
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.oauth2 import OAuth2Token

    sim, base = served
    token = dict(_tokens(sim, base), expires_at=time.time() + 1800)
    creds = sim.credentials
    config = Configuration(
        oauth2_token=OAuth2Token(client_id=creds["client_id"], client_secret=creds["client_secret"])
    )
    api = AccountingApi(
        ApiClient(config, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None),
        base_url=f"{base}/api.xro/2.0",
    )
    tenant = creds["tenant_id"]
    contact = {"ContactID": next(iter(sim.orgs[tenant].contacts))}
    lines = [
        {"Description": "x", "Quantity": 1, "UnitAmount": 100, "AccountCode": "220", "TaxType": "OUTPUT"}
    ]
    sim.seed(
        {
            "Invoices": [
                {
                    "InvoiceID": "c1a2b3c4-0000-4000-8000-000000000001",
                    "Type": "ACCREC",
                    "Contact": contact,
                    "Status": "AUTHORISED",
                    "LineItems": lines,
                }
            ],
            "CreditNotes": [
                {"Type": "ACCRECCREDIT", "Contact": contact, "Status": "AUTHORISED", "LineItems": lines}
            ],
            "Quotes": [{"Contact": contact, "LineAmountTypes": "EXCLUSIVE", "LineItems": lines}],
            "RepeatingInvoices": [
                {
                    "Type": "ACCREC",
                    "Contact": contact,
                    "LineItems": lines,
                    "Schedule": {
                        "Unit": "MONTHLY",
                        "Period": 1,
                        "StartDate": "2026-12-01",
                        "DueDate": 14,
                        "DueDateType": "DAYSAFTERBILLDATE",
                    },
                }
            ],
            "Payments": [{"Invoice": {"InvoiceID": "c1a2b3c4-0000-4000-8000-000000000001"}, "Amount": 50}],
        }
    )
    assert api.get_organisations(tenant).organisations[0].base_currency.value == "AUD"
    assert any(a.system_account == "ROUNDING" for a in api.get_accounts(tenant).accounts)
    assert {r.tax_type for r in api.get_tax_rates(tenant).tax_rates} >= {"OUTPUT", "INPUT"}
    assert api.get_currencies(tenant).currencies[0].code.value == "AUD"
    assert api.get_tracking_categories(tenant).tracking_categories[0].options
    assert api.get_branding_themes(tenant).branding_themes[0].name == "Standard"
    assert api.get_items(tenant, unitdp=4).items
    assert api.get_contacts(tenant, page=1).contacts
    for fetch in (api.get_invoices, api.get_credit_notes, api.get_payments):
        assert fetch(tenant, page=1)
    assert api.get_payments(tenant, page=1).payments[0].amount == D("50.00")
    assert api.get_invoice(tenant, "c1a2b3c4-0000-4000-8000-000000000001").invoices[0].amount_due == D(
        "60.00"
    )
    assert api.get_quotes(tenant, page=1).quotes[0].status.value == "DRAFT"
    assert api.get_repeating_invoices(tenant).repeating_invoices[0].schedule.unit == "MONTHLY"
    report = api.get_report_profit_and_loss(tenant, from_date="2026-10-01", to_date="2026-10-31")
    assert report.reports[0].report_id == "ProfitAndLoss"

"""The shared simulator contract: request log, fault injection, seeding, snapshot/restore, prefix,
determinism and several organisations."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from revloop.simulators.common import Fault, FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.xero import XeroSimulator

from .support import START, SpecChecker, api_client, body, invoice, login, put

D = Decimal
OTHER = "11111111-2222-4333-8444-555555555555"


def _client(sim: XeroSimulator, tenant: str | None = None, base: str = "http://sim") -> httpx.Client:
    with httpx.Client(transport=mock_transport(sim), base_url=base) as anon:
        tokens = login(anon, sim)
    return api_client(sim, SpecChecker(), tokens["access_token"], tenant or sim.credentials["tenant_id"])


def test_log_labels_use_path_templates(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    inv = body(put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]}))["Invoices"][0]
    xero.get(f"/Invoices/{inv['InvoiceID']}")
    xero.get("/nothing-here")
    counts = sim.log.counts()
    assert counts["xero PUT /api.xro/2.0/Invoices"] == 1
    assert counts["xero GET /api.xro/2.0/Invoices/{InvoiceID}"] == 1
    assert counts["xero GET /identity/connect/authorize"] == 1
    assert counts["xero POST /identity/connect/token"] == 1
    assert counts["xero GET /api.xro/2.0/nothing-here"] == 1
    assert sim.log.entries[-1]["status"] == 404


def test_status_fault_and_dropped_response(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    sim.faults.add(
        Fault(
            route=r"PUT /api\.xro/2\.0/Invoices$",
            status=503,
            body="The Xero API is currently offline for maintenance",
        )
    )
    offline = put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]})
    assert offline.status_code == 503 and "offline" in offline.text
    org = sim.orgs[sim.credentials["tenant_id"]]
    assert org.invoices == {}
    sim.faults.add(Fault(route=r"PUT /api\.xro/2\.0/Invoices$", drop_after_commit=True))
    with pytest.raises(httpx.RemoteProtocolError):
        put(xero, "/Invoices", {"Invoices": [invoice(contact_id, Reference="landed")]})
    assert [i["Reference"] for i in org.invoices.values()] == ["landed"]
    assert sim.log.entries[-1]["status"] == 0
    assert sim.limits.in_flight(sim.credentials["tenant_id"]) == 0


def test_dropped_idempotent_write_is_replayed_not_duplicated(
    xero: httpx.Client, sim: XeroSimulator, contact_id: str
) -> None:
    from revloop.simulators.xero.wire import dumps

    content = dumps({"Invoices": [invoice(contact_id)]})
    headers = {"Idempotency-Key": "retry-me", "Content-Type": "application/json"}
    sim.faults.add(Fault(route=r"PUT /api\.xro/2\.0/Invoices$", drop_after_commit=True))
    with pytest.raises(httpx.RemoteProtocolError):
        xero.put("/Invoices", content=content, headers=headers)
    retry = xero.put("/Invoices", content=content, headers=headers)
    assert retry.status_code == 200
    assert len(sim.orgs[sim.credentials["tenant_id"]].invoices) == 1


def test_seed_wire_shapes_and_fill_defaults(sim: XeroSimulator) -> None:
    sim.seed(
        {
            "Contacts": [
                {
                    "ContactID": "AAAAAAAA-0000-4000-8000-000000000001",
                    "Name": "Seeded Co",
                    "UpdatedDateUTC": "/Date(1790000000000+0000)/",
                }
            ],
            "Invoices": [
                {
                    "InvoiceID": "bbbbbbbb-0000-4000-8000-000000000001",
                    "Type": "ACCREC",
                    "Contact": {"ContactID": "aaaaaaaa-0000-4000-8000-000000000001"},
                    "Date": "/Date(1793404800000+0000)/",
                    "DueDate": "2026-11-30",
                    "Status": "AUTHORISED",
                    "LineItems": [
                        {
                            "Description": "x",
                            "Quantity": 2,
                            "UnitAmount": "50.00",
                            "AccountCode": "210",
                            "TaxType": "OUTPUT",
                        }
                    ],
                }
            ],
            "Payments": [
                {
                    "Invoice": {"InvoiceID": "bbbbbbbb-0000-4000-8000-000000000001"},
                    "Amount": 10,
                    "Date": "2026-11-01",
                }
            ],
        }
    )
    client = _client(sim)
    inv = body(client.get("/Invoices/bbbbbbbb-0000-4000-8000-000000000001"))["Invoices"][0]
    assert inv["InvoiceNumber"] == "INV-0001" and inv["Total"] == D("110.00")
    assert (inv["AmountPaid"], inv["AmountDue"]) == (D("10.00"), D("100.00"))
    assert inv["DateString"] == "2026-10-31T00:00:00"
    contact = body(client.get("/Contacts/aaaaaaaa-0000-4000-8000-000000000001"))["Contacts"][0]
    assert contact["UpdatedDateUTC"] == "/Date(1790000000000+0000)/" and contact["IsCustomer"] is True
    # A later invoice continues the sequence.
    assert (
        body(put(client, "/Invoices", {"Invoices": [invoice(contact["ContactID"])]}))["Invoices"][0][
            "InvoiceNumber"
        ]
        == "INV-0002"
    )


def test_seed_is_fast() -> None:
    sim = XeroSimulator(clock=SimClock(START))
    contact = {"ContactID": "aaaaaaaa-0000-4000-8000-000000000001", "Name": "Bulk"}
    invoices = [
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "InvoiceNumber": f"B-{n}",
            "Date": "2026-10-01",
            "Status": "AUTHORISED",
            "SubTotal": 100,
            "TotalTax": 10,
            "Total": 110,
            "LineItems": [
                {
                    "Description": "x",
                    "Quantity": 1,
                    "UnitAmount": 100,
                    "LineAmount": 100,
                    "TaxAmount": 10,
                    "AccountCode": "210",
                    "TaxType": "OUTPUT",
                }
            ],
        }
        for n in range(5000)
    ]
    started = time.perf_counter()
    sim.seed({"Contacts": [contact], "Invoices": invoices})
    assert time.perf_counter() - started < 3
    assert len(sim.orgs[sim.credentials["tenant_id"]].invoice_numbers) == 5000


def test_snapshot_is_plain_json_and_restores(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    put(xero, "/Invoices", {"Invoices": [invoice(contact_id, Status="AUTHORISED")]})
    snap = sim.snapshot()
    text = json.dumps(snap)  # plain JSON, no Decimal or datetime objects
    before = body(xero.get("/Invoices", params={"page": 1}))["Invoices"]
    put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]})
    sim.restore(json.loads(text))
    after = body(xero.get("/Invoices", params={"page": 1}))["Invoices"]
    assert [i["InvoiceID"] for i in after] == [i["InvoiceID"] for i in before]
    assert after[0]["Total"] == before[0]["Total"] == D("363.00")
    assert (
        body(put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]}))["Invoices"][0]["InvoiceNumber"]
        == "INV-0002"
    )


def test_deterministic_ids() -> None:
    def run() -> list[str]:
        sim = XeroSimulator(clock=SimClock(START))
        client = _client(sim)
        org = sim.orgs[sim.credentials["tenant_id"]]
        contact = next(iter(org.contacts))
        made = body(put(client, "/Invoices", {"Invoices": [invoice(contact), invoice(contact)]}))["Invoices"]
        return [i["InvoiceID"] for i in made] + [li["LineItemID"] for i in made for li in i["LineItems"]]

    assert run() == run()


def test_several_organisations_are_separate(sim: XeroSimulator) -> None:
    sim.seed({"Contacts": [{"Name": "Only In Other"}]}, tenant_id=OTHER, name="Other Org")
    main, other = _client(sim), _client(sim, OTHER)
    assert body(other.get("/Organisation"))["Organisations"][0]["Name"] == "Other Org"
    names = {c["Name"] for c in body(other.get("/Contacts"))["Contacts"]}
    assert names == {"Only In Other"}
    contact = next(iter(sim.orgs[OTHER].contacts))
    assert body(put(other, "/Invoices", {"Invoices": [invoice(contact)]}))["Invoices"][0][
        "InvoiceNumber"
    ] == ("INV-0001")
    assert body(main.get("/Invoices"))["Invoices"] == []


def test_prefix_is_stripped() -> None:
    sim = XeroSimulator(prefix="/xero", clock=SimClock(START))
    assert sim.credentials["token_url"] == "/xero/identity/connect/token"
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim/xero") as anon:
        code_response = anon.get(
            "/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": sim.credentials["client_id"],
                "scope": "accounting.settings",
                "redirect_uri": sim.credentials["redirect_uri"],
            },
        )
        assert code_response.status_code == 302
        code = code_response.headers["location"].split("code=")[1].split("&")[0]
        tokens = anon.post(
            "/identity/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": sim.credentials["redirect_uri"],
                "client_id": sim.credentials["client_id"],
                "client_secret": sim.credentials["client_secret"],
            },
        ).json()
        org = anon.get(
            "/api.xro/2.0/Organisation",
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "xero-tenant-id": sim.credentials["tenant_id"],
            },
        )
        assert org.status_code == 200
        assert anon.get("http://sim/api.xro/2.0/Organisation").status_code == 404
    assert "xero GET /api.xro/2.0/Organisation" in sim.log.counts()


def test_wrong_method_is_405(xero: httpx.Client) -> None:
    response = xero.delete("/Invoices")
    assert response.status_code == 405


def test_constructor_contract() -> None:
    clock, faults, log = SimClock(START), FaultInjector(), RequestLog()
    sim = XeroSimulator(prefix="", clock=clock, faults=faults, log=log, day_limit=1000)
    assert sim.clock is clock and sim.faults is faults and sim.log is log
    assert sim.limits.day_limit == 1000
    assert {"client_id", "client_secret", "tenant_id", "redirect_uri"} <= set(sim.credentials)


def test_xml_unless_json_is_asked_for(xero: httpx.Client) -> None:
    response = xero.get("/Currencies", headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response>" in response.text and "<Currency><Code>AUD</Code>" in response.text
    bad = xero.put("/Contacts", content=b'{"Name": ""}', headers={"Accept": "*/*"})
    assert bad.status_code == 400 and "<ApiException>" in bad.text


def test_long_query_strings_and_large_bodies_are_refused(xero: httpx.Client, contact_id: str) -> None:
    fifty = ",".join([contact_id] * 50)
    assert xero.get("/Contacts", params={"IDs": fifty}).status_code == 200
    sixty = ",".join([contact_id] * 60)
    too_long = xero.get("/Contacts", params={"IDs": sixty})
    assert too_long.status_code == 404 and "query string is too long" in too_long.text
    huge = xero.put(
        "/Contacts",
        content=b'{"Name": "' + b"x" * 3_600_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413


def test_repeating_invoices_ignore_if_modified_since(xero: httpx.Client, contact_id: str) -> None:
    template = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Schedule": {"Unit": "MONTHLY", "StartDate": "2026-12-01"},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "210"}],
    }
    put(xero, "/RepeatingInvoices", {"RepeatingInvoices": [template]})
    listed = xero.get("/RepeatingInvoices", headers={"If-Modified-Since": "2030-01-01T00:00:00"})
    assert len(body(listed)["RepeatingInvoices"]) == 1

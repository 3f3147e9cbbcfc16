"""Profit and loss from posted documents plus seeded costs; signed webhooks and the ITR handshake."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import yaml

from revloop.simulators.common import SimClock
from revloop.simulators.xero import XeroSimulator, sign_webhook, webhook_signature_ok

from .support import SPEC_DIR, body, invoice, line, post, put

D = Decimal


def _rows(report: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            values[row["Cells"][0]["Value"]] = row["Cells"][1]["Value"]
    return values


def test_profit_and_loss(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    sim.seed(
        {
            "ProfitAndLossRows": [
                {"AccountCode": "477", "Date": "2026-10-31", "Amount": D("12000.00")},
                {"AccountCode": "469", "Date": "2026-10-15", "Amount": D("2500.00")},
                {"AccountCode": "469", "Date": "2026-09-15", "Amount": D("2500.00")},
            ]
        }
    )
    docs = [
        invoice(contact_id, line("Support", "10", "165.00", AccountCode="220"), Status="AUTHORISED"),
        invoice(
            contact_id,
            line("Seats", "100", "89.00", AccountCode="210"),
            Status="AUTHORISED",
            LineAmountTypes="Inclusive",
        ),
        invoice(contact_id, line("Draft", "1", "999.00"), Status="DRAFT"),
        invoice(
            contact_id,
            line("Sub", "1", "400.00", AccountCode="320", TaxType="INPUT"),
            Type="ACCPAY",
            Status="AUTHORISED",
        ),
        invoice(contact_id, line("Old", "1", "50.00"), Status="AUTHORISED", Date="2026-09-30"),
    ]
    assert put(xero, "/Invoices", {"Invoices": docs}).status_code == 200
    credit = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "Date": "2026-10-20",
        "LineItems": [line("Credit", "1", "65.00", AccountCode="220")],
    }
    assert put(xero, "/CreditNotes", {"CreditNotes": [credit]}).status_code == 200
    response = xero.get("/Reports/ProfitAndLoss", params={"fromDate": "2026-10-01", "toDate": "2026-10-31"})
    assert response.status_code == 200
    report = body(response)["Reports"][0]
    assert report["ReportID"] == "ProfitAndLoss"
    assert report["ReportTitles"][2] == "1 October 2026 to 31 October 2026"
    values = _rows(report)
    assert values["Project Services"] == "1585.00"  # 1650.00 less the 65.00 credit note
    assert values["Managed Services"] == "8090.91"  # 8900.00 inclusive of 809.09 GST
    assert values["Total Income"] == "9675.91"
    assert values["Subcontractors"] == "400.00"
    assert values["Gross Profit"] == "9275.91"
    assert values["Wages and Salaries"] == "12000.00" and values["Rent"] == "2500.00"
    assert values["Net Profit"] == "-5224.09"
    section_titles = [s.get("Title") for s in report["Rows"]]
    assert section_titles[:3] == [None, "Income", "Less Cost of Sales"]
    cell = report["Rows"][1]["Rows"][0]["Cells"][0]
    assert cell["Attributes"][0]["Id"] == "account"
    sept = body(xero.get("/Reports/ProfitAndLoss", params={"fromDate": "2026-09-01", "toDate": "2026-09-30"}))
    assert _rows(sept["Reports"][0])["Net Profit"] == "-2450.00"
    assert (
        xero.get(
            "/Reports/ProfitAndLoss", params={"fromDate": "2026-10-31", "toDate": "2026-10-01"}
        ).status_code
        == 400
    )


def test_profit_and_loss_by_tracking_option(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    org = sim.orgs[sim.credentials["tenant_id"]]
    category = next(iter(org.tracking_categories.values()))
    projects = next(o for o in category["Options"] if o["Name"] == "Projects")
    tracked = [
        {
            "TrackingCategoryID": category["TrackingCategoryID"],
            "TrackingOptionID": projects["TrackingOptionID"],
        }
    ]
    docs = [
        invoice(
            contact_id, line("P", "1", "100.00", AccountCode="220", Tracking=tracked), Status="AUTHORISED"
        ),
        invoice(contact_id, line("M", "1", "300.00", AccountCode="210"), Status="AUTHORISED"),
    ]
    put(xero, "/Invoices", {"Invoices": docs})
    params = {
        "fromDate": "2026-10-01",
        "toDate": "2026-10-31",
        "trackingCategoryID": category["TrackingCategoryID"],
        "trackingOptionID": projects["TrackingOptionID"],
    }
    values = _rows(body(xero.get("/Reports/ProfitAndLoss", params=params))["Reports"][0])
    assert values["Total Income"] == "100.00"


def _webhook_schema() -> dict[str, Any]:
    spec = yaml.safe_load((SPEC_DIR / "xero-webhooks.yaml").read_text(encoding="utf-8"))
    schema = dict(spec["components"]["schemas"]["WebhookEvent"])
    schema["components"] = spec["components"]
    return schema


def test_events_are_queued_signed_and_delivered(clock: SimClock) -> None:
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    def receiver(url: str, raw: bytes, headers: dict[str, str]) -> int:
        sent.append((url, raw, headers))
        return 200 if webhook_signature_ok(raw, headers["x-xero-signature"], "whk") else 401

    sim = XeroSimulator(
        clock=clock,
        webhook_url="https://hooks.example/xero",
        webhook_send=receiver,
        webhook_key="whk",
        minute_limit=1000,
    )
    from .support import SpecChecker, api_client, login

    with httpx.Client(transport=_transport(sim), base_url="http://sim") as anon:
        tokens = login(anon, sim)
    xero = api_client(sim, SpecChecker(), tokens["access_token"], sim.credentials["tenant_id"])
    contact = body(put(xero, "/Contacts", {"Name": "Hooked Ltd"}))["Contacts"][0]
    inv = body(put(xero, "/Invoices", {"Invoices": [invoice(contact["ContactID"])]}))["Invoices"][0]
    post(xero, f"/Invoices/{inv['InvoiceID']}", {"Status": "AUTHORISED"})
    credit = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [line("c", "1", "1")],
    }
    put(xero, "/CreditNotes", {"CreditNotes": [credit]})
    assert sim.deliver_webhooks() == 200
    url, raw, headers = sent[0]
    assert url == "https://hooks.example/xero"
    assert headers["x-xero-signature"] == sign_webhook(raw, "whk")
    payload = json.loads(raw)
    jsonschema.validate(payload, _webhook_schema())
    kinds = [(e["eventCategory"], e["eventType"]) for e in payload["events"]]
    assert kinds == [
        ("CONTACT", "CREATE"),
        ("INVOICE", "CREATE"),
        ("INVOICE", "UPDATE"),
        ("CREDITNOTE", "CREATE"),
    ]
    assert payload["events"][1]["resourceId"] == inv["InvoiceID"]
    assert payload["events"][1]["resourceUrl"].endswith(f"/Invoices/{inv['InvoiceID']}")
    assert payload["events"][3]["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}
    assert (payload["firstEventSequence"], payload["lastEventSequence"]) == (1, 4)
    assert re.fullmatch(r"2026-11-02T09:00:\d\d\.\d{3}", payload["events"][0]["eventDateUtc"])
    assert sim.deliver_webhooks() is None  # nothing left to send


def test_failed_delivery_keeps_events(clock: SimClock) -> None:
    answers = [500, 200]
    sim = XeroSimulator(clock=clock, webhook_url="https://h", webhook_send=lambda u, b, h: answers.pop(0))
    sim.webhooks.record(
        sim.credentials["tenant_id"], "CONTACT", "UPDATE", "7d1c3e58-5a0e-4e6b-9d8a-2f1b6c4a9e01"
    )
    assert sim.deliver_webhooks() == 500 and len(sim.webhooks.queue) == 1
    assert sim.deliver_webhooks() == 200 and sim.webhooks.queue == []


def test_intent_to_receive(clock: SimClock) -> None:
    def good_endpoint(url: str, raw: bytes, headers: dict[str, str]) -> int:
        assert json.loads(raw)["events"] == []
        return 200 if webhook_signature_ok(raw, headers["x-xero-signature"], "k") else 401

    sim = XeroSimulator(clock=clock, webhook_url="https://h", webhook_send=good_endpoint, webhook_key="k")
    assert sim.webhooks.intent_to_receive() is True
    lazy = XeroSimulator(
        clock=clock, webhook_url="https://h", webhook_send=lambda u, b, h: 200, webhook_key="k"
    )
    assert lazy.webhooks.intent_to_receive() is False


def _transport(sim: XeroSimulator) -> httpx.BaseTransport:
    from revloop.simulators.common import mock_transport

    return mock_transport(sim)


def test_profit_and_loss_periods(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    sim.seed(
        {
            "ProfitAndLossRows": [
                {"AccountCode": "477", "Date": f"2026-{month:02d}-28", "Amount": D(1000 * month)}
                for month in (8, 9, 10)
            ]
        }
    )
    params = {"fromDate": "2026-10-01", "toDate": "2026-10-31", "periods": 2, "timeframe": "MONTH"}
    report = body(xero.get("/Reports/ProfitAndLoss", params=params))["Reports"][0]
    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == ["", "31 Oct 26", "30 Sep 26", "31 Aug 26"]
    net = next(r for s in report["Rows"] for r in s.get("Rows", []) if r["Cells"][0]["Value"] == "Net Profit")
    assert [c["Value"] for c in net["Cells"][1:]] == ["-10000.00", "-9000.00", "-8000.00"]
    assert xero.get("/Reports/ProfitAndLoss", params={"periods": 13}).status_code == 400


def test_a_receiver_may_call_back_into_the_simulator(clock: SimClock) -> None:
    from revloop.simulators.common import mock_transport

    from .support import login

    holder: dict[str, httpx.Client] = {}

    def receiver(url: str, raw: bytes, headers: dict[str, str]) -> int:
        event = json.loads(raw)["events"][0]
        client = holder["client"]
        response = client.post(
            f"/api.xro/2.0/Contacts/{event['resourceId']}", json={"EmailAddress": "seen@x.example"}
        )
        return 200 if response.status_code == 200 else 500

    sim = XeroSimulator(clock=clock, webhook_url="https://h", webhook_send=receiver)
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as anon:
        tokens = login(anon, sim)
        anon.headers.update(
            {
                "Authorization": f"Bearer {tokens['access_token']}",
                "xero-tenant-id": sim.credentials["tenant_id"],
                "Accept": "application/json",
            }
        )
        holder["client"] = anon
        assert anon.put("/api.xro/2.0/Contacts", json={"Name": "Callback Co"}).status_code == 200
        assert sim.deliver_webhooks() == 200
        assert [e["eventType"] for e in sim.webhooks.queue] == ["UPDATE"]  # queued by the receiver's write

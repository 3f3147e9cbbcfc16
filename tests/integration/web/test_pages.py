"""The pages and API routes doing their work: findings acknowledged and resolved, a billing run
previewed, approved (refused when the drafts changed since the preview), posted in the background,
invoices with both sides' totals and their PDFs; errors as friendly pages and JSON bodies."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web.roles import Role

from .conftest import PERIOD


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _finding_id(store: App) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(t.findings.c.id).where(t.findings.c.code == "xero.drift")).scalar_one()
        )


def test_acknowledge_and_resolve_from_the_page(store: App, client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.SERVICE_MANAGER)
    page = client.get("/findings?severity=error")
    assert page.status_code == 200 and "xero.drift" in page.text
    fid = _finding_id(store)
    empty = client.post(f"/findings/{fid}/acknowledge", data={"csrf_token": _token(page.text), "reason": " "})
    assert empty.status_code == 400 and "say why" in empty.text
    done = client.post(
        f"/findings/{fid}/acknowledge",
        data={"csrf_token": _token(page.text), "reason": "Xero copy checked", "back": "severity=error"},
    )
    assert (
        done.status_code == 303 and done.headers["location"] == "/findings?severity=error&done=acknowledged"
    )
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.findings).where(t.findings.c.id == fid)).one()
    assert (row.state, row.state_reason, row.state_by) == (
        "acknowledged",
        "Xero copy checked",
        "service_manager",
    )
    resolved = client.post(f"/api/findings/{fid}/resolve", json={"reason": "fixed in Xero"})
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    assert resolved.json()["amount"] is None  # a service manager sees no money
    listed = client.get("/api/findings", params={"state": "resolved", "code": "xero.drift"}).json()
    assert [f["id"] for f in listed["findings"]] == [fid]
    assert client.post("/api/findings/999999/resolve", json={}).json()["error"]["code"] == "not_found"


def test_billing_run_preview_approve_post(
    web: FastAPI, store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    preview = client.get(f"/api/billing/{PERIOD}/preview").json()
    assert [d["key"] for d in preview["drafts"]] == [
        "revloop:acme:all:2026-10-01",
        "revloop:globex:all:2026-10-01",
    ]
    acme = preview["drafts"][0]
    assert acme["total"] == "413.26" and acme["stored_status"] == "draft" and acme["xero"]["state"] == "new"
    assert preview["state"] == "ready" and acme["line_count"] > 0
    detail = client.get(f"/api/billing/{PERIOD}/draft", params={"key": acme["key"]}).json()
    assert detail["draft"] == acme and len(detail["lines"]) == acme["line_count"]
    assert all(line["explanation"] for line in detail["lines"])
    stale = client.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": "0" * 32})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "billing.preview_stale"
    approved = client.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": preview["fingerprint"]})
    assert approved.status_code == 200, approved.text
    assert sorted(approved.json()["approved"]) == [d["key"] for d in preview["drafts"]]
    started = client.post("/api/post")
    assert started.status_code == 202 and started.json()["state"] in ("running", "done")
    web.state.web.poster.join()
    status = client.get("/api/post/status").json()
    assert status["state"] == "done", status
    assert sorted(p["key"] for p in status["posted"]) == [d["key"] for d in preview["drafts"]]
    invoices = client.get("/api/invoices", params={"period": PERIOD}).json()["invoices"]
    assert {i["status"] for i in invoices} == {"posted"}
    assert all(i["total"] == i["xero_total"] and i["matches_xero"] for i in invoices)
    page = client.get("/invoices")
    assert status["posted"][0]["number"] in page.text and "£413.26" in page.text
    pdf = client.get("/invoices/pdf", params={"key": "revloop:acme:all:2026-10-01"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    overview = client.get("/api/overview", params={"period": PERIOD}).json()
    assert overview["billed"] == [{"currency": "GBP", "amount": "464.56"}] and overview["unbilled"] == []


def test_approve_from_the_page(store: App, client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.ADMIN)
    page = client.get(f"/billing?period={PERIOD}")
    assert page.status_code == 200 and "Approve all 2 drafts" in page.text
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', page.text)
    assert fingerprint is not None
    response = client.post(
        f"/billing/{PERIOD}/approve",
        data={"csrf_token": _token(page.text), "fingerprint": fingerprint.group(1)},
    )
    assert (
        response.status_code == 303 and response.headers["location"] == f"/billing?period={PERIOD}&approved=2"
    )
    assert "2 drafts approved" in client.get(response.headers["location"]).text
    with store.engine.connect() as conn:
        by = set(
            conn.execute(
                sa.select(t.invoices.c.approved_by).where(t.invoices.c.origin == "revloop")
            ).scalars()
        )
    assert by == {"admin"}


def test_a_second_post_while_running_is_refused(
    web: FastAPI, client_for: Callable[[Role], TestClient]
) -> None:
    import threading

    gate = threading.Event()
    poster = web.state.web.poster
    real = poster.clients
    poster.clients = lambda application: (gate.wait(), real(application))[1]
    client = client_for(Role.FINANCE)
    try:
        assert client.post("/api/post").status_code == 202
        second = client.post("/api/post")
        assert second.status_code == 409 and second.json()["error"]["code"] == "posting.running"
        assert "Posting…" in client.get("/post").text  # the page polls itself while running
        assert 'http-equiv="refresh"' in client.get("/post").text
    finally:
        gate.set()
        poster.join()
    assert poster.status().state == "done"


def test_errors_are_friendly(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    bad = client.get("/api/billing/2026-13/preview")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "input.invalid"
    page = client.get("/billing?period=2026-13")
    assert page.status_code == 400 and "Traceback" not in page.text and "input.invalid" in page.text
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "There is no such page" in missing.text
    api_missing = client.get("/api/nowhere")
    assert api_missing.status_code == 404 and api_missing.json()["error"]["code"] == "not_found"
    invalid = client.post("/api/findings/1/acknowledge", json={})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "input.invalid"
    forbidden = client_for(Role.TECHNICIAN).get("/billing")
    assert forbidden.status_code == 403 and "may not" in forbidden.text


def test_security_headers_and_static_css(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.TECHNICIAN)
    page = client.get("/")
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    css = client.get("/static/revloop.css")
    assert css.status_code == 200 and "font" in css.text
    assert "http://" not in page.text.replace("http://testserver", "") and "<script" not in page.text


def test_openapi_document(client_for: Callable[[Role], TestClient]) -> None:
    doc = client_for(Role.TECHNICIAN).get("/api/openapi.json").json()
    assert set(doc["paths"]) >= {
        "/api/overview",
        "/api/findings",
        "/api/findings/{finding_id}/acknowledge",
        "/api/findings/{finding_id}/resolve",
        "/api/invoices",
        "/api/billing/{period}/preview",
        "/api/billing/{period}/approve",
        "/api/post",
        "/api/post/status",
    }
    assert not any(not p.startswith("/api/") for p in doc["paths"])
    total = doc["components"]["schemas"]["InvoiceOut"]["properties"]["total"]
    assert total.get("x-money") is True

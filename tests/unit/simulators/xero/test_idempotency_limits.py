"""Idempotency-Key replays and Xero's rate limits (minute, day, app-wide, concurrent)."""

from __future__ import annotations

import threading
from decimal import Decimal

import httpx
import pytest

from revloop.simulators.common import Fault, FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.xero import XeroSimulator

from .support import START, SpecChecker, api_client, body, invoice, login, put

D = Decimal


def test_idempotent_replay_returns_the_stored_response(
    xero: httpx.Client, sim: XeroSimulator, clock: SimClock, contact_id: str
) -> None:
    payload = {"Invoices": [invoice(contact_id)]}
    key = {"Idempotency-Key": "run-42-batch-1"}
    first = xero.put("/Invoices", json=None, content=_json(payload), headers=key)
    second = xero.put("/Invoices", content=_json(payload), headers=key)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    org = sim.orgs[sim.credentials["tenant_id"]]
    assert len(org.invoices) == 1
    clash = xero.put(
        "/Invoices", content=_json({"Invoices": [invoice(contact_id, Reference="other")]}), headers=key
    )
    assert clash.status_code == 400
    assert "different request" in body(clash)["Message"]
    clock.advance(361)
    third = xero.put("/Invoices", content=_json(payload), headers=key)
    assert third.status_code == 200 and len(org.invoices) == 2  # the key expired after 6 minutes


def test_errors_are_cached_too(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    bad = {"Invoices": [invoice(contact_id, Status="PAID")]}
    key = {"Idempotency-Key": "k-err"}
    assert xero.put("/Invoices", content=_json(bad), headers=key).status_code == 400
    assert xero.put("/Invoices", content=_json(bad), headers=key).status_code == 400
    too_long = xero.put("/Invoices", content=_json(bad), headers={"Idempotency-Key": "x" * 129})
    assert too_long.status_code == 400


def _json(payload: object) -> str:
    from revloop.simulators.xero.wire import dumps

    return dumps(payload)


def _client(sim: XeroSimulator) -> httpx.Client:
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as anon:
        tokens = login(anon, sim)
    return api_client(sim, SpecChecker(), tokens["access_token"], sim.credentials["tenant_id"])


def test_minute_limit_with_headers_and_retry_after() -> None:
    clock = SimClock(START)
    sim = XeroSimulator(clock=clock)
    client = _client(sim)
    first = client.get("/Organisation")
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert first.headers["X-DayLimit-Remaining"] == "4999"
    assert first.headers["X-AppMinLimit-Remaining"] == "9999"
    for _ in range(59):
        assert client.get("/Currencies").status_code == 200
    refused = client.get("/Currencies")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    clock.advance(int(refused.headers["Retry-After"]))
    assert client.get("/Currencies").status_code == 200


def test_day_limit_for_starter_tier() -> None:
    clock = SimClock(START)
    sim = XeroSimulator(clock=clock, day_limit=1000, minute_limit=100_000)
    client = _client(sim)
    for _ in range(1000):
        assert client.get("/Currencies").status_code == 200
    refused = client.get("/Currencies")
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 80_000
    clock.advance(86_400)
    assert _client(sim).get("/Currencies").headers["X-DayLimit-Remaining"] == "999"


def test_limits_are_per_organisation_and_app_wide() -> None:
    clock = SimClock(START)
    sim = XeroSimulator(clock=clock, minute_limit=3, app_minute_limit=5)
    other = "11111111-2222-4333-8444-555555555555"
    sim.seed({}, tenant_id=other, name="Other")
    client = _client(sim)
    for _ in range(3):
        assert client.get("/Currencies").status_code == 200
    assert client.get("/Currencies").headers["X-Rate-Limit-Problem"] == "minute"
    elsewhere = client.get("/Currencies", headers={"xero-tenant-id": other})
    assert elsewhere.status_code == 200 and elsewhere.headers["X-MinLimit-Remaining"] == "2"
    client.get("/Currencies", headers={"xero-tenant-id": other})
    app = client.get("/Currencies", headers={"xero-tenant-id": other})
    assert (app.status_code, app.headers["X-Rate-Limit-Problem"]) == (429, "appminute")


def test_concurrency_is_measured_for_real() -> None:
    faults = FaultInjector()
    sim = XeroSimulator(clock=SimClock(START), faults=faults, log=RequestLog(), minute_limit=1000)
    client = _client(sim)
    faults.add(Fault(route=r"GET /api\.xro/2\.0/Currencies", count=8, status=0, latency=0.4))
    barrier = threading.Barrier(8)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        response = client.get("/Currencies")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 5 and statuses.count(429) == 3
    refused = [r for r in results if r.status_code == 429]
    assert all(r.headers["X-Rate-Limit-Problem"] == "concurrent" for r in refused)
    assert sim.limits.peak_in_flight[sim.credentials["tenant_id"]] == 5
    assert sim.limits.in_flight(sim.credentials["tenant_id"]) == 0
    assert client.get("/Currencies").status_code == 200


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_errors_still_carry_limit_headers(status: int) -> None:
    faults = FaultInjector()
    sim = XeroSimulator(clock=SimClock(START), faults=faults)
    client = _client(sim)
    faults.add(Fault(route="Organisation", status=status))
    response = client.get("/Organisation")
    assert response.status_code == status
    assert "X-MinLimit-Remaining" in response.headers
    assert client.get("/Organisation").status_code == 200


def test_put_with_idempotency_counts_against_limits(xero: httpx.Client, contact_id: str) -> None:
    headers = {"Idempotency-Key": "count-me"}
    a = put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]})
    b = xero.put("/Invoices", content=_json({"Invoices": [invoice(contact_id)]}), headers=headers)
    c = xero.put("/Invoices", content=_json({"Invoices": [invoice(contact_id)]}), headers=headers)
    remaining = [int(r.headers["X-DayLimit-Remaining"]) for r in (a, b, c)]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 3

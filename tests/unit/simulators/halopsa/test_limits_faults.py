"""The rolling rate limit, injected faults and the request log."""

from __future__ import annotations

import threading

import httpx
import pytest

from revloop.simulators.common import Fault, FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.halopsa import HaloSimulator

from .support import body, sample_data, token_for


def test_429_after_300_requests_in_5_minutes(api: httpx.Client, sim: HaloSimulator, clock: SimClock) -> None:
    for i in range(300):
        assert api.get("/api/Item").status_code == 200, i
        if i % 100 == 99:
            clock.advance(60)
    refused = api.get("/api/Item")
    assert refused.status_code == 429
    assert refused.text == "Rate Limit Reached - 300 Requests per rolling 5 minute window"
    assert "retry-after" not in refused.headers
    assert api.post("/api/Item", json=[{"name": "x"}]).status_code == 429
    assert sim.log.counts()["halopsa GET /api/item"] == 301
    # Rolling: the first 100 fall out of the window 300 s after they were made.
    clock.advance(300 - 180 + 1)
    assert api.get("/api/Item").status_code == 200
    clock.advance(300)
    for _ in range(250):
        assert api.get("/api/Item").status_code == 200


def test_token_endpoint_is_not_rate_limited(api: httpx.Client, sim: HaloSimulator) -> None:
    for _ in range(300):
        api.get("/api/Item")
    assert api.get("/api/Item").status_code == 429
    assert token_for(api, sim)


def test_rate_limit_is_configurable_with_retry_after(clock: SimClock) -> None:
    sim = HaloSimulator(clock=clock, rate_limit=3, rate_window=10, retry_after=True)
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        http.headers["Authorization"] = f"Bearer {token_for(http, sim)}"
        assert [http.get("/api/Item").status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = http.get("/api/Item")
        assert refused.headers["retry-after"] == "10"
        assert "3 Requests" in refused.text
        clock.advance(10)
        assert http.get("/api/Item").status_code == 200


def test_fault_fails_the_next_n_calls_of_a_route(api: httpx.Client, sim: HaloSimulator) -> None:
    sim.faults.add(Fault(route=r"halopsa GET /api/tickets$", count=2, status=503))
    assert api.get("/api/Tickets").status_code == 503
    assert api.get("/api/tickets").status_code == 503
    assert api.get("/api/Client").status_code == 200
    assert api.get("/api/Tickets").status_code == 200
    assert sim.log.counts()["halopsa GET /api/tickets"] == 3


def test_fault_with_custom_body_and_headers(api: httpx.Client, sim: HaloSimulator) -> None:
    sim.faults.add(
        Fault(route="POST /api/actions", status=429, headers={"Retry-After": "30"}, body="slow down")
    )
    refused = api.post("/api/Actions", json=[{"ticket_id": 100, "outcome": "x"}])
    assert refused.status_code == 429 and refused.text == "slow down"
    assert refused.headers["retry-after"] == "30"
    assert body(api.get("/api/Actions", params={"ticket_id": 100}))["record_count"] == 3


def test_drop_after_commit_lands_the_write(api: httpx.Client, sim: HaloSimulator) -> None:
    sim.faults.add(Fault(route="halopsa POST /api/actions", drop_after_commit=True))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/api/Actions", json=[{"ticket_id": 101, "id": 1, "actioninvoicenumber": "INV-7"}])
    landed = body(api.get("/api/Actions/1", params={"ticket_id": 101}))
    assert landed["actioninvoicenumber"] == "INV-7"
    assert sim.log.counts()["halopsa POST /api/actions"] == 1


def test_concurrent_writes_are_safe() -> None:
    sim = HaloSimulator(log=RequestLog(), faults=FaultInjector())
    sim.seed(sample_data())
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
                http.headers["Authorization"] = f"Bearer {token_for(http, sim)}"
                for _ in range(20):
                    response = http.post("/api/Actions", json=[{"ticket_id": 110, "outcome": "Note"}])
                    assert response.status_code == 201
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(a["id"] for a in sim.store.actions.for_ticket(110)) == list(range(1, 81))

"""The HaloPSA simulator served by uvicorn on 127.0.0.1, spoken to over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import uvicorn

from revloop.simulators.common import AsgiBridge, Fault
from revloop.simulators.halopsa import HaloSimulator
from revloop.simulators.halopsa.wire import loads


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[str, HaloSimulator]]:
    sim = HaloSimulator(prefix="/halopsa")
    sim.seed(
        {
            "clients": [{"id": i, "name": f"Client {i}"} for i in range(1, 131)],
            "tickets": [{"id": 7, "client_id": 1, "summary": "Printer"}],
            "actions": [
                {"ticket_id": 7, "id": 1, "outcome": "Remote", "timetaken": Decimal("0.75"), "chargerate": 2}
            ],
        }
    )
    port = _free_port()
    config = uvicorn.Config(
        AsgiBridge(sim), host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/halopsa", sim
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_over_real_http(served: tuple[str, HaloSimulator]) -> None:
    base, sim = served
    with httpx.Client(base_url=base, timeout=10) as http:
        info = http.get("/api/authinfo").json()
        assert info["auth_url"] == f"{base}/auth"
        creds = sim.credentials
        token = http.post(
            f"{info['auth_url']}/token",
            params={"tenant": info["tenant_id"]},
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "scope": "all",
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        clients: list[int] = []
        page_no = 1
        while True:
            response = http.get(
                "/api/Client",
                params={"pageinate": "true", "page_size": 250, "page_no": page_no, "order": "id"},
            )
            page = loads(response.content)
            clients += [c["id"] for c in page["clients"]]
            if not page["clients"] or len(clients) >= page["record_count"]:
                break
            page_no += 1
        assert clients == list(range(1, 131))
        assert page_no == 2

        written = http.post("/api/actions", json=[{"ticket_id": 7, "id": 1, "actioninvoicenumber": "INV-1"}])
        assert written.status_code == 201
        action = loads(http.get("/api/Actions/1", params={"ticket_id": 7}).content)
        assert action["actioninvoicenumber"] == "INV-1"
        assert action["timetaken"] == Decimal("0.75")

        assert http.get("/api/Client", headers={"Authorization": "Bearer nope"}).status_code == 401

        sim.faults.add(Fault(route="halopsa POST /api/actions", drop_after_commit=True))
        with pytest.raises(httpx.HTTPError):
            http.post("/api/Actions", json=[{"ticket_id": 7, "id": 1, "actioninvoicenumber": "INV-2"}])
        action = loads(http.get("/api/Actions/1", params={"ticket_id": 7}).content)
        assert action["actioninvoicenumber"] == "INV-2"
    assert sim.log.counts()["halopsa GET /api/client"] == 3

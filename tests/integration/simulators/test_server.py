"""``revloop simulate``'s combined server over real HTTP: both APIs, the admin API, and the command."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from revloop.demo.generator import generate
from revloop.simulators.server import SimulatorServer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[dict[str, Any], SimulatorServer]]:
    sim = SimulatorServer()
    sim.seed_demo(generate(seed=7, size="small"))
    port = _free_port()
    config = uvicorn.Config(
        sim.asgi(), host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
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
        yield sim.info(f"http://127.0.0.1:{port}"), sim
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def halo_token(http: httpx.Client, info: dict[str, Any]) -> str:
    h = info["halopsa"]
    response = http.post(
        f"{h['auth_url']}/token",
        params={"tenant": h["tenant"]},
        data={
            "grant_type": "client_credentials",
            "client_id": h["client_id"],
            "client_secret": h["client_secret"],
            "scope": "all",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def xero_token(http: httpx.Client, info: dict[str, Any]) -> str:
    x = info["xero"]
    response = http.post(
        x["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": x["client_id"],
            "client_secret": x["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_both_apis_and_the_log(served: tuple[dict[str, Any], SimulatorServer]) -> None:
    info, _ = served
    admin = info["admin_url"]
    with httpx.Client(timeout=10) as http:
        assert http.delete(f"{admin}/log").status_code == 200
        token = halo_token(http, info)
        clients = http.get(
            f"{info['halopsa']['base_url']}/api/Client", headers={"Authorization": f"Bearer {token}"}
        )
        assert clients.status_code == 200 and clients.json()["record_count"] == 8
        xt = xero_token(http, info)
        invoices = http.get(
            f"{info['xero']['api_url']}/Invoices",
            params={"page": 1},
            headers={
                "Authorization": f"Bearer {xt}",
                "xero-tenant-id": info["xero"]["tenant_id"],
                "Accept": "application/json",
            },
        )
        assert invoices.status_code == 200
        assert invoices.json()["Invoices"][0]["Reference"].startswith("revloop:")
        counts = http.get(f"{admin}/log").json()["counts"]
        assert counts["halopsa GET /api/client"] == 1
        assert counts["xero GET /api.xro/2.0/Invoices"] == 1
        assert http.get(f"{admin}/health").json()["status"] == "ok"
        manifest = http.get(f"{admin}/manifest").json()
        assert {m["code"] for m in manifest} >= {"time.unbilled", "xero.drift"}


def test_injected_fault_fails_the_next_call(served: tuple[dict[str, Any], SimulatorServer]) -> None:
    info, _ = served
    admin = info["admin_url"]
    with httpx.Client(timeout=10) as http:
        token = halo_token(http, info)
        fault = {
            "route": "halopsa GET /api/tickets$",
            "count": 1,
            "status": 503,
            "headers": {"Retry-After": "2"},
        }
        assert http.post(f"{admin}/faults", json=fault).status_code == 200
        url = f"{info['halopsa']['base_url']}/api/Tickets"
        first = http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert first.status_code == 503 and first.headers["retry-after"] == "2"
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        http.post(f"{admin}/faults", json={"route": "halopsa GET /api/site$", "count": 5, "status": 500})
        assert http.get(f"{admin}/faults").json()["faults"]
        http.delete(f"{admin}/faults")
        assert http.get(f"{admin}/faults").json()["faults"] == []
        http.post(f"{admin}/faults", json={"route": "halopsa GET /api/site$", "drop_after_commit": True})
        with pytest.raises(httpx.TransportError):
            http.get(f"{info['halopsa']['base_url']}/api/Site", headers={"Authorization": f"Bearer {token}"})


def test_time_travel_and_expiry_end_tokens(served: tuple[dict[str, Any], SimulatorServer]) -> None:
    info, _ = served
    admin = info["admin_url"]
    with httpx.Client(timeout=10) as http:
        token = halo_token(http, info)
        url = f"{info['halopsa']['base_url']}/api/Agent"
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert http.post(f"{admin}/time-travel", json={"seconds": 3700}).status_code == 200
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
        token = halo_token(http, info)
        xt = xero_token(http, info)
        assert http.post(f"{admin}/expire-tokens").status_code == 200
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
        org = http.get(
            f"{info['xero']['api_url']}/Organisation",
            headers={"Authorization": f"Bearer {xt}", "Accept": "application/json"},
        )
        assert org.status_code == 401
        assert http.post(f"{admin}/time-travel", json={"seconds": -5}).status_code == 400


def test_snapshot_restore_round_trip(served: tuple[dict[str, Any], SimulatorServer]) -> None:
    info, _ = served
    admin = info["admin_url"]
    with httpx.Client(timeout=30) as http:
        snapshot = http.get(f"{admin}/snapshot")
        assert snapshot.status_code == 200
        token = halo_token(http, info)
        base = info["halopsa"]["base_url"]
        auth = {"Authorization": f"Bearer {token}"}
        created = http.post(f"{base}/api/Client", json=[{"name": "Added After Snapshot Ltd"}], headers=auth)
        assert created.status_code in (200, 201)
        assert http.get(f"{base}/api/Client", headers=auth).json()["record_count"] == 9
        assert http.post(f"{admin}/restore", content=snapshot.content).status_code == 200
        token = halo_token(http, info)
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get(f"{base}/api/Client", headers=auth).json()["record_count"] == 8
        again = http.get(f"{admin}/snapshot")
        assert json.loads(again.content)["manifest"] == json.loads(snapshot.content)["manifest"]
        assert http.post(f"{admin}/restore", json={"format": "nope"}).status_code == 400


def test_revloop_simulate_prints_credentials_first() -> None:
    code = (
        "import typer; from revloop.cli.simulate import register; "
        "app = typer.Typer(); app.callback()(lambda: None); register(app); app()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "simulate", "--port", "0", "--size", "small"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"halopsa", "xero", "admin_url"}
        with httpx.Client(timeout=10) as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    http.get(f"{info['admin_url']}/health")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            assert halo_token(http, info)
            assert xero_token(http, info)
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_seeded_xero_matches_the_generated_records() -> None:
    from revloop.simulators.common import mock_transport

    msp = generate(seed=7, size="small")
    sim = SimulatorServer()
    sim.seed_demo(msp)
    info = sim.info("http://sim")
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        token = xero_token(http, info)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        seen: dict[str, Any] = {}
        page = 1
        while True:
            body = http.get("/xero/api.xro/2.0/Invoices", params={"page": page}, headers=headers).json()
            seen.update({i["InvoiceID"]: i for i in body["Invoices"]})
            if page >= body["pagination"]["pageCount"]:
                break
            page += 1
    assert len(seen) == len(msp.xero["Invoices"])
    for generated in msp.xero["Invoices"]:
        served = seen[generated["InvoiceID"]]
        assert served["Status"] == generated["Status"], generated["InvoiceNumber"]
        assert str(served["Total"]) == str(generated["Total"]) or float(served["Total"]) == float(
            generated["Total"]
        )
        assert float(served["AmountDue"]) == float(generated["AmountDue"])

"""Seeding (fast, Halo's defaults filled in), snapshot/restore, and the JSON wire helpers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from revloop.simulators.common import SimClock, mock_transport
from revloop.simulators.halopsa import HaloSimulator
from revloop.simulators.halopsa.wire import EMPTY_DATE, dumps, format_dt, loads, normalise_dt, parse_dt

from .support import body, token_for


def test_snapshot_restore_round_trip(api: httpx.Client, sim: HaloSimulator, clock: SimClock) -> None:
    api.post("/api/Actions", json=[{"ticket_id": 100, "outcome": "Remote", "timetaken": "1.25"}])
    api.post("/api/Invoice", json=[{"client_id": 10, "lines": [{"qty_order": 1, "unit_price": "9.99"}]}])
    snap = sim.snapshot()
    text = json.dumps(snap)  # JSON-able as it is
    before = {
        path: api.get(path).content
        for path in (
            "/api/Actions?ticket_id=100",
            "/api/Invoice?includelines=true",
            "/api/Client?count=500",
            "/api/Holiday",
            "/api/ChargeRate",
            "/api/Tickets/100",
        )
    }

    api.post("/api/Actions", json=[{"ticket_id": 100, "outcome": "Later"}])
    api.delete("/api/Client/10")
    other = HaloSimulator(clock=clock)
    other.restore(json.loads(text))
    sim.restore(snap)
    for target in (sim, other):
        with httpx.Client(transport=mock_transport(target), base_url="http://sim") as http:
            http.headers["Authorization"] = api.headers["Authorization"]  # tokens are part of the state
            for path, content in before.items():
                assert http.get(path).content == content, path
            created = body(http.post("/api/Actions", json=[{"ticket_id": 100, "outcome": "Again"}]))
            assert created["id"] == 5
            invoice = body(http.post("/api/Invoice", json=[{"client_id": 10, "lines": [{"unit_price": 1}]}]))
            assert invoice["id"] == 903 and invoice["lines"][0]["id"] > 71


def test_restore_rejects_foreign_snapshots(sim: HaloSimulator) -> None:
    with pytest.raises(ValueError):
        sim.restore({"store": {"format": "something-else"}})


def test_seed_fills_defaults_and_accepts_aliases(clock: SimClock) -> None:
    sim = HaloSimulator(clock=clock)
    sim.seed(
        {
            "Client": [{"id": 3, "name": "A"}],
            "tickets": [{"id": 7, "client_id": 3}],
            "action": [{"ticket_id": 7, "outcome": "x"}, {"ticket_id": 7, "outcome": "y"}],
        }
    )
    client = sim.store.tables["client"].get(3)
    assert client is not None and client["inactive"] is False and client["datecreated"] == EMPTY_DATE
    assert client["alastupdate"] == "2026-09-01T12:00:00.000"
    assert [a["id"] for a in sim.store.actions.for_ticket(7)] == [1, 2]
    with pytest.raises(KeyError):
        sim.seed({"nonsense": []})
    sim.seed({"clients": [{"id": 4, "name": "B"}]}, replace=True)
    assert list(sim.store.tables["client"].rows) == [4]


def test_seed_200k_actions_fast() -> None:
    sim = HaloSimulator(clock=SimClock(datetime(2026, 9, 1, tzinfo=UTC)))
    tickets = [{"id": t, "client_id": 1 + t % 50, "summary": f"T{t}"} for t in range(1, 20_001)]
    actions = [
        {
            "ticket_id": 1 + i // 10,
            "id": 1 + i % 10,
            "outcome": "Remote Support",
            "who_agentid": 5,
            "timetaken": Decimal("0.25"),
            "chargerate": 2,
            "datetime": "2026-08-03T10:00:00",
        }
        for i in range(200_000)
    ]
    started = time.perf_counter()
    sim.seed({"tickets": tickets, "actions": actions})
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, elapsed
    assert len(sim.store.actions) == 200_000
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        http.headers["Authorization"] = f"Bearer {token_for(http, sim)}"
        data = body(http.get("/api/Actions", params={"ticket_id": 777}))
        assert data["record_count"] == 10
        window = body(
            http.get("/api/Actions", params={"startdate": "2026-08-03", "enddate": "2026-08-03", "count": 10})
        )
        assert window["record_count"] == 200_000
        assert len(window["actions"]) == 10


def test_wire_numbers_round_trip_exactly() -> None:
    value = {"a": Decimal("0.1"), "b": Decimal("2"), "c": Decimal("1E+2"), "d": 3, "e": "x\u0000y", "f": None}
    text = dumps(value)
    assert text == '{"a":0.1,"b":2.0,"c":1E+2,"d":3,"e":"x\\u0000y","f":null}'
    back = loads(text)
    assert back["a"] == Decimal("0.1") and isinstance(back["a"], Decimal)
    assert back["d"] == 3 and isinstance(back["d"], int)
    assert loads("[0.30000000000000004]") == [Decimal("0.30000000000000004")]


def test_wire_dates() -> None:
    assert parse_dt("1900-01-01T00:00:00") is None
    assert parse_dt("1899-12-30T00:00:00") is None
    assert parse_dt("2026-09-01T09:15:00Z") == datetime(2026, 9, 1, 9, 15)
    assert parse_dt("2026-09-01T09:15:00.123") == datetime(2026, 9, 1, 9, 15, 0, 123000)
    assert normalise_dt("2026-09-01T11:15:00+02:00") == "2026-09-01T09:15:00"
    assert normalise_dt(None) == EMPTY_DATE
    assert format_dt(None) == EMPTY_DATE
    assert (
        format_dt(datetime(2026, 9, 1, 9, 15, 0, 5000, tzinfo=UTC), fraction=True)
        == "2026-09-01T09:15:00.005"
    )

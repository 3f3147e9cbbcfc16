"""The HaloPSA client against the HaloPSA simulator, in-process: paging past the 100-row cap, 429
storms, server errors, lost responses, expired tokens, write-back and malformed records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.halopsa.pacing import RetryPolicy, Wait
from revloop.domain.issues import AuthError, ConnectorError, RateLimited, RemoteUnavailable
from revloop.simulators.common import Fault, SimClock
from revloop.simulators.halopsa import HaloSimulator

from .conftest import TravelSleep, halo_client, halo_sim


def _clients(n: int) -> list[dict[str, object]]:
    return [{"id": i, "name": f"Client {i:03d}"} for i in range(1, n + 1)]


def _ticket_with_actions(ticket_id: int, n: int) -> dict[str, list[dict[str, object]]]:
    actions = [
        {
            "id": i,
            "ticket_id": ticket_id,
            "outcome": "Remote Support",
            "who_agentid": 5,
            "timetaken": Decimal("0.25"),
            "chargerate": 2,
            "actionarrivaldate": "2026-10-01T09:00:00",
        }
        for i in range(1, n + 1)
    ]
    return {"tickets": [{"id": ticket_id, "client_id": 1, "summary": "Busy"}], "actions": actions}


def test_paging_gets_every_record_past_the_100_cap(hsim: HaloSimulator, travel: TravelSleep) -> None:
    hsim.seed({"clients": _clients(257)})
    with halo_client(hsim, travel, page_size=1000) as client:  # Halo silently caps pages at 100
        got = client.clients()
    assert got.issues == []
    assert sorted(int(r.source_key) for r in got.records) == list(range(1, 258))
    assert hsim.log.counts()["halopsa GET /api/client"] == 3


def test_paging_stops_on_the_real_page_length_without_an_extra_call(
    hsim: HaloSimulator, halo: HaloClient
) -> None:
    hsim.seed({"clients": _clients(200)})
    assert len(halo.list_all("Client")) == 200
    assert hsim.log.counts()["halopsa GET /api/client"] == 2


def test_time_entries_of_a_ticket_are_mapped_to_minutes(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed(_ticket_with_actions(42, 130))
    got = halo.time_entries(42, client_id=1)
    assert got.issues == []
    assert len(got.records) == 130
    first = got.records[0]
    assert first.source_key == "42/1"
    assert first.minutes == Decimal("15.00")
    assert first.client_id == 1
    assert first.start_utc.tzinfo is not None


def test_a_429_storm_is_waited_out_and_reported(hsim: HaloSimulator, travel: TravelSleep) -> None:
    hsim.seed({"clients": _clients(150)})
    hsim.faults.add(Fault(route=r"halopsa GET /api/client$", count=4, status=429))
    waits: list[Wait] = []
    with halo_client(hsim, travel, waits) as client:
        got = client.clients()
    assert len(got.records) == 150
    limited = [w for w in waits if w.reason == "rate_limited"]
    assert len(limited) == 4
    assert limited[0].seconds >= 10  # no Retry-After: a backoff that matters against a 5-minute window


def test_retry_after_is_honoured_when_halo_sends_it(hsim: HaloSimulator, travel: TravelSleep) -> None:
    hsim.seed({"clients": _clients(5)})
    hsim.faults.add(Fault(route=r"GET /api/client$", count=1, status=429, headers={"Retry-After": "37"}))
    with halo_client(hsim, travel) as client:
        assert len(client.clients().records) == 5
    assert travel.pauses == [37.0]


def test_the_real_rolling_limit_is_survived(clock: SimClock, travel: TravelSleep) -> None:
    sim = halo_sim(clock, rate_limit=4, rate_window=60.0)
    sim.seed({"clients": _clients(1000)})
    waits: list[Wait] = []
    # the client's own throttle is set higher than the server's limit, so the server's 429s happen
    with halo_client(sim, travel, waits, rate_limit=1000) as client:
        got = client.clients()
    assert len(got.records) == 1000
    assert any(w.reason == "rate_limited" for w in waits)


def test_the_clients_own_throttle_avoids_429s(clock: SimClock, travel: TravelSleep) -> None:
    sim = halo_sim(clock, rate_limit=10, rate_window=60.0)
    sim.seed({"clients": _clients(1000)})
    waits: list[Wait] = []
    with halo_client(sim, travel, waits, rate_limit=9, rate_window=60.0) as client:
        assert len(client.clients().records) == 1000
    assert {w.reason for w in waits} == {"throttle"}
    statuses = {e["status"] for e in sim.log.entries}
    assert 429 not in statuses


def test_server_errors_on_reads_are_retried(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed({"clients": _clients(120)})
    hsim.faults.add(Fault(route=r"GET /api/client$", count=2, status=503))
    hsim.faults.add(Fault(route=r"GET /api/client$", count=1, status=502))
    assert len(halo.clients().records) == 120


def test_server_errors_that_never_stop_become_remote_unavailable(
    hsim: HaloSimulator, travel: TravelSleep
) -> None:
    hsim.faults.add(Fault(route=r"GET /api/client$", count=50, status=500, body="boom"))
    client = halo_client(hsim, travel, retry=RetryPolicy(attempts=3))
    with client, pytest.raises(RemoteUnavailable) as caught:
        client.clients()
    assert "500" in caught.value.message


def test_a_429_that_never_stops_becomes_rate_limited(hsim: HaloSimulator, travel: TravelSleep) -> None:
    hsim.faults.add(Fault(route=r"GET /api/client$", count=50, status=429))
    client = halo_client(hsim, travel, retry=RetryPolicy(rate_limited_attempts=3))
    with client, pytest.raises(RateLimited):
        client.clients()


def test_a_dropped_response_on_a_get_is_retried(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed({"clients": _clients(30)})
    hsim.faults.add(Fault(route=r"GET /api/client$", count=1, drop_after_commit=True))
    assert len(halo.clients().records) == 30


def test_token_expiry_mid_run_recovers(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed({"clients": _clients(250)})
    seen = 0
    for _record in halo.iter_pages("Client"):
        seen += 1
        if seen == 100:
            hsim.expire_all_tokens()
    assert seen == 250
    assert halo.auth.tokens_fetched == 2


def test_tokens_are_reused_until_near_expiry(
    hsim: HaloSimulator, halo: HaloClient, travel: TravelSleep
) -> None:
    hsim.seed({"clients": _clients(3)})
    halo.clients()
    halo.clients()
    assert halo.auth.tokens_fetched == 1
    travel(3600 - 30)  # inside the refresh margin
    halo.clients()
    assert halo.auth.tokens_fetched == 2
    assert hsim.log.counts()["halopsa POST /auth/token"] == 2


def test_bad_credentials_are_an_auth_error_without_the_secret(hsim: HaloSimulator) -> None:
    from revloop.simulators.common import mock_transport

    secret = "not-the-secret-value-123"
    client = HaloClient(
        "http://sim/api", "http://sim/auth", "revloop-demo-client", secret, transport=mock_transport(hsim)
    )
    with client, pytest.raises(AuthError) as caught:
        client.clients()
    assert secret not in caught.value.one_line()
    assert "invalid_client" in caught.value.message


def test_invoice_number_write_back(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed(_ticket_with_actions(7, 3))
    saved = halo.set_action_invoice_number(7, 2, "INV-0042")
    assert saved["actioninvoicenumber"] == "INV-0042"
    numbers = {r.source_key: r.invoice_number for r in halo.time_entries(7).records}
    assert numbers == {"7/1": None, "7/2": "INV-0042", "7/3": None}


def test_write_back_is_retried_after_a_lost_response(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed(_ticket_with_actions(7, 1))
    hsim.faults.add(Fault(route=r"POST /api/actions$", count=1, drop_after_commit=True))
    saved = halo.set_action_invoice_number(7, 1, "INV-7")
    assert saved["actioninvoicenumber"] == "INV-7"
    assert len(halo.time_entries(7).records) == 1


def test_a_create_is_not_repeated_after_a_lost_response(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.faults.add(Fault(route=r"POST /api/client$", count=1, drop_after_commit=True))
    with pytest.raises(RemoteUnavailable):
        halo.upsert_clients([{"name": "New Co"}])
    assert [c.name for c in halo.clients().records] == ["New Co"]  # created once, not twice


def test_upserts_create_and_update(hsim: HaloSimulator, halo: HaloClient) -> None:
    created = halo.upsert_clients([{"name": "Alpha"}, {"name": "Beta"}])
    assert [c["name"] for c in created] == ["Alpha", "Beta"]
    halo.upsert_clients([{"id": created[0]["id"], "name": "Alpha Ltd"}])
    assert sorted(c.name for c in halo.clients().records) == ["Alpha Ltd", "Beta"]
    items = halo.upsert_items([{"name": "Backup", "baseprice": Decimal("12.3456")}])
    assert items[0]["baseprice"] == Decimal("12.3456")
    assert halo.items().records[0].price == Decimal("12.3456")


def test_a_malformed_record_is_an_issue_and_the_page_goes_on(hsim: HaloSimulator, halo: HaloClient) -> None:
    data = _ticket_with_actions(9, 3)
    data["actions"][1].update(actionarrivaldate="1900-01-01T00:00:00", datetime="", actiondatecreated=None)
    data["actions"][2]["timetaken"] = "lots"
    hsim.seed(data)
    got = halo.time_entries(9)
    assert [r.source_key for r in got.records] == ["9/1"]
    assert [i.subject for i in got.issues] == ["halopsa time_entry 9/2", "halopsa time_entry 9/3"]
    assert {i.code for i in got.issues} == {"halopsa.malformed"}
    assert "no date" in got.issues[0].message
    assert "timetaken" in got.issues[1].message


def test_sites_with_decimal_client_ids_and_bare_array_agents(hsim: HaloSimulator, halo: HaloClient) -> None:
    hsim.seed(
        {
            "clients": _clients(2),
            "sites": [{"id": 3, "name": "HQ", "client_id": 2}],
            "agents": [{"id": 5, "name": "Alice", "costprice": Decimal("45.50")}],
        }
    )
    sites = halo.sites().records
    assert sites[0].client_id == 2  # the wire says 2.0
    agents = {a.name: a for a in halo.agents().records}
    assert agents["Alice"].hourly_cost == Decimal("45.50")


def test_a_wrong_tenant_is_reported_with_a_hint(hsim: HaloSimulator, travel: TravelSleep) -> None:
    from revloop.simulators.common import mock_transport
    from revloop.simulators.halopsa import DEMO_CREDENTIALS

    client = HaloClient(
        "http://sim/api",
        "http://sim/auth",
        DEMO_CREDENTIALS["client_id"],
        DEMO_CREDENTIALS["client_secret"],
        tenant="someone-else",
        transport=mock_transport(hsim),
        sleep=travel,
    )
    with client, pytest.raises(RemoteUnavailable) as caught:
        client.clients()
    assert "tenant" in caught.value.hint


def test_built_from_settings(hsim: HaloSimulator, travel: TravelSleep) -> None:
    from revloop.config import load_settings
    from revloop.simulators.common import mock_transport
    from revloop.simulators.halopsa import DEMO_CREDENTIALS

    settings = load_settings(
        halopsa_base_url="http://sim/api",
        halopsa_client_id=DEMO_CREDENTIALS["client_id"],
        halopsa_client_secret=DEMO_CREDENTIALS["client_secret"],
        halopsa_tenant=DEMO_CREDENTIALS["tenant"],
    )
    hsim.seed({"clients": _clients(2)})
    with HaloClient.from_settings(settings, transport=mock_transport(hsim), sleep=travel) as client:
        assert client.auth.token_url == "http://sim/auth/token"
        assert len(client.clients().records) == 2
    with pytest.raises(ConnectorError):
        HaloClient.from_settings(load_settings())


def test_incremental_tickets_and_a_time_window(hsim: HaloSimulator, halo: HaloClient) -> None:
    from datetime import UTC, datetime

    hsim.seed(
        {
            "tickets": [
                {"id": 1, "client_id": 1, "last_update": "2026-09-01T00:00:00"},
                {"id": 2, "client_id": 1, "last_update": "2026-10-03T00:00:00"},
            ],
            "actions": [
                {
                    "id": 1,
                    "ticket_id": 1,
                    "outcome": "x",
                    "timetaken": Decimal("1"),
                    "datetime": "2026-09-30T10:00:00",
                },
                {
                    "id": 1,
                    "ticket_id": 2,
                    "outcome": "x",
                    "timetaken": Decimal("2"),
                    "datetime": "2026-10-02T10:00:00",
                },
            ],
        }
    )
    changed = halo.tickets(updated_since=datetime(2026, 10, 1, tzinfo=UTC))
    assert [t.source_key for t in changed.records] == ["2"]
    window = halo.time_entries(start=datetime(2026, 10, 2, tzinfo=UTC), end=datetime(2026, 10, 3, tzinfo=UTC))
    assert [e.source_key for e in window.records] == ["2/1"]
    with pytest.raises(ValueError):
        halo.time_entries()


def test_a_rejected_write_names_the_problem(halo: HaloClient) -> None:
    with pytest.raises(ConnectorError) as caught:
        halo.post("Actions", [{"outcome": "Remote", "note": "no ticket"}])
    assert "400" in caught.value.message and "ticket_id" in caught.value.message

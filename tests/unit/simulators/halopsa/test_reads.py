"""List and single reads: envelopes, bare arrays, paging and its 100-row cap, filters, wire values."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from revloop.simulators.halopsa import HaloSimulator

from .support import body

ENVELOPES = {
    "Client": "clients",
    "Site": "sites",
    "Tickets": "tickets",
    "ClientContract": "contracts",
    "Invoice": "invoices",
    "RecurringInvoice": "invoices",
    "Item": "items",
    "Asset": "assets",
    "Quotation": "quotes",
    "Expense": "expenses",
    "ClientPrepay": "prepay",
}
BARE = ["Agent", "ChargeRate", "Holiday", "Workday", "Status", "Priority", "Lookup?lookupid=17"]


@pytest.mark.parametrize(("route", "key"), ENVELOPES.items())
def test_list_envelopes(api: httpx.Client, route: str, key: str) -> None:
    data = body(api.get(f"/api/{route}"))
    assert set(data) == {"record_count", key}
    assert data["record_count"] >= len(data[key]) >= 1 or route == "Status"
    assert isinstance(data["record_count"], int)


@pytest.mark.parametrize("route", BARE)
def test_bare_arrays(api: httpx.Client, route: str) -> None:
    assert isinstance(body(api.get(f"/api/{route}")), list)


def test_actions_envelope_even_when_empty(api: httpx.Client) -> None:
    assert body(api.get("/api/Actions?ticket_id=99999")) == {"record_count": 0, "actions": []}


@pytest.mark.parametrize("path", ["/api/Tickets", "/api/tickets", "/API/TICKETS", "/api/tIcKeTs/"])
def test_routes_are_case_insensitive(api: httpx.Client, sim: HaloSimulator, path: str) -> None:
    assert body(api.get(path))["record_count"] == 20
    assert "halopsa GET /api/tickets" in sim.log.counts()


def test_single_get_routes_and_labels(api: httpx.Client, sim: HaloSimulator) -> None:
    assert body(api.get("/api/CLIENT/10"))["name"] == "Client 000"
    assert body(api.get("/api/actions/2", params={"ticket_id": 100}))["timetaken"] == Decimal("0.50")
    counts = sim.log.counts()
    assert counts["halopsa GET /api/client/{id}"] == 1
    assert counts["halopsa GET /api/actions/{id}"] == 1


def test_unknown_ids_and_routes(api: httpx.Client) -> None:
    assert api.get("/api/Client/424242").status_code == 404
    assert api.get("/api/Actions/9999", params={"ticket_id": 100}).status_code == 404
    assert api.get("/api/Actions/1").status_code == 400
    assert api.get("/api/NoSuchThing").status_code == 404
    assert api.get("/api/Client/abc").status_code == 400


# --- paging -------------------------------------------------------------------------------------


def test_page_size_is_silently_capped_at_100(api: httpx.Client) -> None:
    data = body(api.get("/api/Client", params={"pageinate": "true", "page_size": 500, "page_no": 1}))
    assert data["record_count"] == 149
    assert len(data["clients"]) == 100
    assert data["page_size"] == 500
    assert data["page_no"] == 1
    # Pages are cut at the real size: page 2 holds the rest, which a client that computes the page
    # count from the requested page_size (149 / 500 -> 1 page) never asks for.
    second = body(api.get("/api/Client", params={"pageinate": "true", "page_size": 500, "page_no": 2}))
    assert len(second["clients"]) == 49
    assert second["record_count"] == 149
    assert {c["id"] for c in data["clients"]}.isdisjoint(c["id"] for c in second["clients"])


def test_looping_on_the_real_page_length_reaches_every_record(api: httpx.Client) -> None:
    seen: list[int] = []
    page_no = 1
    while True:
        data = body(
            api.get(
                "/api/Client",
                params={"pageinate": "true", "page_size": 1000, "page_no": page_no, "order": "id"},
            )
        )
        seen += [c["id"] for c in data["clients"]]
        if not data["clients"] or len(seen) >= data["record_count"]:
            break
        page_no += 1
    assert len(seen) == len(set(seen)) == 149
    assert seen == sorted(seen)
    assert page_no == 2


def test_small_pages(api: httpx.Client) -> None:
    pages = [
        body(api.get("/api/Tickets", params={"pageinate": "true", "page_size": 7, "page_no": n}))
        for n in (1, 2, 3, 4)
    ]
    assert [len(p["tickets"]) for p in pages] == [7, 7, 6, 0]
    ids = [t["id"] for p in pages for t in p["tickets"]]
    assert len(set(ids)) == 20


def test_without_pageinate_count_defaults_to_50(api: httpx.Client) -> None:
    data = body(api.get("/api/Client"))
    assert len(data["clients"]) == 50
    assert data["record_count"] == 149
    assert "page_no" not in data
    assert len(body(api.get("/api/Client", params={"count": 100000}))["clients"]) == 149
    assert len(body(api.get("/api/Client", params={"count": 5}))["clients"]) == 5


def test_default_order_is_id_descending_and_order_params_work(api: httpx.Client) -> None:
    ids = [t["id"] for t in body(api.get("/api/Tickets"))["tickets"]]
    assert ids == sorted(ids, reverse=True)
    asc = [t["id"] for t in body(api.get("/api/Tickets", params={"order": "id"}))["tickets"]]
    assert asc == sorted(asc)
    by_client = body(
        api.get("/api/Tickets", params={"order": "client_id", "orderdesc": "true", "order2": "id"})
    )["tickets"]
    keys = [(t["client_id"], t["id"]) for t in by_client]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))


# --- shapes and values --------------------------------------------------------------------------


def test_client_list_is_lean_and_single_get_is_full(api: httpx.Client) -> None:
    item = body(api.get("/api/Client", params={"count": 200, "order": "id"}))["clients"][0]
    assert item["id"] == 10
    assert "hourlyrate" not in item and "notes" not in item and "billingplans" not in item
    assert item["accountsid"] == "ACC-10"
    noted = body(api.get("/api/Client", params={"includenotes": "true", "order": "id"}))["clients"][0]
    assert noted["notes"] == "VIP notes"
    assert "alastupdate" not in item
    stamped = body(api.get("/api/Client", params={"lastupdatefromdate": "true", "order": "id"}))["clients"][0]
    assert stamped["alastupdate"] == "2026-08-01T00:00:00"
    one = body(api.get("/api/Client/10"))
    assert one["hourlyrate"] == Decimal("120.00")
    assert one["billingplans"] == []
    assert one["autotaskid"] == -1


def test_nested_collections_only_on_single_get_or_include(api: httpx.Client) -> None:
    listed = body(api.get("/api/ClientContract", params={"order": "id"}))["contracts"][0]
    assert "billingplans" not in listed
    single = body(api.get("/api/ClientContract/500"))
    assert single["billingplans"][0]["chargerate_id"] == 2
    assert "lines" not in body(api.get("/api/Invoice"))["invoices"][0]
    with_lines = body(api.get("/api/Invoice", params={"includelines": "true", "order": "id"}))["invoices"][0]
    assert with_lines["lines"][0]["unit_price"] == Decimal("1500.00")


def test_empty_dates_are_1900_and_dates_are_naive(api: httpx.Client) -> None:
    ticket = body(api.get("/api/Tickets/100"))
    assert ticket["dateclosed"] == "1900-01-01T00:00:00"
    assert ticket["dateoccurred"] == "2026-08-01T09:00:00"
    raw = api.get("/api/Tickets/100").text
    assert "null" not in raw.replace('"note_html":null', "")
    assert "+00:00" not in raw and 'Z"' not in raw


def test_hours_and_money_are_exact_decimals(api: httpx.Client) -> None:
    raw = api.get("/api/Actions", params={"ticket_id": 100}).text
    assert '"timetaken":0.25' in raw and '"timetaken":0.50' in raw and '"timetaken":0.75' in raw
    assert '"traveltime":0.0' in raw
    actions = body(api.get("/api/Actions", params={"ticket_id": 100}))["actions"]
    assert all(isinstance(a["timetaken"], Decimal) for a in actions)
    rate = body(api.get("/api/ChargeRate"))[0]
    assert rate["rate"] == Decimal("100.00") and '"rate":100.00' in api.get("/api/ChargeRate").text


def test_site_client_id_is_a_double(api: httpx.Client) -> None:
    raw = api.get("/api/Site/20").text
    assert '"client_id":21.0' in raw
    listed = api.get("/api/Site").text
    assert '"client_id":10.0' in listed


def test_action_who_field_present(api: httpx.Client) -> None:
    action = body(api.get("/api/Actions/1", params={"ticket_id": 100}))
    assert action["who"] == "Alice Agent"
    assert action["ticket_id"] == 100


# --- filters ------------------------------------------------------------------------------------


def test_ticket_filters(api: httpx.Client) -> None:
    def ids(**params: str | int) -> list[int]:
        data = body(api.get("/api/Tickets", params={"count": 1000, "order": "id", **params}))
        return [t["id"] for t in data["tickets"]]

    assert ids(client_id=10) == [100, 103, 106, 109, 112, 115, 118]
    assert ids(client_ids="11,12")[:2] == [101, 102]
    assert ids(contract_id=500) == [100, 103, 106, 109, 112, 115, 118]
    assert 105 not in ids(open_only="true")
    assert ids(closed_only="true") == [105]
    assert ids(parent_id=105) == [106]
    assert ids(ticketids="101,104,777") == [101, 104]
    assert ids(startdate="2026-08-03", enddate="2026-08-05") == [102, 103, 104]
    assert ids(datesearch="datecleared", startdate="2026-08-10T00:00:00", enddate="2026-08-11") == [105]
    assert ids(search="ticket 1") == [101, *range(110, 120)]
    assert ids(ready_for_invoicing="true") == [100, 101, 102, 103]


def test_includechildids(api: httpx.Client) -> None:
    parent = body(api.get("/api/Tickets/105", params={"includechildids": "true"}))
    assert parent["child_ticket_ids"] == [106]
    listed = body(api.get("/api/Tickets", params={"includechildids": "true", "ticketids": "105"}))
    assert listed["tickets"][0]["child_ticket_ids"] == [106]


def test_actions_need_a_ticket_or_a_date_window(api: httpx.Client) -> None:
    assert body(api.get("/api/Actions"))["record_count"] == 0
    assert body(api.get("/api/Actions", params={"startdate": "2026-08-01"}))["record_count"] == 0
    window = body(
        api.get("/api/Actions", params={"startdate": "2026-08-02T00:00:00", "enddate": "2026-08-03T23:59:59"})
    )
    assert {(a["ticket_id"], a["id"]) for a in window["actions"]} == {
        (t, n) for t in (101, 102) for n in (1, 2, 3)
    }
    assert body(api.get("/api/Actions", params={"ticket_id": 100}))["record_count"] == 3
    assert body(api.get("/api/Actions", params={"ticket_id": 100, "count": 2}))["record_count"] == 3
    assert len(body(api.get("/api/Actions", params={"ticket_id": 100, "count": 2}))["actions"]) == 2
    bad = api.get(
        "/api/Actions",
        params={"ticket_id": 100, "startdate": "2026-08-01", "enddate": "2026-08-02", "datesearch": "nope"},
    )
    assert bad.status_code == 400


def test_action_window_limit_is_configurable(clock: object) -> None:
    from revloop.simulators.common import mock_transport

    from .support import sample_data, token_for

    sim = HaloSimulator(action_window_days=1)
    sim.seed(sample_data())
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        http.headers["Authorization"] = f"Bearer {token_for(http, sim)}"
        assert http.get(
            "/api/Actions", params={"startdate": "2026-08-01", "enddate": "2026-08-01"}
        ).is_success
        assert (
            http.get("/api/Actions", params={"startdate": "2026-08-01", "enddate": "2026-08-09"}).status_code
            == 400
        )


def test_timeentriesonly(api: httpx.Client, sim: HaloSimulator) -> None:
    sim.seed({"actions": [{"ticket_id": 100, "id": 9, "outcome": "Note", "timetaken": Decimal("0")}]})
    assert body(api.get("/api/Actions", params={"ticket_id": 100}))["record_count"] == 4
    assert (
        body(api.get("/api/Actions", params={"ticket_id": 100, "timeentriesonly": "true"}))["record_count"]
        == 3
    )


def test_client_filters(api: httpx.Client) -> None:
    active = body(api.get("/api/Client", params={"count": 500}))
    assert 11 not in [c["id"] for c in active["clients"]]
    every = body(api.get("/api/Client", params={"count": 500, "includeinactive": "true"}))
    assert every["record_count"] == 150
    only_inactive = body(api.get("/api/Client", params={"activeinactive": "false,true"}))
    assert [c["id"] for c in only_inactive["clients"]] == [11]
    assert body(api.get("/api/Client", params={"search": "client 14"}))["record_count"] == 10


def test_contract_filters(api: httpx.Client) -> None:
    def ids(**params: str | int) -> list[int]:
        return sorted(c["id"] for c in body(api.get("/api/ClientContract", params=params))["contracts"])

    assert ids() == [500, 502, 503]
    assert ids(includeinactive="true") == [500, 501, 502, 503]
    assert ids(client_id=11) == [502, 503]
    assert ids(client_id=11, excluderenewed="true") == [502]


def test_charge_rate_and_lookup_filters(api: httpx.Client) -> None:
    assert [r["id"] for r in body(api.get("/api/ChargeRate", params={"client_id": 10}))] == [2]
    assert [r["id"] for r in body(api.get("/api/ChargeRate", params={"globalonly": "true"}))] == [1]
    assert [r["id"] for r in body(api.get("/api/ChargeRate", params={"contract_id": 500}))] == [3]
    assert body(api.get("/api/ChargeRate/1"))["minimum"] == Decimal("15.0")
    names = [x["name"] for x in body(api.get("/api/Lookup", params={"lookupid": 17}))]
    assert names == ["No Charge", "Remote Support", "On-site"]
    charged = body(api.get("/api/Lookup", params={"lookupid": 17, "exclude_nocharge": "true"}))
    assert [x["id"] for x in charged] == [2, 3]


def test_invoice_filters(api: httpx.Client) -> None:
    def ids(**params: str | int) -> list[int]:
        return sorted(i["id"] for i in body(api.get("/api/Invoice", params=params))["invoices"])

    assert ids() == [900, 901]
    assert ids(client_id=10) == [900]
    assert ids(postedonly="true") == [900]
    assert ids(notpostedonly="true") == [901]
    assert ids(includecredits="false") == [900]
    assert ids(startdate="2026-08-01", enddate="2026-08-31") == [900]
    recurring = body(api.get("/api/RecurringInvoice"))["invoices"]
    assert [r["id"] for r in recurring] == [50]
    assert recurring[0]["is_recurring_invoice"] is True


def test_agent_filters_and_me(api: httpx.Client) -> None:
    assert [a["id"] for a in body(api.get("/api/Agent"))] == [5]
    everyone = body(
        api.get(
            "/api/Agent",
            params={"includedisabled": "true", "includeunassigned": "true", "includeapiagents": "true"},
        )
    )
    assert [a["id"] for a in everyone] == [1, 2, 5, 6]
    assert body(api.get("/api/Agent/me"))["isapiagent"] is True


def test_other_resource_filters(api: httpx.Client) -> None:
    assert [i["id"] for i in body(api.get("/api/Item", params={"recurringonly": "true"}))["items"]] == [2]
    assert body(api.get("/api/Asset", params={"contract_id": 500}))["record_count"] == 1
    assert body(api.get("/api/Quotation", params={"client_id": 11}))["record_count"] == 0
    assert body(api.get("/api/Expense", params={"ticket_id": 100}))["record_count"] == 1
    assert body(api.get("/api/ClientPrepay", params={"client_id": 10}))["record_count"] == 1
    holidays = body(api.get("/api/Holiday", params={"start_date": "2026-08-30", "end_date": "2026-09-01"}))
    assert [h["name"] for h in holidays] == ["Summer bank holiday"]
    assert body(api.get("/api/Holiday", params={"start_date": "2026-09-02"})) == []
    workday = body(api.get("/api/Workday/1", params={"showholidays": "true"}))
    assert workday["holidays"][0]["holid"] == 1
    assert "holidays" not in body(api.get("/api/Workday/1"))


def test_idonly_and_includeclosed(api: httpx.Client) -> None:
    ids = body(api.get("/api/Client", params={"idonly": "true", "count": 2, "order": "id"}))["clients"]
    assert ids == [{"id": 10, "name": "Client 000"}, {"id": 12, "name": "Client 002"}]
    open_tickets = body(api.get("/api/Tickets", params={"includeclosed": "false", "count": 100}))
    assert 105 not in [t["id"] for t in open_tickets["tickets"]]


def test_a_write_between_pages_shows_on_the_next_page(api: httpx.Client) -> None:
    """Later pages of a query are served from page 1's matches only while nothing is written."""
    params = {"pageinate": "true", "page_size": 100, "order": "id"}
    first = body(api.get("/api/Client", params={**params, "page_no": 1}))
    assert first["record_count"] == 149
    created = api.post("/api/Client", json=[{"name": "Zz Added Between Pages Ltd"}])
    assert created.status_code in (200, 201)
    second = body(api.get("/api/Client", params={**params, "page_no": 2}))
    assert second["record_count"] == 150
    assert "Zz Added Between Pages Ltd" in {c["name"] for c in second["clients"]}

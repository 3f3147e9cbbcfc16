"""The settings pages: charge types and rate rows (adding a local row, as ``revloop rate add``), the
calendars in force, and the cost model (both methods; setting an agent's cost, as ``revloop costs
set``). Finance views, admins change, nobody else gets in; money only for roles that see money."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web.roles import Role

from .test_pages import _token

PAGES = ("/settings", "/settings/calendars", "/settings/costs")
API = ("/api/settings/rates", "/api/settings/calendars", "/api/settings/costs")


def test_who_sees_and_who_changes(client_for: Callable[[Role], TestClient]) -> None:
    for role, expected in (
        (Role.ADMIN, 200),
        (Role.FINANCE, 200),
        (Role.SERVICE_MANAGER, 403),
        (Role.TECHNICIAN, 403),
    ):
        client = client_for(role)
        for path in PAGES + API:
            assert client.get(path).status_code == expected, (role, path)
    finance = client_for(Role.FINANCE)
    assert "£95.00" in finance.get("/settings").text  # finance sees the rates
    assert "Add a local rate row" not in finance.get("/settings").text
    refused = finance.post(
        "/api/settings/rates", json={"charge_type": "remote", "effective_from": "2026-11-01"}
    )
    assert refused.status_code == 403
    refused = finance.post("/api/settings/costs/alice", json={"effective_from": "2026-11-01", "salary": "1"})
    assert refused.status_code == 403
    assert (
        finance.post("/settings/rates", data={"csrf_token": _token(finance.get("/").text)}).status_code == 403
    )
    technician = client_for(Role.TECHNICIAN)
    assert "/settings" not in technician.get("/").text.split("<main")[0]  # no link in the menu


def test_rate_rows_are_listed(client_for: Callable[[Role], TestClient]) -> None:
    data = client_for(Role.FINANCE).get("/api/settings/rates").json()
    [remote] = data["charge_types"]
    assert remote["code"] == "remote" and data["currency"] == "GBP"
    scopes = [(r["scope"], r["customer"], r["hourly_rate"], r["percent"]) for r in remote["rates"]]
    assert scopes == [("global", None, "95.0000", None), ("customer", "globex", None, "90.0000")]
    assert remote["rates"][0]["holiday_multiplier"] == "2.0000" and remote["rates"][0]["rounding"] == "up"


def test_add_a_rate_row_on_the_page_and_see_it(store: App, client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.ADMIN)
    page = client.get("/settings")
    assert "Add a local rate row" in page.text
    form = {
        "csrf_token": _token(page.text),
        "charge_type": "remote",
        "effective_from": "2026-12-01",
        "customer": "acme",
        "hourly_rate": "110.50",
        "ooh_multiplier": "1.75",
        "rounding": "nearest",
    }
    done = client.post("/settings/rates", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/settings?done=rate"
    shown = client.get("/settings?done=rate").text
    assert "Rate row added" in shown and "£110.50" in shown and "customer acme" in shown
    assert "out of hours ×1.75" in shown
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.rate_rows).where(t.rate_rows.c.hourly_rate == Decimal("110.50"))).one()
        journal = conn.execute(
            sa.select(t.audit_journal.c.actor).where(t.audit_journal.c.action == "rate.add")
        ).scalar_one()
    assert (row.scope, row.source, str(row.effective_from)) == ("customer", "local", "2026-12-01")
    assert journal == "admin"
    bad = client.post("/settings/rates", data={**form, "hourly_rate": "lots"})
    assert bad.status_code == 400 and "not a number" in bad.text
    both = client.post("/settings/rates", data={**form, "percent": "90"})
    assert both.status_code == 400 and "not both" in both.text


def test_add_a_rate_row_through_the_api(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.ADMIN)
    added = client.post(
        "/api/settings/rates",
        json={"charge_type": "remote", "effective_from": "2027-01-01", "hourly_rate": "99.5"},
    )
    assert added.status_code == 200, added.text
    rows = added.json()["charge_types"][0]["rates"]
    assert ("global", "2027-01-01", "99.5000", "local") in [
        (r["scope"], r["effective_from"], r["hourly_rate"], r["source"]) for r in rows
    ]
    for body, status, text in (
        (
            {"charge_type": "remote", "effective_from": "2027-01-01", "percent": "90"},
            400,
            "needs an hourly rate",
        ),
        ({"charge_type": "nope", "effective_from": "2027-01-01", "hourly_rate": "1"}, 404, "no charge type"),
        ({"charge_type": "remote", "effective_from": "2027-01-01", "hourly_rate": "-1"}, 422, ""),
        ({"charge_type": "remote", "effective_from": "2027-01-01", "hourly_rate": "1.00001"}, 422, ""),
        (
            {"charge_type": "remote", "effective_from": "2027-01-01", "customer": "nobody", "percent": "5"},
            404,
            "no customer",
        ),
    ):
        refused = client.post("/api/settings/rates", json=body)
        assert refused.status_code == status, (body, refused.text)
        assert text in refused.json()["error"]["message"]


def test_calendars_show_the_holidays_in_force(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    data = client.get("/api/settings/calendars", params={"year": 2026}).json()
    msp = data["calendars"][0]
    assert msp["source"] == "settings" and data["year"] == 2026
    assert [d["hours"] for d in msp["working_hours"]][:2] == ["08:30-17:30", "08:30-17:30"]
    assert msp["working_hours"][6] == {"day": "sun", "hours": ""}
    days = {h["day"]: h["name"] for h in msp["holidays"]}
    assert days["2026-12-25"] == "Christmas Day"
    page = client.get("/settings/calendars?year=2026").text
    assert "Christmas Day" in page and "Fri 25 Dec 2026" in page


def test_costs_both_methods_and_setting_one(store: App, client_for: Callable[[Role], TestClient]) -> None:
    admin = client_for(Role.ADMIN)
    page = admin.get("/settings/costs")
    assert "Set an agent&#39;s cost" in page.text or "Set an agent's cost" in page.text
    assert "No agent has a cost yet." in page.text
    done = admin.post(
        "/settings/costs",
        data={
            "csrf_token": _token(page.text),
            "agent": "alice",
            "effective_from": "2026-01-01",
            "salary": "48000",
            "oncost_percent": "20",
            "productive_hours": "1600",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/settings/costs?done=cost"
    shown = admin.get("/settings/costs?on=2026-10-31&done=cost").text
    assert "Agent&#39;s cost set." in shown or "Agent's cost set." in shown
    assert "36.00" in shown  # 48000 × 1.2 / 1600
    api = admin.post("/api/settings/costs/bob", json={"effective_from": "2026-02-01", "hourly_cost": "41.5"})
    assert api.status_code == 200, api.text
    agents = {a["name"]: a for a in api.json()["agents"]}
    assert agents["alice"]["salary_rate"] == "36.0000" and agents["bob"]["salary_rate"] == "41.5000"
    assert agents["bob"]["effective_from"] == "2026-02-01"
    finance = client_for(Role.FINANCE).get("/api/settings/costs", params={"on": "2026-10-31"}).json()
    assert finance["settings"]["method"] == "salary" and "[costs]" in finance["settings"]["where"]
    assert {a["agent"] for a in finance["all_agents"]} == {"alice", "bob"}
    missing = admin.post("/api/settings/costs/nobody", json={"effective_from": "2026-02-01", "salary": "1"})
    assert missing.status_code == 404
    neither = admin.post("/api/settings/costs/alice", json={"effective_from": "2026-02-01"})
    assert neither.status_code == 400 and "no salary and no hourly cost" in neither.json()["error"]["message"]
    with store.engine.connect() as conn:
        actors = set(
            conn.execute(
                sa.select(t.audit_journal.c.actor).where(t.audit_journal.c.action == "costs.set")
            ).scalars()
        )
    assert actors == {"admin"}


def test_item_costs_say_where_they_come_from(store: App, client_for: Callable[[Role], TestClient]) -> None:
    sold = "LIC-TEST"  # a licence sold on: HaloPSA says what one costs the MSP
    with store.engine.begin() as conn:
        conn.execute(t.items.insert().values(code=sold, name="A licence", unit_cost=Decimal("12.3456")))
    body = client_for(Role.FINANCE).get("/api/settings/costs").json()
    found = {i["item_code"]: (i["unit_cost"], i["source"]) for i in body["settings"]["item_unit_costs"]}
    assert found[sold] == ("12.3456", "halopsa")
    page = client_for(Role.ADMIN).get("/settings/costs").text
    assert f"Unit cost of {sold}" in page and "HaloPSA cost price" in page
    hidden = client_for(Role.SERVICE_MANAGER).get("/api/settings/costs")
    assert hidden.status_code == 403 or "12.3456" not in hidden.text

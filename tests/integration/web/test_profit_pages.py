"""The profitability pages and API: the service's figures for finance, hours without money for a
service manager, nothing for a technician; a client's drill-down down to its time entries and invoice
lines; the charts; and the model summed in SQL equal to the one read entry by entry."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.periods import Period
from revloop.domain.profitability import summarise
from revloop.services.profit import report
from revloop.services.profit.costs import CostInput, set_costs
from revloop.services.profit.report import build
from revloop.web import profit_data
from revloop.web.roles import Role

from .conftest import NOW, money_figures
from .profit_store import profit_money, profit_store
from .test_role_matrix import _leaks

__all__ = ["profit_store"]

OCTOBER = {"from": "2026-10", "to": "2026-10"}


def test_finance_sees_the_services_figures(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    data = client.get("/api/profit", params={"by": "client"}).json()
    assert (data["start"], data["end"], data["method"], data["currency"]) == (
        "2025-11",
        "2026-10",
        "salary",
        "GBP",
    )
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["acme"]["revenue"] == "344.38" and rows["acme"]["cost"] == "92.50"
    assert rows["acme"]["margin"] == "251.88" and rows["acme"]["hours"] == "2.25"
    assert rows["acme"]["effective_rate"] == "153.06" and rows["acme"]["margin_percent"] == "73.14"
    assert rows["globex"]["cost"] == "15.00" and rows["globex"]["margin"] == "27.75"
    assert [r["key"] for r in data["rows"]] == ["globex", "acme"]  # lowest margin first
    assert data["total"]["revenue"] == "387.13" and data["total"]["margin"] == "279.63"
    assert len(data["trend"]) == 12 and data["trend"][-1]["cost"] == "107.50"
    assert [m["service_line"] for m in data["service_lines"]][:1] == ["Support"]
    # the same figures as `revloop profit --by client`
    cli = report(
        profit_store, Period(Period.month(2025, 11).start, Period.month(2026, 10).end), ("customer",)
    )
    assert {r.value("customer"): (str(r.revenue), str(r.cost)) for r in cli.rows} == {
        k: (r["revenue"], r["cost"]) for k, r in rows.items()
    }
    page = client.get("/profit", params={"by": "client"})
    assert page.status_code == 200
    for figure in ("£387.13", "£107.50", "£279.63", "251.88", "73.14 %", "Acme Ltd"):
        assert figure in page.text
    assert 'href="/profit/client/acme?' in page.text
    assert 'src="/profit/chart/profit_per_client.svg?' in page.text


def test_rows_by_other_dimensions_and_the_books_method(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.ADMIN)
    by_line = client.get("/api/profit", params={**OCTOBER, "by": "service-line"}).json()
    assert {r["key"]: r["cost"] for r in by_line["rows"]} == {"Projects": "37.50", "Support": "70.00"}
    by_agent = client.get("/api/profit", params={**OCTOBER, "by": "agent"}).json()
    assert {r["label"]: r["cost"] for r in by_agent["rows"]} == {"alice": "30.00", "bob": "77.50"}
    books = client.get("/api/profit", params={**OCTOBER, "method": "books"}).json()
    assert books["method"] == "books" and any(i["code"] == "costs.no_pnl" for i in books["issues"])
    assert client.get("/profit", params={**OCTOBER, "by": "contract", "method": "books"}).status_code == 200


def test_a_clients_drill_down(profit_store: App, client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    data = client.get("/api/profit/client/acme", params=OCTOBER).json()
    assert data["name"] == "Acme Ltd" and data["total"]["margin"] == "251.88"
    assert {r["key"]: r["hours"] for r in data["service_lines"]} == {"Projects": "0.75", "Support": "1.50"}
    assert [m["key"] for m in data["months"]] == ["2026-10"]
    entries = data["entries"]
    assert [(e["date"], e["agent"], e["hours"], e["cost"]) for e in entries] == [
        ("2026-10-12", "bob", "0.75", "37.50"),
        ("2026-10-10", "alice", "0.17", "5.00"),
        ("2026-10-05", "bob", "1.00", "40.00"),
        ("2026-10-05", "alice", "0.33", "10.00"),
    ]
    assert data["entries_page"] == {"page": 1, "pages": 1, "per_page": 100, "count": 4}
    lines = data["lines"]
    assert lines and {line["document"] for line in lines} == {"INV-0101"}
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal("344.38")
    assert all(line["explanation"] for line in lines)
    projects = client.get("/api/profit/client/acme", params={**OCTOBER, "line": "Projects"}).json()
    assert [e["date"] for e in projects["entries"]] == ["2026-10-12"]
    page = client.get("/profit/client/acme", params={**OCTOBER, "line": "Support"})
    assert page.status_code == 200 and "Time entries of Support" in page.text and ">40.00<" in page.text
    assert "INV-0101" in page.text
    assert client.get("/api/profit/client/nobody").status_code == 404
    assert client.get("/profit/client/acme", params={**OCTOBER, "month": "2026-09"}).status_code == 404


def test_a_service_manager_sees_hours_and_no_money(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    figures = (
        money_figures(profit_store) | profit_money(profit_store) | {"92.50", "251.88", "279.63", "107.50"}
    )
    client = client_for(Role.SERVICE_MANAGER)
    data = client.get("/api/profit", params=OCTOBER).json()
    acme = next(r for r in data["rows"] if r["key"] == "acme")
    assert acme["hours"] == "2.25" and acme["revenue"] is None and acme["margin_percent"] is None
    assert acme["utilisation_percent"] == "0.84"  # 2.25 h of two agents × 1,600 h / 12
    assert all(m["revenue"] is None and m["hours"] for m in data["service_lines"])
    responses = [
        client.get("/api/profit", params=OCTOBER),
        client.get("/profit", params=OCTOBER),
        client.get("/api/profit/client/acme", params=OCTOBER),
        client.get("/profit/client/acme", params=OCTOBER),
    ]
    for response in responses:
        assert response.status_code == 200
        assert _leaks(response.text, figures) == [], response.url
    drill = responses[2].json()
    assert all(e["cost"] is None for e in drill["entries"])
    assert all(line["amount"] is None and line["explanation"] is None for line in drill["lines"])
    assert "profit_per_client.svg" not in responses[1].text
    chart = client.get("/profit/chart/service_line_mix.svg", params=OCTOBER)
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/profit/chart/profit_per_client.svg").status_code == 403


def test_technicians_may_not_open_profitability(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.TECHNICIAN)
    for url in ("/profit", "/api/profit", "/profit/client/acme", "/api/profit/client/acme"):
        assert client.get(url).status_code == 403, url
    assert 'href="/profit"' not in client.get("/").text


def test_charts_are_svg_of_the_same_figures(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    for name in ("profit_per_client", "margin_trend", "service_line_mix"):
        response = client.get(f"/profit/chart/{name}.svg", params=OCTOBER)
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.content.startswith(b"<?xml") and b"<script" not in response.content
    again = client.get("/profit/chart/margin_trend.svg", params=OCTOBER)
    assert again.content == client.get("/profit/chart/margin_trend.svg", params=OCTOBER).content


def test_ranges(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    backwards = client.get("/api/profit", params={"from": "2026-10", "to": "2026-01"}).json()
    assert (backwards["start"], backwards["end"], len(backwards["trend"])) == ("2026-01", "2026-10", 10)
    long = client.get("/api/profit", params={"from": "2020-01", "to": "2026-10"}).json()
    assert (long["start"], long["end"]) == ("2021-11", "2026-10")  # at most 60 months
    assert client.get("/api/profit", params={"to": "2026-10"}).json()["start"] == "2026-10"
    assert client.get("/api/profit", params={"by": "planet"}).status_code == 422
    assert client.get("/profit", params={"from": "2026-13"}).status_code == 400


def test_sums_in_sql_cost_what_the_entries_cost(profit_store: App) -> None:
    """The model the pages use (entries summed in SQL) equals the CLI's (entries one by one)."""
    period = Period(Period.month(2026, 1).start, Period.month(2026, 12).end)
    fast = profit_data.compute(profit_store, period, None).model
    with profit_store.engine.connect() as conn:
        slow = build(conn, profit_store.settings, period)
    for by in (("customer", "service_line", "month"), ("agent",), ("contract", "month")):
        kw = {"months": slow.months, "capacity": slow.capacity}
        assert summarise(fast.facts, by, **kw) == summarise(slow.facts, by, **kw)
    assert sorted(fast.issues, key=str) == sorted(slow.issues, key=str)


def test_uncosted_and_unlined_work_is_counted_by_entry(profit_store: App) -> None:
    with profit_store.engine.begin() as conn:
        conn.execute(t.agent_costs.delete())
        conn.execute(t.charge_types.update().values(service_line=None))
        conn.execute(t.time_entries.update().values(service_line=None))
    period = Period.month(2026, 10)
    fast = profit_data.compute(profit_store, period, None).model
    with profit_store.engine.connect() as conn:
        slow = build(conn, profit_store.settings, period)
    assert sorted(fast.issues, key=str) == sorted(slow.issues, key=str)
    assert any(i.code == "costs.agent_missing" for i in fast.issues)


def test_a_change_in_the_store_is_seen_at_once(
    profit_store: App, client_for: Callable[[Role], TestClient], web: FastAPI
) -> None:
    client = client_for(Role.FINANCE)
    first = client.get("/api/profit", params=OCTOBER).json()["total"]["cost"]
    set_costs(
        profit_store,
        [CostInput("alice", NOW.date().replace(month=1, day=1), hourly_cost=Decimal(60))],
        now=NOW,
    )
    assert first == "107.50"
    assert client.get("/api/profit", params=OCTOBER).json()["total"]["cost"] == "137.50"
    with profit_store.engine.begin() as conn:
        conn.execute(t.time_entries.delete().where(t.time_entries.c.source_key == "T200/1"))
    assert client.get("/api/profit", params=OCTOBER).json()["total"]["cost"] == "107.50"
    with profit_store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.time_entries)).scalar_one() == 4


def test_many_entries_are_paged(profit_store: App, client_for: Callable[[Role], TestClient]) -> None:
    with profit_store.engine.begin() as conn:
        base = conn.execute(sa.select(t.time_entries).where(t.time_entries.c.source_key == "T100/1")).one()
        rows = dict(base._mapping)
        rows.pop("id")
        conn.execute(
            t.time_entries.insert(),
            [{**rows, "source_key": f"X{n}/1", "minutes": Decimal(6)} for n in range(230)],
        )
    client = client_for(Role.FINANCE)
    first = client.get("/api/profit/client/acme", params=OCTOBER).json()
    assert first["entries_page"] == {"page": 1, "pages": 3, "per_page": 100, "count": 234}
    last = client.get("/api/profit/client/acme", params={**OCTOBER, "page": 3}).json()
    assert len(last["entries"]) == 34
    page = client.get("/profit/client/acme", params={**OCTOBER, "page": 2})
    assert "Page 2 of 3" in page.text and re.search(r'href="\?[^"]*page=3"', page.text)

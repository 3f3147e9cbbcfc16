"""The profitability pages and API: the service's figures for finance, hours without money for a
service manager, nothing for a technician; a client's drill-down down to its time entries and invoice
lines; the charts; the model summed in SQL equal to the one read entry by entry; results kept until the
store changes; and warming them before anyone asks."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.profitability import Dimension, summarise
from revloop.services.profit import export, report
from revloop.services.profit.costs import CostInput, set_costs
from revloop.services.profit.loading import read_sales, read_work
from revloop.services.profit.report import Model, build, report_from
from revloop.web import profit_data, profit_views, settings_views
from revloop.web.app import create_app
from revloop.web.roles import Role

from .conftest import NOW, Clock, money_figures, sign_in
from .profit_store import profit_money, profit_store
from .test_role_matrix import _leaks

__all__ = ["profit_store"]

OCTOBER = {"from": "2026-10", "to": "2026-10"}
BYS: tuple[tuple[Dimension, ...], ...] = (
    ("customer", "service_line", "month"),
    ("agent",),
    ("contract", "month"),
    ("agent", "month"),
)


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


def _shown(model: Model, by: tuple[Dimension, ...]) -> list[dict[str, object]]:
    """The rows as they are shown: every figure rounded as the pages and the CLI round it."""
    return [r.as_dict() for r in summarise(model.facts, by, months=model.months, capacity=model.capacity)]


def test_sums_in_sql_cost_what_the_entries_cost(profit_store: App) -> None:
    """The model the pages use (entries and invoice lines summed in SQL) gives the CLI's figures
    (entries and lines one by one)."""
    period = Period(Period.month(2026, 1).start, Period.month(2026, 12).end)
    fast = profit_data.compute(profit_store, period, None).model
    with profit_store.engine.connect() as conn:
        slow = build(conn, profit_store.settings, period, work_reader=read_work, sales_reader=read_sales)
    for by in BYS:
        assert _shown(fast, by) == _shown(slow, by)
    assert sorted(fast.issues, key=str) == sorted(slow.issues, key=str)


def test_the_rows_by_every_dimension_are_the_reports(profit_store: App) -> None:
    model = profit_data.compute(profit_store, Period.month(2026, 10), None).model
    for by, dimension in profit_views.BY.items():
        shown = profit_views.profit(profit_store, model, by)
        expected = report_from(model, (dimension,), "GBP")
        assert {r.key: (r.revenue, r.cost, r.hours) for r in shown.rows} == {
            r.value(dimension): (r.revenue, r.cost, round2(r.hours)) for r in expected.rows
        }, by
        assert (shown.total.revenue, shown.total.cost, shown.total.utilisation_percent) == (
            expected.total.revenue,
            expected.total.cost,
            expected.total.utilisation,
        )


def test_uncosted_and_unlined_work_is_counted_by_entry(profit_store: App) -> None:
    with profit_store.engine.begin() as conn:
        conn.execute(t.agent_costs.delete())
        conn.execute(t.charge_types.update().values(service_line=None))
        conn.execute(t.time_entries.update().values(service_line=None))
    period = Period.month(2026, 10)
    fast = profit_data.compute(profit_store, period, None).model
    with profit_store.engine.connect() as conn:
        slow = build(conn, profit_store.settings, period, work_reader=read_work, sales_reader=read_sales)
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
    entry = t.time_entries.c.source_key == "T200/1"
    with profit_store.engine.begin() as conn:  # a sync lands an entry changed in HaloPSA...
        conn.execute(t.time_entries.update().where(entry).values(minutes=Decimal(15)))
    with profit_store.engine.begin() as conn:  # ... then moves the resource's watermark
        repository.set_watermark(conn, "halopsa", "time_entries", "x", at=NOW, records=1, full=False)
    assert client.get("/api/profit", params=OCTOBER).json()["total"]["cost"] == "122.50"
    with profit_store.engine.begin() as conn:  # a new entry
        row = dict(conn.execute(sa.select(t.time_entries).where(entry)).one()._mapping)
        conn.execute(t.time_entries.insert().values(**{**row, "id": None, "source_key": "T200/2"}))
    assert client.get("/api/profit", params=OCTOBER).json()["total"]["cost"] == "137.50"


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


def _signed_in(application: FastAPI, role: Role) -> TestClient:
    client = TestClient(application, base_url="http://testserver", follow_redirects=False)
    sign_in(client, role.value)
    return client


def test_warming_computes_what_the_pages_ask_for(
    profit_store: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The figures, rows, charts and cost view of the default period are computed by the warming
    thread (here run by hand): the pages then compute nothing, until the store changes."""
    application = create_app(profit_store, clock=clock, warm=True)
    warming = application.state.profit_warming
    assert warming.once() and not warming.once()

    def computed_in_the_request(*args: object) -> None:
        raise AssertionError("computed in the request")

    with monkeypatch.context() as patched:
        patched.setattr(profit_data, "compute", computed_in_the_request)
        patched.setattr(settings_views, "costs", computed_in_the_request)
        patched.setattr(profit_views, "profit", computed_in_the_request)
        patched.setattr(profit_views, "draw_charts", lambda *a: computed_in_the_request)
        finance = _signed_in(application, Role.FINANCE)
        for url in (
            "/profit",
            "/api/profit",
            "/profit/client/acme",
            "/profit/chart/profit_per_client.svg",
            "/profit/chart/margin_trend.svg",
            "/settings/costs",
            "/api/settings/costs",
        ):
            assert finance.get(url).status_code == 200, url
        manager = _signed_in(application, Role.SERVICE_MANAGER)
        assert manager.get("/profit/chart/service_line_mix.svg").status_code == 200
    set_costs(
        profit_store,
        [CostInput("alice", NOW.date().replace(month=1, day=1), hourly_cost=Decimal(60))],
        now=NOW,
    )
    assert warming.once()
    assert finance.get("/api/profit").json()["total"]["cost"] == "137.50"


def test_warming_runs_while_the_dashboard_does(profit_store: App, clock: Clock, web: FastAPI) -> None:
    assert getattr(web.state, "profit_warming", None) is None  # off in the tests' dashboards
    application = create_app(profit_store, clock=clock, warm=True)
    warming = application.state.profit_warming
    with TestClient(application):
        assert warming.running
        deadline = time.monotonic() + 60
        while not warming.warmed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert warming.warmed
    assert not warming.running


def test_the_page_has_its_charts_drawn_while_the_browser_loads_it(
    profit_store: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = create_app(profit_store, clock=clock, warm=True)  # not started: nothing polls
    models = application.state.profit_models
    finance = _signed_in(application, Role.FINANCE)
    assert finance.get("/profit", params=OCTOBER).status_code == 200
    deadline = time.monotonic() + 60
    while not models._charts.keys() and time.monotonic() < deadline:  # the drawing has begun
        time.sleep(0.02)

    def drawn_in_the_request(*args: object) -> None:
        raise AssertionError("drawn in the request")

    monkeypatch.setattr(profit_views, "draw_charts", lambda *a: drawn_in_the_request)
    chart = finance.get("/profit/chart/profit_per_client.svg", params=OCTOBER)
    assert chart.status_code == 200 and chart.content.startswith(b"<?xml")
    models.close()


def test_charts_drawn_in_a_process_of_their_own_are_the_same(profit_store: App, tmp_path: Path) -> None:
    period = Period(Period.month(2026, 1).start, Period.month(2026, 12).end)
    models = profit_data.ProfitModels()
    computed, print_ = models.model(profit_store, period, None)
    kept = profit_views.Kept(computed, (print_, period.start, period.end, computed.model.method), models)
    data = export.chart_data(computed.model, "GBP")
    assert profit_views.chart_data(profit_store, kept) == data  # the page's sums are the command's
    apart = profit_data.draw_apart("draw", (data,))
    here = {p.stem: p.read_bytes() for p in export.draw(data, tmp_path, ("svg",))}
    assert apart == here and set(here) == {"profit_per_client", "margin_trend", "service_line_mix"}

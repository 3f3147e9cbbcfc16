"""The billing run in the dashboard: the preview computed in the background with its progress (202
while computing, joined by a second request, kept and reused), marked out of date when the store
changes, paginated with a filter and an order; approval of chosen drafts or of the whole period from
the kept drafts (no rating again, exactly what ``revloop bill`` keeps), refused from a stale preview.

No test sleeps: a computation is held at a stage by an event, and threads are joined."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.periods import Period
from revloop.services.billing import run
from revloop.simulators.xero import XeroSimulator
from revloop.web import views
from revloop.web.app import create_app
from revloop.web.roles import Role

from .conftest import NOW, PERIOD, Clock, sign_in, sim_clients

ACME = "revloop:acme:all:2026-10-01"
GLOBEX = "revloop:globex:all:2026-10-01"
OCTOBER = Period.month(2026, 10)
WAIT = 30  # seconds: a bound on waiting for an event or a thread, never a pause


class Gate:
    """Counts computations, and holds each at its first "rating" report until opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.rating = threading.Event()
        self.open = threading.Event()
        real = run.compute

        def compute(app: App, period: Period, **kw: Any) -> run.BillResult:
            self.calls += 1
            progress = kw.pop("progress", None)

            def report(stage: str, done: int, total: int) -> None:
                if progress is not None:
                    progress(stage, done, total)
                if stage == "rating" and done == 0:
                    self.rating.set()
                    assert self.open.wait(WAIT)

            return real(app, period, progress=report, **kw)

        monkeypatch.setattr(run, "compute", compute)


@pytest.fixture
def background(store: App, sim: XeroSimulator, clock: Clock) -> Iterator[FastAPI]:
    """Previews in a background thread (the tests hold it at a stage); see the last test for the
    worker process the server uses."""
    application = create_app(store, clients=sim_clients(sim), clock=clock, billing_runs="thread")
    yield application
    application.state.web.billing.join(WAIT)


@pytest.fixture
def finance(background: FastAPI) -> Iterator[TestClient]:
    with TestClient(background, base_url="http://testserver", follow_redirects=False) as client:
        sign_in(client, "finance")
        yield client


def _ready(client: TestClient, app: FastAPI, **params: Any) -> dict[str, Any]:
    """The preview once ready: asked for (which starts it if need be), waited for, asked again."""
    client.get(f"/api/billing/{PERIOD}/preview", params=params)
    app.state.web.billing.join(WAIT)
    response = client.get(f"/api/billing/{PERIOD}/preview", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _add_work(store: App, minutes: int = 60) -> None:
    """A new unbilled hour for acme in October: the store (and acme's draft) changes."""
    with store.engine.begin() as conn:
        row = conn.execute(
            sa.select(t.time_entries).where(t.time_entries.c.billing_state == "unbilled").limit(1)
        ).one()
        values = {k: v for k, v in row._mapping.items() if k != "id"}
        values.update(source_key=f"{row.source_key}-more", minutes=Decimal(minutes))
        conn.execute(t.time_entries.insert().values(**values))


def test_preview_computes_in_the_background_with_progress(
    background: FastAPI, finance: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    first = finance.get(f"/api/billing/{PERIOD}/preview")
    assert first.status_code == 202
    assert first.json()["state"] == "computing" and first.json()["drafts"] == []
    assert first.json()["fingerprint"] is None
    assert gate.rating.wait(WAIT)
    joined = finance.get(f"/api/billing/{PERIOD}/preview")  # joins the computation under way
    assert joined.status_code == 202
    progress = joined.json()["progress"]
    assert progress["stage"] == "rating" and progress["done"] == 0 and progress["out_of"] == 2
    page = finance.get(f"/billing?period={PERIOD}")
    assert page.status_code == 200 and "rating the work, 0 of 2 customers done" in page.text
    assert 'http-equiv="refresh"' in page.text and "Approve all" not in page.text
    draft = finance.get(f"/api/billing/{PERIOD}/draft", params={"key": ACME})
    assert draft.status_code == 202 and draft.json()["draft"] is None
    refused = finance.post(f"/api/billing/{PERIOD}/approve", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "billing.preview_stale"
    gate.open.set()
    ready = _ready(finance, background)
    assert ready["state"] == "ready" and ready["stale"] is False and ready["progress"] is None
    assert [d["key"] for d in ready["drafts"]] == [ACME, GLOBEX] and ready["fingerprint"]
    assert ready["drafts"][0]["total"] == "413.26"
    # kept: later requests, pages and drafts reuse it without computing again
    assert _ready(finance, background)["fingerprint"] == ready["fingerprint"]
    page = finance.get(f"/billing?period={PERIOD}")
    assert "Approve all 2 drafts" in page.text and 'http-equiv="refresh"' not in page.text
    detail = finance.get(f"/api/billing/{PERIOD}/draft", params={"key": ACME})
    assert detail.status_code == 200 and detail.json()["lines"]
    assert finance.get(f"/billing/{PERIOD}/draft", params={"key": ACME}).status_code == 200
    missing = finance.get(f"/api/billing/{PERIOD}/draft", params={"key": "revloop:nobody"})
    assert missing.status_code == 404
    assert gate.calls == 1


def test_a_changed_store_makes_the_preview_stale(
    background: FastAPI, finance: TestClient, store: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _ready(finance, background)
    gate = Gate(monkeypatch)
    _add_work(store)
    stale = finance.get(f"/api/billing/{PERIOD}/preview")
    assert stale.status_code == 202
    body = stale.json()
    assert body["stale"] is True and body["fingerprint"] is None and body["drafts"] == []
    assert body["totals"] == before["totals"]  # the out-of-date summary, marked as such
    assert gate.rating.wait(WAIT)
    page = finance.get(f"/billing?period={PERIOD}")
    assert "Out of date" in page.text and "Approve all" not in page.text
    assert "total £413.26" in page.text  # still shown, for reference
    refused = finance.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": before["fingerprint"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "billing.preview_stale"
    gate.open.set()
    after = _ready(finance, background)
    assert after["fingerprint"] != before["fingerprint"] and after["stale"] is False
    assert Decimal(after["drafts"][0]["total"]) > Decimal(before["drafts"][0]["total"])
    with store.engine.connect() as conn:
        assert set(
            conn.execute(sa.select(t.invoices.c.status).where(t.invoices.c.origin == "revloop")).scalars()
        ) == {"draft"}


def test_an_old_fingerprint_is_refused(
    web: FastAPI, client_for: Callable[[Role], TestClient], store: App
) -> None:
    client = client_for(Role.FINANCE)
    seen = client.get(f"/api/billing/{PERIOD}/preview").json()["fingerprint"]
    _add_work(store)
    refused = client.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": seen, "keys": [ACME]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "billing.preview_stale"
    fresh = client.get(f"/api/billing/{PERIOD}/preview").json()  # computed again, in the request here
    assert fresh["state"] == "ready" and fresh["fingerprint"] != seen
    with store.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).where(t.invoices.c.status == "approved")).scalar_one()
            == 0
        )


def test_pages_filter_and_order(web: FastAPI, client_for: Callable[[Role], TestClient]) -> None:
    runs = web.state.web.billing
    one = views.preview(runs, OCTOBER, per_page=1)
    assert (one.count, one.pages, [d.key for d in one.drafts]) == (2, 2, [ACME])
    second = views.preview(runs, OCTOBER, per_page=1, page=2)
    assert [d.key for d in second.drafts] == [GLOBEX]
    assert views.preview(runs, OCTOBER, per_page=1, page=9).page == 2
    assert [d.key for d in views.preview(runs, OCTOBER, q="GLOB").drafts] == [GLOBEX]
    assert [d.key for d in views.preview(runs, OCTOBER, sort="total").drafts] == [ACME, GLOBEX]
    assert [d.key for d in views.preview(runs, OCTOBER, sort="total_asc").drafts] == [GLOBEX, ACME]
    blind = views.preview(runs, OCTOBER, sort="total_asc", money=False)  # no order by money without it
    assert blind.sort == "customer" and [d.key for d in blind.drafts] == [ACME, GLOBEX]
    client = client_for(Role.FINANCE)
    found = client.get(f"/api/billing/{PERIOD}/preview", params={"q": "acme", "sort": "total"}).json()
    assert [d["key"] for d in found["drafts"]] == [ACME] and found["count"] == 1 and found["draft_count"] == 2
    page = client.get(f"/billing?period={PERIOD}&q=nobody")
    assert "No draft matches" in page.text
    manager = client_for(Role.SERVICE_MANAGER).get(f"/api/billing/{PERIOD}/preview", params={"sort": "total"})
    assert manager.json()["sort"] == "customer" and manager.json()["drafts"][0]["total"] is None


def test_approve_chosen_drafts_from_the_kept_preview(
    background: FastAPI, finance: TestClient, store: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _ready(finance, background)
    gate = Gate(monkeypatch)
    gate.open.set()
    approved = finance.post(
        f"/api/billing/{PERIOD}/approve", json={"keys": [ACME], "fingerprint": seen["fingerprint"]}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "done" and approved.json()["approved"] == [ACME]
    with store.engine.connect() as conn:
        states = dict(conn.execute(sa.select(t.invoices.c.key, t.invoices.c.status)).all())
    assert states == {ACME: "approved", GLOBEX: "draft"}
    # the preview stays ready for the store as the approval left it: not computed again
    after = _ready(finance, background)
    assert after["fingerprint"] != seen["fingerprint"] and after["state"] == "ready"
    assert [d["stored_status"] for d in after["drafts"]] == ["approved", "draft"]
    assert gate.calls == 0
    unknown = finance.post(f"/api/billing/{PERIOD}/approve", json={"keys": ["revloop:nobody"]})
    assert unknown.status_code == 404
    # from the page: the ticked draft only
    page = finance.get(f"/billing?period={PERIOD}")
    assert f'value="{GLOBEX}"' in page.text and f'name="keys" value="{ACME}"' not in page.text
    token = finance.headers["X-CSRF-Token"]
    none_ticked = finance.post(
        f"/billing/{PERIOD}/approve",
        data={"csrf_token": token, "fingerprint": after["fingerprint"], "scope": "selected"},
    )
    assert none_ticked.status_code == 400 and "tick the drafts" in none_ticked.text
    ticked = finance.post(
        f"/billing/{PERIOD}/approve",
        data={
            "csrf_token": token,
            "fingerprint": after["fingerprint"],
            "scope": "selected",
            "keys": [GLOBEX],
            "back": "page=1&q=glo&sort=total",
        },
    )
    assert ticked.status_code == 303
    assert ticked.headers["location"] == f"/billing?period={PERIOD}&page=1&q=glo&sort=total&approved=1"
    assert "1 draft approved." in finance.get(ticked.headers["location"]).text
    assert gate.calls == 0


def test_approve_the_whole_period_in_the_background(
    background: FastAPI, finance: TestClient, store: App
) -> None:
    seen = _ready(finance, background)
    assert finance.get(f"/api/billing/{PERIOD}/approval").json()["state"] == "idle"
    started = finance.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": seen["fingerprint"]})
    assert started.status_code == 202 and started.json()["state"] in ("running", "done")
    background.state.web.billing.join(WAIT)
    status = finance.get(f"/api/billing/{PERIOD}/approval").json()
    assert status["state"] == "done" and sorted(status["approved"]) == [ACME, GLOBEX]
    assert status["started_by"] == "finance" and status["unchanged"] == 2
    page = finance.get(f"/billing?period={PERIOD}&approving=true")
    assert "2 drafts approved." in page.text and 'http-equiv="refresh"' not in page.text
    with store.engine.connect() as conn:
        assert set(conn.execute(sa.select(t.invoices.c.approved_by)).scalars()) == {"finance"}


def _stored(store: App) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        invoices = {
            r.id: (r.key, r.status, r.approved_by, r.currency, r.subtotal, r.tax, r.total, r.contract_id)
            for r in conn.execute(sa.select(t.invoices).where(t.invoices.c.origin == "revloop"))
        }
        lines = sorted(
            (
                *(invoices[r.invoice_id][0], r.position, r.kind, r.description, r.quantity, r.unit_amount),
                *(r.amount, r.tax, r.explanation, tuple(r.sources or ()), r.service_line, r.cost),
            )
            for r in conn.execute(sa.select(t.invoice_lines))
            if r.invoice_id in invoices
        )
        balances = sorted(
            (r.contract_id, r.period_start, r.closing, r.unit)
            for r in conn.execute(sa.select(t.contract_balances))
        )
    return [*sorted(invoices.values()), *lines, *balances]


def _forget_drafts(store: App) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.invoice_lines.delete())
        conn.execute(t.invoices.delete().where(t.invoices.c.origin == "revloop"))
        conn.execute(t.contract_balances.delete())


def test_approving_keeps_exactly_what_revloop_bill_keeps(
    web: FastAPI, client_for: Callable[[Role], TestClient], store: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forget_drafts(store)
    gate = Gate(monkeypatch)
    gate.open.set()
    client = client_for(Role.FINANCE)
    seen = client.get(f"/api/billing/{PERIOD}/preview").json()
    assert [d["stored_status"] for d in seen["drafts"]] == [None, None]
    approved = client.post(f"/api/billing/{PERIOD}/approve", json={"fingerprint": seen["fingerprint"]})
    assert approved.status_code == 200 and approved.json()["created"] == 2
    assert gate.calls == 1  # the approval kept the computed drafts: no rating again
    from_the_dashboard = _stored(store)
    _forget_drafts(store)
    monkeypatch.undo()
    run.bill(store, OCTOBER, now=NOW)
    run.approve(store, now=NOW, by="finance", period=OCTOBER, everything=True)
    assert _stored(store) == from_the_dashboard


def test_the_worker_process_computes_the_same_preview(
    store: App, sim: XeroSimulator, clock: Clock, web: FastAPI
) -> None:
    """The server's default: the preview computed in a worker process, its progress relayed; the kept
    drafts are exactly those computed in the request."""
    served = create_app(store, clients=sim_clients(sim), clock=clock)
    try:
        runs = served.state.web.billing
        assert runs.mode == "process"
        assert runs.view(OCTOBER).state == "computing"
        runs.join(WAIT)
        ready = runs.view(OCTOBER)
        here = web.state.web.billing.view(OCTOBER)
        assert (
            ready.state == here.state == "ready" and ready.computed.fingerprint == here.computed.fingerprint
        )
        assert ready.computed.summaries == here.computed.summaries
        assert ready.computed.with_drafts().drafts == here.computed.with_drafts().drafts
        assert ready.computed.outcome.findings == here.computed.outcome.findings
        assert ready.computed.draft(ACME) == run.compute(store, OCTOBER).drafts[0]
        # the whole period is kept and approved in a worker process too
        started = runs.approve(OCTOBER, keys=[], fingerprint_seen=ready.computed.fingerprint, by="finance")
        assert started.state == "running"
        runs.join(WAIT)
        done = runs.approval(OCTOBER)
        assert done is not None and done.state == "done", done
        assert sorted(done.approved) == [ACME, GLOBEX] and done.unchanged == 2
        after = runs.view(OCTOBER)
        assert after.state == "ready" and after.computed.stored == {ACME: "approved", GLOBEX: "approved"}
    finally:
        served.state.web.billing.join(WAIT)

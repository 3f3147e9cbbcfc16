"""The invoice list comes a page at a time, with how many there are; one invoice's PDF is rendered
from that invoice alone."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web import views
from revloop.web.roles import Role


def _keys(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return sorted(
            k for (k,) in conn.execute(sa.select(t.invoices.c.key).where(t.invoices.c.origin == "revloop"))
        )


def test_pages_cover_every_invoice_once(store: App) -> None:
    keys = _keys(store)
    assert len(keys) >= 2
    first = views.invoices(store, None, page=1, per_page=1)
    assert (first.count, first.pages, first.page) == (len(keys), len(keys), 1)
    seen = [i.key for n in range(1, first.pages + 1) for i in views.invoices(store, None, n, 1).invoices]
    assert sorted(seen) == keys
    beyond = views.invoices(store, None, page=first.pages + 5, per_page=1)
    assert beyond.page == first.pages and len(beyond.invoices) == 1


def test_api_and_page_say_how_many(store: App, client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    body = client.get("/api/invoices", params={"page": 1}).json()
    assert body["count"] == len(_keys(store)) and body["page"] == 1 and body["pages"] >= 1
    assert len(body["invoices"]) == min(body["count"], body["per_page"])
    assert client.get("/invoices", params={"page": 2}).status_code == 200

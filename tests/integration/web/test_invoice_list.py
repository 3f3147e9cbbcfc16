"""The invoice list comes a page at a time, with how many there are; one invoice's PDF is rendered
from that invoice alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web import pdf_cache, views
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


def test_a_pdf_is_kept_until_what_it_shows_changes(
    store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    key = _keys(store)[0]
    folder = pdf_cache.folder_of(store.settings.home)
    first = client.get("/invoices/pdf", params={"key": key})
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    kept = sorted(folder.glob("*.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == first.content
    again = client.get("/invoices/pdf", params={"key": key})
    assert again.content == first.content and sorted(folder.glob("*.pdf")) == kept
    with store.engine.begin() as conn:  # the customer's name on the invoice changes
        customer = conn.execute(
            sa.select(t.invoices.c.customer_id).where(
                t.invoices.c.origin == "revloop", t.invoices.c.key == key
            )
        ).scalar_one()
        conn.execute(t.customers.update().where(t.customers.c.id == customer).values(name="Renamed Ltd"))
    changed = client.get("/invoices/pdf", params={"key": key})
    assert changed.status_code == 200 and changed.content != first.content
    assert len(list(folder.glob("*.pdf"))) == 2


def test_only_the_newest_pdfs_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_cache, "KEEP", 3)
    for n in range(5):
        (tmp_path / f"{n}.pdf").write_bytes(b"%PDF")
        os.utime(tmp_path / f"{n}.pdf", (1_000_000 + n, 1_000_000 + n))
    pdf_cache._prune(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["2.pdf", "3.pdf", "4.pdf"]

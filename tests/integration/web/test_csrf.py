"""Every state-changing route refuses a request without the session's CSRF token, or with a wrong
one (403 auth.csrf), before it changes anything."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web.roles import Role

from .conftest import PERIOD
from .routes import routes


def _state(store: App) -> tuple[object, ...]:
    with store.engine.connect() as conn:
        return (
            tuple(conn.execute(sa.select(t.findings.c.state).order_by(t.findings.c.id)).scalars()),
            tuple(conn.execute(sa.select(t.invoices.c.status).order_by(t.invoices.c.id)).scalars()),
            conn.execute(sa.select(sa.func.count()).select_from(t.web_sessions)).scalar_one(),
        )


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_unsafe_routes_need_the_token(
    token: str | None, web: FastAPI, store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.ADMIN)
    client.headers.pop("X-CSRF-Token")
    with store.engine.connect() as conn:
        finding = conn.execute(sa.select(t.findings.c.id)).scalars().first()
        key = conn.execute(sa.select(t.invoices.c.key)).scalars().first()
    values = {"finding_id": str(finding), "period": PERIOD, "invoice_key": str(key)}
    values |= {"name": "technician", "agent": "alice"}
    before = _state(store)
    unsafe = [r for r in routes(web) if r.unsafe]
    assert len(unsafe) >= 9
    for route in unsafe:
        response = client.request(**route.request(values, token))
        assert response.status_code == 403, (route, response.status_code, response.text[:200])
        if route.is_api:
            assert response.json()["error"]["code"] == "auth.csrf"
        else:
            assert "auth.csrf" in response.text
    assert web.state.web.poster.status().state == "idle"
    assert _state(store) == before


def test_the_token_of_another_session_does_not_work(client_for: Callable[[Role], TestClient]) -> None:
    finance = client_for(Role.FINANCE)
    admin = client_for(Role.ADMIN)
    finance.headers["X-CSRF-Token"] = admin.headers["X-CSRF-Token"]
    response = finance.post("/api/findings/1/resolve", json={"reason": "x"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "auth.csrf"


def test_unsafe_routes_without_a_session_are_401_not_403(web: FastAPI) -> None:
    with TestClient(web) as client:
        response = client.post("/api/post")
        assert response.status_code == 401

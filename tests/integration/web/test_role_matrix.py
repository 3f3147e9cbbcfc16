"""Every page and API route, as every role: a technician or service manager never receives a
figure of money, and nobody reaches an action their role may not take (403)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web.roles import Action, Role, can

from .conftest import PERIOD, money_figures
from .routes import SIGN_OUT, Route, routes

CURRENCY = re.compile(r"[£$€]\s?-?\d|\b(?:GBP|USD|EUR|AUD|NZD|CAD)\s?-?\d|\d\s?(?:GBP|USD|EUR|AUD|NZD)\b")


def _values(store: App) -> dict[str, str]:
    with store.engine.connect() as conn:
        finding = conn.execute(sa.select(t.findings.c.id).order_by(t.findings.c.id)).scalars().first()
        key = (
            conn.execute(
                sa.select(t.invoices.c.key).where(t.invoices.c.origin == "revloop").order_by(t.invoices.c.key)
            )
            .scalars()
            .first()
        )
    assert finding is not None and key is not None
    return {
        "finding_id": str(finding),
        "period": PERIOD,
        "invoice_key": key,
        "code": "acme",
        "customer": "acme",
        "name": "technician",
        "agent": "alice",
    }


def _leaks(text: str, figures: set[str]) -> list[str]:
    found = sorted(f for f in figures if re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d])", text))
    found += CURRENCY.findall(text)
    return found


def _order(all_routes: list[Route]) -> list[Route]:
    """Reads first, then changes, signing out last."""
    return sorted(all_routes, key=lambda r: (r.unsafe, (r.method, r.path) in SIGN_OUT, r.path, r.method))


def test_the_app_has_the_routes_we_expect(web: FastAPI) -> None:
    found = {(r.method, r.path) for r in routes(web)}
    for expected in [
        ("GET", "/"),
        ("GET", "/findings"),
        ("GET", "/invoices"),
        ("GET", "/billing"),
        ("GET", "/api/overview"),
        ("GET", "/api/findings"),
        ("POST", "/api/findings/{finding_id}/acknowledge"),
        ("POST", "/api/findings/{finding_id}/resolve"),
        ("GET", "/api/invoices"),
        ("GET", "/api/billing/{period}/preview"),
        ("POST", "/api/billing/{period}/approve"),
        ("POST", "/api/post"),
        ("GET", "/api/post/status"),
    ]:
        assert expected in found


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(role: Role, web: FastAPI, store: App, client_for: Callable[[Role], TestClient]) -> None:
    figures = money_figures(store)
    assert "413.26" in figures  # the fixture's money is known, so a leak would be seen
    values = _values(store)
    client = client_for(role)
    token = client.headers["X-CSRF-Token"]
    problems = []
    for route in _order(routes(web)):
        response = client.request(**route.request(values, token))
        web.state.web.poster.join()  # a posting run started by this request finishes first
        where = f"{route.method} {route.path} as {role.value}"
        allowed = route.action is None or can(role, route.action)
        if not allowed:
            if response.status_code != 403:
                problems.append(f"{where}: {response.status_code}, expected 403")
            continue
        if response.status_code in (401, 403) or response.status_code >= 500:
            problems.append(f"{where}: {response.status_code} {response.text[:200]}")
        if not can(role, Action.VIEW_MONEY):
            leaks = _leaks(response.text, figures)
            if leaks:
                problems.append(f"{where}: money in the response: {leaks[:5]}")
    assert problems == []


def test_money_roles_do_see_the_money(client_for: Callable[[Role], TestClient]) -> None:
    """The leak check above is meaningful: the same pages show the figures to finance."""
    client = client_for(Role.FINANCE)
    assert "£413.26" in client.get(f"/billing?period={PERIOD}").text
    assert "£1,234.56" in client.get(f"/?period={PERIOD}").text
    assert client.get("/api/invoices").json()["invoices"][0]["total"] in ("413.26", "51.30")

"""The contracts and renewals page and API, and `revloop balance` in the dashboard: renewals due with
and without a quote, balances against thresholds, fees and money balances only for money roles."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from revloop.bootstrap import App
from revloop.web.roles import Role

from .conftest import money_figures
from .profit_store import profit_money, profit_store
from .test_role_matrix import _leaks

__all__ = ["profit_store"]


def test_contracts_ending_soon_and_their_renewal(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    data = client.get("/api/contracts").json()
    assert (data["today"], data["window_days"], data["within"]) == ("2026-11-02", 60, 60)
    rows = {c["code"]: c for c in data["contracts"]}
    assert set(rows) == {"k-allow", "k-fixed", "k-prepay"}
    assert rows["k-prepay"]["renewed"] is True and rows["k-prepay"]["needs_quote"] is False  # k-allow runs on
    allow = rows["k-allow"]
    assert (allow["last_day"], allow["days_to_renewal"], allow["renewal_due"]) == (
        "2026-11-30",
        29,
        "2026-10-02",
    )
    assert allow["needs_quote"] is True and allow["quote_since_due"] is False and allow["renewed"] is False
    assert (allow["included_hours"], allow["used_hours"], allow["left_hours"]) == ("10.00", "3.50", "6.50")
    assert allow["fee"] == "517.25" and allow["balance_state"] == "ok"
    fixed = rows["k-fixed"]
    assert fixed["needs_quote"] is False and fixed["quote_since_due"] is True and fixed["fee"] == "1525.50"
    every = client.get("/api/contracts", params={"all": "true"}).json()
    assert every["count"] == 3 and every["within"] is None
    below = client.get("/api/contracts", params={"all": "true", "below": "true"}).json()
    assert [
        (c["code"], c["left_money"], c["threshold_money"], c["balance_state"]) for c in below["contracts"]
    ] == [("k-prepay", "150.75", "275.25", "below")]
    assert [c["code"] for c in client.get("/api/contracts", params={"within": 20}).json()["contracts"]] == [
        "k-prepay"
    ]
    page = client.get("/contracts")
    assert page.status_code == 200
    for text in ("k-allow", "no quote", "6.50 h left", "£517.25", "quote sent", "Ending within"):
        assert text in page.text, text
    assert "£150.75" in client.get("/contracts?all=true&below=true").text


def test_does_the_contract_cover_new_work(
    profit_store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.FINANCE)
    data = client.get("/api/balance/acme").json()
    assert data["customer"] == "acme" and data["today"] == "2026-11-02"
    kinds = {c["contract"]: c for c in data["contracts"]}
    assert set(kinds) == {"k-allow", "k-prepay"}  # in force today
    assert kinds["k-allow"]["unit"] == "hours" and kinds["k-allow"]["covered"] is True
    assert kinds["k-prepay"]["unit"] == "money" and kinds["k-prepay"]["threshold_money"] == "275.25"
    assert client.get("/api/balance/Acme Ltd").json()["customer"] == "acme"
    missing = client.get("/api/balance/nobody")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    page = client.get("/contracts/balance", params={"customer": "acme"})
    assert page.status_code == 200 and "k-prepay" in page.text and "Acme Ltd" in page.text
    assert "Customer" in client.get("/contracts/balance").text


def test_no_money_for_a_technician(profit_store: App, client_for: Callable[[Role], TestClient]) -> None:
    figures = money_figures(profit_store) | profit_money(profit_store)
    client = client_for(Role.TECHNICIAN)
    data = client.get("/api/contracts", params={"all": "true"}).json()
    rows = {c["code"]: c for c in data["contracts"]}
    assert rows["k-allow"]["fee"] is None and rows["k-allow"]["left_hours"] == "6.50"
    assert rows["k-prepay"]["left_money"] is None and rows["k-prepay"]["balance_state"] == "below"
    for url in (
        "/api/contracts?all=true",
        "/contracts?all=true",
        "/contracts?all=true&below=true",
        "/api/balance/acme",
        "/contracts/balance?customer=acme",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _leaks(response.text, figures) == [], url
    balance = client.get("/api/balance/acme").json()
    prepay = next(c for c in balance["contracts"] if c["contract"] == "k-prepay")
    assert prepay["left_money"] is None and prepay["threshold_money"] is None

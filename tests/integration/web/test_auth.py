"""Signing in and out: the sign-in form's CSRF pair, cookies, session expiry, throttling with one
generic message, disabled users, re-hashing."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web import auth
from revloop.web.app import create_app
from revloop.web.sessions import IDLE, LIFETIME
from revloop.web.throttle import ADDRESS_THRESHOLD, CAP, THRESHOLD

from .conftest import PASSWORD, Clock, sign_in


def _client(web: FastAPI, base_url: str = "http://testserver") -> TestClient:
    return TestClient(web, base_url=base_url, follow_redirects=False)


def _login_form(client: TestClient, name: str, password: str, next: str = "/") -> Any:
    page = client.get("/login", params={"next": next})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token.group(1), "next": next}
    )


def test_pages_send_strangers_to_the_sign_in_page(web: FastAPI) -> None:
    with _client(web) as client:
        response = client.get("/findings?state=all")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Ffindings%3Fstate%3Dall"
        api = client.get("/api/findings")
        assert api.status_code == 401 and api.json()["error"]["code"] == "auth.required"


def test_sign_in_with_the_form_then_out(web: FastAPI, store: App) -> None:
    with _client(web) as client:
        response = _login_form(client, "finance", PASSWORD, next="/invoices")
        assert response.status_code == 303 and response.headers["location"] == "/invoices"
        cookie = response.headers["set-cookie"]
        assert "revloop_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http, no setting
        page = client.get("/invoices")
        assert page.status_code == 200 and "finance" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.web_sessions)).scalar_one() == 1
            stored = conn.execute(sa.select(t.web_sessions.c.id)).scalar_one()
        assert stored not in cookie  # only the token's hash is stored
        out = client.post("/logout", data={"csrf_token": token.group(1)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.web_sessions)).scalar_one() == 0
        assert client.get("/invoices").status_code == 303


def test_sign_in_form_needs_its_csrf_pair(web: FastAPI) -> None:
    with _client(web) as client:
        response = client.post("/login", data={"name": "finance", "password": PASSWORD, "csrf_token": "x"})
        assert response.status_code == 403
        assert "revloop_session" not in response.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(web: FastAPI) -> None:
    with _client(web) as client:
        response = _login_form(client, "finance", PASSWORD, next="//evil.example/x")
        assert response.headers["location"] == "/"


def test_secure_cookie_over_https_or_when_set(store: App, clock: Clock) -> None:
    with _client(create_app(store, clock=clock), base_url="https://dash.example") as client:
        response = client.post("/api/session", json={"name": "finance", "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]
    with _client(create_app(store, clock=clock, secure_cookies=True)) as client:
        response = client.post("/api/session", json={"name": "finance", "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]


def test_sessions_expire_when_idle_and_at_their_end(web: FastAPI, clock: Clock) -> None:
    with _client(web) as client:
        sign_in(client, "technician")
        clock.advance(seconds=IDLE.total_seconds() - 60)
        assert client.get("/api/session").status_code == 200  # activity keeps it alive
        clock.advance(seconds=IDLE.total_seconds() - 60)
        assert client.get("/api/session").status_code == 200
        clock.advance(seconds=IDLE.total_seconds() + 1)
        assert client.get("/api/session").status_code == 401
        sign_in(client, "technician")
        for _ in range(int(LIFETIME / IDLE) + 1):
            clock.advance(seconds=IDLE.total_seconds() - 60)
            client.get("/api/session")
        assert client.get("/api/session").status_code == 401  # the absolute end


def test_api_sign_out_ends_the_session(web: FastAPI) -> None:
    with _client(web) as client:
        sign_in(client, "admin")
        assert client.delete("/api/session").status_code == 204
        assert client.get("/api/session").status_code == 401


def _fail(client: TestClient, name: str, password: str = "wrong password!") -> dict[str, str]:
    response = client.post("/api/session", json={"name": name, "password": password})
    assert response.status_code == 401
    error: dict[str, str] = response.json()["error"]
    return error


def test_user_lockout_grows_and_says_nothing_specific(web: FastAPI, store: App, clock: Clock) -> None:
    with _client(web) as client:
        messages = {_fail(client, "finance")["message"] for _ in range(THRESHOLD)}
        messages.add(_fail(client, "nobody-by-this-name")["message"])
        messages.add(_fail(client, "finance", PASSWORD)["message"])  # locked: the right password fails too
        assert messages == {auth.LOGIN_FAILED}
        codes = {_fail(client, "finance", PASSWORD)["code"]}
        assert codes == {"auth.login_failed"}
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == "finance")).one()
        assert row.failed_logins == THRESHOLD and row.locked_until is not None
        clock.now = row.locked_until
        sign_in(client, "finance")  # the lock has run out
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == "finance")).one()
        assert row.failed_logins == 0 and row.locked_until is None and row.last_login_at == clock.now


def test_an_address_is_throttled_whatever_names_it_tries(web: FastAPI, clock: Clock) -> None:
    with _client(web) as client:
        for n in range(ADDRESS_THRESHOLD):
            _fail(client, f"guess-{n}")
        _fail(client, "admin", PASSWORD)  # this address is locked now, even for a real account
        clock.advance(seconds=CAP.total_seconds())
        sign_in(client, "admin")


def test_disabled_users_cannot_sign_in_and_lose_their_sessions(
    web: FastAPI, store: App, clock: Clock
) -> None:
    with _client(web) as client:
        sign_in(client, "technician")
        auth.disable(store.engine, "technician", now=clock(), by="test")
        assert client.get("/api/session").status_code == 401
        _fail(client, "technician", PASSWORD)


def test_role_changes_apply_at_once(web: FastAPI, store: App, clock: Clock) -> None:
    from revloop.web.roles import Role

    with _client(web) as client:
        sign_in(client, "technician")
        assert client.get("/api/billing/2026-10/preview").status_code == 403
        auth.set_role(store.engine, "technician", Role.SERVICE_MANAGER, now=clock(), by="test")
        assert client.get("/api/billing/2026-10/preview").status_code == 200


def test_old_hashes_are_upgraded_at_sign_in(web: FastAPI, store: App) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with store.engine.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.name == "admin").values(password_hash=weak))
    with _client(web) as client:
        sign_in(client, "admin")
    with store.engine.connect() as conn:
        now_stored = conn.execute(
            sa.select(t.users.c.password_hash).where(t.users.c.name == "admin")
        ).scalar_one()
    assert now_stored != weak and not auth.needs_rehash(now_stored)
    assert auth.verify_password(now_stored, PASSWORD)

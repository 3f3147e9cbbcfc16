"""The users page (admins only): add a user with the password rules of ``revloop user add``, change
a role, disable, set a new password; the last active admin can be neither disabled nor demoted;
every form needs the CSRF token."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.web.roles import Role

from .conftest import PASSWORD, sign_in
from .test_pages import _token

NEW_PASSWORD = "another long password"


def test_only_admins(client_for: Callable[[Role], TestClient]) -> None:
    for role in (Role.FINANCE, Role.SERVICE_MANAGER, Role.TECHNICIAN):
        client = client_for(role)
        assert client.get("/users").status_code == 403
        assert client.get("/api/users").status_code == 403
        assert client.patch("/api/users/technician", json={"active": False}).status_code == 403
        assert (
            client.post("/api/users", json={"name": "x", "role": "admin", "password": PASSWORD}).status_code
            == 403
        )
    listed = client_for(Role.ADMIN).get("/api/users").json()
    assert [u["name"] for u in listed["users"]] == ["admin", "finance", "service_manager", "technician"]
    assert listed["min_password"] == 10
    assert "password" not in str(listed).replace("min_password", "")  # never a hash


def test_add_change_role_reset_password_disable_on_the_page(
    web: FastAPI, store: App, client_for: Callable[[Role], TestClient]
) -> None:
    admin = client_for(Role.ADMIN)
    page = admin.get("/users")
    assert page.status_code == 200 and "Add a user" in page.text
    token = _token(page.text)
    short = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "name": "ann",
            "role": "finance",
            "password": "short",
            "password_again": "short",
        },
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    differ = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "name": "ann",
            "role": "finance",
            "password": PASSWORD,
            "password_again": PASSWORD + "x",
        },
    )
    assert differ.status_code == 400 and "differ" in differ.text
    added = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "name": "ann",
            "role": "finance",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert added.status_code == 303 and added.headers["location"] == "/users?done=added"
    again = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "name": "ann",
            "role": "finance",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert again.status_code == 409 and "user.exists" in again.text

    ann = TestClient(web, follow_redirects=False)
    sign_in(ann, "ann")
    assert ann.get("/api/session").json()["role"] == "finance"
    assert admin.post("/users/ann/role", data={"csrf_token": token, "role": "technician"}).status_code == 303
    assert ann.get("/api/session").json()["role"] == "technician"  # at once, on the next request
    listed = {u["name"]: u for u in admin.get("/api/users").json()["users"]}
    assert listed["ann"]["last_login_at"] and listed["ann"]["role"] == "technician"

    reset = admin.post(
        "/users/ann/password",
        data={"csrf_token": token, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert reset.status_code == 303 and reset.headers["location"] == "/users?done=password"
    assert ann.get("/api/session").status_code == 401  # her sessions ended
    sign_in(ann, "ann", NEW_PASSWORD)

    disabled = admin.post("/users/ann/disable", data={"csrf_token": token})
    assert disabled.status_code == 303 and disabled.headers["location"] == "/users?done=disabled"
    assert ann.get("/api/session").status_code == 401
    refused = ann.post("/api/session", json={"name": "ann", "password": NEW_PASSWORD})
    assert refused.status_code == 401
    shown = admin.get("/users?done=disabled").text
    assert "User disabled" in shown and "disabled</td>" in shown and 'aria-label="Enable ann"' in shown
    enabled = admin.post("/users/ann/enable", data={"csrf_token": token})
    assert enabled.status_code == 303 and enabled.headers["location"] == "/users?done=enabled"
    sign_in(ann, "ann", NEW_PASSWORD)  # the same password as before
    assert ann.get("/api/session").json()["role"] == "technician"  # the role she had
    assert "User enabled" in admin.get("/users?done=enabled").text
    with store.engine.connect() as conn:
        actions = list(
            conn.execute(
                sa.select(t.audit_journal.c.action)
                .where(t.audit_journal.c.entity_id == "ann")
                .order_by(t.audit_journal.c.id)
            ).scalars()
        )
    assert actions == ["user.add", "user.set_role", "user.password", "user.disable", "user.enable"]
    ann.close()


def test_the_last_admin_is_protected(client_for: Callable[[Role], TestClient]) -> None:
    admin = client_for(Role.ADMIN)
    token = admin.headers["X-CSRF-Token"]
    demote = admin.post("/users/admin/role", data={"csrf_token": token, "role": "finance"})
    assert demote.status_code == 409 and "last active admin" in demote.text
    disable = admin.post("/users/admin/disable", data={"csrf_token": token})
    assert disable.status_code == 409 and "user.last_admin" in disable.text
    api = admin.patch("/api/users/admin", json={"role": "technician"})
    assert api.status_code == 409 and api.json()["error"]["code"] == "user.last_admin"
    api = admin.patch("/api/users/admin", json={"active": False})
    assert api.status_code == 409 and api.json()["error"]["code"] == "user.last_admin"
    assert admin.get("/api/session").json()["role"] == "admin"
    # with a second admin, the first may step down
    promoted = admin.patch("/api/users/finance", json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    stepped = admin.patch("/api/users/admin", json={"role": "finance"})
    assert stepped.status_code == 200 and stepped.json()["role"] == "finance"
    assert admin.get("/api/users").status_code == 403  # applies at once


def test_the_api(client_for: Callable[[Role], TestClient]) -> None:
    admin = client_for(Role.ADMIN)
    created = admin.post("/api/users", json={"name": "bea", "role": "service_manager", "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["role_label"] == "Service manager" and created.json()["active"] is True
    assert PASSWORD not in created.text
    short = admin.post("/api/users", json={"name": "cat", "role": "finance", "password": "short"})
    assert short.status_code == 400 and short.json()["error"]["code"] == "user.password"
    assert admin.patch("/api/users/bea", json={}).status_code == 400
    assert admin.patch("/api/users/nobody", json={"role": "admin"}).status_code == 404
    assert admin.patch("/api/users/bea", json={"active": True}).json()["active"] is True  # already
    changed = admin.patch("/api/users/bea", json={"password": NEW_PASSWORD, "role": "finance"})
    assert changed.status_code == 200 and changed.json()["role"] == "finance"
    # a lockout shows, and a new password lifts it
    with TestClient(admin.app) as bea:
        for _ in range(5):
            assert (
                bea.post("/api/session", json={"name": "bea", "password": "wrong password!"}).status_code
                == 401
            )
    locked = next(u for u in admin.get("/api/users").json()["users"] if u["name"] == "bea")
    assert locked["locked"] is True and locked["locked_until"]
    assert "locked until" in admin.get("/users").text
    admin.patch("/api/users/bea", json={"password": PASSWORD})
    lifted = next(u for u in admin.get("/api/users").json()["users"] if u["name"] == "bea")
    assert lifted["locked"] is False
    disabled = admin.patch("/api/users/bea", json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    again = admin.patch("/api/users/bea", json={"active": True})
    assert again.status_code == 200 and again.json()["active"] is True


def test_forms_need_the_csrf_token(store: App, client_for: Callable[[Role], TestClient]) -> None:
    admin = client_for(Role.ADMIN)
    admin.headers.pop("X-CSRF-Token")
    for path, form in (
        ("/users", {"name": "eve", "role": "admin", "password": PASSWORD, "password_again": PASSWORD}),
        ("/users/technician/role", {"role": "admin"}),
        ("/users/technician/disable", {}),
        ("/users/technician/enable", {}),
        ("/users/technician/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}),
        ("/settings/rates", {"charge_type": "remote", "effective_from": "2026-12-01", "hourly_rate": "1"}),
        ("/settings/costs", {"agent": "alice", "effective_from": "2026-12-01", "salary": "1"}),
        ("/connections/secret", {"name": "halopsa_client_secret", "value": "x"}),
        ("/connections/xero/start", {}),
        ("/connections/xero/tenant", {"tenant_id": "x"}),
    ):
        for token in (None, "wrong"):
            data = {**form, **({"csrf_token": token} if token else {})}
            response = admin.post(path, data=data)
            assert response.status_code == 403 and "auth.csrf" in response.text, (path, token)
    with store.engine.connect() as conn:
        users = dict(conn.execute(sa.select(t.users.c.name, t.users.c.role)).all())
        assert conn.execute(sa.select(sa.func.count()).select_from(t.agent_costs)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.secrets)).scalar_one() == 0
    assert "eve" not in users and users["technician"] == "technician"

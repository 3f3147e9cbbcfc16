"""The connections page: who sees it, the HaloPSA client secret stored encrypted (never shown back),
and "Connect Xero" — the authorization-code flow with PKCE through the browser, against the Xero
simulator's identity service, ending with the tokens in the encrypted connection store."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.services import connections
from revloop.simulators.common import mock_transport
from revloop.simulators.xero import XeroSimulator
from revloop.web.app import create_app
from revloop.web.connection_views import use_xero_transport
from revloop.web.roles import Role

from .conftest import Clock, sign_in, sim_clients
from .test_pages import _token

TENANT = "7a1d0c2e-0000-4000-8000-00000000aaaa"
CLIENT_ID = "WEBCLIENT"
CLIENT_SECRET = "web-client-secret-value"
PUBLIC = "http://testserver"
CALLBACK = f"{PUBLIC}/connections/xero/callback"
HALO_SECRET = "halo-secret-Zq81-never-shown"


def code_flow_app(
    store: App, public_url: str, authorize_url: str = "http://sim/identity/connect/authorize"
) -> App:
    """The fixture's store, with a code-flow (PKCE) Xero app configured instead of the custom connection."""
    settings = store.settings.model_copy(
        update={
            "xero_client_id": CLIENT_ID,
            "xero_client_secret": SecretStr(CLIENT_SECRET),
            "xero_authorize_url": authorize_url,
            "web_public_url": public_url,
        }
    )
    return App(settings)


@pytest.fixture
def xero_web(store: App, sim: XeroSimulator, clock: Clock) -> Iterator[tuple[FastAPI, App]]:
    sim.identity.add_client(CLIENT_ID, CLIENT_SECRET, [CALLBACK])
    app = code_flow_app(store, PUBLIC)
    application = create_app(app, clients=sim_clients(sim), clock=clock)
    use_xero_transport(application, mock_transport(sim))
    yield application, app
    app.close()


def _admin(application: FastAPI) -> TestClient:
    client = TestClient(application, base_url=PUBLIC, follow_redirects=False)
    sign_in(client, "admin")
    return client


def _consent(sim: XeroSimulator, url: str) -> str:
    """What the person's browser does at Xero: the simulator approves at once and redirects back."""
    with httpx.Client(transport=mock_transport(sim)) as browser:
        answer = browser.get(url)
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    return location


def test_who_sees_the_page(client_for: Callable[[Role], TestClient]) -> None:
    for role, expected in (
        (Role.ADMIN, 200),
        (Role.FINANCE, 200),
        (Role.SERVICE_MANAGER, 403),
        (Role.TECHNICIAN, 403),
    ):
        client = client_for(role)
        assert client.get("/connections").status_code == expected, role
        assert client.get("/api/connections").status_code == expected, role
    finance = client_for(Role.FINANCE).get("/connections").text
    assert "Connect Xero" not in finance and "Store encrypted" not in finance  # finance views only
    admin = client_for(Role.ADMIN).get("/connections").text
    assert "Store encrypted" in admin


def test_finance_may_not_change_connections(client_for: Callable[[Role], TestClient]) -> None:
    client = client_for(Role.FINANCE)
    token = client.headers["X-CSRF-Token"]
    assert client.post("/connections/xero/start", data={"csrf_token": token}).status_code == 403
    refused = client.post("/api/connections/secret", json={"name": "halopsa_client_secret", "value": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"


def test_halopsa_secret_is_stored_encrypted_and_never_shown(
    store: App, client_for: Callable[[Role], TestClient]
) -> None:
    client = client_for(Role.ADMIN)
    page = client.get("/connections")
    assert "not set" in page.text
    done = client.post(
        "/connections/secret",
        data={"csrf_token": _token(page.text), "name": "halopsa_client_secret", "value": HALO_SECRET},
    )
    assert done.status_code == 303 and done.headers["location"] == "/connections?done=secret"
    assert store.secrets.get("halopsa_client_secret") == HALO_SECRET
    with store.engine.connect() as conn:
        sealed = conn.execute(sa.select(t.secrets.c.ciphertext)).scalar_one()
        journal = conn.execute(sa.select(t.audit_journal.c.details)).all()
    assert HALO_SECRET.encode() not in sealed and HALO_SECRET not in str(journal)
    shown = client.get("/connections?done=secret")
    assert re.search(r'id="halopsa-secret">set on \d\d \w\w\w \d{4}', shown.text)
    assert HALO_SECRET not in shown.text
    api = client.get("/api/connections").json()
    assert api["halopsa"]["client_secret"]["source"] == "store"
    assert HALO_SECRET not in str(api)
    answer = client.post(
        "/api/connections/secret", json={"name": "halopsa_client_secret", "value": "another-one"}
    )
    assert answer.status_code == 200 and "another-one" not in answer.text
    assert answer.json()["source"] == "store"
    unknown = client.post("/api/connections/secret", json={"name": "secret_key", "value": "x"})
    assert unknown.status_code == 422


def test_connect_xero_through_the_browser(xero_web: tuple[FastAPI, App], sim: XeroSimulator) -> None:
    application, app = xero_web
    client = _admin(application)
    page = client.get("/connections")
    assert f'id="redirect-uri">{CALLBACK}<' in page.text
    assert "form-action 'self' http://sim" in page.headers["content-security-policy"]
    start = client.post("/connections/xero/start", data={"csrf_token": _token(page.text)})
    assert start.status_code == 303
    url = start.headers["location"]
    assert url.startswith("http://sim/identity/connect/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == [CALLBACK] and query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [CLIENT_ID] and "offline_access" in query["scope"][0]
    back = _consent(sim, url)
    assert back.startswith(CALLBACK + "?")
    done = client.get(back)
    assert done.status_code == 303 and done.headers["location"] == "/connections?done=connected"

    stored = connections.connection_store(app).load("default")
    assert stored is not None and stored.mode == "code" and stored.tenant_id == TENANT
    assert stored.tokens is not None and stored.tokens.refresh_token
    with app.engine.connect() as conn:
        sealed = conn.execute(sa.select(t.xero_connections.c.tokens)).scalar_one()
    assert stored.tokens.access_token.encode() not in sealed

    shown = client.get("/connections?done=connected").text
    assert "Xero is connected." in shown and "Northgate IT Services Ltd" in shown and TENANT in shown
    api = client.get("/api/connections").json()
    [connection] = api["xero_connections"]
    assert connection["tenant_id"] == TENANT and connection["tenant_name"] == "Northgate IT Services Ltd"
    assert connection["access_expires_at"] and connection["last_refresh_at"] and connection["reconsent_by"]
    for secret in (stored.tokens.access_token, stored.tokens.refresh_token, CLIENT_SECRET):
        assert secret not in shown and secret not in str(api)

    again = client.get(back)  # the answer is used once
    assert again.status_code == 400 and "connect.callback" in again.text


def test_the_answer_must_match_this_session_and_state(
    xero_web: tuple[FastAPI, App], sim: XeroSimulator
) -> None:
    application, app = xero_web
    first, second = _admin(application), _admin(application)
    start = first.post("/connections/xero/start", data={"csrf_token": first.headers["X-CSRF-Token"]})
    back = _consent(sim, start.headers["location"])
    other = second.get(back)  # another session never started this flow
    assert other.status_code == 400 and "no connection to Xero was started" in other.text
    forged = first.get(re.sub(r"state=[^&]+", "state=forged", back))
    assert forged.status_code == 400 and "state mismatch" in forged.text
    assert first.get(back).status_code == 400  # the forged answer used up the flow
    refused = first.post("/connections/xero/start", data={"csrf_token": first.headers["X-CSRF-Token"]})
    state = parse_qs(urlsplit(refused.headers["location"]).query)["state"][0]
    denied = first.get(f"/connections/xero/callback?error=access_denied&state={state}")
    assert denied.status_code == 400 and "access_denied" in denied.text
    assert connections.connection_store(app).load("default") is None


def test_start_needs_the_csrf_token(xero_web: tuple[FastAPI, App]) -> None:
    application, _ = xero_web
    client = _admin(application)
    client.headers.pop("X-CSRF-Token")
    refused = client.post("/connections/xero/start", data={"csrf_token": "wrong"})
    assert refused.status_code == 403 and "auth.csrf" in refused.text


def test_choose_the_organisation(xero_web: tuple[FastAPI, App], sim: XeroSimulator) -> None:
    application, _ = xero_web
    client = _admin(application)
    start = client.post("/connections/xero/start", data={"csrf_token": client.headers["X-CSRF-Token"]})
    assert client.get(_consent(sim, start.headers["location"])).status_code == 303
    unknown = client.post("/api/connections/xero/tenant", json={"tenant_id": "not-an-organisation"})
    assert unknown.status_code == 400
    chosen = client.post("/api/connections/xero/tenant", json={"name": "default", "tenant_id": TENANT})
    assert chosen.status_code == 200 and chosen.json()["xero_connections"][0]["tenant_id"] == TENANT


def test_xero_not_configured_is_a_clear_error(store: App, clock: Clock) -> None:
    app = App(store.settings.model_copy(update={"xero_client_id": ""}))
    application = create_app(app, clock=clock)
    client = _admin(application)
    page = client.get("/connections")
    assert "Set <code>[xero] client_id</code>" in page.text
    refused = client.post("/connections/xero/start", data={"csrf_token": client.headers["X-CSRF-Token"]})
    assert refused.status_code == 502 and "Xero is not configured" in refused.text
    app.close()


def test_public_url_default_is_host_and_port(store: App, clock: Clock) -> None:
    app = App(store.settings.model_copy(update={"web_host": "127.0.0.1", "web_port": 8123}))
    application = create_app(app, clock=clock)
    client = _admin(application)
    assert client.get("/api/connections").json()["xero"]["redirect_uri"] == (
        "http://127.0.0.1:8123/connections/xero/callback"
    )
    app.close()

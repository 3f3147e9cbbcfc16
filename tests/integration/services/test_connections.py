"""Connecting to Xero the way a person does: the consent page (the simulator approves at once)
redirects to revloop's one-shot listener on this machine; tokens are stored encrypted."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from revloop.adapters.db import migrations
from revloop.adapters.db.tables import xero_connections
from revloop.bootstrap import App
from revloop.config import load_settings
from revloop.domain.issues import AuthError, InputError
from revloop.services import connections
from revloop.simulators.common import mock_transport
from revloop.simulators.xero import XeroSimulator
from revloop.simulators.xero import demo as xero_demo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> XeroSimulator:
    return XeroSimulator()


@pytest.fixture
def app(sim: XeroSimulator, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> App:
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    sim.identity.add_client(xero_demo.DEMO_CLIENT_ID, xero_demo.DEMO_CLIENT_SECRET, [redirect])
    env = {
        "REVLOOP_XERO_CLIENT_ID": xero_demo.DEMO_CLIENT_ID,
        "REVLOOP_XERO_CLIENT_SECRET": xero_demo.DEMO_CLIENT_SECRET,
        "REVLOOP_XERO_IDENTITY_URL": "http://sim/identity",
        "REVLOOP_XERO_AUTHORIZE_URL": "http://sim/identity/connect/authorize",
        "REVLOOP_XERO_CONNECTIONS_URL": "http://sim/connections",
        "REVLOOP_XERO_API_URL": "http://sim/api.xro/2.0",
        "REVLOOP_XERO_REDIRECT_URI": redirect,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    application = App(load_settings())
    migrations.upgrade(application.engine)
    return application


def _browser(sim: XeroSimulator):  # type: ignore[no-untyped-def]
    """What the person's browser does: open the consent page, follow its redirect to localhost."""

    def open_url(url: str) -> None:
        with httpx.Client(transport=mock_transport(sim)) as browser:
            consent = browser.get(url)
        assert consent.status_code == 302
        httpx.get(consent.headers["location"], timeout=10)

    return open_url


def test_code_flow_stores_encrypted_tokens(app: App, sim: XeroSimulator) -> None:
    result = connections.connect_xero_code(
        app, open_url=_browser(sim), transport=mock_transport(sim), timeout=10
    )
    assert result.tenant_id == xero_demo.DEMO_TENANT_ID
    assert (xero_demo.DEMO_TENANT_ID, "Demo MSP Pty Ltd") in result.organisations
    stored = connections.connection_store(app).load("default")
    assert stored is not None and stored.tokens is not None and stored.tokens.refresh_token
    with app.engine.connect() as conn:
        sealed = conn.execute(sa.select(xero_connections.c.tokens)).scalar_one()
    assert stored.tokens.access_token.encode() not in sealed
    rows = connections.status(app)
    xero = next(r for r in rows if r.system == "xero")
    assert xero.tenant == xero_demo.DEMO_TENANT_ID and xero.refresh_expires_at is not None


def test_refused_consent_is_an_auth_error(app: App, sim: XeroSimulator) -> None:
    def deny(url: str) -> None:
        redirect = app.settings.xero_redirect_uri
        httpx.get(f"{redirect}?error=access_denied&state=x", timeout=10)

    with pytest.raises(AuthError, match="access_denied"):
        connections.connect_xero_code(app, open_url=deny, transport=mock_transport(sim), timeout=10)


def test_state_mismatch_is_refused(app: App, sim: XeroSimulator) -> None:
    def forged(url: str) -> None:
        httpx.get(f"{app.settings.xero_redirect_uri}?code=abc&state=forged", timeout=10)

    with pytest.raises(AuthError, match="state mismatch"):
        connections.connect_xero_code(app, open_url=forged, transport=mock_transport(sim), timeout=10)


def test_custom_connection(app: App, sim: XeroSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_XERO_CLIENT_ID", xero_demo.CUSTOM_CLIENT_ID)
    monkeypatch.setenv("REVLOOP_XERO_CLIENT_SECRET", xero_demo.CUSTOM_CLIENT_SECRET)
    custom_app = App(load_settings())
    result = connections.connect_xero_custom(custom_app, transport=mock_transport(sim))
    assert result.mode == "custom" and result.tenant_id == xero_demo.DEMO_TENANT_ID


def test_redirect_must_be_local(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_XERO_REDIRECT_URI", "https://example.com/callback")
    with pytest.raises(InputError, match="not on this machine"):
        connections.connect_xero_code(App(load_settings()), open_url=print, timeout=1)

"""The ``[web]`` settings: the Secure flag of the session cookie, how long sessions last, and the
public URL the Xero redirect URI is made of — used by ``create_app`` and ``revloop serve`` alike,
with the command line's flags still winning."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloop.bootstrap import App
from revloop.cli.main import app as cli
from revloop.cli.main import main
from revloop.web.app import create_app

from .conftest import PASSWORD, Clock


def _app(store: App, **web: object) -> App:
    return App(store.settings.model_copy(update=web))


def test_cookies_and_session_lengths_follow_the_settings(store: App, clock: Clock) -> None:
    application = create_app(
        _app(store, web_secure_cookies="always", web_session_idle_minutes=5, web_session_hours=1), clock=clock
    )
    with TestClient(application) as client:
        signed = client.post("/api/session", json={"name": "finance", "password": PASSWORD})
        cookie = signed.headers["set-cookie"]
        assert "Secure" in cookie and "Max-Age=3600" in cookie
        client.cookies.set("revloop_session", signed.cookies["revloop_session"])
        clock.advance(minutes=4)
        assert client.get("/api/session").status_code == 200
        clock.advance(minutes=6)
        assert client.get("/api/session").status_code == 401  # idle for more than 5 minutes


def test_never_and_the_flag_that_wins(store: App, clock: Clock) -> None:
    never = create_app(_app(store, web_secure_cookies="never"), clock=clock)
    with TestClient(never, base_url="https://testserver") as client:
        cookie = client.post("/api/session", json={"name": "finance", "password": PASSWORD}).headers[
            "set-cookie"
        ]
        assert "Secure" not in cookie
    forced = create_app(_app(store, web_secure_cookies="never"), clock=clock, secure_cookies=True)
    with TestClient(forced) as client:
        cookie = client.post("/api/session", json={"name": "finance", "password": PASSWORD}).headers[
            "set-cookie"
        ]
        assert "Secure" in cookie


def test_public_url_makes_the_redirect_uri(store: App, clock: Clock) -> None:
    application = create_app(_app(store, web_public_url="https://revloop.example.com/"), clock=clock)
    with TestClient(application) as client:
        client.post("/api/session", json={"name": "finance", "password": PASSWORD})
        xero = client.get("/api/connections").json()["xero"]
    assert xero["redirect_uri"] == "https://revloop.example.com/connections/xero/callback"


@pytest.fixture
def home(isolated_home: Path) -> Path:
    assert main(["db", "upgrade"]) == 0
    return isolated_home


def test_serve_uses_the_web_settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(app=self.config.app))
    monkeypatch.setenv("REVLOOP_WEB_SECURE_COOKIES", "always")
    monkeypatch.setenv("REVLOOP_WEB_SESSION_IDLE_MINUTES", "15")
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    port = result.output.split("http://127.0.0.1:")[1].split("/")[0]
    web = seen["app"].state  # type: ignore[attr-defined]
    assert web.web.secure_cookies is True and web.web.idle.total_seconds() == 15 * 60
    assert web.public_url == f"http://127.0.0.1:{port}"
    monkeypatch.setenv("REVLOOP_WEB_PUBLIC_URL", "https://revloop.example.com")
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--no-secure-cookies"])
    assert result.exit_code == 0, result.output
    web = seen["app"].state  # type: ignore[attr-defined]
    assert web.web.secure_cookies is False and web.public_url == "https://revloop.example.com"

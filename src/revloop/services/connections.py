"""Connecting revloop to Xero and HaloPSA, and reporting what is connected.

The Xero code flow: revloop makes a PKCE pair and a state, sends the person to Xero's consent page,
and receives the answer on a one-shot HTTP listener at the registered redirect URI on this machine.
The code is exchanged for tokens, which are stored encrypted (``xero_connections``) and rotate on
every refresh from then on. A Custom Connection (client_credentials) needs no consent page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa

from revloop.adapters.db import audit
from revloop.adapters.db.tables import audit_journal, sync_watermarks, xero_connections
from revloop.adapters.secrets import load_key
from revloop.adapters.xero.auth import authorize_url, new_pkce, new_state
from revloop.adapters.xero.factory import custom_connection_client, identity_client
from revloop.adapters.xero.tokens import ConnectionStore
from revloop.bootstrap import App
from revloop.domain.issues import AuthError, ConnectorError, InputError, NotFound

REFRESH_TOKEN_LIFETIME = timedelta(days=60)
CONNECT_ACTION = "xero.connect"
CALLBACK_TIMEOUT = 300.0


def connection_store(app: App) -> ConnectionStore:
    settings = app.settings
    env_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return ConnectionStore(app.engine, load_key(settings.home, env_key))


@dataclass(frozen=True)
class Callback:
    code: str | None
    state: str | None
    error: str | None


class _CallbackServer(HTTPServer):
    result: Callback | None = None


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        first = {k: v[0] for k, v in query.items() if v}
        self.server.result = Callback(first.get("code"), first.get("state"), first.get("error"))
        ok = self.server.result.error is None and self.server.result.code is not None
        body = (
            "<h1>revloop is connected to Xero.</h1><p>You can close this window.</p>"
            if ok
            else "<h1>Xero did not connect revloop.</h1><p>Go back to the terminal for details.</p>"
        ).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def listen_for_callback(redirect_uri: str) -> tuple[_CallbackServer, threading.Thread]:
    parts = urlsplit(redirect_uri)
    if parts.hostname not in ("localhost", "127.0.0.1") or not parts.port:
        raise InputError(
            f"the redirect URI {redirect_uri} is not on this machine",
            hint="register e.g. http://localhost:8765/callback on your Xero app and set xero redirect_uri",
        )
    try:
        server = _CallbackServer(("127.0.0.1", parts.port), _CallbackHandler)
    except OSError as exc:
        raise InputError(f"cannot listen on port {parts.port} for Xero's answer: {exc.strerror}") from None
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    return server, thread


@dataclass(frozen=True)
class Connected:
    name: str
    mode: str
    tenant_id: str | None
    organisations: list[tuple[str, str]]  # (tenant id, name)


@dataclass(frozen=True)
class CodeFlow:
    """A consent request on its way: the consent page's URL, and what checks and completes the answer."""

    url: str
    state: str = field(repr=False)
    verifier: str = field(repr=False)
    redirect_uri: str


def start_code_flow(app: App, redirect_uri: str) -> CodeFlow:
    """A fresh state and PKCE pair, and the consent URL that sends Xero's answer to ``redirect_uri``."""
    settings = app.connector_settings()
    if not settings.xero_client_id:
        raise ConnectorError(
            "Xero is not configured", hint="set xero client_id (and REVLOOP_XERO_CLIENT_SECRET)"
        )
    pkce, state = new_pkce(), new_state()
    url = authorize_url(
        settings.xero_authorize_url,
        client_id=settings.xero_client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=pkce.challenge,
    )
    return CodeFlow(url, state, pkce.verifier, redirect_uri)


def finish_code_flow(
    app: App,
    flow: CodeFlow,
    code: str,
    *,
    name: str = "default",
    transport: httpx.BaseTransport | None = None,
    actor: str = "cli",
) -> Connected:
    """Exchange the consent's code for tokens, store them encrypted and choose the organisation."""
    settings = app.connector_settings()
    identity = identity_client(settings, transport=transport)
    try:
        tokens = identity.exchange_code(code, redirect_uri=flow.redirect_uri, code_verifier=flow.verifier)
    finally:
        identity.close()
    store = connection_store(app)
    store.save(name, tokens, mode="code", tenant_id=None)
    organisations = _organisations(settings, tokens.access_token, transport)
    tenant = _choose_tenant(settings.xero_tenant_id, organisations)
    store.set_tenant(name, tenant)
    connected = Connected(name, "code", tenant, organisations)
    _record(app, connected, actor)
    return connected


def _record(app: App, connected: Connected, actor: str) -> None:
    """The audit journal keeps who connected which organisations (never a token)."""
    with app.engine.begin() as conn:
        audit.record(
            conn,
            at=datetime.now(UTC),
            actor=actor,
            action=CONNECT_ACTION,
            entity="xero_connection",
            entity_id=connected.name,
            details={
                "mode": connected.mode,
                "tenant": connected.tenant_id,
                "organisations": [[t, n] for t, n in connected.organisations],
            },
        )


def organisations(app: App, name: str) -> list[tuple[str, str]]:
    """The organisations the connection reached when it was last made: (tenant id, name)."""
    journal = audit_journal
    with app.engine.connect() as conn:
        details = conn.execute(
            sa.select(journal.c.details)
            .where(journal.c.action == CONNECT_ACTION, journal.c.entity_id == name)
            .order_by(journal.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    found = (details or {}).get("organisations") or []
    return [(str(pair[0]), str(pair[1])) for pair in found if isinstance(pair, list) and len(pair) == 2]


def choose_tenant(app: App, name: str, tenant_id: str, *, actor: str = "cli") -> None:
    """Post to another of the connection's organisations."""
    known = organisations(app, name)
    if tenant_id not in {t for t, _ in known}:
        raise InputError(
            f"{tenant_id} is not among the organisations of Xero connection {name!r}",
            hint="connect Xero again and tick the organisation",
        )
    store = connection_store(app)
    if store.load(name) is None:
        raise NotFound(f"no Xero connection named {name!r}")
    store.set_tenant(name, tenant_id)
    with app.engine.begin() as conn:
        audit.record(
            conn,
            at=datetime.now(UTC),
            actor=actor,
            action="xero.tenant",
            entity="xero_connection",
            entity_id=name,
            details={"tenant": tenant_id},
        )


def connect_xero_code(
    app: App,
    *,
    name: str = "default",
    open_url: Callable[[str], object],
    transport: httpx.BaseTransport | None = None,
    timeout: float = CALLBACK_TIMEOUT,
) -> Connected:
    """The consent flow: ``open_url`` shows the person the consent page (prints it or opens a browser)."""
    settings = app.connector_settings()
    flow = start_code_flow(app, settings.xero_redirect_uri)
    server, thread = listen_for_callback(settings.xero_redirect_uri)
    try:
        open_url(flow.url)
        thread.join(timeout)
    finally:
        server.server_close()
    answer = server.result
    if answer is None:
        raise AuthError(f"no answer from Xero's consent page within {int(timeout)} s", hint="run it again")
    if answer.error:
        raise AuthError(f"Xero refused the connection: {answer.error}")
    if answer.state != flow.state or not answer.code:
        raise AuthError(
            "the answer from Xero does not match this request (state mismatch)", hint="run it again"
        )
    return finish_code_flow(app, flow, answer.code, name=name, transport=transport)


def connect_xero_custom(
    app: App, *, name: str = "default", transport: httpx.BaseTransport | None = None
) -> Connected:
    """A Custom Connection: check the credentials work and record the organisation they reach."""
    client = custom_connection_client(app.connector_settings(), transport=transport)
    try:
        organisations = [(str(c.tenantId), str(c.tenantName or "")) for c in client.connections()]
    finally:
        client.close()
    tenant = _choose_tenant(app.settings.xero_tenant_id, organisations)
    store = connection_store(app)
    store.save(name, None, mode="custom", tenant_id=tenant)
    connected = Connected(name, "custom", tenant, organisations)
    _record(app, connected, "cli")
    return connected


def _organisations(
    settings: Any, access_token: str, transport: httpx.BaseTransport | None
) -> list[tuple[str, str]]:
    with httpx.Client(transport=transport, timeout=30) as http:
        response = http.get(
            settings.xero_connections_url, headers={"Authorization": f"Bearer {access_token}"}
        )
    if response.status_code != 200:
        raise ConnectorError(f"Xero's connections list answered {response.status_code}")
    return [(str(c["tenantId"]), str(c.get("tenantName") or "")) for c in response.json()]


def _choose_tenant(wanted: str, organisations: list[tuple[str, str]]) -> str | None:
    if not organisations:
        raise AuthError(
            "the Xero login has access to no organisation", hint="connect again and tick an organisation"
        )
    if wanted:
        if wanted not in {t for t, _ in organisations}:
            names = ", ".join(f"{n} ({t})" for t, n in organisations)
            raise InputError(f"xero tenant_id {wanted} is not among the connected organisations: {names}")
        return wanted
    return organisations[0][0]


@dataclass(frozen=True)
class ConnectionStatus:
    system: str
    name: str
    detail: str
    tenant: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    last_sync_at: datetime | None


def status(app: App) -> list[ConnectionStatus]:
    """What is connected and when its tokens expire. Never shows a token's or secret's value."""
    settings = app.connector_settings()
    rows: list[ConnectionStatus] = []
    with app.engine.connect() as conn:
        last_sync = {
            system: at
            for system, at in conn.execute(
                sa.select(sync_watermarks.c.system, sa.func.max(sync_watermarks.c.last_run_at)).group_by(
                    sync_watermarks.c.system
                )
            )
        }
        halopsa_ready = bool(
            settings.halopsa_base_url and settings.halopsa_client_id and settings.halopsa_client_secret
        )
        rows.append(
            ConnectionStatus(
                "halopsa",
                "settings",
                f"{settings.halopsa_base_url} as client {settings.halopsa_client_id}"
                if halopsa_ready
                else "not configured (set halopsa base_url, client_id and REVLOOP_HALOPSA_CLIENT_SECRET)",
                settings.halopsa_tenant or None,
                None,
                None,
                last_sync.get("halopsa"),
            )
        )
        for row in conn.execute(sa.select(xero_connections).order_by(xero_connections.c.name)):
            refresh_expiry = (
                row.refreshed_at + REFRESH_TOKEN_LIFETIME if row.mode == "code" and row.refreshed_at else None
            )
            rows.append(
                ConnectionStatus(
                    "xero",
                    row.name,
                    "code flow (rotating refresh token)" if row.mode == "code" else "custom connection",
                    row.tenant_id,
                    row.access_expires_at,
                    refresh_expiry,
                    last_sync.get("xero"),
                )
            )
    return rows

"""The connections page and API: Xero (connected organisations, the organisation posted to, token
expiry, and "Connect Xero": the authorization-code flow with PKCE through the browser), HaloPSA
(where it is, and its client secret stored encrypted), and the last sync of every resource.

The Xero flow: ``POST /connections/xero/start`` makes a state and a PKCE verifier, keeps them on
the server bound to the signed-in session, and sends the browser to Xero's consent page; Xero sends
it back to ``GET /connections/xero/callback``, which checks the state, exchanges the code with the
verifier (the same service ``revloop connect xero`` uses) and stores the tokens encrypted. Secrets
and tokens are never part of a page, an answer, a log line or an error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from revloop.adapters.db import audit
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import InputError
from revloop.services import connections as service
from revloop.web import csrf, views
from revloop.web.api import ERRORS
from revloop.web.deps import csrf_protect, require, web
from revloop.web.models import Model, MoneyText, SyncStatus, redact
from revloop.web.pages import render
from revloop.web.roles import Action
from revloop.web.sessions import Session

CALLBACK_PATH = "/connections/xero/callback"
FLOW_LIFETIME = timedelta(minutes=10)
SECRETS = ("halopsa_client_secret", "xero_client_secret")
SYNC_SUBJECTS = ("halopsa:", "xero:")

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(prefix="/api", tags=["connections"], dependencies=[Depends(csrf_protect)], responses=ERRORS)


class XeroCallbackError(InputError):
    """Xero's answer to the consent page cannot be used: refused, not started here, or not matching."""

    code = "connect.callback"


# -- models -------------------------------------------------------------------------------------


class SecretState(Model):
    name: str
    source: Literal["environment", "store", "none"] = Field(
        description="Where the secret comes from; its value is never shown."
    )
    stored_at: datetime | None = Field(None, description="When it was stored (source = store).")


class Organisation(Model):
    tenant_id: str
    name: str


class XeroConnectionOut(Model):
    name: str
    mode: str = Field(description="code (consent page, rotating refresh token) | custom (Custom Connection)")
    tenant_id: str | None = Field(description="The organisation invoices are posted to.")
    tenant_name: str | None
    organisations: list[Organisation] = Field(description="Organisations reached when it was last connected.")
    access_expires_at: datetime | None
    last_refresh_at: datetime | None
    reconsent_by: datetime | None = Field(
        description="When the refresh token lapses unless used (code flow)."
    )


class XeroSetup(Model):
    configured: bool
    client_id: str
    authorize_url: str
    redirect_uri: str = Field(description="Register this redirect URI on the Xero app.")
    client_secret: SecretState


class HaloSetup(Model):
    configured: bool
    base_url: str
    auth_url: str
    client_id: str
    tenant: str
    client_secret: SecretState


class SyncIssueOut(Model):
    id: int
    code: str
    severity: str
    subject: str
    message: MoneyText
    action: MoneyText
    last_seen: datetime


class ConnectionsOut(Model):
    xero: XeroSetup
    xero_connections: list[XeroConnectionOut]
    halopsa: HaloSetup
    sync: list[SyncStatus]
    sync_issues: list[SyncIssueOut]


class SecretIn(BaseModel):
    name: Literal["halopsa_client_secret", "xero_client_secret"]
    value: str = Field(
        min_length=1, max_length=4096, json_schema_extra={"format": "password", "writeOnly": True}
    )


class TenantIn(BaseModel):
    name: str = Field(default="default", min_length=1, max_length=64)
    tenant_id: str = Field(min_length=1, max_length=64)


# -- what the page shows ------------------------------------------------------------------------


def callback_url(request: Request) -> str:
    """The dashboard's own callback, from ``[web] public_url`` (default http://host:port)."""
    base: str = getattr(request.app.state, "public_url", "") or str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


def _secret_state(app: App, name: str) -> SecretState:
    if getattr(app.settings, name, None) is not None:
        return SecretState(name=name, source="environment", stored_at=None)
    stored = {n: at for n, at, _ in app.secrets.names()}
    if name in stored:
        return SecretState(name=name, source="store", stored_at=stored[name])
    return SecretState(name=name, source="none", stored_at=None)


def connections(app: App, redirect_uri: str) -> ConnectionsOut:
    settings = app.settings
    halo_secret = _secret_state(app, "halopsa_client_secret")
    status = {row.name: row for row in service.status(app) if row.system == "xero"}
    xc = t.xero_connections
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(xc.c.name, xc.c.mode, xc.c.tenant_id, xc.c.refreshed_at).order_by(xc.c.name)
            )
        )
        sync = views.sync_status(conn)
        f = t.findings
        issues = [
            SyncIssueOut(
                id=r.id,
                code=r.code,
                severity=r.severity,
                subject=str(r.subjects[0]),
                message=r.message,
                action=r.action or "",
                last_seen=r.last_seen,
            )
            for r in conn.execute(
                sa.select(f).where(f.c.kind == "issue", f.c.state == "open").order_by(f.c.last_seen.desc())
            )
            if r.subjects and str(r.subjects[0]).startswith(SYNC_SUBJECTS)
        ]
    xero = []
    for r in rows:
        orgs = [Organisation(tenant_id=tid, name=n) for tid, n in service.organisations(app, r.name)]
        found = status.get(r.name)
        xero.append(
            XeroConnectionOut(
                name=r.name,
                mode=r.mode,
                tenant_id=r.tenant_id,
                tenant_name=next((o.name for o in orgs if o.tenant_id == r.tenant_id), None),
                organisations=orgs,
                access_expires_at=found.access_expires_at if found else None,
                last_refresh_at=r.refreshed_at,
                reconsent_by=found.refresh_expires_at if found else None,
            )
        )
    return ConnectionsOut(
        xero=XeroSetup(
            configured=bool(settings.xero_client_id),
            client_id=settings.xero_client_id,
            authorize_url=settings.xero_authorize_url,
            redirect_uri=redirect_uri,
            client_secret=_secret_state(app, "xero_client_secret"),
        ),
        xero_connections=xero,
        halopsa=HaloSetup(
            configured=bool(settings.halopsa_base_url and settings.halopsa_client_id)
            and halo_secret.source != "none",
            base_url=settings.halopsa_base_url,
            auth_url=settings.halopsa_auth_url,
            client_id=settings.halopsa_client_id,
            tenant=settings.halopsa_tenant,
            client_secret=halo_secret,
        ),
        sync=sync,
        sync_issues=issues,
    )


def store_secret(app: App, name: str, value: str, *, by: str, now: datetime) -> SecretState:
    """As ``revloop secret set``: encrypted in the store; the journal names it, never its value."""
    if name not in SECRETS:
        raise InputError(f"not a secret the dashboard stores: {name!r}", hint="one of " + ", ".join(SECRETS))
    clean = value.strip()
    if not clean or "\n" in clean or "\r" in clean:
        raise InputError("the secret is empty or more than one line", hint="paste it again")
    app.secrets.put(name, clean)
    with app.engine.begin() as conn:
        audit.record(conn, at=now, actor=by, action="secret.set", entity="secret", entity_id=name)
    return _secret_state(app, name)


# -- the Xero flows in progress: server-side, one per session --------------------------------------


@dataclass(frozen=True)
class Pending:
    flow: service.CodeFlow
    started_at: datetime


_lock = threading.Lock()


def _flows(request: Request) -> dict[str, Pending]:
    with _lock:
        flows: dict[str, Pending] | None = getattr(request.app.state, "xero_flows", None)
        if flows is None:
            flows = {}
            request.app.state.xero_flows = flows
        return flows


def use_xero_transport(application: FastAPI, transport: httpx.BaseTransport | None) -> None:
    """Send the dashboard's Xero identity calls through ``transport`` (the simulator in tests)."""
    application.state.xero_transport = transport


def _transport(request: Request) -> httpx.BaseTransport | None:
    found: httpx.BaseTransport | None = getattr(request.app.state, "xero_transport", None)
    return found


def _content_security_policy(authorize_url: str) -> str:
    """The dashboard's policy, letting the "Connect Xero" form's redirect reach the consent page."""
    from revloop.web.app import SECURITY_HEADERS

    policy = SECURITY_HEADERS["Content-Security-Policy"]
    parts = urlsplit(authorize_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
    return policy


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- pages ----------------------------------------------------------------------------------------

DONE = {
    "connected": "Xero is connected.",
    "secret": "The secret is stored, encrypted.",
    "tenant": "Invoices will be posted to the organisation chosen.",
}


@pages.get("/connections", response_class=HTMLResponse)
def connections_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    done: Annotated[str, Query(pattern="^(|connected|secret|tenant)$")] = "",
) -> Response:
    ctx = web(request)
    data = redact(connections(ctx.app, callback_url(request)), session.role)
    response = render(
        request, "connections.html", session, data=data, done=DONE.get(done, ""), title="Connections"
    )
    response.headers["Content-Security-Policy"] = _content_security_policy(data.xero.authorize_url)
    return response


@pages.post("/connections/xero/start")
def xero_start(
    request: Request, session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))]
) -> Response:
    ctx = web(request)
    flow = service.start_code_flow(ctx.app, callback_url(request))
    flows, now = _flows(request), ctx.clock()
    with _lock:
        for stale in [sid for sid, p in flows.items() if now - p.started_at > FLOW_LIFETIME]:
            del flows[stale]
        flows[session.id] = Pending(flow, now)
    return _see_other(flow.url)


@pages.get(CALLBACK_PATH)
def xero_callback(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=256)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    ctx = web(request)
    flows = _flows(request)
    with _lock:
        pending = flows.pop(session.id, None)  # an answer is used once, whatever it says
    again = "press Connect Xero on the connections page again"
    if error:
        raise XeroCallbackError(f"Xero did not connect revloop ({error})", hint=again)
    if pending is None or ctx.clock() - pending.started_at > FLOW_LIFETIME:
        raise XeroCallbackError(
            "no connection to Xero was started from this session in the last "
            f"{int(FLOW_LIFETIME.total_seconds() // 60)} minutes",
            hint=again,
        )
    if not code or not csrf.tokens_match(pending.flow.state, state):
        raise XeroCallbackError(
            "the answer from Xero does not match the request (state mismatch)", hint=again
        )
    service.finish_code_flow(ctx.app, pending.flow, code, transport=_transport(request), actor=session.name)
    return _see_other("/connections?done=connected")


@pages.post("/connections/xero/tenant")
def xero_tenant(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
    tenant_id: Annotated[str, Form(min_length=1, max_length=64)],
    name: Annotated[str, Form(min_length=1, max_length=64)] = "default",
) -> Response:
    service.choose_tenant(web(request).app, name, tenant_id, actor=session.name)
    return _see_other("/connections?done=tenant")


@pages.post("/connections/secret")
def secret(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
    name: Annotated[str, Form(max_length=64)] = "",
    value: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    ctx = web(request)
    store_secret(ctx.app, name, value, by=session.name, now=ctx.clock())
    return _see_other("/connections?done=secret")


# -- API ------------------------------------------------------------------------------------------


@api.get("/connections", response_model=ConnectionsOut)
def connections_api(
    request: Request, session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))]
) -> ConnectionsOut:
    """Xero's connections (organisations, the one posted to, token expiry), HaloPSA's settings, where
    each client secret comes from (never its value), the last sync of every resource and open sync
    issues."""
    return redact(connections(web(request).app, callback_url(request)), session.role)


@api.post("/connections/secret", response_model=SecretState)
def secret_api(
    request: Request,
    body: SecretIn,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
) -> SecretState:
    """Store a client secret encrypted (as ``revloop secret set``); the answer says when, never what."""
    ctx = web(request)
    return store_secret(ctx.app, body.name, body.value, by=session.name, now=ctx.clock())


@api.post("/connections/xero/tenant", response_model=ConnectionsOut)
def tenant_api(
    request: Request,
    body: TenantIn,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
) -> ConnectionsOut:
    """Post to another organisation of the connection (one it reached when it was connected)."""
    ctx = web(request)
    service.choose_tenant(ctx.app, body.name, body.tenant_id, actor=session.name)
    return redact(connections(ctx.app, callback_url(request)), session.role)


router = APIRouter()
router.include_router(pages)
router.include_router(api)

__all__ = ["XeroCallbackError", "callback_url", "connections", "router", "use_xero_transport"]

"""The web dashboard: ``create_app(app)`` builds the FastAPI application — server-rendered pages,
the JSON API under ``/api/`` (OpenAPI document at ``/api/openapi.json``) and the static files.

The web face's one error boundary is here: a ``RevloopError`` becomes its HTTP status with a JSON
error body (API) or a friendly page (pages); a page that needs a session redirects to the sign-in
page; anything unexpected is logged and answered 500 without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from revloop import __version__
from revloop.bootstrap import App
from revloop.domain.issues import RevloopError
from revloop.web import (
    api,
    connection_views,
    contract_views,
    pages,
    profit_views,
    settings_views,
    user_views,
)
from revloop.web.billing_run import BillingRuns, Mode
from revloop.web.deps import Web, session_of
from revloop.web.errors import AuthRequired
from revloop.web.posting import ClientFactory, Poster, default_clients
from revloop.web.roles import LABELS, can
from revloop.web.throttle import AddressThrottle

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LOCALE = "en_GB"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _now() -> datetime:
    return datetime.now(UTC)


def money(value: Decimal | None, currency: str | None = None) -> str:
    """Money for display, at the edge only; a redacted (None) amount shows as a dash."""
    if value is None:
        return "—"
    if not currency:
        return f"{value:,.2f}"
    return str(format_currency(value, currency, locale=LOCALE))


def hours(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value.normalize():,f} h" if value == value.to_integral() else f"{value:,.2f} h"


def quantity(value: Decimal | None) -> str:
    """A quantity as people write it: 0.5, 2, 35.25 (never 0.5000)."""
    if value is None:
        return ""
    return f"{value.normalize():,f}"


def _templates(timezone: str) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    zone = ZoneInfo(timezone)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%d %b %Y %H:%M") if value else "never"

    templates.env.filters.update(
        money=money,
        hours=hours,
        quantity=quantity,
        when=when,
        urlquote=lambda s: quote(str(s), safe=""),
    )
    templates.env.globals.update(version=__version__)
    return templates


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _error_json(status: int, code: str, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "hint": hint}}, status_code=status)


def _error_page(request: Request, status: int, code: str, message: str, hint: str = "") -> Response:
    try:
        session = session_of(request)
    except Exception:  # the store itself may be what failed
        session = None
    role = session.role if session else None
    response: Response = request.app.state.web.templates.TemplateResponse(
        request,
        "error.html",
        {
            "session": session,
            "role_label": LABELS[role] if role else "",
            "can": (lambda action: bool(role) and can(role, action)),  # type: ignore[arg-type]
            "csrf_token": session.csrf_token if session else "",
            "path": request.url.path,
            "status": status,
            "code": code,
            "message": message,
            "hint": hint,
            "title": "Something needs attention",
        },
        status_code=status,
    )
    return response


def _install_errors(application: FastAPI) -> None:
    @application.exception_handler(RevloopError)
    async def revloop_error(request: Request, exc: RevloopError) -> Response:
        if _is_api(request):
            return _error_json(exc.http_status, exc.code, exc.message, exc.hint)
        if isinstance(exc, AuthRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _error_page(request, exc.http_status, exc.code, exc.message, exc.hint)

    @application.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http.error")
        message = {404: "There is no such page.", 405: "That is not allowed here."}.get(
            exc.status_code, str(exc.detail)
        )
        if _is_api(request):
            response: Response = _error_json(exc.status_code, code, message)
        else:
            response = _error_page(request, exc.status_code, code, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:  # every method of the path, not only the first route's
            methods = {
                m
                for r in request.app.router.routes
                if getattr(r, "path_regex", None) and r.path_regex.match(request.url.path)
                for m in getattr(r, "methods", None) or ()
            }
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @application.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = (
            f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid input"))
        )
        if _is_api(request):
            return _error_json(422, "input.invalid", message)
        return _error_page(request, 400, "input.invalid", message, "go back and check what you typed")

    @application.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "revloop hit an internal error; the server log has the details."
        if _is_api(request):
            return _error_json(500, "internal", message)
        return _error_page(request, 500, "internal", message)


def create_app(
    app: App,
    *,
    clients: ClientFactory | None = None,
    clock: Callable[[], datetime] | None = None,
    secure_cookies: bool | None = None,
    session_idle: timedelta | None = None,
    session_lifetime: timedelta | None = None,
    public_url: str | None = None,
    billing_runs: Mode = "process",
    warm: bool | None = None,
) -> FastAPI:
    """The dashboard over ``app``'s store.

    ``clients`` builds the Xero (and HaloPSA) clients a posting run uses (default: the stored
    connection, as ``revloop post``); ``clock`` gives the time (tests); ``secure_cookies`` forces the
    Secure flag on or off (default: ``[web] secure_cookies``; ``auto`` is on when the request came over
    https, e.g. via a TLS proxy); sessions last as ``[web]`` says unless given; ``public_url`` is the
    address browsers reach (default ``[web] public_url``, else http://host:port); ``billing_runs``
    says where billing previews are computed: in a worker process (default), a thread, or in the
    request (which also approves in the request; tests); ``warm`` keeps the profitability figures
    and the cost model computed in a thread while the server runs (default: ``[web] warm``)."""
    clock = clock or _now
    web_settings = app.settings
    if secure_cookies is None:
        secure_cookies = {"always": True, "never": False}.get(web_settings.web_secure_cookies)
    session_idle = session_idle or timedelta(minutes=web_settings.web_session_idle_minutes)
    session_lifetime = session_lifetime or timedelta(hours=web_settings.web_session_hours)
    application = FastAPI(
        title="revloop",
        version=__version__,
        summary="The revloop dashboard's API: overview, findings, invoices, billing runs and posting.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    application.state.web = Web(
        app=app,
        clock=clock,
        throttle=AddressThrottle(),
        poster=Poster(app, clients or default_clients, clock),
        templates=_templates(app.settings.timezone),
        secure_cookies=secure_cookies,
        idle=session_idle,
        lifetime=session_lifetime,
        billing=BillingRuns(app, clock, mode=billing_runs),
    )
    application.state.public_url = (
        public_url or web_settings.web_public_url or f"http://{web_settings.web_host}:{web_settings.web_port}"
    ).rstrip("/")
    _install_errors(application)

    @application.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    application.include_router(api.public)
    application.include_router(api.router)
    application.include_router(pages.public)
    application.include_router(pages.router)
    application.include_router(profit_views.api)
    application.include_router(profit_views.pages)
    application.include_router(contract_views.api)
    application.include_router(contract_views.pages)
    application.include_router(connection_views.router)
    application.include_router(settings_views.router)
    application.include_router(user_views.router)
    profit_views.keep_warm(application, app, clock, web_settings.web_warm if warm is None else warm)
    application.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return application


__all__ = ["create_app", "hours", "money"]

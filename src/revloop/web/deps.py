"""Request dependencies: the dashboard's context, the signed-in session, CSRF checks and permissions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader
from fastapi.templating import Jinja2Templates

from revloop.bootstrap import App
from revloop.domain.issues import PermissionDenied
from revloop.web import csrf, sessions
from revloop.web.billing_run import BillingRuns
from revloop.web.errors import AuthRequired, CsrfFailed
from revloop.web.posting import Poster
from revloop.web.roles import LABELS, Action, can
from revloop.web.sessions import Session
from revloop.web.throttle import AddressThrottle

#: documented in the OpenAPI document; the checks themselves are below
cookie_scheme = APIKeyCookie(name=sessions.COOKIE, auto_error=False, description="The session cookie.")
csrf_scheme = APIKeyHeader(
    name=csrf.HEADER, auto_error=False, description="The session's CSRF token (GET /api/session)."
)


@dataclass
class Web:
    app: App
    clock: Callable[[], datetime]
    throttle: AddressThrottle
    poster: Poster
    templates: Jinja2Templates
    secure_cookies: bool | None  # None: Secure when the request came over https
    idle: timedelta
    lifetime: timedelta
    billing: BillingRuns


def web(request: Request) -> Web:
    ctx: Web = request.app.state.web
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_of(request: Request) -> Session | None:
    """The request's live session, read once per request."""
    if "session" not in request.scope.setdefault("state", {}):
        ctx = web(request)
        token = request.cookies.get(sessions.COOKIE)
        request.state.session = sessions.load(ctx.app.engine, token, now=ctx.clock(), idle=ctx.idle)
    found: Session | None = request.state.session
    return found


def signed_in(request: Request, _cookie: Annotated[str | None, Depends(cookie_scheme)] = None) -> Session:
    session = session_of(request)
    if session is None:
        raise AuthRequired("please sign in", hint="your session ended or you are not signed in")
    return session


async def csrf_protect(request: Request, _token: Annotated[str | None, Depends(csrf_scheme)] = None) -> None:
    """On POST, PUT, PATCH and DELETE: a signed-in session and its CSRF token (header or form field)."""
    if not csrf.needs_check(request.method):
        return
    session = signed_in(request)
    given = request.headers.get(csrf.HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(csrf.FIELD)
        given = value if isinstance(value, str) else None
    if not csrf.tokens_match(session.csrf_token, given):
        raise CsrfFailed(
            "this request did not carry the page's security token",
            hint="reload the page and try again",
        )


def require(action: Action) -> Callable[..., Session]:
    """A dependency: the signed-in session, if its role may take ``action`` (else 403)."""

    def dependency(session: Annotated[Session, Depends(signed_in)]) -> Session:
        if not can(session.role, action):
            raise PermissionDenied(
                f"a {LABELS[session.role].lower()} may not do this ({action.value})",
                hint="ask a finance user or an admin",
            )
        return session

    dependency.__name__ = f"require_{action.value}"
    return dependency


def cookie_secure(request: Request) -> bool:
    setting = web(request).secure_cookies
    return setting if setting is not None else request.url.scheme == "https"


def set_session_cookie(response: Any, request: Request, token: str) -> None:
    ctx = web(request)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(ctx.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(response: Any, request: Request) -> None:
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
    )


__all__ = [
    "Web",
    "clear_session_cookie",
    "client_address",
    "cookie_secure",
    "csrf_protect",
    "require",
    "session_of",
    "set_session_cookie",
    "signed_in",
    "web",
]

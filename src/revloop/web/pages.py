"""The server-rendered pages. Each reads the same views as the API, redacted for the role, and
every form carries the session's CSRF token (checked by ``deps.csrf_protect``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revloop.domain.issues import InputError, IssueState, NotFound, RevloopError
from revloop.web import auth, csrf, sessions, views
from revloop.web.deps import (
    clear_session_cookie,
    client_address,
    cookie_secure,
    csrf_protect,
    require,
    session_of,
    set_session_cookie,
    signed_in,
    web,
)
from revloop.web.models import redact
from revloop.web.roles import LABELS, Action, can
from revloop.web.sessions import Session

public = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

PeriodQuery = Annotated[str | None, Query(pattern=views.MONTH)]
LOGIN_MAX_AGE = 15 * 60


def render(
    request: Request, template: str, session: Session | None, status_code: int = 200, **context: Any
) -> Response:
    role = session.role if session else None
    return web(request).templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "role_label": LABELS[role] if role else "",
            "can": (lambda action: bool(role) and can(role, action)),  # type: ignore[arg-type]
            "csrf_token": session.csrf_token if session else "",
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) is followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- sign in and out ----------------------------------------------------------------------------


@public.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    if session_of(request) is not None:
        return _see_other(_safe_next(next))
    return _login_form(request, next=_safe_next(next))


def _login_form(
    request: Request, *, next: str, error: str = "", name: str = "", status_code: int = 200
) -> Response:
    nonce = csrf.new_token()
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        login_token=nonce,
        next=next,
        error=error,
        name=name,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/login",
    )
    return response


@public.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=512)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    ctx = web(request)
    target = _safe_next(next)
    if not csrf.tokens_match(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        return _login_form(
            request,
            next=target,
            name=name,
            status_code=403,
            error="The sign-in form had expired. Please try again.",
        )
    now = ctx.clock()
    try:
        user = auth.authenticate(
            ctx.app.engine, name, password, address=client_address(request), now=now, throttle=ctx.throttle
        )
    except RevloopError as exc:
        return _login_form(request, next=target, name=name, status_code=exc.http_status, error=exc.message)
    token, _ = sessions.create(ctx.app.engine, user.id, now=now, lifetime=ctx.lifetime)
    response = _see_other(target)
    set_session_cookie(response, request, token)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: Annotated[Session, Depends(signed_in)]) -> Response:
    sessions.delete(web(request).app.engine, session.id)
    response = _see_other("/login")
    clear_session_cookie(response, request)
    return response


# -- overview -----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    period: PeriodQuery = None,
) -> Response:
    ctx = web(request)
    target = views.parse_period(period) if period else views.default_period(ctx.app, ctx.clock())
    data = redact(views.overview(ctx.app, target), session.role)
    return render(request, "overview.html", session, data=data, title="Overview")


# -- findings -----------------------------------------------------------------------------------


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_FINDINGS))],
    state: Annotated[str, Query(pattern="^(open|acknowledged|resolved|all)$")] = "open",
    code: Annotated[str, Query(max_length=64)] = "",
    severity: Annotated[str, Query(pattern="^(|error|warning|info)$")] = "",
    done: Annotated[str, Query(pattern="^(|acknowledged|resolved)$")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    data = views.findings(
        web(request).app,
        state=None if state == "all" else state,
        code=code or None,
        severity=severity or None,
        page=page,
    )
    filters = {"state": state, "code": code, "severity": severity}
    return render(
        request,
        "findings.html",
        session,
        data=redact(data, session.role),
        filters=filters,
        query=urlencode({**filters, "page": data.page}),
        filter_query=urlencode(filters),
        states=(*views.STATES, "all"),
        severities=views.SEVERITIES,
        done=done,
        title="Findings",
    )


def _back_to_findings(query: str, done: str) -> RedirectResponse:
    allowed = {k: v for k, v in _parse_query(query).items() if k in ("state", "code", "severity", "page")}
    return _see_other("/findings?" + urlencode({**allowed, "done": done}))


def _parse_query(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(query[:500]))


@router.post("/findings/{finding_id}/acknowledge")
def acknowledge(
    request: Request,
    finding_id: int,
    session: Annotated[Session, Depends(require(Action.MANAGE_FINDINGS))],
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not reason.strip():
        raise InputError("say why the finding is acknowledged", hint="type a reason next to the button")
    ctx = web(request)
    views.change_finding(
        ctx.app, finding_id, IssueState.ACKNOWLEDGED, reason=reason.strip(), by=session.name, now=ctx.clock()
    )
    return _back_to_findings(back, "acknowledged")


@router.post("/findings/{finding_id}/resolve")
def resolve(
    request: Request,
    finding_id: int,
    session: Annotated[Session, Depends(require(Action.MANAGE_FINDINGS))],
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    ctx = web(request)
    views.change_finding(
        ctx.app,
        finding_id,
        IssueState.RESOLVED,
        reason=reason.strip() or "resolved",
        by=session.name,
        now=ctx.clock(),
    )
    return _back_to_findings(back, "resolved")


# -- invoices -----------------------------------------------------------------------------------


@router.get("/invoices", response_class=HTMLResponse)
def invoices(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    period: PeriodQuery = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    ctx = web(request)
    target = views.parse_period(period) if period else None
    data = redact(views.invoices(ctx.app, target, page), session.role)
    return render(
        request,
        "invoices.html",
        session,
        data=data,
        periods=views.known_periods(ctx.app),
        period=period or "",
        quote=quote,
        title="Invoices",
    )


@router.get("/invoices/pdf")
def invoice_pdf(
    request: Request,
    _session: Annotated[Session, Depends(require(Action.VIEW_MONEY))],
    key: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    ctx = web(request)
    found = views.invoice_pdf(ctx.app, key, ctx.clock())
    if found is None:
        raise NotFound(f"no invoice with key {key}")
    name, body = found
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# -- billing run --------------------------------------------------------------------------------

SortQuery = Annotated[str, Query(pattern="^(customer|total|total_asc|hours)$")]
SearchQuery = Annotated[str, Query(max_length=200)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


def _billing_query(period: str, **extra: Any) -> str:
    return urlencode({"period": period, **{k: v for k, v in extra.items() if v not in (None, "", 1)}})


@router.get("/billing", response_class=HTMLResponse)
def billing(
    request: Request,
    session: Annotated[Session, Depends(require(Action.PREVIEW_BILLING))],
    period: PeriodQuery = None,
    page: PageNumber = 1,
    q: SearchQuery = "",
    sort: SortQuery = "customer",
    approved: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    approving: Annotated[bool, Query()] = False,
) -> Response:
    """The period's preview: progress while it is computed, then its summary, problems and a page of
    its drafts; approval of chosen drafts or of the whole period."""
    ctx = web(request)
    target = views.parse_period(period) if period else views.default_period(ctx.app, ctx.clock())
    data = redact(
        views.preview(
            ctx.billing,
            target,
            page=page,
            q=q,
            sort=sort,
            money=can(session.role, Action.VIEW_MONEY),
        ),
        session.role,
    )
    approval = data.approval
    running = approval is not None and approval.state == "running"
    month = views.month_text(target)
    return render(
        request,
        "billing.html",
        session,
        data=data,
        periods=views.known_periods(ctx.app),
        approved=approved,
        approval=approval if approving or running else None,
        refresh=data.state == "computing" or running,
        here=_billing_query(month, page=data.page, q=data.q, sort=data.sort),
        link=lambda **changes: (
            "/billing?"
            + _billing_query(month, **{"page": data.page, "q": data.q, "sort": data.sort, **changes})
        ),
        post=ctx.poster.status() if can(session.role, Action.POST) else None,
        title="Billing run",
    )


@router.get("/billing/{period}/draft", response_class=HTMLResponse)
def billing_draft(
    request: Request,
    period: str,
    session: Annotated[Session, Depends(require(Action.PREVIEW_BILLING))],
    key: Annotated[str, Query(min_length=1, max_length=200)],
    page: PageNumber = 1,
) -> Response:
    """One draft of the preview: its lines, each with its explanation, and Xero's side."""
    ctx = web(request)
    target = views.parse_period(period)
    data = redact(views.draft(ctx.billing, target, key, page), session.role)
    return render(
        request,
        "billing_draft.html",
        session,
        data=data,
        key=key,
        refresh=data.state == "computing" and data.draft is None,
        title=f"Draft {key}",
    )


def _back_to_billing(period: str, back: str, **extra: Any) -> RedirectResponse:
    allowed = {k: v for k, v in _parse_query(back).items() if k in ("page", "q", "sort")}
    return _see_other("/billing?" + urlencode({"period": period, **allowed, **extra}))


@router.post("/billing/{period}/approve")
def approve(
    request: Request,
    period: str,
    session: Annotated[Session, Depends(require(Action.APPROVE))],
    fingerprint: Annotated[str, Form(max_length=128)] = "",
    keys: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[str, Form(pattern="^(all|selected)$")] = "all",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Approve the drafts ticked (``scope=selected``) or the whole period (``scope=all``, the
    default), from the preview whose fingerprint the form carries."""
    ctx = web(request)
    target = views.parse_period(period)
    chosen = [k for k in keys or [] if k]
    if scope == "selected" and not chosen:
        raise InputError("tick the drafts to approve", hint="or approve the whole period")
    result = views.approve(
        ctx.billing,
        target,
        keys=chosen if scope == "selected" else [],
        fingerprint_seen=fingerprint or None,
        by=session.name,
    )
    month = views.month_text(target)
    if result.state == "running":
        return _back_to_billing(month, back, approving="true")
    return _back_to_billing(month, back, approved=len(result.approved))


# -- posting ------------------------------------------------------------------------------------


@router.post("/post")
def post(request: Request, session: Annotated[Session, Depends(require(Action.POST))]) -> Response:
    web(request).poster.start(session.name)
    return _see_other("/post")


@router.get("/post", response_class=HTMLResponse)
def post_status(request: Request, session: Annotated[Session, Depends(require(Action.POST))]) -> Response:
    return render(request, "post.html", session, status=web(request).poster.status(), title="Posting to Xero")

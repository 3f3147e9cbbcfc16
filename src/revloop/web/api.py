"""The JSON API under ``/api/`` (OpenAPI document at ``/api/openapi.json``). Same data and the
same permissions as the pages; every response passes through ``models.redact``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status

from revloop.domain.issues import InputError, IssueState, NotFound
from revloop.web import auth, sessions, views
from revloop.web.deps import (
    clear_session_cookie,
    client_address,
    csrf_protect,
    require,
    set_session_cookie,
    signed_in,
    web,
)
from revloop.web.models import (
    AcknowledgeRequest,
    ApproveRequest,
    ApproveResult,
    DraftDetail,
    ErrorBody,
    FindingList,
    FindingOut,
    InvoiceList,
    LoginRequest,
    Overview,
    PostStatus,
    Preview,
    ResolveRequest,
    SessionInfo,
    redact,
)
from revloop.web.roles import LABELS, Action, allowed, can
from revloop.web.sessions import Session

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Bad input (a period that is not YYYY-MM, ...)"),
        (401, "Not signed in, or the session ended"),
        (403, "The role may not do this, or the CSRF token is missing or wrong"),
        (404, "No such record"),
        (409, "Conflicts with the record's state (a closed period, a run still going, ...)"),
        (422, "The request does not match this document"),
        (500, "revloop could not do it (configuration, an internal error)"),
        (502, "Xero or HaloPSA failed"),
        (503, "The store or a vendor is unavailable"),
    )
}

#: login: no session yet, so no CSRF token; JSON only (a cross-site form cannot send JSON)
public = APIRouter(prefix="/api", tags=["session"], responses=ERRORS)
router = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], responses=ERRORS)

PeriodPath = Annotated[str, Path(pattern=views.MONTH, description="A month, YYYY-MM.")]
PeriodQuery = Annotated[
    str | None, Query(pattern=views.MONTH, description="A month, YYYY-MM; default: the open one.")
]


def _info(session: Session) -> SessionInfo:
    return SessionInfo(
        name=session.name,
        role=session.role,
        role_label=LABELS[session.role],
        permissions=allowed(session.role),
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
    )


@public.post("/session", response_model=SessionInfo, summary="Sign in")
def login(request: Request, response: Response, body: LoginRequest) -> SessionInfo:
    """Sign in with a name and password; sets the session cookie and returns the CSRF token to send
    as ``X-CSRF-Token`` on every POST, PUT, PATCH and DELETE."""
    ctx = web(request)
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise InputError("send the sign-in as JSON")
    now = ctx.clock()
    user = auth.authenticate(
        ctx.app.engine,
        body.name,
        body.password,
        address=client_address(request),
        now=now,
        throttle=ctx.throttle,
    )
    token, _ = sessions.create(ctx.app.engine, user.id, now=now, lifetime=ctx.lifetime)
    set_session_cookie(response, request, token)
    session = sessions.load(ctx.app.engine, token, now=now, idle=ctx.idle)
    assert session is not None
    return _info(session)


@router.get("/session", response_model=SessionInfo, tags=["session"], summary="Who is signed in")
def who(session: Annotated[Session, Depends(signed_in)]) -> SessionInfo:
    return _info(session)


@router.delete(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["session"],
    summary="Sign out",
)
def logout(request: Request, session: Annotated[Session, Depends(signed_in)]) -> Response:
    sessions.delete(web(request).app.engine, session.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request)
    return response


@router.get("/overview", response_model=Overview, tags=["overview"])
def overview(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    period: PeriodQuery = None,
) -> Overview:
    """The period's billed and unbilled amounts and hours, the amount at risk in open findings,
    findings by severity, sync status and every billing period's state."""
    ctx = web(request)
    target = views.parse_period(period) if period else views.default_period(ctx.app, ctx.clock())
    return redact(views.overview(ctx.app, target), session.role)


@router.get("/findings", response_model=FindingList, tags=["findings"])
def findings(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_FINDINGS))],
    state: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved|all)$")] = "open",
    code: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(pattern="^(error|warning|info)$")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page, 100 findings a page.")] = 1,
) -> FindingList:
    """Findings, filtered by state (default open), code and severity, most severe first, 100 a
    page (``count`` and ``pages`` say how many there are)."""
    result = views.findings(
        web(request).app,
        state=None if state == "all" else state,
        code=code or None,
        severity=severity,
        page=page,
    )
    return redact(result, session.role)


def _change(
    request: Request, finding_id: int, state: IssueState, reason: str, session: Session
) -> FindingOut:
    ctx = web(request)
    views.change_finding(ctx.app, finding_id, state, reason=reason.strip(), by=session.name, now=ctx.clock())
    changed = views.finding(ctx.app, finding_id)
    if changed is None:  # pragma: no cover - it was just changed
        raise NotFound(f"no finding with id {finding_id}")
    return redact(changed, session.role)


FindingId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/findings/{finding_id}/acknowledge", response_model=FindingOut, tags=["findings"])
def acknowledge(
    request: Request,
    finding_id: FindingId,
    body: AcknowledgeRequest,
    session: Annotated[Session, Depends(require(Action.MANAGE_FINDINGS))],
) -> FindingOut:
    """Acknowledge a finding with a reason: it stays visible but is no longer open."""
    if not body.reason.strip():
        raise InputError("say why the finding is acknowledged")
    return _change(request, finding_id, IssueState.ACKNOWLEDGED, body.reason, session)


@router.post("/findings/{finding_id}/resolve", response_model=FindingOut, tags=["findings"])
def resolve(
    request: Request,
    finding_id: FindingId,
    session: Annotated[Session, Depends(require(Action.MANAGE_FINDINGS))],
    body: Annotated[ResolveRequest | None, Body()] = None,
) -> FindingOut:
    """Mark a finding resolved (it reopens if it is detected again)."""
    reason = (body.reason if body else "").strip() or "resolved"
    return _change(request, finding_id, IssueState.RESOLVED, reason, session)


@router.get("/invoices", response_model=InvoiceList, tags=["invoices"])
def invoices(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    period: PeriodQuery = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page, 200 invoices a page.")] = 1,
) -> InvoiceList:
    """revloop's invoices with their state and number, revloop's and Xero's totals side by side,
    200 a page (``count`` and ``pages`` say how many there are)."""
    target = views.parse_period(period) if period else None
    return redact(views.invoices(web(request).app, target, page), session.role)


PREVIEW_COMPUTING: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Preview,
        "description": "Being computed in the background: ``state`` is computing, ``progress`` says how "
        "far, the drafts are left out. Ask again until the answer is 200.",
    }
}


@router.get(
    "/billing/{period}/preview", response_model=Preview, tags=["billing"], responses=PREVIEW_COMPUTING
)
def preview(
    request: Request,
    response: Response,
    period: PeriodPath,
    session: Annotated[Session, Depends(require(Action.PREVIEW_BILLING))],
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page, 50 drafts a page.")] = 1,
    q: Annotated[str, Query(max_length=200, description="Only drafts whose customer or key holds it.")] = "",
    sort: Annotated[
        Literal["customer", "total", "total_asc", "hours"],
        Query(
            description="Order of the drafts: by customer, total (largest first; money roles only), "
            "total_asc, or hours (most first)."
        ),
    ] = "customer",
) -> Preview:
    """What billing the period would draft: totals, hours, issues and findings, and one page of the
    drafts with what Xero already holds under each invoice key (a draft's lines: ``GET
    /api/billing/{period}/draft?key=``). Computed in the background from the store as it is, and kept
    until the store changes: 202 with the progress while it is computed, 200 once ready. Changes
    nothing."""
    ctx = web(request)
    data = views.preview(
        ctx.billing,
        views.parse_period(period),
        page=page,
        q=q,
        sort=sort,
        money=can(session.role, Action.VIEW_MONEY),
    )
    if data.state == "computing":
        response.status_code = status.HTTP_202_ACCEPTED
        data = data.model_copy(update={"drafts": []})
    return redact(data, session.role)


@router.get(
    "/billing/{period}/draft",
    response_model=DraftDetail,
    tags=["billing"],
    responses={
        202: {
            "model": DraftDetail,
            "description": "The period's first preview is being computed: ``draft`` is null.",
        }
    },
)
def draft(
    request: Request,
    response: Response,
    period: PeriodPath,
    session: Annotated[Session, Depends(require(Action.PREVIEW_BILLING))],
    key: Annotated[str, Query(min_length=1, max_length=200, description="The draft's invoice key.")],
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page of lines, 200 a page.")] = 1,
) -> DraftDetail:
    """One draft of the period's preview: its lines, each with its explanation, and Xero's side
    (``stale`` when the store changed since the preview; 404 when the preview has no such draft)."""
    data = views.draft(web(request).billing, views.parse_period(period), key, page)
    if data.draft is None:
        response.status_code = status.HTTP_202_ACCEPTED
    return redact(data, session.role)


@router.post(
    "/billing/{period}/approve",
    response_model=ApproveResult,
    tags=["billing"],
    responses={
        202: {
            "model": ApproveResult,
            "description": "Approving the whole period in the background; poll "
            "``GET /api/billing/{period}/approval``.",
        }
    },
)
def approve(
    request: Request,
    response: Response,
    period: PeriodPath,
    body: ApproveRequest,
    session: Annotated[Session, Depends(require(Action.APPROVE))],
) -> ApproveResult:
    """Keep the drafts of the period's preview (without rating again) and approve them: the keys
    given (200, done), or every draft of the period (202, in the background). Refused (409
    billing.preview_stale) when the preview is not ready or the store changed since it was computed,
    or since the ``fingerprint`` sent."""
    result = views.approve(
        web(request).billing,
        views.parse_period(period),
        keys=body.keys,
        fingerprint_seen=body.fingerprint,
        by=session.name,
    )
    if result.state == "running":
        response.status_code = status.HTTP_202_ACCEPTED
    return result


@router.get("/billing/{period}/approval", response_model=ApproveResult, tags=["billing"])
def approval(
    request: Request,
    period: PeriodPath,
    _session: Annotated[Session, Depends(require(Action.APPROVE))],
) -> ApproveResult:
    """The period's current (or last) approval from the dashboard: running with its progress, done,
    failed, or idle."""
    return views.approval(web(request).billing, views.parse_period(period))


@router.post("/post", response_model=PostStatus, status_code=status.HTTP_202_ACCEPTED, tags=["posting"])
def post(request: Request, session: Annotated[Session, Depends(require(Action.POST))]) -> PostStatus:
    """Start posting every approved invoice to Xero (exactly once) in the background; poll
    ``GET /api/post/status`` for progress. 409 while a run is going."""
    return web(request).poster.start(session.name)


@router.get("/post/status", response_model=PostStatus, tags=["posting"])
def post_status(request: Request, _session: Annotated[Session, Depends(require(Action.POST))]) -> PostStatus:
    """The current (or last) posting run started from the dashboard."""
    return web(request).poster.status()

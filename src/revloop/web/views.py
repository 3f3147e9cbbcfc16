"""What each page and API route shows, read from the store and the billing services. Everything
here returns full models; ``models.redact`` then takes money away for roles without it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import Issue, IssueState, NotFound, PeriodError
from revloop.domain.periods import Period
from revloop.services.billing import run
from revloop.web import billing_run
from revloop.web.models import (
    Amount,
    ApproveResult,
    DraftDetail,
    DraftOut,
    FindingList,
    FindingOut,
    InvoiceList,
    InvoiceOut,
    IssueOut,
    LineOut,
    Overview,
    PeriodState,
    Preview,
    PreviewProgress,
    SyncJob,
    SyncStatus,
    XeroSide,
)

OPEN_INVOICE = ("draft", "approved", "posting")
BILLED_WORK = ("invoiced", "covered")
SEVERITIES = ("error", "warning", "info")
STATES = ("open", "acknowledged", "resolved")
#: a month as the API and pages take it: YYYY-MM, years 1900-2999
MONTH = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"


def parse_period(text: str) -> Period:
    try:
        period = Period.parse(text)
    except ValueError as exc:
        raise PeriodError(str(exc), hint="use YYYY-MM, e.g. 2026-10") from None
    if period != Period.month(period.start.year, period.start.month):
        raise PeriodError(f"not a month: {text!r}", hint="use YYYY-MM, e.g. 2026-10")
    return period


def month_text(period: Period) -> str:
    return f"{period.start:%Y-%m}"


def today(app: App, now: datetime) -> date:
    return now.astimezone(ZoneInfo(app.settings.timezone)).date()


def default_period(app: App, now: datetime) -> Period:
    """The newest open billing period; without one, the current month."""
    with app.engine.connect() as conn:
        start = conn.execute(
            sa.select(t.billing_periods.c.start)
            .where(t.billing_periods.c.status == "open")
            .order_by(t.billing_periods.c.start.desc())
            .limit(1)
        ).scalar_one_or_none()
    day = start or today(app, now)
    return Period.month(day.year, day.month)


def _amounts(rows: Any) -> list[Amount]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in rows:
        if currency and amount is not None:
            totals[currency] += amount
    return [Amount(currency=c, amount=a) for c, a in sorted(totals.items())]


def _hours(minutes: Decimal | None) -> Decimal:
    return ((minutes or Decimal(0)) / 60).quantize(Decimal("0.01"))


# -- overview -----------------------------------------------------------------------------------


def sync_status(conn: sa.Connection) -> list[SyncStatus]:
    """When each kind of record was last synced, and how many there are."""
    wm = t.sync_watermarks
    return [
        SyncStatus(
            system=r.system,
            resource=r.resource,
            last_run_at=r.last_run_at,
            last_full_at=r.last_full_at,
            records=r.records,
        )
        for r in conn.execute(sa.select(wm).order_by(wm.c.system, wm.c.resource))
    ]


def overview(app: App, period: Period) -> Overview:
    inv = t.invoices
    te = t.time_entries
    f = t.findings
    with app.engine.connect() as conn:
        ours = sa.and_(inv.c.origin == "revloop", inv.c.period_start == period.start)
        billed = _amounts(
            conn.execute(
                sa.select(inv.c.currency, inv.c.total).where(ours, inv.c.status.in_(("posted", "credited")))
            )
        )
        unbilled = _amounts(
            conn.execute(sa.select(inv.c.currency, inv.c.total).where(ours, inv.c.status.in_(OPEN_INVOICE)))
        )
        in_period = sa.and_(te.c.work_date >= period.start, te.c.work_date < period.end)
        billed_minutes = conn.execute(
            sa.select(sa.func.sum(te.c.minutes)).where(in_period, te.c.billing_state.in_(BILLED_WORK))
        ).scalar_one()
        unbilled_minutes = conn.execute(
            sa.select(sa.func.sum(te.c.minutes)).where(in_period, te.c.billing_state == "unbilled")
        ).scalar_one()
        at_risk = _amounts(conn.execute(sa.select(f.c.currency, f.c.amount).where(f.c.state == "open")))
        by_severity = {
            sev: int(n)
            for sev, n in conn.execute(
                sa.select(f.c.severity, sa.func.count()).where(f.c.state == "open").group_by(f.c.severity)
            )
        }
        sync = sync_status(conn)
        job = conn.execute(sa.select(t.job_leases).where(t.job_leases.c.name == "sync")).one_or_none()
        periods = _periods(conn)
    return Overview(
        period=month_text(period),
        label=period.label(),
        billed=billed,
        billed_hours=_hours(billed_minutes),
        unbilled=unbilled,
        unbilled_hours=_hours(unbilled_minutes),
        at_risk=at_risk,
        findings_by_severity={s: by_severity.get(s, 0) for s in SEVERITIES},
        open_findings=sum(by_severity.values()),
        sync=sync,
        sync_job=None
        if job is None
        else SyncJob(
            last_ok_at=job.last_ok_at,
            last_started_at=job.last_started_at,
            last_error=job.last_error,
            failures=job.failures,
        ),
        periods=periods,
    )


def _periods(conn: sa.Connection) -> list[PeriodState]:
    inv = t.invoices
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    for start, status, n in conn.execute(
        sa.select(inv.c.period_start, inv.c.status, sa.func.count())
        .where(inv.c.origin == "revloop", inv.c.period_start.is_not(None))
        .group_by(inv.c.period_start, inv.c.status)
    ):
        counts[start][status] = int(n)
    states = {r.start: r.status for r in conn.execute(sa.select(t.billing_periods))}
    out = []
    for start in sorted(set(counts) | set(states), reverse=True):
        period = Period.month(start.year, start.month)
        out.append(
            PeriodState(
                period=month_text(period),
                label=period.label(),
                start=period.start,
                end=period.end,
                status=states.get(start, "not billed"),
                invoices=dict(sorted(counts.get(start, {}).items())),
            )
        )
    return out


def known_periods(app: App) -> list[PeriodState]:
    with app.engine.connect() as conn:
        return _periods(conn)


# -- findings -----------------------------------------------------------------------------------

FINDINGS_PER_PAGE = 100


def findings(
    app: App,
    *,
    state: str | None = "open",
    code: str | None = None,
    severity: str | None = None,
    page: int = 1,
    per_page: int = FINDINGS_PER_PAGE,
    finding_id: int | None = None,
) -> FindingList:
    """The findings matching the filters, most severe first, ``per_page`` a page."""
    f = t.findings
    query = sa.select(f)
    if finding_id is not None:
        query = query.where(f.c.id == finding_id)
    if state:
        query = query.where(f.c.state == state)
    if code:
        query = query.where(f.c.code == code)
    if severity:
        query = query.where(f.c.severity == severity)
    order = sa.case({"error": 0, "warning": 1, "info": 2}, value=f.c.severity, else_=3)
    with app.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        ordered = query.order_by(order, f.c.code, f.c.id)
        rows = list(conn.execute(ordered.limit(per_page).offset((page - 1) * per_page)))
        codes = [c for (c,) in conn.execute(sa.select(f.c.code).distinct().order_by(f.c.code))]
    return FindingList(
        findings=[
            FindingOut(
                id=r.id,
                code=r.code,
                severity=r.severity,
                state=r.state,
                subjects=list(r.subjects or []),
                message=r.message,
                action=r.action or "",
                amount=r.amount,
                currency=r.currency,
                first_seen=r.first_seen,
                last_seen=r.last_seen,
                state_reason=r.state_reason,
                state_by=r.state_by,
            )
            for r in rows
        ],
        codes=codes,
        count=total,
        page=page,
        pages=pages,
        per_page=per_page,
    )


def finding(app: App, finding_id: int) -> FindingOut | None:
    with app.engine.connect() as conn:
        exists = conn.execute(sa.select(t.findings.c.id).where(t.findings.c.id == finding_id)).first()
    if exists is None:
        return None
    listed = findings(app, state=None, finding_id=finding_id).findings
    return next((f for f in listed if f.id == finding_id), None)


def change_finding(
    app: App, finding_id: int, state: IssueState, *, reason: str, by: str, now: datetime
) -> None:
    with app.engine.begin() as conn:
        repository.change_finding_state(conn, finding_id, state, reason=reason, by=by, at=now)


# -- invoices -----------------------------------------------------------------------------------


#: invoices a page (or an API response) shows at once
INVOICES_PER_PAGE = 200


def invoices(
    app: App, period: Period | None, page: int = 1, per_page: int = INVOICES_PER_PAGE
) -> InvoiceList:
    inv = t.invoices
    with app.engine.connect() as conn:
        ours = sa.select(sa.func.count()).select_from(inv).where(inv.c.origin == "revloop")
        if period is not None:
            ours = ours.where(inv.c.period_start == period.start)
        count = int(conn.execute(ours).scalar_one())
    pages = max(1, -(-count // per_page))
    page = min(max(page, 1), pages)
    rows = run.invoice_rows(app, period, limit=per_page, offset=(page - 1) * per_page)
    return InvoiceList(
        period=month_text(period) if period else None,
        count=count,
        page=page,
        pages=pages,
        per_page=per_page,
        invoices=[
            InvoiceOut(
                key=r["key"],
                customer=r["customer"],
                status=r["status"],
                number=r["number"],
                period=f"{r['period_start']:%Y-%m}" if r["period_start"] else None,
                currency=r["currency"],
                subtotal=r["subtotal"],
                tax=r["tax"],
                total=r["total"],
                xero_total=r["xero_total"],
                xero_status=r["xero_status"],
                matches_xero=None if r["xero_total"] is None else r["xero_total"] == r["total"],
            )
            for r in rows
        ],
    )


def invoice_pdf(app: App, key: str, now: datetime) -> tuple[str, bytes] | None:
    """The invoice ``key`` as a PDF (from the stored invoice as it is now): (file name, bytes)."""
    from revloop.adapters.render.pdf import PdfRenderer
    from revloop.services import documents
    from revloop.web import pdf_cache

    with app.engine.connect() as conn:
        start = conn.execute(
            sa.select(t.invoices.c.period_start).where(
                t.invoices.c.origin == "revloop", t.invoices.c.key == key
            )
        ).scalar_one_or_none()
    if start is None:
        return None
    period = Period.month(start.year, start.month)
    templates = app.settings.home / "templates"
    renderer = PdfRenderer(templates if templates.exists() else None)
    docs = [d for d in documents._documents(app, period, renderer, today(app, now), key) if d.key == key]
    if not docs:
        return None
    doc = docs[0]
    name = (doc.number if doc.status == "posted" else doc.key.replace(":", "_")).replace("/", "-")
    return f"{name}.pdf", pdf_cache.invoice_pdf(renderer, doc, pdf_cache.folder_of(app.settings.home))


# -- billing ------------------------------------------------------------------------------------

#: drafts a page of the billing run shows at once
DRAFTS_PER_PAGE = 50
#: lines a page of a draft shows at once
LINES_PER_PAGE = 200
#: issues and findings a preview lists (it counts them all)
ISSUES_SHOWN = 100
#: how the drafts of a preview can be ordered
SORTS = ("customer", "total", "total_asc", "hours")


def _issue(issue: Issue) -> IssueOut:
    return IssueOut(
        code=issue.code,
        severity=issue.severity.value,
        subject=issue.subject,
        message=issue.message,
        action=issue.action,
    )


def _progress(view: billing_run.View) -> PreviewProgress | None:
    p = view.progress
    if p is None:
        return None
    return PreviewProgress(stage=p.stage, done=p.done, out_of=p.total, started_at=p.started_at)


def _draft_out(computed: billing_run.Computed, draft: billing_run.Summary) -> DraftOut:
    c = draft.xero
    return DraftOut(
        key=draft.key,
        customer=draft.customer,
        customer_name=computed.outcome.names.get(draft.customer, draft.customer),
        currency=draft.currency,
        hours=draft.hours,
        subtotal=draft.subtotal,
        tax=draft.tax,
        total=draft.total,
        stored_status=computed.stored.get(draft.key),
        xero=XeroSide(state=c.state, number=c.xero_number, total=c.xero),  # type: ignore[arg-type]
        line_count=draft.line_count,
    )


def approval_out(period: Period, approval: billing_run.Approval | None) -> ApproveResult:
    if approval is None:
        return ApproveResult(period=month_text(period), state="idle")
    return ApproveResult(
        period=month_text(period),
        state=approval.state,
        started_by=approval.started_by,
        started_at=approval.started_at,
        finished_at=approval.finished_at,
        stage=approval.stage,
        done=approval.done,
        out_of=approval.total,
        approved=list(approval.approved),
        already=list(approval.already),
        created=approval.created,
        updated=approval.updated,
        unchanged=approval.unchanged,
        removed=approval.removed,
        message=approval.message,
    )


def preview(
    runs: billing_run.BillingRuns,
    period: Period,
    *,
    page: int = 1,
    per_page: int = DRAFTS_PER_PAGE,
    q: str = "",
    sort: str = "customer",
    money: bool = True,
) -> Preview:
    """The period's preview: its summary and one page of its drafts (those whose customer code, name
    or key holds ``q``, ordered by ``sort``; by total only for a role that sees money). Computed in
    the background: while computing, ``state`` is computing and the drafts are left out."""
    view = runs.view(period)
    computed = view.computed
    sort = sort if sort in SORTS and (money or not sort.startswith("total")) else "customer"
    drafts: list[DraftOut] = []
    count = 0
    pages = 1
    if computed is not None:
        chosen = list(computed.summaries)
        wanted = q.strip().lower()
        if wanted:
            names = computed.outcome.names
            chosen = [
                d
                for d in chosen
                if wanted in d.key.lower()
                or wanted in d.customer.lower()
                or wanted in names.get(d.customer, "").lower()
            ]
        if sort == "total":
            chosen.sort(key=lambda d: (-d.total, d.key))
        elif sort == "total_asc":
            chosen.sort(key=lambda d: (d.total, d.key))
        elif sort == "hours":
            chosen.sort(key=lambda d: (-d.hours, d.key))
        count = len(chosen)
        pages = max(1, -(-count // per_page))
        page = min(max(page, 1), pages)
        drafts = [_draft_out(computed, d) for d in chosen[(page - 1) * per_page : page * per_page]]
    totals: dict[str, Decimal] = {}
    issues: tuple[Issue, ...] = ()
    found: tuple[Issue, ...] = ()
    if computed is not None:
        totals = computed.totals
        issues, found = computed.outcome.issues, computed.outcome.findings
    return Preview(
        period=month_text(period),
        label=period.label(),
        state=view.state,
        stale=computed is not None and not view.fresh,
        progress=_progress(view),
        computed_at=computed.computed_at if computed else None,
        fingerprint=computed.fingerprint if computed is not None and view.fresh else None,
        period_status=computed.period_status if computed else "not billed",
        draft_count=len(computed.summaries) if computed else 0,
        totals=[Amount(currency=c, amount=a) for c, a in sorted(totals.items())],
        hours=sum((d.hours for d in computed.summaries), Decimal(0)) if computed else Decimal(0),
        issues=[_issue(i) for i in issues[:ISSUES_SHOWN]],
        issue_count=len(issues),
        findings=[_issue(i) for i in found[:ISSUES_SHOWN]],
        finding_count=len(found),
        drafts=drafts,
        count=count,
        page=min(max(page, 1), pages),
        pages=pages,
        per_page=per_page,
        q=q,
        sort=sort,
        approval=approval_out(period, view.approval) if view.approval else None,
    )


def draft(runs: billing_run.BillingRuns, period: Period, key: str, line_page: int = 1) -> DraftDetail:
    """One draft of the period's preview with a page of its lines (each with its explanation) and
    Xero's side. 404 when the preview has no such draft."""
    view = runs.view(period)
    computed = view.computed
    found = computed.summary(key) if computed is not None else None
    if computed is not None and found is None:
        raise NotFound(
            f"no draft {key} in the preview of {period.label()}", hint="the billing page lists them"
        )
    lines: list[LineOut] = []
    pages = 1
    whole = computed.draft(key) if computed is not None and found is not None else None
    if whole is not None:
        pages = max(1, -(-len(whole.lines) // LINES_PER_PAGE))
        line_page = min(max(line_page, 1), pages)
        lines = [
            LineOut(
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                amount=line.amount,
                tax=line.tax,
                explanation=line.explanation,
            )
            for line in whole.lines[(line_page - 1) * LINES_PER_PAGE : line_page * LINES_PER_PAGE]
        ]
    return DraftDetail(
        period=month_text(period),
        label=period.label(),
        state=view.state,
        stale=computed is not None and not view.fresh,
        progress=_progress(view),
        fingerprint=computed.fingerprint if computed is not None and view.fresh else None,
        draft=_draft_out(computed, found) if computed is not None and found is not None else None,
        lines=lines,
        line_page=min(max(line_page, 1), pages),
        line_pages=pages,
        lines_per_page=LINES_PER_PAGE,
    )


def approve(
    runs: billing_run.BillingRuns,
    period: Period,
    *,
    keys: list[str],
    fingerprint_seen: str | None,
    by: str,
) -> ApproveResult:
    """Keep the preview's drafts (as ``revloop bill`` keeps them, without rating again) and approve
    them — all, or the keys given. Nothing is approved if the store changed since the preview (or
    since the fingerprint the person saw). A whole period is approved in the background."""
    approval = runs.approve(period, keys=keys, fingerprint_seen=fingerprint_seen, by=by)
    return approval_out(period, approval)


def approval(runs: billing_run.BillingRuns, period: Period) -> ApproveResult:
    return approval_out(period, runs.approval(period))

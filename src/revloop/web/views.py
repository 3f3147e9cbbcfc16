"""What each page and API route shows, read from the store and the billing services. Everything
here returns full models; ``models.redact`` then takes money away for roles without it."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.invoicing import DraftInvoice
from revloop.domain.issues import Issue, IssueState, PeriodError
from revloop.domain.periods import Period
from revloop.services.billing import run
from revloop.web.errors import PreviewStale
from revloop.web.models import (
    Amount,
    ApproveResult,
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
    SyncJob,
    SyncStatus,
    XeroSide,
)

HOUR_KINDS = frozenset({"labour", "covered", "overage", "travel"})
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
        sync = [
            SyncStatus(
                system=r.system,
                resource=r.resource,
                last_run_at=r.last_run_at,
                last_full_at=r.last_full_at,
                records=r.records,
            )
            for r in conn.execute(
                sa.select(t.sync_watermarks).order_by(
                    t.sync_watermarks.c.system, t.sync_watermarks.c.resource
                )
            )
        ]
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


def fingerprint(drafts: tuple[DraftInvoice, ...] | list[DraftInvoice]) -> str:
    """Identifies what a preview showed: every draft's key, figures and lines."""
    digest = hashlib.sha256()
    for draft in sorted(drafts, key=lambda d: d.key):
        digest.update(f"{draft.key}|{draft.currency}|{draft.subtotal}|{draft.tax}|{draft.total}\n".encode())
        for line in draft.lines:
            digest.update(
                f"  {line.kind}|{line.description}|{line.quantity}|{line.unit_amount}|{line.amount}|"
                f"{line.tax}\n".encode()
            )
    return digest.hexdigest()[:32]


def _issue(issue: Issue) -> IssueOut:
    return IssueOut(
        code=issue.code,
        severity=issue.severity.value,
        subject=issue.subject,
        message=issue.message,
        action=issue.action,
    )


def preview(app: App, period: Period, now: datetime) -> Preview:
    result = run.bill(app, period, now=now, preview=True)
    comparison = {c.key: c for c in run.compare_with_xero(app, result.drafts)}
    keys = [d.key for d in result.drafts]
    with app.engine.connect() as conn:
        stored = {
            k: s
            for k, s in conn.execute(
                sa.select(t.invoices.c.key, t.invoices.c.status).where(
                    t.invoices.c.origin == "revloop", t.invoices.c.key.in_(keys)
                )
            )
        }
        status = conn.execute(
            sa.select(t.billing_periods.c.status).where(t.billing_periods.c.start == period.start)
        ).scalar_one_or_none()
    drafts = []
    for draft in result.drafts:
        c = comparison[draft.key]
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
            for line in draft.lines
        ]
        drafts.append(
            DraftOut(
                key=draft.key,
                customer=draft.customer,
                customer_name=result.names.get(draft.customer, draft.customer),
                currency=draft.currency,
                hours=sum((line.quantity for line in draft.lines if line.kind in HOUR_KINDS), Decimal(0)),
                subtotal=draft.subtotal,
                tax=draft.tax,
                total=draft.total,
                stored_status=stored.get(draft.key),
                xero=XeroSide(state=c.state, number=c.xero_number, total=c.xero),  # type: ignore[arg-type]
                lines=lines,
            )
        )
    return Preview(
        period=month_text(period),
        label=period.label(),
        fingerprint=fingerprint(result.drafts),
        drafts=drafts,
        totals=[Amount(currency=c, amount=a) for c, a in sorted(result.total.items())],
        hours=sum((d.hours for d in drafts), Decimal(0)),
        issues=[_issue(i) for i in result.issues],
        findings=[_issue(i) for i in result.findings],
        period_status=status or "not billed",
    )


def approve(
    app: App, period: Period, *, keys: list[str], fingerprint_seen: str | None, by: str, now: datetime
) -> ApproveResult:
    """Keep the period's drafts (as ``revloop bill`` does) and approve them — all, or the keys given.
    With the fingerprint of the preview the person saw, nothing is approved if the drafts changed."""
    kept = run.bill(app, period, now=now, actor=by)
    if fingerprint_seen and fingerprint(kept.drafts) != fingerprint_seen:
        raise PreviewStale(
            f"the drafts of {period.label()} changed since the preview (work or rates changed)",
            hint="preview again, check the changes, then approve",
        )
    result = run.approve(app, now=now, by=by, keys=keys, period=period, everything=not keys)
    return ApproveResult(
        period=month_text(period),
        approved=result.approved,
        already=result.already,
        created=len(kept.created),
        updated=len(kept.updated),
        unchanged=len(kept.unchanged),
        removed=len(kept.removed),
    )

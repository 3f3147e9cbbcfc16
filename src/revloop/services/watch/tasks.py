"""The jobs ``revloop watch`` runs for an App: sync, reconcile, preview, bill-ahead, notify.

Each is a plain callable over a ``JobContext``; ``build_jobs`` puts them in the registry with the
intervals from ``[watch]``. Reconciliation and bill-ahead are looked up when they run: when the
installed revloop has no such service, the job reports itself unavailable instead of failing.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from revloop.adapters.db import audit, repository
from revloop.adapters.db.tables import sync_marks
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.factory import custom_connection_client, stored_connection_client
from revloop.bootstrap import App
from revloop.domain.findings import Finding
from revloop.domain.issues import Issue, RevloopError
from revloop.domain.periods import Period
from revloop.services.connections import connection_store
from revloop.services.notify.run import Notifier
from revloop.services.sync import ResourceReport, SyncReport, WaitTally, sync_halopsa, sync_xero

from .errors import UnknownJob
from .jobs import Job, JobContext, JobResult, Run
from .leases import JobState

log = logging.getLogger("revloop.watch")

JOB_NAMES = ("sync", "reconcile", "preview", "bill-ahead", "notify")
ACTOR = "watch"


def parse_jobs(text: str | Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """``sync,notify`` (or a list) → job names in the registry's order; unknown names are refused."""
    if text is None:
        names = [n.strip() for n in default]
    elif isinstance(text, str):
        names = [n.strip() for n in text.split(",")]
    else:
        names = [n.strip() for n in text]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in JOB_NAMES]
    if unknown:
        raise UnknownJob(f"unknown job {unknown[0]!r}", hint=f"jobs: {', '.join(JOB_NAMES)}")
    if not names:
        raise UnknownJob("no jobs to run", hint=f"jobs: {', '.join(JOB_NAMES)}")
    return [n for n in JOB_NAMES if n in names]


def describe(result: Any) -> str:
    """A short summary of a service's result, whatever its type."""
    if result is None:
        return ""
    summary = getattr(result, "summary", None)
    if callable(summary):
        summary = summary()
    if isinstance(summary, str):
        return summary
    if isinstance(result, str | int):
        return str(result)
    return type(result).__name__


def lazy(module: str, attribute: str) -> Callable[..., Any] | str:
    """The service ``module.attribute``, or why it is unavailable."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if name and (name == module or name.startswith(module + ".") or module.startswith(name + ".")):
            return f"this revloop has no {module} yet"
        raise
    target = getattr(found, attribute, None)
    if not callable(target):
        return f"this revloop has no {module}.{attribute} yet"
    return target  # type: ignore[no-any-return]


# -- sync ----------------------------------------------------------------------------------------


class _Renewing:
    """Sync progress that keeps the job's lease alive while resources are read."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def started(self, system: str, resource: str) -> None:
        self.ctx.keep_alive()

    def advanced(self, system: str, resource: str, records: int) -> None:
        self.ctx.keep_alive()

    def waited(self, system: str, resource: str, reason: str, seconds: float) -> None:
        self.ctx.keep_alive()

    def finished(self, report: ResourceReport) -> None:
        self.ctx.keep_alive()


def _halo(app: App, waits: WaitTally) -> HaloClient | None:
    settings = app.connector_settings()
    if not (settings.halopsa_base_url and settings.halopsa_client_id and settings.halopsa_client_secret):
        return None
    return HaloClient.from_settings(settings, on_wait=waits)


def _xero(app: App, waits: WaitTally) -> tuple[XeroClient, str | None] | None:
    settings = app.connector_settings()
    store = connection_store(app)
    stored = store.load("default")
    if stored is not None and stored.mode == "code":
        client = stored_connection_client(settings, store, "default", on_wait=waits)
    elif stored is not None or settings.xero_client_secret:
        client = custom_connection_client(settings, on_wait=waits)
    else:
        return None
    tenant = (stored.tenant_id if stored is not None else None) or settings.xero_tenant_id or None
    return client, tenant


def _report_line(report: SyncReport) -> str:
    issues = len(report.issues)
    return f"{report.system} {report.read:,} read in {report.calls:,} calls" + (
        f", {issues} issue{'s' if issues != 1 else ''}" if issues else ""
    )


def sync_job(app: App) -> Run:
    said: set[str] = set()

    def say_once(text: str) -> None:
        if text not in said:
            said.add(text)
            log.info("sync: %s", text)

    def run(ctx: JobContext) -> JobResult:
        waits = WaitTally()
        progress = _Renewing(ctx)
        waits.listen(progress, lambda *_: ctx.keep_alive())
        lines: list[str] = []
        errors: list[Exception] = []
        halo = _halo(app, waits)
        if halo is None:
            say_once("HaloPSA is not configured: skipped (set [halopsa] and REVLOOP_HALOPSA_CLIENT_SECRET)")
        else:
            try:
                with halo:
                    report = sync_halopsa(
                        app,
                        halo,
                        full=False,
                        settings=app.settings,
                        now=ctx.now,
                        progress=progress,
                        waits=waits,
                    )
                lines.append(_report_line(report))
            except Exception as exc:  # the Xero half still runs; the first error fails the job
                errors.append(exc)
        xero = None
        try:
            xero = _xero(app, waits)
            if xero is None:
                say_once("Xero is not connected: skipped (run `revloop connect xero`)")
        except Exception as exc:
            errors.append(exc)
        if xero is not None:
            client, tenant = xero
            try:
                with client:
                    report = sync_xero(
                        app,
                        client,
                        tenant_id=tenant,
                        full=False,
                        settings=app.settings,
                        now=ctx.clock(),
                        progress=progress,
                        waits=waits,
                    )
                lines.append(_report_line(report))
            except Exception as exc:
                errors.append(exc)
        if errors:
            for extra in errors[1:]:
                line = (
                    extra.one_line()
                    if isinstance(extra, RevloopError)
                    else f"{type(extra).__name__}: {extra}"
                )
                log.error("sync: also failed: %s", line)
            raise errors[0]
        if not lines:
            return JobResult("skipped", "neither HaloPSA nor Xero is configured")
        return JobResult("ok", "; ".join(lines))

    return run


def marks_trigger(app: App) -> Callable[[JobState | None], str | None]:
    """Due at once when a Xero webhook left a mark since the last sync started."""

    def trigger(state: JobState | None) -> str | None:
        query = sa.select(sa.func.count()).select_from(sync_marks)
        if state is not None and state.last_started_at is not None:
            query = query.where(sync_marks.c.received_at > state.last_started_at)
        with app.engine.connect() as conn:
            count = conn.execute(query).scalar_one()
        if count:
            return f"{count} Xero webhook mark{'s' if count != 1 else ''}"
        return None

    return trigger


# -- reconcile, bill-ahead -------------------------------------------------------------------------


def service_job(app: App, module: str, attribute: str) -> Run:
    def run(ctx: JobContext) -> JobResult:
        target = lazy(module, attribute)
        if isinstance(target, str):
            return JobResult("unavailable", target)
        return JobResult("ok", describe(target(app, now=ctx.now)))

    return run


# -- preview ----------------------------------------------------------------------------------------


def preview_period(now: datetime, timezone: str, days_before: int) -> tuple[Period, bool]:
    """The month being worked in (MSP timezone), and whether its preview window has begun."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    period = Period.month(today.year, today.month)
    return period, days_before > 0 and today >= period.end - timedelta(days=days_before)


def _as_finding(issue: Issue, kind: str) -> Finding | None:
    if not issue.subject:
        return None
    subject = issue.subject if ":" in issue.subject else f"revloop:{kind}:{issue.subject}"
    return Finding(issue.code, issue.severity, (subject,), issue.message, action=issue.action)


def _totals(totals: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{cur} {amount:,.2f}" for cur, amount in sorted(totals.items())) or "nothing"


def preview_job(app: App) -> Run:
    def run(ctx: JobContext) -> JobResult:
        from revloop.services.billing.run import bill

        settings = app.settings
        period, window = preview_period(ctx.now, settings.timezone, settings.watch_preview_days_before)
        if not window:
            if settings.watch_preview_days_before <= 0:
                return JobResult("skipped", "previews are off ([watch] preview_days_before = 0)")
            start = period.end - timedelta(days=settings.watch_preview_days_before)
            return JobResult("skipped", f"the next preview window opens {start.isoformat()}")
        result = bill(app, period, now=ctx.now, preview=True, actor=ACTOR)
        found = [f for f in (_as_finding(i, "issue") for i in result.issues) if f is not None]
        found += [f for f in (_as_finding(i, "finding") for i in result.findings) if f is not None]
        summary = (
            f"{period.label()}: {len(result.drafts)} invoice(s) would total {_totals(result.total)}; "
            f"{len(result.issues)} issue(s), {len(result.findings)} finding(s)"
        )
        with app.engine.begin() as conn:
            if found:
                repository.record_findings(conn, found, at=ctx.now)
            audit.record(
                conn,
                at=ctx.now,
                actor=ACTOR,
                action="bill.preview",
                entity="period",
                entity_id=period.start.isoformat(),
                details={
                    "invoices": len(result.drafts),
                    "totals": {cur: f"{amount:.2f}" for cur, amount in result.total.items()},
                    "issues": len(result.issues),
                    "findings": len(result.findings),
                },
            )
        return JobResult("ok", summary)

    return run


# -- notify -----------------------------------------------------------------------------------------


def notify_job(app: App, notifier: Notifier | None = None) -> Run:
    holder: list[Notifier] = [notifier] if notifier is not None else []

    def run(ctx: JobContext) -> JobResult:
        if not app.settings.notify_recipients:
            return JobResult("skipped", "no recipients ([notify] recipients)")
        if not holder:
            holder.append(Notifier(app))
        return JobResult("ok", holder[0].run(ctx.now).summary())

    return run


# -- the registry -----------------------------------------------------------------------------------


def build_jobs(
    app: App,
    names: Sequence[str] | None = None,
    *,
    runs: Mapping[str, Run] | None = None,
    notifier: Notifier | None = None,
) -> list[Job]:
    """The jobs to watch, in order, with intervals from ``[watch]``; ``runs`` replaces callables
    (tests hand in fakes)."""
    settings = app.settings
    chosen = parse_jobs(names, settings.watch_jobs)
    minutes = timedelta(minutes=1)
    defaults: dict[str, Run] = {
        "sync": sync_job(app),
        "reconcile": service_job(app, "revloop.services.reconcile", "reconcile"),
        "preview": preview_job(app),
        "bill-ahead": service_job(app, "revloop.services.billing.ahead", "bill_ahead"),
        "notify": notify_job(app, notifier),
    }
    defaults.update(runs or {})
    table = {
        "sync": Job(
            "sync", settings.watch_sync_minutes * minutes, defaults["sync"], trigger=marks_trigger(app)
        ),
        "reconcile": Job(
            "reconcile", settings.watch_reconcile_minutes * minutes, defaults["reconcile"], after=("sync",)
        ),
        "preview": Job("preview", settings.watch_preview_minutes * minutes, defaults["preview"]),
        "bill-ahead": Job("bill-ahead", settings.watch_bill_ahead_minutes * minutes, defaults["bill-ahead"]),
        "notify": Job(
            "notify", settings.watch_notify_minutes * minutes, defaults["notify"], after=("reconcile",)
        ),
    }
    return [table[name] for name in chosen]


__all__ = [
    "JOB_NAMES",
    "build_jobs",
    "describe",
    "lazy",
    "marks_trigger",
    "notify_job",
    "parse_jobs",
    "preview_job",
    "preview_period",
    "service_job",
    "sync_job",
]

"""``reconcile``: every check, then the findings recorded with their lifecycle."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from revloop.adapters.db import repository
from revloop.bootstrap import App
from revloop.domain.findings import Finding
from revloop.domain.issues import Issue, PeriodError, RevloopError, Severity
from revloop.domain.periods import Period
from revloop.domain.reconciliation import (
    CODES,
    PERIOD_CODES,
    SUMMARY_CODES,
    IdentityRow,
    InvoicedWork,
    billed_twice,
    checked_periods,
    group_value,
    identity_findings,
    repeated_overruns,
    unbilled_work,
)
from revloop.services.reconcile import documents, identity, prepay, renewals
from revloop.services.reconcile.store import Snapshot, first_month, load
from revloop.services.reconcile.work import RatedMonths, overage_by_contract, rate_months

Progress = Callable[[str], None]
#: the profitability module's hook: ``margin_findings(app, now=..., period=...) -> list[Finding]``
PROFIT_HOOK = ("revloop.services.profit", "margin_findings")
PROFIT_CODES = ("profit.negative_margin",)


@dataclass(frozen=True)
class ReconcileResult:
    period: Period | None  # the period asked for (None: every closed period)
    periods: tuple[Period, ...]  # the periods checked
    today: date
    findings: tuple[Finding, ...]
    identity: tuple[IdentityRow, ...]
    issues: tuple[Issue, ...]  # problems in the data met while rating (billing reports them too)
    checked_codes: tuple[str, ...]
    new: int
    still: int  # seen before and still there (open or acknowledged)
    reopened: int
    resolved: int

    def summary(self) -> str:
        return (
            f"{len(self.findings)} findings: {self.new} new, {self.still} still open, "
            f"{self.reopened} reopened, {self.resolved} resolved"
        )

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """code -> currency -> amount at stake."""
        out: dict[str, dict[str, Decimal]] = {}
        for f in self.findings:
            if f.amount is not None:
                by = out.setdefault(f.code, {})
                key = f.currency or ""
                by[key] = by.get(key, Decimal(0)) + f.amount
        return out


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date() if now.tzinfo else now.date()


def _profit_hook() -> Callable[..., Any] | None:
    module_name, name = PROFIT_HOOK
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    hook = getattr(module, name, None)
    return hook if callable(hook) else None


def _time_checks(
    snapshot: Snapshot, months: RatedMonths, target: tuple[Period, ...], overrun_periods: int
) -> list[Finding]:
    found: list[Finding] = []
    for period in target:
        found += unbilled_work(period, months.parts.get(period, []), months.entries, snapshot.customers)
    invoices = [
        InvoicedWork(
            x.subject,
            x.number,
            x.customer,
            x.period,
            tuple(snapshot.sourced.get(x.id) or snapshot.lines.get(x.id) or ()),
            x.currency,
        )
        for x in snapshot.xero
        if x.live and x.doc_type == "invoice" and x.customer is not None and x.period in target
    ]
    all_parts = [p for period in months.periods for p in months.parts.get(period, [])]
    found += billed_twice(invoices, all_parts, months.entries, months.work_periods)
    overage = {
        contract: {period: group_value(parts) for period, parts in by_period.items()}
        for contract, by_period in overage_by_contract(months).items()
    }
    currencies = {c.subject: c.currency for c in snapshot.contracts.values()}
    found += repeated_overruns(
        overage, [p for p in months.periods if p <= target[-1]], currencies, run=overrun_periods
    )
    return found


def reconcile(
    app: App, *, now: datetime, period: Period | None = None, progress: Progress | None = None
) -> ReconcileResult:
    """Run every check over the store and record the findings.

    ``period`` limits the checks that belong to a month (time, allowances, prepaid balances, the
    billed-vs-contracted identity, time billed twice) to that month; findings of those checks in
    other months are then left as they are. Checks of the present state (Xero against HaloPSA and
    revloop, payments, renewals) always run in full. Without ``period`` every closed month is
    checked and anything no longer detected is resolved.
    """
    settings = app.settings
    today = local_today(now, settings.timezone)
    say = progress or (lambda _text: None)
    with app.engine.connect() as conn:
        say("reading the store")
        snapshot = load(conn, settings)
        closed = checked_periods(first_month(conn), today, settings.reconcile_close_days, snapshot.closed)
        if period is not None:
            if period not in closed:
                raise PeriodError(
                    f"{period.label()} is not a closed period with data to check",
                    hint=f"months are checked {settings.reconcile_close_days} days after they end "
                    "(or once closed with `revloop close`); leave out --period to check them all",
                )
            target: tuple[Period, ...] = (period,)
            rated = tuple(p for p in closed if p <= period)
        else:
            target = closed
            rated = closed
        months = rate_months(conn, settings, snapshot, rated, progress)
        found: list[Finding] = []
        rows: list[IdentityRow] = []
        if target:
            say("checking time and contract balances")
            found += _time_checks(snapshot, months, target, settings.reconcile_overrun_periods)
            found += prepay.check(conn, settings, snapshot, months, target[-1])
            say("checking contracted against invoiced")
            rows = identity.rows(conn, snapshot, target)
            found += identity_findings(rows)
        say("checking Xero against HaloPSA and revloop")
        found += documents.check(snapshot, today, settings.reconcile_overdue_grace_days)
        found += renewals.check(snapshot, today, settings.reconcile_renewal_days)
    checked = [c for c in CODES if period is None or c not in PERIOD_CODES]
    issues = list(months.issues)
    hook = _profit_hook()
    if hook is not None:
        say("checking margins")
        try:
            found += list(hook(app, now=now, period=period))
            checked += PROFIT_CODES
        except RevloopError as exc:  # margins cannot be checked: say so, keep the rest
            issues.append(
                Issue(
                    exc.code,
                    Severity.WARNING,
                    "revloop:check:profit",
                    f"margins were not checked: {exc.message}",
                    exc.hint or "see `revloop profit`",
                )
            )
    unique = list({f.fingerprint: f for f in found}.values())
    keep = [f for f in unique if period is None or f.code not in SUMMARY_CODES]
    with app.engine.begin() as conn:
        recorded = repository.record_findings(conn, keep, at=now, checked_codes=checked)
    return ReconcileResult(
        period,
        target,
        today,
        tuple(unique),
        tuple(rows),
        tuple(issues),
        tuple(checked),
        recorded.new,
        recorded.seen_again,
        recorded.reopened,
        recorded.resolved,
    )

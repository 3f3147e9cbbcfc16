"""``revloop profit``: revenue, fully loaded cost and margin per client × service line × month.

See docs/profitability.md for how each figure is attributed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.costing import (
    BooksMonth,
    CostPolicy,
    RateTimeline,
    books_rates,
    check_rows,
    loaded_rates,
    month_of,
)
from revloop.domain.findings import Finding
from revloop.domain.issues import Issue, PeriodError, Severity
from revloop.domain.periods import Period, add_months
from revloop.domain.profitability import (
    NO_LINE,
    SIXTY,
    Dimension,
    Fact,
    ProfitRow,
    RateFor,
    Work,
    attribute_sales,
    client_margins,
    cost_work,
    summarise,
    total_row,
)
from revloop.services.profit.loading import SalesReader, Store, load, months_of, read_pnl
from revloop.services.profit.totals import SaleTotals, WorkTotals

ZERO = Decimal(0)
TWELVE = Decimal(12)


@dataclass
class Model:
    """Everything one profit computation found: the facts and what they were made with."""

    period: Period
    months: list[date]
    store: Store
    facts: list[Fact]
    capacity: dict[tuple[str, date], Decimal]
    method: str
    timeline: RateTimeline
    books: dict[date, BooksMonth]
    issues: list[Issue] = field(default_factory=list)
    entries: dict[str, int] = field(default_factory=dict)  # work id -> the entries it sums (else 1)

    def entries_of(self, work: Work) -> int:
        """How many stored time entries ``work`` stands for."""
        return self.entries.get(work.id, 1)


def policy(settings: Settings) -> CostPolicy:
    return CostPolicy(settings.costs_overhead_monthly, settings.costs_allocation)


def capacity_of(
    store: Store, months: Sequence[date], default_hours: Decimal | None = None
) -> dict[tuple[str, date], Decimal]:
    """(agent, month) → productive hours: the agent's yearly productive hours / 12, from the cost row
    in force at the end of the month. An agent who logged time in a month with no cost row in force
    counts with ``default_hours`` a year (``costs.productive_hours_per_year``): the hours are in
    every row, so their capacity is too."""
    out: dict[tuple[str, date], Decimal] = {}
    logged: dict[date, set[str]] = defaultdict(set)
    for w in store.work:
        if w.agent:
            logged[month_of(w.day)].add(w.agent)
    for month in months:
        last = add_months(month, 1) - timedelta(days=1)
        latest: dict[str, Decimal] = {}
        for row in sorted(store.agent_costs, key=lambda r: r.effective_from):
            if row.effective_from <= last:
                latest[row.agent] = row.productive_hours_per_year
        if default_hours is not None:
            for agent in logged.get(month, set()) - set(latest):
                latest[agent] = default_hours
        for agent, hours in latest.items():
            out[(agent, month)] = hours / TWELVE
    return out


def fee_basis(work: Iterable[Work]) -> dict[tuple[str, date], dict[str, dict[str, Decimal]]]:
    """What fees are split on by hours: (client, month) → contract ('' too) → service line → the
    minutes (work and travel) logged, as ``profitability.fee_hours`` gives the hours. Minutes add up
    exactly where hours (minutes / 60) do not, so a fee that splits at exactly half a penny goes by
    the split's own rule whatever order, or sums, the time entries come in."""
    out: dict[tuple[str, date], dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: ZERO))
    )
    for w in work:
        minutes = w.minutes + w.travel_minutes
        if minutes:
            out[(w.customer, month_of(w.day))][w.contract or ""][w.service_line or NO_LINE] += minutes
    return out


def hours_by_month(store: Store) -> dict[date, Decimal]:
    """Hours logged per month: the month's minutes (work and travel, summed exactly) over 60."""
    minutes: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for w in store.work:
        minutes[month_of(w.day)] += w.minutes + w.travel_minutes
    return {month: total / SIXTY for month, total in minutes.items()}


def build(
    conn: Connection,
    settings: Settings,
    period: Period,
    method: str | None = None,
    work_reader: Callable[..., list[Work]] | None = None,
    sales_reader: SalesReader | None = None,
) -> Model:
    """The profit model of ``period``. The time entries and the invoice lines are summed in SQL
    (``totals.WorkTotals``, ``totals.SaleTotals``) unless other readers are given (``load``'s; its
    defaults read them one by one): the same figures, to the penny, from far fewer rows."""
    method = method or settings.costs_method
    work_reader = work_reader or WorkTotals()
    store = load(conn, settings, period, work_reader, sales_reader or SaleTotals())
    months = months_of(period)
    issues = list(store.issues) + check_rows(store.agent_costs)
    timeline = loaded_rates(store.agent_costs, policy(settings))
    books, books_issues = books_rates(
        read_pnl(conn, months),
        hours_by_month(store),
        settings.costs_payroll_accounts,
        settings.costs_overhead_accounts,
        months,
    )
    rate_for: RateFor
    if method == "books":
        issues += books_issues

        def rate_for(_agent: str, day: date) -> Decimal | None:
            found = books.get(month_of(day))
            return found.rate if found else None

    else:

        def rate_for(agent: str, day: date) -> Decimal | None:
            found = timeline.rate_on(agent, day)
            return found.hourly if found else None

    labour, missing = cost_work(store.work, rate_for, settings.costs_mileage_cost_per_unit)
    if method != "books":  # with the books, a gap is a month without a P&L, named above
        issues += missing
    entries: dict[str, int] = {}
    if isinstance(work_reader, WorkTotals):  # issues that count entries counted the sums: again
        work_reader.recount(store.work, issues, lambda w: timeline.rate_on(w.agent, w.day) is None)
        entries = work_reader.entries_by_id()
    revenue = attribute_sales(
        store.sales, fee_basis(store.work), settings.costs_fee_split, settings.costs_fee_weights
    )
    facts = labour + revenue + store.costs
    capacity = capacity_of(store, months, settings.costs_productive_hours_per_year)
    return Model(period, months, store, facts, capacity, method, timeline, books, issues, entries)


@dataclass
class ProfitReport:
    period: Period
    months: list[date]
    method: str
    by: tuple[Dimension, ...]
    rows: list[ProfitRow]
    trend: list[ProfitRow]
    total: ProfitRow
    currency: str
    names: dict[str, dict[str, str]]
    issues: list[Issue]
    model: Model

    def label(self, dimension: str, value: str) -> str:
        return self.names.get(dimension, {}).get(value, value)


def report(
    app: App,
    period: Period,
    by: Sequence[Dimension] = ("customer", "service_line"),
    method: str | None = None,
) -> ProfitReport:
    with app.engine.connect() as conn:
        model = build(conn, app.settings, period, method)
    return report_from(model, by, app.settings.currency)


def report_from(model: Model, by: Sequence[Dimension], currency: str) -> ProfitReport:
    dims = tuple(by)
    rows = summarise(model.facts, dims, months=model.months, capacity=model.capacity)
    trend_dims: tuple[Dimension, ...] = dims if "month" in dims else (*dims, "month")
    trend = summarise(model.facts, trend_dims, months=model.months, capacity=model.capacity)
    team = sum(model.capacity.values(), ZERO)
    names = {
        "customer": dict(model.store.customers),
        "agent": dict(model.store.agents),
    }
    return ProfitReport(
        model.period,
        model.months,
        model.method,
        dims,
        rows,
        trend,
        total_row(rows, team),
        currency,
        names,
        model.issues,
        model,
    )


# --- findings ----------------------------------------------------------------------------------


def closed_months(settings: Settings, now: datetime, period: Period | None = None) -> Period:
    """The 12 closed months before the month of ``now`` (in the MSP's timezone), or the 12 months
    ending with ``period``."""
    if period is not None:
        end = add_months(month_of(period.end - timedelta(days=1)), 1)
    else:
        local = now.astimezone(ZoneInfo(settings.timezone)) if now.tzinfo else now
        end = month_of(local.date())
    return Period(add_months(end, -12), end)


def margin_findings(app: App, *, now: datetime, period: Period | None = None) -> list[Finding]:
    """A ``profit.negative_margin`` finding for every client whose margin over the last 12 closed months
    (revenue less fully loaded cost, in the base currency) is below zero."""
    window = closed_months(app.settings, now, period)
    with app.engine.connect() as conn:
        model = build(conn, app.settings, window)
    return findings_from(model, app.settings.currency)


def findings_from(model: Model, currency: str) -> list[Finding]:
    if not model.months:
        raise PeriodError("no months to look at")
    incomplete: dict[str, int] = defaultdict(int)
    missing_agents = {i.subject.rsplit(":", 1)[-1] for i in model.issues if i.code == "costs.agent_missing"}
    for w in model.store.work:
        if w.agent in missing_agents:
            incomplete[w.customer] += model.entries_of(w)
    out = []
    first, last = model.months[0], model.months[-1]
    for customer, (revenue, cost) in sorted(client_margins(model.facts, model.months).items()):
        margin = revenue - cost
        if margin >= 0 or not customer:
            continue
        hid = model.store.halopsa_ids.get(customer)
        subject = f"halopsa:client:{hid}" if hid else f"revloop:customer:{customer}"
        name = model.store.customers.get(customer, customer)
        note = f" ({incomplete[customer]} time entries have no agent cost)" if incomplete[customer] else ""
        out.append(
            Finding(
                "profit.negative_margin",
                Severity.WARNING,
                (subject,),
                f"{name} lost {-margin} {currency} from {first:%Y-%m} to {last:%Y-%m}: revenue {revenue}, "
                f"fully loaded cost {cost}{note}",
                action="review the contract's fee or scope (`revloop whatif --price` shows the effect), "
                "or the work logged against it",
                amount=margin,
                currency=currency,
                details=(("revenue", str(revenue)), ("cost", str(cost)), ("method", model.method)),
            )
        )
    return out


__all__ = ["Model", "ProfitReport", "build", "closed_months", "margin_findings", "report", "report_from"]

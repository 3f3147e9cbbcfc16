"""Profitability in the dashboard: ``/profit`` (rows, total, month-by-month trend, charts), a client's
drill-down ``/profit/client/{code}`` (its service lines and months, the time entries and invoice lines
behind them) and the same as JSON under ``/api/profit``.

The figures are the profit service's (``revloop.services.profit``, as ``revloop profit``), from the
model ``profit_data`` keeps. Who may open these needs ``view_profit``; money (revenue, cost, margin,
margin %, £/hour, costs of entries, invoice amounts) is declared ``Money`` and blanked by
``models.redact`` for roles without ``view_money``, who see hours, utilisation and the service line
mix in hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.costing import month_of
from revloop.domain.issues import NotFound
from revloop.domain.money import round2
from revloop.domain.periods import Period, add_months
from revloop.domain.profitability import (
    NO_LINE,
    Dimension,
    Fact,
    ProfitRow,
    Work,
    cost_work,
    summarise,
    total_row,
)
from revloop.services.profit import export
from revloop.services.profit.report import Model, closed_months
from revloop.web import settings_views, views
from revloop.web.api import ERRORS
from revloop.web.deps import csrf_protect, require, web
from revloop.web.models import Model as Out
from revloop.web.models import Money, MoneyOnlyText, MoneyText, redact
from revloop.web.pages import render
from revloop.web.profit_data import (
    WARM_EVERY,
    ChartJob,
    Computed,
    ProfitModels,
    Warming,
    models_of,
    service_line_of,
    work_from,
)
from revloop.web.roles import Action, can
from revloop.web.sessions import Session

PER_PAGE = 100
MAX_MONTHS = 60
BY: dict[str, Dimension] = {
    "client": "customer",
    "service-line": "service_line",
    "contract": "contract",
    "agent": "agent",
}
BY_LABEL = {"client": "Client", "service-line": "Service line", "contract": "Contract", "agent": "Agent"}
CHARTS = {
    "profit_per_client": "Margin per client",
    "margin_trend": "Margin % per month",
    "service_line_mix": "Revenue by service line per month",
}

Percent = Annotated[
    Money,
    Field(description="A percentage of revenue or money per hour; null for roles that may not see money."),
]


# -- models -------------------------------------------------------------------------------------


class ProfitRowOut(Out):
    key: str = Field(
        description="The row's code (client code, service line, contract code, agent id, month)."
    )
    label: str
    revenue: Money
    cost: Money
    margin: Money
    margin_percent: Percent
    effective_rate: Percent = Field(description="Revenue per hour logged (money per hour).")
    hours: Decimal = Field(description="Hours logged (work and travel).")
    utilisation_percent: Decimal | None = Field(
        description="Hours logged / productive hours available in the row's months."
    )


class MixOut(Out):
    service_line: str
    hours: Decimal
    hours_percent: Decimal | None = Field(description="The service line's share of the hours logged.")
    revenue: Money


class ProfitIssue(Out):
    code: str
    severity: str
    subject: str
    message: MoneyText
    action: MoneyText


class ProfitOut(Out):
    start: str = Field(description="The first month, YYYY-MM.")
    end: str = Field(description="The last month, YYYY-MM (included).")
    label: str
    method: str
    by: str
    currency: str
    rows: list[ProfitRowOut]
    total: ProfitRowOut
    trend: list[ProfitRowOut] = Field(description="The whole business month by month.")
    service_lines: list[MixOut]
    issues: list[ProfitIssue]


class EntryOut(Out):
    date: date
    agent: str
    ticket: str | None
    summary: str
    service_line: str
    contract: str | None
    hours: Decimal
    cost: Money


class LineOut(Out):
    document: str = Field(description="The invoice or credit note number (or its revloop key).")
    doc_type: str
    origin: str
    month: str
    date: date | None
    description: str
    service_line: str | None
    quantity: Decimal
    unit_amount: Money
    amount: Money
    explanation: MoneyOnlyText


class Page(Out):
    page: int
    pages: int
    per_page: int
    count: int


class ClientProfitOut(Out):
    customer: str
    name: str
    start: str
    end: str
    label: str
    method: str
    currency: str
    total: ProfitRowOut
    service_lines: list[ProfitRowOut]
    months: list[ProfitRowOut]
    line: str | None = Field(description="The service line the entries are filtered to, if any.")
    month: str | None = Field(description="The month the entries and lines are filtered to, if any.")
    entries: list[EntryOut]
    entries_page: Page
    lines: list[LineOut]
    lines_page: Page


# -- periods and rows ---------------------------------------------------------------------------


def profit_period(app: App, now: Any, start: str | None, end: str | None) -> Period:
    """From ``start`` to ``end`` (YYYY-MM, both included, either order); without them the 12 closed
    months before now (as ``revloop profit``); one alone is that month. At most ``MAX_MONTHS``: a
    longer range is cut to the months ending with the later one."""
    if not start and not end:
        return closed_months(app.settings, now)
    first = views.parse_period(start or end or "")
    last = views.parse_period(end or start or "")
    if last.start < first.start:
        first, last = last, first
    return Period(max(first.start, add_months(last.start, 1 - MAX_MONTHS)), last.end)


def _row(row: ProfitRow, key: str, label: str) -> ProfitRowOut:
    return ProfitRowOut(
        key=key,
        label=label,
        revenue=row.revenue,
        cost=row.cost,
        margin=row.margin,
        margin_percent=row.margin_percent,
        effective_rate=row.effective_rate,
        hours=round2(row.hours),
        utilisation_percent=row.utilisation,
    )


def _label(names: dict[str, str], value: str) -> str:
    """A row's label: the client's or agent's name (``names``), else its code."""
    if not value:
        return "(none)"
    return names.get(value, value)


def _summary(model: Model, facts: Sequence[Fact], by: tuple[Dimension, ...]) -> list[ProfitRow]:
    return summarise(facts, by, months=model.months, capacity=model.capacity)


def _mix(model: Model, facts: Sequence[Fact]) -> list[MixOut]:
    rows = _summary(model, facts, ("service_line",))
    hours = sum((r.hours for r in rows), Decimal(0))
    return [
        MixOut(
            service_line=r.value("service_line"),
            hours=round2(r.hours),
            hours_percent=round2(r.hours / hours * 100) if hours else None,
            revenue=r.revenue,
        )
        for r in sorted(rows, key=lambda r: (-r.hours, r.value("service_line")))
    ]


def _trend(model: Model, facts: Sequence[Fact]) -> list[ProfitRowOut]:
    per_month = {r.value("month"): r for r in _summary(model, facts, ("month",))}
    out = []
    for month in model.months:
        key = f"{month:%Y-%m}"
        row = per_month.get(key)
        if row is None:  # a month without facts: its capacity still counts
            row = _summary(model, [Fact("labour", "", "", NO_LINE, month)], ("month",))[0]
        out.append(_row(row, key, f"{month:%b %Y}"))
    return out


def profit(app: App, model: Model, by: str) -> ProfitOut:
    """The rows by ``by``, the total, the trend and the mix: the figures of ``revloop profit``
    (``report.report_from``), each summed once from the model's facts."""
    dimension = BY[by]
    summed = _summary(model, model.facts, (dimension,))
    names = {"customer": model.store.customers, "agent": model.store.agents}.get(dimension, {})
    rows = [_row(r, r.value(dimension), _label(names, r.value(dimension))) for r in summed]
    rows.sort(key=lambda r: (r.margin if r.margin is not None else Decimal(0), r.label))
    total = total_row(summed, sum(model.capacity.values(), Decimal(0)))
    return ProfitOut(
        start=f"{model.period.start:%Y-%m}",
        end=f"{model.months[-1]:%Y-%m}" if model.months else f"{model.period.start:%Y-%m}",
        label=_period_label(model.period),
        method=model.method,
        by=by,
        currency=app.settings.currency,
        rows=rows,
        total=_row(total, "", "Total"),
        trend=_trend(model, model.facts),
        service_lines=_mix(model, model.facts),
        issues=[
            ProfitIssue(
                code=i.code, severity=i.severity.value, subject=i.subject, message=i.message, action=i.action
            )
            for i in model.issues
        ],
    )


def _period_label(period: Period) -> str:
    last = period.end - timedelta(days=1)
    if month_of(last) == period.start:
        return f"{period.start:%B %Y}"
    return f"{period.start:%B %Y} to {last:%B %Y}"


# -- a client's drill-down ------------------------------------------------------------------------


def _customer(app: App, code: str) -> Any:
    with app.engine.connect() as conn:
        row = conn.execute(
            sa.select(t.customers.c.id, t.customers.c.code, t.customers.c.name).where(
                t.customers.c.code == code
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"no client {code!r}", hint="pick a client from the profitability page")
    return row


def _pages(count: int, page: int) -> Page:
    pages = max(1, math.ceil(count / PER_PAGE))
    return Page(page=min(page, pages), pages=pages, per_page=PER_PAGE, count=count)


def client_profit(
    app: App,
    kept: Kept,
    code: str,
    *,
    line: str | None = None,
    month: str | None = None,
    entries_page: int = 1,
    lines_page: int = 1,
) -> ClientProfitOut:
    computed = kept.computed
    model = computed.model
    customer = _customer(app, code)
    index = kept.derived("by_customer", make=lambda: _by_customer(model))
    facts = index.get(customer.code, [])
    total, lines_rows, months = kept.derived("client", customer.code, make=lambda: _client_rows(model, facts))
    wanted = views.parse_period(month) if month else None
    if wanted is not None and wanted.start not in model.months:
        raise NotFound(f"{month} is not among the months shown", hint="pick a month from the table")
    span = wanted or model.period
    entries, entry_count = _entries(app, computed, customer.id, span, line, entries_page)
    documents = computed.documents.get(customer.code, {})
    invoice_lines, line_count = _lines(app, documents, customer, wanted, lines_page)
    return ClientProfitOut(
        customer=customer.code,
        name=customer.name,
        start=f"{model.period.start:%Y-%m}",
        end=f"{model.months[-1]:%Y-%m}" if model.months else f"{model.period.start:%Y-%m}",
        label=_period_label(model.period),
        method=model.method,
        currency=app.settings.currency,
        total=_row(total, customer.code, customer.name)
        if total
        else ProfitRowOut(
            key=customer.code,
            label=customer.name,
            revenue=Decimal("0.00"),
            cost=Decimal("0.00"),
            margin=Decimal("0.00"),
            margin_percent=None,
            effective_rate=None,
            hours=Decimal("0.00"),
            utilisation_percent=None,
        ),
        service_lines=[_row(r, r.value("service_line"), r.value("service_line")) for r in lines_rows],
        months=months,
        line=line,
        month=month,
        entries=entries,
        entries_page=_pages(entry_count, entries_page),
        lines=invoice_lines,
        lines_page=_pages(line_count, lines_page),
    )


def _entries(
    app: App, computed: Computed, customer_id: int, span: Period, line: str | None, page: int
) -> tuple[list[EntryOut], int]:
    """One page of the client's time entries (newest first), each costed as the profit model costs it."""
    model, by_item = computed.model, computed.by_item
    te, item = t.time_entries, t.charge_types.c.item_code
    resolved = service_line_of()
    where = [te.c.customer_id == customer_id, te.c.work_date >= span.start, te.c.work_date < span.end]
    if line == NO_LINE:
        where.append(resolved.is_(None))
        where.append(sa.or_(item.is_(None), item.not_in(list(by_item))))
    elif line:
        codes = [code for code, named in by_item.items() if named == line]
        where.append(sa.or_(resolved == line, sa.and_(resolved.is_(None), item.in_(codes))))
    with app.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(work_from()).where(*where)).scalar_one()
        pages = max(1, math.ceil(count / PER_PAGE))
        offset = (min(page, pages) - 1) * PER_PAGE
        rows = list(
            conn.execute(
                sa.select(
                    te.c.source_key,
                    te.c.work_date,
                    te.c.agent_id,
                    te.c.minutes,
                    te.c.travel_minutes,
                    te.c.mileage,
                    resolved.label("line"),
                    item.label("item"),
                    t.tickets.c.halopsa_id,
                    t.tickets.c.id.label("ticket_id"),
                    t.tickets.c.summary,
                    t.contracts.c.code.label("contract"),
                )
                .select_from(work_from().outerjoin(t.contracts, t.contracts.c.id == te.c.contract_id))
                .where(*where)
                .order_by(te.c.work_date.desc(), te.c.id.desc())
                .limit(PER_PAGE)
                .offset(offset)
            )
        )
    books = model.books

    def rate_for(agent: str, day: date) -> Decimal | None:
        if model.method == "books":
            found = books.get(month_of(day))
            return found.rate if found else None
        rate = model.timeline.rate_on(agent, day)
        return rate.hourly if rate else None

    work = [
        Work(
            id=r.source_key,
            customer="",
            agent="" if r.agent_id is None else str(r.agent_id),
            day=r.work_date,
            minutes=r.minutes,
            travel_minutes=r.travel_minutes or Decimal(0),
            mileage=r.mileage or Decimal(0),
            service_line=r.line or by_item.get(r.item or ""),
        )
        for r in rows
    ]
    facts, _ = cost_work(work, rate_for, app.settings.costs_mileage_cost_per_unit)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for f in facts:
        cost[f.source.removesuffix(":mileage")] += f.cost
    agents = model.store.agents
    return [
        EntryOut(
            date=r.work_date,
            agent=agents.get(w.agent, w.agent or "(none)"),
            ticket=r.halopsa_id or (str(r.ticket_id) if r.ticket_id else None),
            summary=r.summary or "",
            service_line=w.service_line or NO_LINE,
            contract=r.contract,
            hours=round2(w.hours),
            cost=round2(cost[w.id]) if rate_for(w.agent, w.day) is not None else None,
        )
        for r, w in zip(rows, work, strict=True)
    ], int(count)


def _by_customer(model: Model) -> dict[str, list[Fact]]:
    """The model's facts by client."""
    out: dict[str, list[Fact]] = defaultdict(list)
    for f in model.facts:
        out[f.customer].append(f)
    return dict(out)


def _client_rows(
    model: Model, facts: list[Fact]
) -> tuple[ProfitRow | None, list[ProfitRow], list[ProfitRowOut]]:
    total = _summary(model, facts, ("customer",))
    return (total[0] if total else None, _summary(model, facts, ("service_line",)), _trend(model, facts))


def _lines(
    app: App, documents: dict[tuple[str, str], date], customer: Any, wanted: Period | None, page: int
) -> tuple[list[LineOut], int]:
    """One page of the invoice lines of the documents that are the client's revenue in the model
    (those of ``wanted``'s month only, if given)."""
    docs = {doc for doc, month in documents.items() if wanted is None or month == wanted.start}
    if not docs:
        return [], 0
    inv, il = t.invoices, t.invoice_lines
    ident = sa.func.coalesce(inv.c.number, inv.c.key)
    with app.engine.connect() as conn:
        ids = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    inv.c.id,
                    inv.c.origin,
                    ident.label("ident"),
                    inv.c.doc_type,
                    inv.c.date,
                    inv.c.period_start,
                ).where(inv.c.customer_id == customer.id, inv.c.origin.in_(("revloop", "xero")))
            )
            if (r.origin, r.ident) in docs
        }
        count = conn.execute(
            sa.select(sa.func.count()).select_from(il).where(il.c.invoice_id.in_(list(ids)))
        ).scalar_one()
        pages = max(1, math.ceil(count / PER_PAGE))
        rows = list(
            conn.execute(
                sa.select(il)
                .where(il.c.invoice_id.in_(list(ids)))
                .order_by(il.c.invoice_id, il.c.position)
                .limit(PER_PAGE)
                .offset((min(page, pages) - 1) * PER_PAGE)
            )
        )
    out = []
    for r in rows:
        doc = ids[r.invoice_id]
        out.append(
            LineOut(
                document=doc.ident,
                doc_type=doc.doc_type,
                origin=doc.origin,
                month=f"{documents[(doc.origin, doc.ident)]:%Y-%m}",
                date=doc.date,
                description=r.description,
                service_line=r.service_line,
                quantity=r.quantity,
                unit_amount=r.unit_amount,
                amount=r.amount,
                explanation=r.explanation or None,
            )
        )
    return out, int(count)


# -- charts ---------------------------------------------------------------------------------------


def draw_charts(app: App, kept: Kept, money: bool) -> ChartJob:
    """What draws the charts (``profit_data.ProfitModels.charts``): the CLI's (``export.draw``) for
    roles that see money; the service line mix in hours (``export.draw_hours``) for the others."""
    model = kept.computed.model

    def job() -> tuple[str, tuple[Any, ...]]:
        if money:
            return "draw", (chart_data(app, kept),)
        months = [f"{m:%Y-%m}" for m in model.months]
        mix: dict[str, list[Decimal]] = {}
        for r in _summary(model, model.facts, ("service_line", "month")):
            values = mix.setdefault(r.value("service_line"), [Decimal(0)] * len(months))
            values[months.index(r.value("month"))] = round2(r.hours)
        return "draw_hours", (months, mix)

    return job


def chart_data(app: App, kept: Kept) -> export.ChartData:
    """``export.chart_data`` from the rows by client and the trend the page keeps (the same sums)."""
    model = kept.computed.model
    data: ProfitOut = kept.derived("profit", "client", make=lambda: profit(app, model, "client"))
    rows = sorted(data.rows, key=lambda r: (r.margin or Decimal(0), r.key))  # as summed: by code, then margin
    shown = export.ends(rows, export.CHART_CLIENTS)
    names = model.store.customers
    return export.ChartData(
        [names.get(r.key, r.key) or "(none)" for r in shown],
        [r.margin or Decimal(0) for r in shown],
        app.settings.currency,
        [f"{m:%Y-%m}" for m in model.months],
        [m.margin_percent for m in data.trend],
        kept.derived("revenue_mix", make=lambda: export.revenue_mix(model)),
        len(rows),
    )


# -- routes ---------------------------------------------------------------------------------------

api = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], responses=ERRORS, tags=["profit"])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

Month = Annotated[str | None, Query(pattern=views.MONTH, description="A month, YYYY-MM.")]
ByQuery = Annotated[Literal["client", "service-line", "contract", "agent"], Query(description="Rows by.")]
MethodQuery = Annotated[
    Literal["salary", "books"] | None, Query(description="Cost method; default: the setting.")
]
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]
Code = Annotated[str, PathParam(min_length=1, max_length=64, description="The client's code.")]
LineQuery = Annotated[str | None, Query(max_length=64, description="Only this service line's entries.")]


@dataclass
class Kept:
    """A request's model, and a key for what is computed from it (starting with the fingerprint)."""

    computed: Computed
    key: tuple[Any, ...]
    models: ProfitModels

    def derived(self, *what: Any, make: Callable[[], Any]) -> Any:
        return self.models.derived((*self.key, *what), make)


def _model(request: Request, start: str | None, end: str | None, method: str | None) -> Kept:
    ctx = web(request)
    period = profit_period(ctx.app, ctx.clock(), start, end)
    models = models_of(request.app.state)
    computed, print_ = models.model(ctx.app, period, method)
    return Kept(computed, (print_, period.start, period.end, computed.model.method), models)


@api.get("/profit", response_model=ProfitOut, summary="Profitability")
def api_profit(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_PROFIT))],
    from_: Annotated[str | None, Query(alias="from", pattern=views.MONTH, description="First month.")] = None,
    to: Annotated[str | None, Query(pattern=views.MONTH, description="Last month (included).")] = None,
    by: ByQuery = "client",
    method: MethodQuery = None,
) -> ProfitOut:
    """Revenue, fully loaded cost, margin, margin %, effective hourly rate and utilisation per row,
    the total, the month-by-month trend and the service line mix (default: the 12 closed months
    before now). Money is null for roles without ``view_money``."""
    kept = _model(request, from_, to, method)
    data: ProfitOut = kept.derived(
        "profit", by, make=lambda: profit(web(request).app, kept.computed.model, by)
    )
    return redact(data, session.role)


@api.get("/profit/client/{code}", response_model=ClientProfitOut, summary="A client's profitability")
def api_client_profit(
    request: Request,
    code: Code,
    session: Annotated[Session, Depends(require(Action.VIEW_PROFIT))],
    from_: Annotated[str | None, Query(alias="from", pattern=views.MONTH, description="First month.")] = None,
    to: Annotated[str | None, Query(pattern=views.MONTH, description="Last month (included).")] = None,
    method: MethodQuery = None,
    line: LineQuery = None,
    month: Month = None,
    page: PageQuery = 1,
    lines_page: PageQuery = 1,
) -> ClientProfitOut:
    """A client's figures by service line and by month, and the time entries (``page``, 100 a page)
    and invoice lines (``lines_page``) behind them."""
    kept = _model(request, from_, to, method)
    data = client_profit(
        web(request).app, kept, code, line=line, month=month, entries_page=page, lines_page=lines_page
    )
    return redact(data, session.role)


def _query(**values: Any) -> str:
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@pages.get("/profit", response_class=HTMLResponse)
def profit_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_PROFIT))],
    from_: Annotated[str | None, Query(alias="from", pattern=f"{views.MONTH}|^$")] = None,
    to: Annotated[str | None, Query(pattern=f"{views.MONTH}|^$")] = None,
    by: ByQuery = "client",
    method: Annotated[Literal["salary", "books", ""] | None, Query()] = None,
    page: PageQuery = 1,
) -> Response:
    kept = _model(request, from_ or None, to or None, method or None)
    data = kept.derived("profit", by, make=lambda: profit(web(request).app, kept.computed.model, by))
    data = redact(data, session.role)
    money = can(session.role, Action.VIEW_MONEY)
    charts_key = (*kept.key, money)
    if kept.models.background and not kept.models.has_charts(charts_key):
        # the browser asks for the charts next: the sums here, the drawing meanwhile, in a process
        drawing = draw_charts(web(request).app, kept, money)()
        kept.models.charts_soon(charts_key, lambda: drawing)
    span = _query(**{"from": data.start, "to": data.end, "method": method or None})
    paged = _pages(len(data.rows), page)
    return render(
        request,
        "profit.html",
        session,
        data=data,
        by_label=BY_LABEL[by],
        by_options=BY_LABEL,
        span=span,
        rows=data.rows[(paged.page - 1) * PER_PAGE : paged.page * PER_PAGE],
        paged=paged,
        charts=CHARTS if money else {"service_line_mix": "Hours by service line"},
        method=method or "",
        title="Profitability",
    )


@pages.get("/profit/client/{code}", response_class=HTMLResponse)
def client_page(
    request: Request,
    code: Code,
    session: Annotated[Session, Depends(require(Action.VIEW_PROFIT))],
    from_: Annotated[str | None, Query(alias="from", pattern=f"{views.MONTH}|^$")] = None,
    to: Annotated[str | None, Query(pattern=f"{views.MONTH}|^$")] = None,
    method: Annotated[Literal["salary", "books", ""] | None, Query()] = None,
    line: LineQuery = None,
    month: Annotated[str | None, Query(pattern=f"{views.MONTH}|^$")] = None,
    page: PageQuery = 1,
    lines_page: PageQuery = 1,
) -> Response:
    kept = _model(request, from_ or None, to or None, method or None)
    data = client_profit(
        web(request).app,
        kept,
        code,
        line=line or None,
        month=month or None,
        entries_page=page,
        lines_page=lines_page,
    )
    data = redact(data, session.role)
    span = {"from": data.start, "to": data.end, "method": method or None}
    return render(
        request,
        "profit_client.html",
        session,
        data=data,
        span=_query(**span),
        here=_query(**span, line=data.line, month=data.month),
        entries_query=_query(**span, line=data.line, month=data.month, lines_page=lines_page),
        lines_query=_query(**span, line=data.line, month=data.month, page=page),
        title=f"Profitability: {data.name}",
    )


def _chart(
    request: Request, session: Session, name: str, start: str | None, end: str | None, method: str | None
) -> Response:
    kept = _model(request, start or None, end or None, method or None)
    money = can(session.role, Action.VIEW_MONEY)
    drawn = kept.models.charts((*kept.key, money), draw_charts(web(request).app, kept, money))
    body = drawn.get(name)
    if body is None:  # pragma: no cover - every chart is drawn
        raise NotFound(f"no chart {name}")
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


ChartFrom = Annotated[str | None, Query(alias="from", pattern=f"{views.MONTH}|^$")]
ChartTo = Annotated[str | None, Query(pattern=f"{views.MONTH}|^$")]
ChartMethod = Annotated[Literal["salary", "books", ""] | None, Query()]


@pages.get("/profit/chart/profit_per_client.svg")
def chart_profit_per_client(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_MONEY))],
    from_: ChartFrom = None,
    to: ChartTo = None,
    method: ChartMethod = None,
) -> Response:
    return _chart(request, session, "profit_per_client", from_, to, method)


@pages.get("/profit/chart/margin_trend.svg")
def chart_margin_trend(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_MONEY))],
    from_: ChartFrom = None,
    to: ChartTo = None,
    method: ChartMethod = None,
) -> Response:
    return _chart(request, session, "margin_trend", from_, to, method)


@pages.get("/profit/chart/service_line_mix.svg")
def chart_service_line_mix(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_PROFIT))],
    from_: ChartFrom = None,
    to: ChartTo = None,
    method: ChartMethod = None,
) -> Response:
    """Revenue by service line per month; in hours for roles without money."""
    return _chart(request, session, "service_line_mix", from_, to, method)


# -- warming ----------------------------------------------------------------------------------------


def warm_profit(models: ProfitModels, app: App, now: datetime, print_: str) -> None:
    """For the store in the state ``print_``: the models of the default period and of the periods
    asked for lately, with their rows by client and their figures by client."""
    default = (profit_period(app, now, None, None), None)
    for period, method in dict.fromkeys([default, *models.recent("model")]):
        _warm_rows(app, _kept(models, app, period, method, print_))


def warm_charts(models: ProfitModels, app: App, now: datetime, print_: str) -> None:
    """The default period's charts, with money and without."""
    kept = _kept(models, app, profit_period(app, now, None, None), None, print_)
    for money in (True, False):
        models.charts((*kept.key, money), draw_charts(app, kept, money))


def _kept(models: ProfitModels, app: App, period: Period, method: str | None, print_: str) -> Kept:
    computed, _ = models.model(app, period, method, print_)
    return Kept(computed, (print_, period.start, period.end, computed.model.method), models)


def _warm_rows(app: App, kept: Kept) -> None:
    model = kept.computed.model
    kept.derived("profit", "client", make=lambda: profit(app, model, "client"))
    kept.derived("by_customer", make=lambda: _by_customer(model))


def keep_warm(application: FastAPI, app: App, clock: Callable[[], datetime], on: bool) -> None:
    """With ``on``, a thread that starts and stops with the dashboard keeps the profitability figures
    and the cost model's view computed for the store as it is (``profit_data.Warming``)."""
    if not on:
        return
    models = models_of(application.state)
    models.background = models.apart = True
    warming = Warming(models, app, clock, WARM_EVERY)
    warming.warms += [warm_profit, settings_views.warm_costs, warm_charts]
    application.router.add_event_handler("startup", warming.start)
    application.router.add_event_handler("shutdown", warming.stop)
    application.state.profit_warming = warming


__all__ = [
    "api",
    "client_profit",
    "keep_warm",
    "pages",
    "profit",
    "profit_period",
    "warm_charts",
    "warm_profit",
]

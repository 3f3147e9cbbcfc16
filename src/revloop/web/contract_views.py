"""Contracts and renewals in the dashboard: ``/contracts`` and ``GET /api/contracts`` (every contract
with its customer, kind, dates, days to renewal, whether a renewal quote was sent, its balance from
the last billing run and its threshold), and ``/contracts/balance`` and ``GET /api/balance/{customer}``
(``revloop balance``: does the contract still cover new work).

The renewal rule is reconciliation's (``renewal.no_quote``, ``reconcile.renewal_days``). Fees, money
balances and money thresholds are declared ``Money`` and blanked by ``models.redact`` for roles
without ``view_money``; hours are shown to everyone who sees work.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.reconciliation import DEAD_QUOTES, ContractTerms, QuoteInfo, renewal_findings
from revloop.services.reconcile import balance as reconcile_balance
from revloop.services.reconcile.store import contract_subject
from revloop.web import views
from revloop.web.api import ERRORS
from revloop.web.deps import csrf_protect, require, web
from revloop.web.models import Model as Out
from revloop.web.models import Money, redact
from revloop.web.pages import render
from revloop.web.roles import Action
from revloop.web.sessions import Session

PER_PAGE = 100
BalanceState = Literal["ok", "below", "negative"]


# -- models -------------------------------------------------------------------------------------


class ContractOut(Out):
    code: str
    customer: str
    customer_name: str
    kind: str
    billing: str
    start: date
    last_day: date | None = Field(description="The contract's last day (null: open-ended).")
    days_to_renewal: int | None = Field(description="Days from today to the contract's end.")
    renewal_due: date | None = Field(
        description="When the renewal was due for discussion (end − renewal days)."
    )
    quote_since_due: bool | None = Field(
        description="Whether a live quote for the customer is dated on or after the renewal was due."
    )
    renewed: bool = Field(description="Whether a later contract of the customer takes over from its end.")
    needs_quote: bool = Field(
        description="The renewal.no_quote rule holds: ending soon, no quote, not renewed."
    )
    unit: str | None = Field(description="What the balance counts: hours or money (prepay and allowance).")
    balance_from: date | None = Field(description="The charge period of the last stored balance.")
    balance_to: date | None
    included_hours: Decimal | None = Field(description="An allowance's hours for the period.")
    used_hours: Decimal | None
    left_hours: Decimal | None = Field(description="Hours left (allowance, prepaid hours).")
    left_money: Money = Field(description="Money left (prepaid money).")
    threshold_hours: Decimal | None
    threshold_money: Money
    balance_state: BalanceState | None = Field(description="ok, below its threshold, or negative.")
    currency: str
    fee: Money


class ContractList(Out):
    today: date
    window_days: int = Field(description="The renewal window (reconcile.renewal_days).")
    within: int | None = Field(description="Only contracts ending within this many days (null: all).")
    below: bool = Field(description="Only contracts below their threshold or negative.")
    contracts: list[ContractOut]
    count: int
    page: int
    pages: int


class BalancePeriod(Out):
    start: date
    end: date


class BalanceContract(Out):
    contract: str
    kind: str
    start: date
    expires: date | None
    period: BalancePeriod | None
    unit: str | None
    included_hours: Decimal | None
    left_hours: Decimal | None
    left_money: Money
    threshold_hours: Decimal | None
    threshold_money: Money
    covered: bool
    covered_until: date | None
    status: str = Field(description="Whether it covers new work (without amounts of money).")


class BalanceOut(Out):
    customer: str
    name: str
    currency: str
    today: date
    status: str
    covered: bool
    contracts: list[BalanceContract]


# -- contracts ------------------------------------------------------------------------------------


def _hours(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def _state(left: Decimal | None, threshold: Decimal | None) -> BalanceState | None:
    if left is None:
        return None
    if left < 0:
        return "negative"
    if threshold is not None and left < threshold:
        return "below"
    return "ok"


def contracts(
    app: App, today: date, *, within: int | None, below: bool = False, page: int = 1
) -> ContractList:
    window = app.settings.reconcile_renewal_days
    c, cu = t.contracts, t.customers
    cb = t.contract_balances
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(
                    c.c.id,
                    c.c.code,
                    c.c.halopsa_id,
                    c.c.customer_id,
                    c.c.kind,
                    c.c.billing,
                    c.c.start,
                    c.c.end,
                    c.c.fee,
                    c.c.hours_per_period,
                    c.c.unit,
                    c.c.threshold,
                    cu.c.code.label("customer"),
                    cu.c.name.label("customer_name"),
                    cu.c.currency,
                )
                .join(cu, cu.c.id == c.c.customer_id)
                .order_by(c.c.end.is_(None), c.c.end, c.c.code)
            )
        )
        latest = (
            sa.select(cb.c.contract_id, sa.func.max(cb.c.period_start).label("start"))
            .where(cb.c.period_start <= today)
            .group_by(cb.c.contract_id)
            .subquery()
        )
        balances = {
            r.contract_id: r
            for r in conn.execute(
                sa.select(cb).join(
                    latest,
                    sa.and_(latest.c.contract_id == cb.c.contract_id, latest.c.start == cb.c.period_start),
                )
            )
        }
        live = sa.or_(t.quotes.c.status.is_(None), sa.func.upper(t.quotes.c.status).not_in(DEAD_QUOTES))
        quoted = {
            r.customer_id: r.day
            for r in conn.execute(
                sa.select(t.quotes.c.customer_id, sa.func.max(t.quotes.c.date).label("day"))
                .where(t.quotes.c.customer_id.is_not(None), t.quotes.c.date.is_not(None), live)
                .group_by(t.quotes.c.customer_id)
            )
        }
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_customer[r.customer_id].append(r)
    chosen = []
    for r in rows:
        if within is not None and (r.end is None or not today < r.end <= today + timedelta(days=within)):
            continue
        b = balances.get(r.id)
        left = b.closing if b is not None else None
        state = _state(left, r.threshold) if r.kind in ("prepay", "allowance") else None
        if below and state not in ("below", "negative"):
            continue
        chosen.append((r, b, left, state))
    pages = max(1, math.ceil(len(chosen) / PER_PAGE))
    page = min(page, pages)
    shown = chosen[(page - 1) * PER_PAGE : page * PER_PAGE]
    # the renewal rule looks at one customer's contracts and quotes at a time: the page's customers'
    mine = [o for cid in dict.fromkeys(r.customer_id for r, *_ in shown) for o in by_customer[cid]]
    terms = [
        ContractTerms(
            contract_subject(r), r.code, r.customer, r.kind, r.start, r.end, r.fee, r.billing, r.currency
        )
        for r in mine
    ]
    quotes = [QuoteInfo(r.customer, quoted[r.customer_id]) for r in mine if r.customer_id in quoted]
    flagged = {s for f in renewal_findings(terms, quotes, today, window) for s in f.subjects}
    out = []
    for r, b, left, state in shown:
        unit = b.unit if b is not None else (r.unit or "hours") if r.kind == "prepay" else None
        if r.kind == "allowance":
            unit = "hours"
        due = r.end - timedelta(days=window) if r.end else None
        last_quote = quoted.get(r.customer_id)
        renewed = r.end is not None and any(
            o.code != r.code and o.start <= r.end and (o.end is None or o.end > r.end)
            for o in by_customer[r.customer_id]
        )
        included = (
            (b.opening if b is not None and b.opening is not None else r.hours_per_period)
            if r.kind == "allowance"
            else None
        )
        out.append(
            ContractOut(
                code=r.code,
                customer=r.customer,
                customer_name=r.customer_name,
                kind=r.kind,
                billing=r.billing,
                start=r.start,
                last_day=r.end - timedelta(days=1) if r.end else None,
                days_to_renewal=(r.end - today).days if r.end else None,
                renewal_due=due,
                quote_since_due=None if due is None else bool(last_quote and last_quote >= due),
                renewed=renewed,
                needs_quote=contract_subject(r) in flagged,
                unit=unit,
                balance_from=b.period_start if b is not None else None,
                balance_to=b.period_end - timedelta(days=1) if b is not None else None,
                included_hours=_hours(included),
                used_hours=_hours(included - left) if included is not None and left is not None else None,
                left_hours=_hours(left) if unit == "hours" else None,
                left_money=_money(left) if unit == "money" else None,
                threshold_hours=_hours(r.threshold) if unit == "hours" else None,
                threshold_money=_money(r.threshold) if unit == "money" else None,
                balance_state=state,
                currency=r.currency,
                fee=r.fee,
            )
        )
    return ContractList(
        today=today,
        window_days=window,
        within=within,
        below=below,
        contracts=out,
        count=len(chosen),
        page=page,
        pages=pages,
    )


# -- balance --------------------------------------------------------------------------------------


def _decimal(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _status(entry: dict[str, Any]) -> str:
    """The service's status, without the amount of money a prepaid money balance names."""
    text: str = entry["status"]
    if entry.get("unit") != "money":
        return text
    if text.startswith("covered (") and "below its threshold" in text:
        return "covered, below its threshold"
    if text.startswith("covered, drawing a negative balance"):
        return "covered, drawing a negative balance"
    if text.startswith("covered"):
        return "covered"
    return text


def balance(app: App, customer: str, now: Any) -> BalanceOut:
    found = reconcile_balance(app, customer, now=now)
    items = []
    for c in found["contracts"]:
        unit = c.get("unit")
        period = c.get("period")
        items.append(
            BalanceContract(
                contract=c["contract"],
                kind=c["kind"],
                start=date.fromisoformat(c["start"]),
                expires=date.fromisoformat(c["expires"]) if c["expires"] else None,
                period=BalancePeriod(
                    start=date.fromisoformat(period["start"]), end=date.fromisoformat(period["end"])
                )
                if period
                else None,
                unit=unit,
                included_hours=_decimal(c.get("included")),
                left_hours=_decimal(c.get("left")) if unit == "hours" else None,
                left_money=_decimal(c.get("left")) if unit == "money" else None,
                threshold_hours=_decimal(c.get("threshold")) if unit == "hours" else None,
                threshold_money=_decimal(c.get("threshold")) if unit == "money" else None,
                covered=c["status"] != "not covered: pay-as-you-go",
                covered_until=date.fromisoformat(c["covered_until"]) if c.get("covered_until") else None,
                status=_status(c),
            )
        )
    return BalanceOut(
        customer=found["customer"],
        name=found["name"],
        currency=found["currency"],
        today=date.fromisoformat(found["today"]),
        status=found["status"],
        covered=found["covered"],
        contracts=items,
    )


# -- routes ---------------------------------------------------------------------------------------

api = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], responses=ERRORS, tags=["contracts"])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

Within = Annotated[
    int | None,
    Query(
        ge=1,
        le=3650,
        description="Only contracts ending within this many days; default reconcile.renewal_days.",
    ),
]
All = Annotated[bool, Query(description="Every contract, wherever its end.")]
Below = Annotated[bool, Query(description="Only contracts below their threshold or negative.")]
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]


def _contracts(request: Request, within: int | None, every: bool, below: bool, page: int) -> ContractList:
    ctx = web(request)
    today = views.today(ctx.app, ctx.clock())
    days = None if every else (within or ctx.app.settings.reconcile_renewal_days)
    return contracts(ctx.app, today, within=days, below=below, page=page)


@api.get("/contracts", response_model=ContractList, summary="Contracts and renewals")
def api_contracts(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    within: Within = None,
    all: All = False,
    below: Below = False,
    page: PageQuery = 1,
) -> ContractList:
    """Contracts ending within ``within`` days (default ``reconcile.renewal_days``; ``all`` for every
    contract), with days to renewal, whether a renewal quote was sent, the last stored balance and its
    threshold, 100 a page. Fees and money balances are null for roles without ``view_money``."""
    return redact(_contracts(request, within, all, below, page), session.role)


@api.get("/balance/{customer}", response_model=BalanceOut, summary="Does the contract cover new work")
def api_balance(
    request: Request,
    customer: Annotated[
        str, PathParam(min_length=1, max_length=200, description="Code, HaloPSA id or name.")
    ],
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
) -> BalanceOut:
    """The customer's contracts in force today and whether each still covers new work (as
    ``revloop balance``): hours or money left, threshold, until when."""
    ctx = web(request)
    return redact(balance(ctx.app, customer, ctx.clock()), session.role)


@pages.get("/contracts", response_class=HTMLResponse)
def contracts_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    within: Within = None,
    all: All = False,
    below: Below = False,
    page: PageQuery = 1,
) -> Response:
    data = redact(_contracts(request, within, all, below, page), session.role)
    return render(
        request,
        "contracts.html",
        session,
        data=data,
        every=all,
        result=None,
        customer="",
        title="Contracts and renewals",
    )


@pages.get("/contracts/balance", response_class=HTMLResponse)
def balance_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_WORK))],
    customer: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    ctx = web(request)
    result = (
        redact(balance(ctx.app, customer.strip(), ctx.clock()), session.role) if customer.strip() else None
    )
    return render(
        request, "balance.html", session, result=result, customer=customer.strip(), title="Contract balance"
    )


__all__ = ["api", "balance", "contracts", "pages"]

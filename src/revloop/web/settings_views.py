"""The settings pages and API: charge types with their rate rows (and adding a local one, as
``revloop rate add``), the calendars in force (read only, from the settings and the store), and the
cost model (agents' costs by both methods, as ``revloop costs show``; setting one, as ``revloop
costs set``; the ``[costs]`` settings in force). Rates, salaries and costs are money: null for a role
without ``view_money``. Changing anything needs ``manage_settings``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal

import holidays as public_holidays
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.calendar import WEEKDAYS, Calendar, Holidays
from revloop.domain.issues import InputError
from revloop.domain.money import to_decimal
from revloop.services import rates as rate_service
from revloop.services.billing.resolve import msp_calendar, parse_working_hours
from revloop.services.profit import costs as cost_service
from revloop.services.profit.loading import unit_costs
from revloop.web import views
from revloop.web.api import ERRORS
from revloop.web.deps import csrf_protect, require, web
from revloop.web.models import Model, Money, MoneyOnlyText, MoneyText, redact
from revloop.web.pages import render
from revloop.web.profit_data import ProfitModels, models_of, read_fingerprint
from revloop.web.roles import Action
from revloop.web.sessions import Session

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(
    prefix="/api/settings", tags=["settings"], dependencies=[Depends(csrf_protect)], responses=ERRORS
)

#: a figure as the store keeps it: at most 4 decimal places (money 2), never negative
Figure = Annotated[Decimal | None, Field(ge=0, le=10**9, decimal_places=4)]
Amount2 = Annotated[Decimal | None, Field(ge=0, le=10**12, decimal_places=2)]
Code = Annotated[str | None, Field(max_length=64)]
#: a day, YYYY-MM-DD, years 1900-2999
DAY = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
DayQuery = Annotated[
    str | None,
    Query(
        pattern=DAY,
        json_schema_extra={"format": "date"},
        description="Costs in force on this day; default today.",
    ),
]

# -- rates ----------------------------------------------------------------------------------------


class RateRowOut(Model):
    id: int
    scope: Literal["global", "customer", "contract"]
    customer: str | None
    contract: str | None
    effective_from: date
    hourly_rate: Money
    percent: Decimal | None = Field(
        description="A percentage of the global rate in force, instead of a rate."
    )
    minimum_minutes: Decimal | None
    increment_minutes: Decimal | None
    rounding: str | None
    ooh_multiplier: Decimal | None
    weekend_multiplier: Decimal | None
    holiday_multiplier: Decimal | None
    overage_multiplier: Decimal | None
    prepay_multiplier: Decimal | None
    source: str = Field(description="halopsa (synced) | local (added here or with `revloop rate add`)")


class ChargeTypeOut(Model):
    code: str
    name: str
    item_code: str | None
    tax_code: str | None
    service_line: str | None
    billable: bool
    rates: list[RateRowOut]


class RatesOut(Model):
    currency: str
    charge_types: list[ChargeTypeOut]
    customers: list[str] = Field(description="Customer codes a row may be scoped to.")
    contracts: list[str] = Field(description="Contract codes a row may be scoped to.")


class RateIn(BaseModel):
    charge_type: str = Field(min_length=1, max_length=64)
    effective_from: date
    hourly_rate: Figure = None
    percent: Figure = None
    customer: Code = None
    contract: Code = None
    minimum_minutes: Figure = None
    increment_minutes: Figure = None
    rounding: Literal["up", "nearest", "down"] | None = None
    ooh_multiplier: Figure = None
    weekend_multiplier: Figure = None
    holiday_multiplier: Figure = None
    overage_multiplier: Figure = None
    prepay_multiplier: Figure = None


def rates(app: App) -> RatesOut:
    with app.engine.connect() as conn:
        customers = dict(conn.execute(sa.select(t.customers.c.id, t.customers.c.code)).all())
        contracts = dict(conn.execute(sa.select(t.contracts.c.id, t.contracts.c.code)).all())
        rows: dict[int, list[RateRowOut]] = {}
        order = sa.case({"global": 0, "customer": 1, "contract": 2}, value=t.rate_rows.c.scope)
        for r in conn.execute(
            sa.select(t.rate_rows).order_by(order, t.rate_rows.c.effective_from, t.rate_rows.c.id)
        ):
            rows.setdefault(r.charge_type_id, []).append(
                RateRowOut(
                    id=r.id,
                    scope=r.scope,
                    customer=customers.get(r.customer_id),
                    contract=contracts.get(r.contract_id),
                    effective_from=r.effective_from,
                    hourly_rate=r.hourly_rate,
                    percent=r.percent,
                    minimum_minutes=r.minimum_minutes,
                    increment_minutes=r.increment_minutes,
                    rounding=r.rounding,
                    ooh_multiplier=r.ooh_multiplier,
                    weekend_multiplier=r.weekend_multiplier,
                    holiday_multiplier=r.holiday_multiplier,
                    overage_multiplier=r.overage_multiplier,
                    prepay_multiplier=r.prepay_multiplier,
                    source=r.source,
                )
            )
        types = [
            ChargeTypeOut(
                code=ct.code,
                name=ct.name,
                item_code=ct.item_code,
                tax_code=ct.tax_code,
                service_line=ct.service_line,
                billable=bool(ct.billable),
                rates=rows.get(ct.id, []),
            )
            for ct in conn.execute(sa.select(t.charge_types).order_by(t.charge_types.c.code))
        ]
    return RatesOut(
        currency=app.settings.currency,
        charge_types=types,
        customers=sorted(customers.values()),
        contracts=sorted(contracts.values()),
    )


def _rate_input(body: RateIn) -> rate_service.RateInput:
    return rate_service.RateInput(**body.model_dump())


# -- calendars ------------------------------------------------------------------------------------


class WorkingDay(Model):
    day: str
    hours: str = Field(description='e.g. "08:30-17:30"; empty: not a working day')


class HolidayOut(Model):
    day: date
    name: str
    kind: Literal["public", "added"]


class CalendarOut(Model):
    code: str
    source: Literal["settings", "store"] = Field(
        description="settings: the MSP's own; store: synced per customer"
    )
    timezone: str
    working_hours: list[WorkingDay]
    holiday_country: str | None
    holiday_subdivision: str | None
    added: list[date] = Field(description="Extra closure days.")
    removed: list[date] = Field(description="Public holidays worked as normal days.")
    holidays: list[HolidayOut] = Field(description="The holidays in force in the year shown.")


class CalendarsOut(Model):
    year: int
    calendars: list[CalendarOut]
    where: str = Field(description="Where the MSP's calendar is changed.")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _calendar(code: str, source: Literal["settings", "store"], calendar: Calendar, year: int) -> CalendarOut:
    h = calendar.holidays
    names: dict[date, str] = {}
    if h.country:
        try:
            table = public_holidays.country_holidays(h.country, subdiv=h.subdivision, years=year)
            names = {d: str(n) for d, n in table.items() if d.year == year}
        except NotImplementedError:
            names = {}
    days = [HolidayOut(day=d, name=n, kind="public") for d, n in names.items() if d not in h.remove]
    days += [HolidayOut(day=d, name="closed (added)", kind="added") for d in h.add if d.year == year]
    return CalendarOut(
        code=code,
        source=source,
        timezone=calendar.timezone,
        working_hours=[
            WorkingDay(day=day, hours=", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges))
            for day, ranges in zip(WEEKDAYS, calendar.working_hours, strict=True)
        ],
        holiday_country=h.country,
        holiday_subdivision=h.subdivision,
        added=sorted(h.add),
        removed=sorted(h.remove),
        holidays=sorted(days, key=lambda x: x.day),
    )


def calendars(app: App, year: int) -> CalendarsOut:
    settings = app.settings
    found = [_calendar("msp", "settings", msp_calendar(settings), year)]
    with app.engine.connect() as conn:
        for r in conn.execute(sa.select(t.calendars).order_by(t.calendars.c.code)):
            hours = r.working_hours or {}
            calendar = Calendar(
                r.timezone or settings.timezone,
                parse_working_hours(hours["text"]) if "text" in hours else ((),) * 7,
                Holidays(
                    r.holiday_country,
                    r.holiday_subdivision,
                    frozenset(map(date.fromisoformat, r.holidays_add or [])),
                    frozenset(map(date.fromisoformat, r.holidays_remove or [])),
                ),
            )
            found.append(_calendar(r.code, "store", calendar, year))
    return CalendarsOut(
        year=year,
        calendars=found,
        where="working_hours, holiday_country, holiday_subdivision, holiday_add and holiday_remove at the "
        f"top of the settings file ({settings.settings_file.name}), or REVLOOP_WORKING_HOURS, ...",
    )


# -- costs ------------------------------------------------------------------------------------------


class AgentCostOut(Model):
    agent: str = Field(
        description="The agent as POST /api/settings/costs/{agent} takes it (HaloPSA id or name)."
    )
    name: str
    salary_rate: Money = Field(description="Loaded hourly cost by the salary method on the day shown.")
    effective_from: date | None
    explanation: MoneyOnlyText
    books_rate: Money
    difference: Money


class CostMonthOut(Model):
    month: str
    payroll: Money
    overhead: Money
    hours: Decimal
    books_rate: Money
    salary_rate: Money
    difference: Money


class CostIssueOut(Model):
    code: str
    severity: str
    subject: str
    message: MoneyText
    action: MoneyText


class ItemCostOut(Model):
    item_code: str
    unit_cost: Money
    source: Literal["settings", "halopsa"] = Field(
        "settings", description="settings: costs.item_unit_costs; halopsa: the item's HaloPSA cost price."
    )


class CostSettingsOut(Model):
    method: str
    overhead_monthly: Money
    allocation: str
    default_oncost_percent: Decimal
    productive_hours_per_year: Decimal
    mileage_cost_per_unit: Money
    fee_split: str
    payroll_accounts: list[str]
    overhead_accounts: list[str]
    item_unit_costs: list[ItemCostOut]
    where: str = Field(description="Where these are changed.")


class AgentRef(Model):
    agent: str
    name: str


class CostsOut(Model):
    on: date
    currency: str
    books_rate: Money = Field(description="The books' blended hourly rate over the months shown.")
    agents: list[AgentCostOut]
    months: list[CostMonthOut]
    issues: list[CostIssueOut]
    settings: CostSettingsOut
    all_agents: list[AgentRef] = Field(description="Every agent, for setting a cost.")


class CostIn(BaseModel):
    effective_from: date
    salary: Amount2 = None
    oncost_percent: Figure = None
    productive_hours: Figure = None
    hourly_cost: Figure = None


def _agent_key(row: Any) -> str:
    return str(row.halopsa_id or row.name)


def kept_costs(request: Request, on: date, months: int = 12) -> CostsOut:
    """``costs`` as kept for the store's state (``profit_data``: read again when the store changes)."""
    app = web(request).app
    models = models_of(request.app.state)
    models.asked("costs", on, months)
    print_ = read_fingerprint(app)
    found: CostsOut = models.derived((print_, "costs", on, months), lambda: costs(app, on, months))
    return found


def warm_costs(models: ProfitModels, app: App, now: datetime, print_: str) -> None:
    """The cost model's view of today (and of the days asked for lately) for the store in the state
    ``print_``."""
    default = (views.today(app, now), 12)
    for on, months in dict.fromkeys([default, *models.recent("costs")]):
        models.derived((print_, "costs", on, months), partial(costs, app, on, months))


def costs(app: App, on: date, months: int = 12) -> CostsOut:
    """Both cost methods side by side, as ``revloop costs show`` (``cost_service.show``)."""
    view = cost_service.show(app, on=on, months=months)
    with app.engine.connect() as conn:
        agents = list(
            conn.execute(
                sa.select(t.agents.c.id, t.agents.c.halopsa_id, t.agents.c.name).order_by(t.agents.c.name)
            )
        )
        item_costs = unit_costs(conn, app.settings)
    keys = {str(a.id): _agent_key(a) for a in agents}
    s = app.settings
    return CostsOut(
        on=view.on,
        currency=s.currency,
        books_rate=view.books,
        agents=[
            AgentCostOut(
                agent=keys.get(a.agent, a.agent),
                name=a.name,
                salary_rate=a.salary.hourly if a.salary else None,
                effective_from=a.salary.effective_from if a.salary else None,
                explanation=a.salary.explanation if a.salary else None,
                books_rate=a.books,
                difference=a.difference,
            )
            for a in view.agents
        ],
        months=[
            CostMonthOut(
                month=f"{m.month:%Y-%m}",
                payroll=m.books.payroll if m.books else None,
                overhead=m.books.overhead if m.books else None,
                hours=m.hours,
                books_rate=m.books.rate if m.books else None,
                salary_rate=m.salary_rate,
                difference=m.difference,
            )
            for m in view.by_month
        ],
        issues=[
            CostIssueOut(
                code=i.code, severity=i.severity.value, subject=i.subject, message=i.message, action=i.action
            )
            for i in view.issues
        ],
        settings=CostSettingsOut(
            method=s.costs_method,
            overhead_monthly=s.costs_overhead_monthly,
            allocation=s.costs_allocation,
            default_oncost_percent=s.costs_default_oncost_percent,
            productive_hours_per_year=s.costs_productive_hours_per_year,
            mileage_cost_per_unit=s.costs_mileage_cost_per_unit,
            fee_split=s.costs_fee_split,
            payroll_accounts=list(s.costs_payroll_accounts),
            overhead_accounts=list(s.costs_overhead_accounts),
            item_unit_costs=[
                ItemCostOut(
                    item_code=k,
                    unit_cost=v,
                    source="settings" if k in s.costs_item_unit_costs else "halopsa",
                )
                for k, v in sorted(item_costs.items())
            ],
            where=f"the [costs] section of the settings file ({s.settings_file.name}), or "
            "REVLOOP_COSTS_<KEY> in the environment; revloop reads them when it starts",
        ),
        all_agents=[AgentRef(agent=_agent_key(a), name=a.name) for a in agents],
    )


def set_cost(app: App, agent: str, body: CostIn, *, by: str, now: datetime) -> None:
    given = cost_service.CostInput(
        agent,
        body.effective_from,
        salary=body.salary,
        oncost_percent=body.oncost_percent,
        productive_hours=body.productive_hours,
        hourly_cost=body.hourly_cost,
    )
    cost_service.set_costs(app, [given], now=now, actor=by)


# -- form fields to the API's bodies ------------------------------------------------------------------


def _number(text: str, what: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        value = to_decimal(text.replace(",", "").strip())
    except (TypeError, ValueError):
        raise InputError(
            f"{what} {text!r} is not a number", hint="go back and check what you typed"
        ) from None
    if value < 0 or value != value.quantize(Decimal("0.0001")):
        raise InputError(f"{what} {text!r}: at most 4 decimal places, not negative")
    return value


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date", hint="use YYYY-MM-DD") from None


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


DONE = {"rate": "Rate row added (local: sync keeps it).", "cost": "Agent's cost set."}
SECTIONS = (
    ("/settings", "Charge types and rates"),
    ("/settings/calendars", "Calendars"),
    ("/settings/costs", "Cost model"),
)

# -- pages ----------------------------------------------------------------------------------------------


@pages.get("/settings", response_class=HTMLResponse)
def rates_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    done: Annotated[str, Query(pattern="^(|rate)$")] = "",
) -> Response:
    data = redact(rates(web(request).app), session.role)
    return render(
        request,
        "settings_rates.html",
        session,
        data=data,
        done=DONE.get(done, ""),
        sections=SECTIONS,
        title="Settings",
    )


RATE_FIELDS = (
    "hourly_rate",
    "percent",
    "minimum_minutes",
    "increment_minutes",
    "ooh_multiplier",
    "weekend_multiplier",
    "holiday_multiplier",
    "overage_multiplier",
    "prepay_multiplier",
)


@pages.post("/settings/rates")
async def add_rate_page(
    request: Request, session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))]
) -> Response:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value[:200] if isinstance(value, str) else ""

    rounding = text("rounding").strip() or None
    if rounding is not None and rounding not in rate_service.ROUNDING:
        raise InputError("rounding must be up, nearest or down")
    given = rate_service.RateInput(
        charge_type=text("charge_type").strip(),
        effective_from=_date(text("effective_from"), "first day in force"),
        customer=text("customer").strip() or None,
        contract=text("contract").strip() or None,
        rounding=rounding,
        **{name: _number(text(name), name.replace("_", " ")) for name in RATE_FIELDS},
    )
    if not given.charge_type:
        raise InputError("choose a charge type", hint="go back and pick one")
    ctx = web(request)
    rate_service.add_rate_row(ctx.app, given, now=ctx.clock(), actor=session.name)
    return _see_other("/settings?done=rate")


@pages.get("/settings/calendars", response_class=HTMLResponse)
def calendars_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    year: Annotated[int | None, Query(ge=1900, le=2999)] = None,
) -> Response:
    ctx = web(request)
    data = redact(calendars(ctx.app, year or views.today(ctx.app, ctx.clock()).year), session.role)
    return render(
        request, "settings_calendars.html", session, data=data, sections=SECTIONS, title="Calendars"
    )


@pages.get("/settings/costs", response_class=HTMLResponse)
def costs_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    on: DayQuery = None,
    done: Annotated[str, Query(pattern="^(|cost)$")] = "",
) -> Response:
    ctx = web(request)
    day = _date(on, "day") if on else views.today(ctx.app, ctx.clock())
    data = redact(kept_costs(request, day), session.role)
    return render(
        request,
        "settings_costs.html",
        session,
        data=data,
        done=DONE.get(done, ""),
        sections=SECTIONS,
        title="Cost model",
    )


@pages.post("/settings/costs")
def set_cost_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
    agent: Annotated[str, Form(max_length=255)] = "",
    effective_from: Annotated[str, Form(max_length=20)] = "",
    salary: Annotated[str, Form(max_length=40)] = "",
    oncost_percent: Annotated[str, Form(max_length=40)] = "",
    productive_hours: Annotated[str, Form(max_length=40)] = "",
    hourly_cost: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if not agent.strip():
        raise InputError("choose an agent", hint="go back and pick one")
    body = CostIn(
        effective_from=_date(effective_from, "the date the cost applies from"),
        salary=_number(salary, "salary"),
        oncost_percent=_number(oncost_percent, "on-costs"),
        productive_hours=_number(productive_hours, "productive hours"),
        hourly_cost=_number(hourly_cost, "hourly cost"),
    )
    ctx = web(request)
    set_cost(ctx.app, agent.strip(), body, by=session.name, now=ctx.clock())
    return _see_other("/settings/costs?done=cost")


# -- API ------------------------------------------------------------------------------------------------


@api.get("/rates", response_model=RatesOut)
def rates_api(
    request: Request, session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))]
) -> RatesOut:
    """Every charge type with its rate rows: global, per customer and per contract, dated."""
    return redact(rates(web(request).app), session.role)


@api.post("/rates", response_model=RatesOut)
def add_rate_api(
    request: Request, body: RateIn, session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))]
) -> RatesOut:
    """Add a dated local rate row (as ``revloop rate add``): sync never overwrites it."""
    ctx = web(request)
    rate_service.add_rate_row(ctx.app, _rate_input(body), now=ctx.clock(), actor=session.name)
    return redact(rates(ctx.app), session.role)


@api.get("/calendars", response_model=CalendarsOut)
def calendars_api(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    year: Annotated[int | None, Query(ge=1900, le=2999, description="Default: this year.")] = None,
) -> CalendarsOut:
    """The MSP's calendar (from the settings) and the stored ones: working hours, holidays added and
    removed, and the holidays in force in the year."""
    ctx = web(request)
    return redact(calendars(ctx.app, year or views.today(ctx.app, ctx.clock()).year), session.role)


@api.get("/costs", response_model=CostsOut)
def costs_api(
    request: Request,
    session: Annotated[Session, Depends(require(Action.VIEW_SETTINGS))],
    on: DayQuery = None,
    months: Annotated[int, Query(ge=1, le=60, description="Months of books to average.")] = 12,
) -> CostsOut:
    """Each agent's loaded hourly cost by the salary method and by the books, side by side, month by
    month, and the ``[costs]`` settings in force (as ``revloop costs show``)."""
    ctx = web(request)
    day = _date(on, "day") if on else views.today(ctx.app, ctx.clock())
    return redact(kept_costs(request, day, months), session.role)


@api.post("/costs/{agent}", response_model=CostsOut)
def set_cost_api(
    request: Request,
    agent: Annotated[str, Path(min_length=1, max_length=255, description="HaloPSA agent id or name.")],
    body: CostIn,
    session: Annotated[Session, Depends(require(Action.MANAGE_SETTINGS))],
) -> CostsOut:
    """Set an agent's cost from a date (as ``revloop costs set``; the same date again replaces it)."""
    ctx = web(request)
    set_cost(ctx.app, agent, body, by=session.name, now=ctx.clock())
    shown = max(body.effective_from, views.today(ctx.app, ctx.clock()))
    return redact(kept_costs(request, shown), session.role)


router = APIRouter()
router.include_router(pages)
router.include_router(api)

__all__ = ["calendars", "costs", "kept_costs", "rates", "router", "warm_costs"]

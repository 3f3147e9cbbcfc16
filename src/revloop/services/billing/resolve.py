"""The store → a rating ``Book`` for one period: the facts a billing run reads.

Work is the unbilled time of the period (by work date), with the ratebook, calendars, contracts
and their balances, recurring charges, counts, catalogue and tax rates as the store holds them.
Gaps the engine cannot fill are named issues here, never silent zeros.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.config import Settings as AppSettings
from revloop.domain.calendar import WEEKDAYS, Calendar, DayHours, Holidays, parse_hours
from revloop.domain.issues import Issue, PeriodError, Severity
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow
from revloop.domain.records import (
    Book,
    CatalogueItem,
    Contract,
    CountedThing,
    Customer,
    ExpenseRecord,
    ItemIssue,
    ItemLot,
    MileageRecord,
    Purchase,
    RecurringCharge,
    Settings,
    TimeEntry,
    WriteOff,
)

OPEN_STATES = ("unbilled", "written_off")


@dataclass(frozen=True)
class Resolved:
    book: Book
    issues: tuple[Issue, ...]
    names: Mapping[str, str]  # customer code -> name
    currencies: Mapping[str, str]  # customer code -> currency


def parse_working_hours(text: str) -> tuple[DayHours, ...]:
    """``"mon-fri 08:30-17:30"``, or several groups ``"mon-thu 08:00-17:00; fri 08:00-16:00"``."""
    days: list[DayHours] = [() for _ in range(7)]
    for group in filter(None, (g.strip() for g in text.split(";"))):
        span, _, hours = group.partition(" ")
        first, _, last = span.lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS) or not hours.strip():
            raise PeriodError(
                f"working hours {group!r} are not understood", hint='write e.g. "mon-fri 08:30-17:30"'
            )
        lo = WEEKDAYS.index(first)
        hi = WEEKDAYS.index(last) if last else lo
        ranges = parse_hours(hours)
        for index in range(lo, hi + 1):
            days[index] = ranges
    return tuple(days)


def msp_calendar(settings: AppSettings) -> Calendar:
    holidays = Holidays(
        settings.holiday_country or None,
        settings.holiday_subdivision or None,
        frozenset(settings.holiday_add),
        frozenset(settings.holiday_remove),
    )
    return Calendar(settings.timezone, parse_working_hours(settings.working_hours), holidays)


def domain_settings(settings: AppSettings) -> Settings:
    return Settings(
        currency=settings.currency,
        timezone=settings.timezone,
        rounding_scope=settings.billing_rounding_scope,
        ooh_mode=settings.billing_ooh_mode,
        money_rounding=settings.billing_money_rounding,
        travel_uses_multipliers=settings.billing_travel_uses_multipliers,
        mileage_rate=settings.billing_mileage_rate,
        mileage_item_code=settings.billing_mileage_item_code,
        mileage_tax_code=settings.billing_mileage_tax_code,
        expense_markup_percent=settings.billing_expense_markup_percent,
        descriptions=tuple(sorted(settings.billing_descriptions.items())),
    )


def _row(r: Any) -> RateRow:
    return RateRow(
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
    )


def _item_field(catalogue: Mapping[str, Any], code: str | None, name: str) -> Any:
    """A field of the catalogue item (as synced from Xero) with this code, if there is one.

    Xero fills a line's missing account and tax type from its item; revloop takes them from the
    same place, so that the tax it computes is the tax Xero will compute."""
    item = catalogue.get(code or "")
    return getattr(item, name) if item is not None else None


def _ratebook(
    conn: Connection,
    customer_codes: Mapping[int, str],
    contract_codes: Mapping[int, str],
    catalogue: Mapping[str, Any],
    only_these: bool = False,
) -> Ratebook:
    """The ratebook: global rows, and the rows of the customers and contracts given (only their rows
    are read when ``only_these``)."""
    types = {r.id: r for r in conn.execute(sa.select(t.charge_types))}
    rows = sa.select(t.rate_rows)
    if only_these:
        rows = rows.where(
            sa.or_(
                t.rate_rows.c.scope == "global",
                t.rate_rows.c.customer_id.in_(list(customer_codes)),
                t.rate_rows.c.contract_id.in_(list(contract_codes)),
            )
        )
    global_rows: dict[int, list[RateRow]] = defaultdict(list)
    customer_rows: dict[str, dict[str, list[RateRow]]] = defaultdict(lambda: defaultdict(list))
    contract_rows: dict[str, dict[str, list[RateRow]]] = defaultdict(lambda: defaultdict(list))
    for r in conn.execute(rows.order_by(t.rate_rows.c.effective_from, t.rate_rows.c.id)):
        code = types[r.charge_type_id].code
        if r.scope == "global":
            global_rows[r.charge_type_id].append(_row(r))
        elif r.scope == "customer" and r.customer_id in customer_codes:
            customer_rows[customer_codes[r.customer_id]][code].append(_row(r))
        elif r.scope == "contract" and r.contract_id in contract_codes:
            contract_rows[contract_codes[r.contract_id]][code].append(_row(r))
    charge_types = {
        ct.code: ChargeType(
            id=ct.code,
            name=ct.name,
            item_code=ct.item_code or ct.code,
            account_code=ct.account_code or _item_field(catalogue, ct.item_code, "account_code"),
            tax_code=ct.tax_code or _item_field(catalogue, ct.item_code, "tax_code"),
            travel=types[ct.travel_charge_type_id].code if ct.travel_charge_type_id in types else None,
            rates=tuple(global_rows.get(ct.id, ())),
        )
        for ct in types.values()
    }
    return Ratebook(
        charge_types,
        {c: {k: tuple(v) for k, v in rows.items()} for c, rows in customer_rows.items()},
        {c: {k: tuple(v) for k, v in rows.items()} for c, rows in contract_rows.items()},
    )


def billed_here(period: Period) -> sa.Select[tuple[str | None]]:
    """The keys of revloop's invoices of this period: the work already billed on them is rated again
    with the rest, so a period's drafts always show the whole period and compare with what was posted."""
    return sa.select(t.invoices.c.key).where(
        t.invoices.c.origin == "revloop",
        t.invoices.c.doc_type == "invoice",
        t.invoices.c.period_start == period.start,
    )


def load_book(
    conn: Connection, settings: AppSettings, period: Period, customer: str | None = None
) -> Resolved:
    issues: list[Issue] = []
    catalogue = {r.code: r for r in conn.execute(sa.select(t.items))}
    calendars = {
        r.id: Calendar(
            r.timezone or settings.timezone,
            parse_working_hours(r.working_hours["text"]) if "text" in r.working_hours else ((),) * 7,
            Holidays(
                r.holiday_country,
                r.holiday_subdivision,
                frozenset(map(date.fromisoformat, r.holidays_add)),
                frozenset(map(date.fromisoformat, r.holidays_remove)),
            ),
        )
        for r in conn.execute(sa.select(t.calendars))
    }
    query = sa.select(t.customers).where(t.customers.c.active.is_(True))
    if customer is not None:
        query = query.where(t.customers.c.code == customer)
    customer_rows = list(conn.execute(query))
    customer_codes = {r.id: r.code for r in customer_rows}
    ids = list(customer_codes)

    def mine(column: Any) -> Any:  # the customer's rows only, when one is asked for
        return column.in_(ids) if customer is not None else sa.true()

    prices: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    item_codes = {r.id: r.code for r in conn.execute(sa.select(t.items.c.id, t.items.c.code))}
    for r in conn.execute(sa.select(t.item_prices).where(mine(t.item_prices.c.customer_id))):
        prices[r.customer_id].append((item_codes[r.item_id], r.unit_price))
    customers = {
        r.code: Customer(
            id=r.code,
            name=r.name,
            tax_code=r.tax_code,
            line_amount_types=r.line_amount_types,
            presentation=r.presentation,
            show_covered_work=r.show_covered_work,
            separate_invoice_per_contract=r.separate_invoice_per_contract,
            calendar=calendars.get(r.calendar_id),
            mileage_rate=r.mileage_rate,
            expense_markup_percent=r.expense_markup_percent,
            item_prices=tuple(prices.get(r.id, ())),
        )
        for r in customer_rows
    }
    contract_rows = [
        r
        for r in conn.execute(sa.select(t.contracts).where(mine(t.contracts.c.customer_id)))
        if r.customer_id in customer_codes
    ]
    contract_codes = {r.id: r.code for r in contract_rows}

    def theirs(column: Any) -> Any:  # rows of the customer's contracts only, when one is asked for
        return column.in_(list(contract_codes)) if customer is not None else sa.true()

    purchases: dict[int, list[Purchase]] = defaultdict(list)
    for r in conn.execute(
        sa.select(t.contract_purchases)
        .where(theirs(t.contract_purchases.c.contract_id))
        .order_by(t.contract_purchases.c.date)
    ):
        purchases[r.contract_id].append(Purchase(r.date, r.amount, r.expires))
    contracts = {
        r.code: _contract(r, customer_codes[r.customer_id], purchases[r.id], settings, catalogue)
        for r in contract_rows
    }
    opening = {
        contract_codes[r.contract_id]: r.closing
        for r in conn.execute(
            sa.select(t.contract_balances).where(
                t.contract_balances.c.period_end == period.start, theirs(t.contract_balances.c.contract_id)
            )
        )
        if r.contract_id in contract_codes
    }
    tax_rates = {r.code: r.rate_percent for r in conn.execute(sa.select(t.tax_rates))}
    ratebook = _ratebook(conn, customer_codes, contract_codes, catalogue, customer is not None)
    type_codes = {r.id: r.code for r in conn.execute(sa.select(t.charge_types.c.id, t.charge_types.c.code))}
    agents = {r.id: r.name for r in conn.execute(sa.select(t.agents.c.id, t.agents.c.name))}
    work = sa.select(t.time_entries).where(
        t.time_entries.c.work_date >= period.start,
        t.time_entries.c.work_date < period.end,
        sa.or_(
            t.time_entries.c.billing_state.in_(OPEN_STATES),
            t.time_entries.c.invoice_key.in_(billed_here(period)),
        ),
    )
    if customer is not None:
        work = work.where(t.time_entries.c.customer_id.in_(ids))
    worked_on = sa.select(t.time_entries.c.ticket_id).where(  # the period's tickets, not every ticket
        t.time_entries.c.work_date >= period.start,
        t.time_entries.c.work_date < period.end,
        mine(t.time_entries.c.customer_id),
    )
    tickets = {
        r.id: (r.halopsa_id or str(r.id), r.summary, r.service_line)
        for r in conn.execute(
            sa.select(
                t.tickets.c.id, t.tickets.c.halopsa_id, t.tickets.c.summary, t.tickets.c.service_line
            ).where(t.tickets.c.id.in_(worked_on))
        )
    }
    entries: list[TimeEntry] = []
    mileage: list[MileageRecord] = []
    for r in conn.execute(work.order_by(t.time_entries.c.start_utc, t.time_entries.c.id)):
        code = customer_codes.get(r.customer_id)
        if code is None:
            if customer is None:
                issues.append(
                    Issue(
                        "customer.unknown",
                        Severity.ERROR,
                        r.source_key,
                        "time entry for a customer revloop does not know (or an inactive one)",
                        action="sync HaloPSA again, or reactivate the customer",
                    )
                )
            continue
        ticket_id, summary, ticket_line = tickets.get(r.ticket_id, (None, "", None))
        written_off = (
            WriteOff(r.state_by or "", r.state_reason or "") if r.billing_state == "written_off" else None
        )
        entries.append(
            TimeEntry(
                id=r.source_key,
                customer=code,
                start=r.start_utc,
                minutes=r.minutes,
                charge_type=type_codes.get(r.charge_type_id),
                ticket=ticket_id,
                agent=agents.get(r.agent_id, ""),
                non_billable_minutes=r.non_billable_minutes,
                travel_minutes=r.travel_minutes,
                contract=contract_codes.get(r.contract_id),
                service_line=r.service_line or ticket_line,
                summary=summary,
                written_off=written_off,
            )
        )
        if r.mileage and r.mileage > 0:
            mileage.append(MileageRecord(f"{r.source_key}:mileage", code, r.work_date, r.mileage))

    assets = tuple(
        CountedThing(str(r.id), customer_codes[r.customer_id], r.asset_type, r.since, r.until)
        for r in conn.execute(
            sa.select(t.assets).where(t.assets.c.active.is_(True), mine(t.assets.c.customer_id))
        )
        if r.customer_id in customer_codes
    )
    recurring = []
    for r in conn.execute(sa.select(t.recurring_charges).where(mine(t.recurring_charges.c.customer_id))):
        code = customer_codes.get(r.customer_id)
        if code is None:
            continue
        count_source = r.count_source
        if count_source == "users":
            # HaloPSA's user list is not synced: the quantity HaloPSA holds is the count.
            if r.quantity is None:
                issues.append(
                    Issue(
                        "recurring.no_quantity",
                        Severity.ERROR,
                        r.code,
                        "the charge is counted by users, and no user count is known",
                        action="give the charge a quantity in HaloPSA",
                    )
                )
                continue
            count_source = None
        recurring.append(
            RecurringCharge(
                id=r.code,
                customer=code,
                item_code=r.item_code,
                description=r.description,
                unit_amount=r.unit_amount,
                start=r.start,
                quantity=None if count_source else r.quantity,
                count_source=count_source,
                frequency=r.frequency,
                end=r.end,
                timing=r.timing,
                tax_code=r.tax_code or _item_field(catalogue, r.item_code, "tax_code"),
                account_code=_item_field(catalogue, r.item_code, "account_code"),
                increase_percent=r.increase_percent,
                increase_on=r.increase_on,
            )
        )
    expense_item = settings.billing_expense_item_code or None
    expenses = tuple(
        ExpenseRecord(
            r.source_key,
            customer_codes[r.customer_id],
            r.date,
            r.cost,
            r.category,
            r.item_code or expense_item,
            r.tax_code or _item_field(catalogue, r.item_code or expense_item, "tax_code"),
        )
        for r in conn.execute(
            sa.select(t.expenses).where(
                t.expenses.c.date >= period.start,
                t.expenses.c.date < period.end,
                mine(t.expenses.c.customer_id),
                sa.or_(
                    t.expenses.c.billing_state == "unbilled",
                    t.expenses.c.invoice_key.in_(billed_here(period)),
                ),
            )
        )
        if r.customer_id in customer_codes
    )
    lots: dict[int, list[ItemLot]] = defaultdict(list)
    for r in conn.execute(sa.select(t.item_lots).order_by(t.item_lots.c.date, t.item_lots.c.id)):
        lots[r.item_id].append(ItemLot(r.date, r.quantity, r.unit_cost))
    items = {
        r.code: CatalogueItem(
            r.code, r.name, r.unit_price or Decimal(0), r.tax_code, r.account_code, tuple(lots.get(r.id, ()))
        )
        for r in conn.execute(sa.select(t.items))
        if r.unit_price is not None
    }
    issued = tuple(
        ItemIssue(
            r.source_key,
            customer_codes[r.customer_id],
            r.date,
            r.quantity,
            item_codes.get(r.item_id),
            r.description or "",
            r.unit_price,
            r.unit_cost,
            r.tax_code,
        )
        for r in conn.execute(
            sa.select(t.items_issued).where(
                t.items_issued.c.date >= period.start,
                t.items_issued.c.date < period.end,
                mine(t.items_issued.c.customer_id),
                sa.or_(
                    t.items_issued.c.billing_state == "unbilled",
                    t.items_issued.c.invoice_key.in_(billed_here(period)),
                ),
            )
        )
        if r.customer_id in customer_codes
    )
    book = Book(
        settings=domain_settings(settings),
        calendar=msp_calendar(settings),
        tax_rates=tax_rates,
        ratebook=ratebook,
        customers=customers,
        contracts=contracts,
        opening_balances=opening,
        recurring=tuple(recurring),
        entries=tuple(entries),
        mileage=tuple(mileage),
        expenses=expenses,
        items=items,
        items_issued=issued,
        assets=assets,
    )
    names = {r.code: r.name for r in customer_rows}
    currencies = {r.code: r.currency for r in customer_rows}
    return Resolved(book, tuple(issues), names, currencies)


def _contract(
    r: Any, customer: str, purchases: list[Purchase], settings: AppSettings, catalogue: Mapping[str, Any]
) -> Contract:
    item_code = r.item_code or settings.billing_contract_item_codes.get(r.kind)
    return Contract(
        id=r.code,
        customer=customer,
        kind=r.kind,
        start=r.start,
        end=r.end,
        covers=tuple(r.covers) if r.covers is not None else None,
        service_lines=tuple(r.service_lines) if r.service_lines is not None else None,
        unit=r.unit or "hours",
        purchases=tuple(purchases),
        threshold=r.threshold,
        auto_topup=r.auto_topup,
        on_exhausted=r.on_exhausted,
        topup_item_code=r.topup_item_code,
        topup_unit_amount=r.topup_unit_amount,
        item_code=item_code,
        tax_code=r.tax_code or _item_field(catalogue, item_code, "tax_code"),
        account_code=_item_field(catalogue, item_code, "account_code"),
        description=r.description,
        fee=r.fee,
        billing=r.billing,
        hours_per_period=r.hours_per_period,
        rollover=r.rollover,
        rollover_cap_hours=r.rollover_cap_hours,
    )


def previous_period(period: Period) -> Period:
    last = period.start - timedelta(days=1)
    return Period.month(last.year, last.month)

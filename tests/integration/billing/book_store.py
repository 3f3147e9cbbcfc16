"""Writing a scenario's book into the store, as a sync would leave it, for billing tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.domain.calendar import WEEKDAYS
from revloop.domain.periods import Period
from revloop.domain.ratebook import RateRow
from revloop.domain.records import Book

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Unsupported(Exception):
    """The scenario uses something the store cannot express yet."""


def _hours_text(book: Book) -> str:
    groups = []
    for day, ranges in zip(WEEKDAYS, book.calendar.working_hours, strict=True):
        if ranges:
            text = ",".join(f"{lo // 60:02d}:{lo % 60:02d}-{hi // 60:02d}:{hi % 60:02d}" for lo, hi in ranges)
            groups.append(f"{day} {text}")
    return "; ".join(groups)


def settings_overrides(book: Book) -> dict[str, Any]:
    s = book.settings
    holidays = book.calendar.holidays
    if s.mileage_surcharge is not None:
        raise Unsupported("a mileage surcharge setting")
    if book.calendar.timezone != s.timezone:
        raise Unsupported("a calendar timezone other than the settings' timezone")
    return {
        "currency": s.currency,
        "timezone": s.timezone,
        "working_hours": _hours_text(book) or "mon 00:00-00:01",
        "holiday_country": holidays.country or "",
        "holiday_subdivision": holidays.subdivision or "",
        "holiday_add": sorted(holidays.add),
        "holiday_remove": sorted(holidays.remove),
        "billing_rounding_scope": s.rounding_scope,
        "billing_ooh_mode": s.ooh_mode,
        "billing_money_rounding": s.money_rounding,
        "billing_travel_uses_multipliers": s.travel_uses_multipliers,
        "billing_mileage_rate": s.mileage_rate,
        "billing_mileage_item_code": s.mileage_item_code,
        "billing_mileage_tax_code": s.mileage_tax_code,
        "billing_expense_markup_percent": s.expense_markup_percent,
        "billing_descriptions": dict(s.descriptions),
    }


def _rate(row: RateRow) -> dict[str, Any]:
    return {
        "effective_from": row.effective_from,
        "hourly_rate": row.hourly_rate,
        "percent": row.percent,
        "minimum_minutes": row.minimum_minutes,
        "increment_minutes": row.increment_minutes,
        "rounding": row.rounding,
        "ooh_multiplier": row.ooh_multiplier,
        "weekend_multiplier": row.weekend_multiplier,
        "holiday_multiplier": row.holiday_multiplier,
        "overage_multiplier": row.overage_multiplier,
        "prepay_multiplier": row.prepay_multiplier,
        "source": "local",
    }


def write_book(conn: sa.Connection, book: Book, period: Period) -> None:
    if book.mileage or book.users or any(c.calendar or c.mileage_surcharge for c in book.customers.values()):
        raise Unsupported("separate mileage records, users or customer calendars")
    if any(r.account_code for r in book.recurring) or any(c.account_code for c in book.contracts.values()):
        raise Unsupported("account codes on recurring charges or contracts")
    if any(x.cost != x.cost.quantize(Decimal("0.01")) for x in book.expenses):
        raise Unsupported(
            "an expense cost with more than 2 decimal places (the store keeps paid costs in cents)"
        )
    if any(e.summary for e in book.entries):
        raise Unsupported("ticket summaries per entry")
    for code, rate in book.tax_rates.items():
        conn.execute(t.tax_rates.insert().values(code=code, name=code, rate_percent=rate))
    customer_ids = {}
    for c in book.customers.values():
        customer_ids[c.id] = conn.execute(
            t.customers.insert()
            .values(
                code=c.id,
                name=c.name,
                currency=book.settings.currency,
                tax_code=c.tax_code,
                line_amount_types=c.line_amount_types,
                presentation=c.presentation,
                show_covered_work=c.show_covered_work,
                separate_invoice_per_contract=c.separate_invoice_per_contract,
                mileage_rate=c.mileage_rate,
                expense_markup_percent=c.expense_markup_percent,
                active=True,
                local_overrides={},
                created_at=T0,
                updated_at=T0,
            )
            .returning(t.customers.c.id)
        ).scalar_one()
    type_ids = {}
    for ct in book.ratebook.charge_types.values():
        type_ids[ct.id] = conn.execute(
            t.charge_types.insert()
            .values(
                code=ct.id,
                name=ct.name,
                item_code=ct.item_code,
                account_code=ct.account_code,
                tax_code=ct.tax_code,
                billable=True,
            )
            .returning(t.charge_types.c.id)
        ).scalar_one()
    for ct in book.ratebook.charge_types.values():
        if ct.travel:
            conn.execute(
                t.charge_types.update()
                .where(t.charge_types.c.id == type_ids[ct.id])
                .values(travel_charge_type_id=type_ids[ct.travel])
            )
        for row in ct.rates:
            conn.execute(
                t.rate_rows.insert().values(charge_type_id=type_ids[ct.id], scope="global", **_rate(row))
            )
    contract_ids = {}
    for k in book.contracts.values():
        contract_ids[k.id] = conn.execute(
            t.contracts.insert()
            .values(
                code=k.id,
                customer_id=customer_ids[k.customer],
                kind=k.kind,
                start=k.start,
                end=k.end,
                covers=list(k.covers) if k.covers is not None else None,
                service_lines=list(k.service_lines) if k.service_lines is not None else None,
                billing=k.billing,
                fee=k.fee,
                hours_per_period=k.hours_per_period,
                rollover=k.rollover,
                rollover_cap_hours=k.rollover_cap_hours,
                unit=k.unit,
                threshold=k.threshold,
                auto_topup=k.auto_topup,
                on_exhausted=k.on_exhausted,
                item_code=k.item_code,
                tax_code=k.tax_code,
                description=k.description,
                topup_item_code=k.topup_item_code,
                topup_unit_amount=k.topup_unit_amount,
                local_overrides={},
            )
            .returning(t.contracts.c.id)
        ).scalar_one()
        for p in k.purchases:
            conn.execute(
                t.contract_purchases.insert().values(
                    contract_id=contract_ids[k.id],
                    date=p.date,
                    amount=p.amount,
                    expires=p.expires,
                    source="local",
                )
            )
    for owner, by_type in book.ratebook.customer_rates.items():
        for ct, rows in by_type.items():
            for row in rows:
                conn.execute(
                    t.rate_rows.insert().values(
                        charge_type_id=type_ids[ct],
                        scope="customer",
                        customer_id=customer_ids[owner],
                        **_rate(row),
                    )
                )
    for owner, by_type in book.ratebook.contract_rates.items():
        for ct, rows in by_type.items():
            for row in rows:
                conn.execute(
                    t.rate_rows.insert().values(
                        charge_type_id=type_ids[ct],
                        scope="contract",
                        contract_id=contract_ids[owner],
                        **_rate(row),
                    )
                )
    for code, balance in book.opening_balances.items():
        unit = book.contracts[code].unit if book.contracts[code].kind == "prepay" else "hours"
        conn.execute(
            t.contract_balances.insert().values(
                contract_id=contract_ids[code],
                period_start=period.start - timedelta(days=1),
                period_end=period.start,
                closing=balance,
                unit=unit,
                computed_at=T0,
            )
        )
    for r in book.recurring:
        conn.execute(
            t.recurring_charges.insert().values(
                code=r.id,
                customer_id=customer_ids[r.customer],
                item_code=r.item_code,
                description=r.description,
                quantity=r.quantity,
                count_source=r.count_source,
                unit_amount=r.unit_amount,
                frequency=r.frequency,
                start=r.start,
                end=r.end,
                timing=r.timing,
                tax_code=r.tax_code,
                increase_percent=r.increase_percent,
                increase_on=r.increase_on,
            )
        )
    for a in book.assets:
        conn.execute(
            t.assets.insert().values(
                customer_id=customer_ids[a.customer],
                asset_type=a.type,
                name=a.id,
                active=True,
                since=a.start,
                until=a.end,
            )
        )
    agent_ids: dict[str, int] = {}
    ticket_ids: dict[str, int] = {}
    zone = book.calendar.zone
    for e in book.entries:
        if e.agent not in agent_ids:
            agent_ids[e.agent] = conn.execute(
                t.agents.insert().values(name=e.agent, active=True).returning(t.agents.c.id)
            ).scalar_one()
        ticket = e.ticket or f"solo-{e.id}"
        if ticket not in ticket_ids:
            ticket_ids[ticket] = conn.execute(
                t.tickets.insert()
                .values(halopsa_id=ticket, customer_id=customer_ids[e.customer], summary="")
                .returning(t.tickets.c.id)
            ).scalar_one()
        start = e.start if e.start.tzinfo else e.start.replace(tzinfo=zone)
        local = start.astimezone(zone)
        state = "written_off" if e.written_off else "unbilled"
        conn.execute(
            t.time_entries.insert().values(
                source_key=e.id,
                ticket_id=ticket_ids[ticket] if e.ticket else None,
                customer_id=customer_ids[e.customer],
                agent_id=agent_ids[e.agent],
                charge_type_id=type_ids.get(e.charge_type or ""),
                contract_id=contract_ids.get(e.contract or ""),
                start_utc=start.astimezone(UTC),
                work_date=local.date(),
                minutes=e.minutes,
                non_billable_minutes=e.non_billable_minutes,
                travel_minutes=e.travel_minutes,
                mileage=0,
                service_line=e.service_line,
                billing_state=state,
                state_by=e.written_off.by if e.written_off else None,
                state_reason=e.written_off.reason if e.written_off else None,
            )
        )
    for x in book.expenses:
        conn.execute(
            t.expenses.insert().values(
                source_key=x.id,
                customer_id=customer_ids[x.customer],
                date=x.date,
                category=x.category,
                cost=x.cost,
                currency=book.settings.currency,
                item_code=x.item_code,
                tax_code=x.tax_code,
            )
        )
    item_ids = {}
    for item in book.items.values():
        item_ids[item.id] = conn.execute(
            t.items.insert()
            .values(
                code=item.id,
                name=item.name,
                unit_price=item.unit_price,
                tax_code=item.tax_code,
                account_code=item.account_code,
            )
            .returning(t.items.c.id)
        ).scalar_one()
        for lot in item.lots:
            conn.execute(
                t.item_lots.insert().values(
                    item_id=item_ids[item.id],
                    date=lot.date,
                    quantity=lot.quantity,
                    unit_cost=lot.unit_cost,
                    remaining=lot.quantity,
                )
            )
    for c in book.customers.values():
        for item_code, price in c.item_prices:
            conn.execute(
                t.item_prices.insert().values(
                    item_id=item_ids[item_code], customer_id=customer_ids[c.id], unit_price=price
                )
            )
    for i in book.items_issued:
        if i.account_code:
            raise Unsupported("account codes on issued items")
        conn.execute(
            t.items_issued.insert().values(
                source_key=i.id,
                customer_id=customer_ids[i.customer],
                item_id=item_ids.get(i.item or ""),
                date=i.date,
                quantity=i.quantity,
                description=i.description,
                unit_price=i.unit_price,
                unit_cost=i.unit_cost,
                tax_code=i.tax_code,
            )
        )

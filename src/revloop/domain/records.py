"""The typed inputs of a rating run: settings, customers, contracts and source records.

Every record is a frozen dataclass holding ``Decimal`` figures and ``date``/``datetime`` values;
nothing here reads files or clocks. ``Book`` bundles them for ``engine.rate``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from revloop.domain.calendar import Calendar
from revloop.domain.money import RoundingMode
from revloop.domain.ratebook import Ratebook

RoundingScope = Literal["entry", "ticket"]
OohMode = Literal["split", "start"]
LineAmountTypes = Literal["Exclusive", "Inclusive"]
Presentation = Literal["itemised", "summary"]
ContractKind = Literal["payg", "fixed_price", "allowance", "prepay"]
Frequency = Literal["monthly", "quarterly", "annual"]
Timing = Literal["advance", "arrears"]
PrepayUnit = Literal["hours", "money"]
OnExhausted = Literal["payg", "negative"]

DEFAULT_DESCRIPTIONS: Mapping[str, str] = {
    "labour": "{date} {ticket_id} {ticket_summary} ({agent}, {class})",
    "covered": "{date} {ticket_id} {ticket_summary} ({agent}, {class}) covered by {contract}{draw}",
    "overage": "{date} {ticket_id} {ticket_summary} ({agent}, {class}) over the {contract} allowance",
    "travel": "{date} {ticket_id} travel ({agent})",
    "summary": "{charge_type} ({class}), {period}",
    "fee": "{contract}, {dates}",
    "recurring": "{description}, {dates}",
    "mileage": "{date} mileage {distance}",
    "surcharge": "{date} mileage surcharge",
    "expense": "{date} {category} {description}",
    "item": "{date} {description}",
    "topup": "{contract} top-up",
}


@dataclass(frozen=True, slots=True)
class Settings:
    currency: str = "GBP"
    timezone: str = "Europe/London"
    rounding_scope: RoundingScope = "entry"
    ooh_mode: OohMode = "split"
    money_rounding: RoundingMode = "half_up"
    travel_uses_multipliers: bool = False
    mileage_rate: Decimal = Decimal("0.45")
    mileage_item_code: str = "MILEAGE"
    mileage_tax_code: str = "OUTPUT2"
    mileage_surcharge: Decimal | None = None
    expense_markup_percent: Decimal = Decimal(0)
    descriptions: tuple[tuple[str, str], ...] = ()

    def template(self, kind: str) -> str:
        for k, v in self.descriptions:
            if k == kind:
                return v
        return DEFAULT_DESCRIPTIONS[kind]


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    tax_code: str | None = None
    line_amount_types: LineAmountTypes = "Exclusive"
    presentation: Presentation = "itemised"
    show_covered_work: bool | None = None
    separate_invoice_per_contract: bool = False
    calendar: Calendar | None = None
    mileage_rate: Decimal | None = None
    mileage_surcharge: Decimal | None = None
    expense_markup_percent: Decimal | None = None
    item_prices: tuple[tuple[str, Decimal], ...] = ()

    def item_price(self, item: str) -> Decimal | None:
        for k, v in self.item_prices:
            if k == item:
                return v
        return None


@dataclass(frozen=True, slots=True)
class Purchase:
    date: dt.date
    amount: Decimal
    expires: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    customer: str
    kind: ContractKind
    start: date
    end: date | None = None
    covers: tuple[str, ...] | None = None
    service_lines: tuple[str, ...] | None = None
    # prepay
    unit: PrepayUnit = "hours"
    purchases: tuple[Purchase, ...] = ()
    threshold: Decimal | None = None
    auto_topup: Decimal | None = None
    on_exhausted: OnExhausted = "payg"
    topup_item_code: str | None = None
    topup_unit_amount: Decimal | None = None
    # fee and top-up lines
    item_code: str | None = None
    tax_code: str | None = None
    account_code: str | None = None
    description: str | None = None
    # fixed_price
    fee: Decimal | None = None
    billing: Frequency = "monthly"
    # allowance
    hours_per_period: Decimal | None = None
    rollover: bool = False
    rollover_cap_hours: Decimal | None = None

    def in_force(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def covers_work(self, charge_type: str, service_line: str | None) -> bool:
        if self.covers is not None and charge_type not in self.covers:
            return False
        return self.service_lines is None or service_line in self.service_lines


@dataclass(frozen=True, slots=True)
class WriteOff:
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimeEntry:
    id: str
    customer: str
    start: datetime  # naive = local to the customer's calendar; aware = converted to it
    minutes: Decimal
    charge_type: str | None = None
    ticket: str | None = None
    agent: str = ""
    non_billable_minutes: Decimal = Decimal(0)
    travel_minutes: Decimal = Decimal(0)
    contract: str | None = None
    service_line: str | None = None
    summary: str = ""
    written_off: WriteOff | None = None


@dataclass(frozen=True, slots=True)
class RecurringCharge:
    id: str
    customer: str
    item_code: str
    description: str
    unit_amount: Decimal
    start: date
    quantity: Decimal | None = None
    count_source: str | None = None  # "users" or "assets:<type>"
    frequency: Frequency = "monthly"
    end: date | None = None
    timing: Timing = "advance"
    tax_code: str | None = None
    account_code: str | None = None
    increase_percent: Decimal | None = None
    increase_on: date | None = None


@dataclass(frozen=True, slots=True)
class CountedThing:
    """An asset or a user, counted for recurring quantities; active on ``[start, end)``."""

    id: str
    customer: str
    type: str = "user"
    start: date | None = None
    end: date | None = None

    def active_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class MileageRecord:
    id: str
    customer: str
    date: dt.date
    distance: Decimal
    item_code: str | None = None
    tax_code: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ExpenseRecord:
    id: str
    customer: str
    date: dt.date
    cost: Decimal
    category: str
    item_code: str | None = None
    tax_code: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ItemLot:
    date: dt.date
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    id: str
    name: str
    unit_price: Decimal
    tax_code: str | None = None
    account_code: str | None = None
    lots: tuple[ItemLot, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemIssue:
    id: str
    customer: str
    date: dt.date
    quantity: Decimal
    item: str | None = None
    description: str = ""
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    tax_code: str | None = None
    account_code: str | None = None


@dataclass(frozen=True, slots=True)
class Book:
    """Everything a rating run reads."""

    settings: Settings
    calendar: Calendar
    tax_rates: Mapping[str, Decimal]
    ratebook: Ratebook
    customers: Mapping[str, Customer]
    contracts: Mapping[str, Contract] = field(default_factory=dict)
    opening_balances: Mapping[str, Decimal] = field(default_factory=dict)
    recurring: tuple[RecurringCharge, ...] = ()
    entries: tuple[TimeEntry, ...] = ()
    mileage: tuple[MileageRecord, ...] = ()
    expenses: tuple[ExpenseRecord, ...] = ()
    items: Mapping[str, CatalogueItem] = field(default_factory=dict)
    items_issued: tuple[ItemIssue, ...] = ()
    assets: tuple[CountedThing, ...] = ()
    users: tuple[CountedThing, ...] = ()

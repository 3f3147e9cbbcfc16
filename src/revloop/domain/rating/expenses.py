"""Expenses (rule 7): quantity 1, cost marked up once."""

from __future__ import annotations

from decimal import Decimal

from revloop.domain.money import q4
from revloop.domain.records import Customer, ExpenseRecord, Settings


def markup_percent(settings: Settings, customer: Customer) -> Decimal:
    if customer.expense_markup_percent is not None:
        return customer.expense_markup_percent
    return settings.expense_markup_percent


def expense_unit_amount(record: ExpenseRecord, markup: Decimal) -> Decimal:
    return q4(record.cost * (1 + markup / Decimal(100)))

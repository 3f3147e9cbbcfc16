"""Mileage (rule 7): distance x rate, and an optional surcharge line per record."""

from __future__ import annotations

from decimal import Decimal

from revloop.domain.money import q4
from revloop.domain.records import Customer, MileageRecord, Settings


def mileage_rate(settings: Settings, customer: Customer) -> Decimal:
    return q4(customer.mileage_rate if customer.mileage_rate is not None else settings.mileage_rate)


def mileage_surcharge(settings: Settings, customer: Customer) -> Decimal | None:
    value = (
        customer.mileage_surcharge if customer.mileage_surcharge is not None else settings.mileage_surcharge
    )
    return None if value is None or value == 0 else q4(value)


def mileage_codes(settings: Settings, record: MileageRecord) -> tuple[str, str]:
    return (record.item_code or settings.mileage_item_code, record.tax_code or settings.mileage_tax_code)

"""Rate rows set locally (``source='local'``): sync never overwrites or removes them.

``add_rate_row`` is what ``revloop rate add`` and the dashboard's settings page both do: one dated
row for a charge type, globally or for a customer or a contract, recorded in the audit journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import audit
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import InputError, NotFound

ROUNDING = ("up", "nearest", "down")
FIGURES = (
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


@dataclass(frozen=True)
class RateInput:
    charge_type: str
    effective_from: date
    hourly_rate: Decimal | None = None
    percent: Decimal | None = None
    customer: str | None = None
    contract: str | None = None
    minimum_minutes: Decimal | None = None
    increment_minutes: Decimal | None = None
    rounding: str | None = None
    ooh_multiplier: Decimal | None = None
    weekend_multiplier: Decimal | None = None
    holiday_multiplier: Decimal | None = None
    overage_multiplier: Decimal | None = None
    prepay_multiplier: Decimal | None = None


def check(given: RateInput) -> None:
    """Refuse a row that cannot work, before anything is read or written."""
    if given.hourly_rate is not None and given.percent is not None:
        raise InputError("give an hourly rate or a percentage, not both")
    if not (given.customer or given.contract) and given.hourly_rate is None:
        raise InputError("a global row needs an hourly rate (a percentage is of the global rate)")
    if given.rounding is not None and given.rounding not in ROUNDING:
        raise InputError("rounding must be up, nearest or down")
    for name in FIGURES:
        value = getattr(given, name)
        if value is not None and value < 0:
            raise InputError(f"{name.replace('_', ' ')} is negative ({value})")


def add_rate_row(app: App, given: RateInput, *, now: datetime, actor: str) -> str:
    """Add the row; returns its scope (global, customer or contract)."""
    check(given)
    figures = {name: getattr(given, name) for name in FIGURES}
    with app.engine.begin() as conn:
        ct = conn.execute(
            sa.select(t.charge_types.c.id).where(t.charge_types.c.code == given.charge_type)
        ).scalar()
        if ct is None:
            raise NotFound(f"no charge type {given.charge_type!r}")
        owner: dict[str, Any] = {"scope": "global", "customer_id": None, "contract_id": None}
        if given.contract:
            owner = {
                "scope": "contract",
                "customer_id": None,
                "contract_id": conn.execute(
                    sa.select(t.contracts.c.id).where(t.contracts.c.code == given.contract)
                ).scalar(),
            }
            if owner["contract_id"] is None:
                raise NotFound(f"no contract {given.contract!r}")
        elif given.customer:
            owner = {
                "scope": "customer",
                "contract_id": None,
                "customer_id": conn.execute(
                    sa.select(t.customers.c.id).where(t.customers.c.code == given.customer)
                ).scalar(),
            }
            if owner["customer_id"] is None:
                raise NotFound(f"no customer {given.customer!r}")
        conn.execute(
            t.rate_rows.insert().values(
                charge_type_id=ct,
                effective_from=given.effective_from,
                rounding=given.rounding,
                source="local",
                **owner,
                **figures,
            )
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="rate.add",
            entity="charge_type",
            entity_id=given.charge_type,
            details={
                "scope": owner["scope"],
                "from": given.effective_from.isoformat(),
                **{k: str(v) for k, v in figures.items() if v is not None},
            },
        )
    return str(owner["scope"])


__all__ = ["ROUNDING", "RateInput", "add_rate_row", "check"]

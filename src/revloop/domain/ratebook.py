"""Charge types, dated rate rows and which row applies (billing rules 1 and 2).

Rows exist at three scopes: contract, customer, global. The narrowest scope with a row in force
on the work date wins; an override row takes the fields it leaves unset from the global row in
force, and may price itself as a percentage of that global row's hourly rate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from revloop.domain.calendar import WorkClass

Rounding = Literal["up", "nearest", "down"]
Scope = Literal["contract", "customer", "global"]

_INHERITED = (
    "hourly_rate",
    "minimum_minutes",
    "increment_minutes",
    "rounding",
    "ooh_multiplier",
    "weekend_multiplier",
    "holiday_multiplier",
    "overage_multiplier",
    "prepay_multiplier",
)


@dataclass(frozen=True, slots=True)
class RateRow:
    """One dated rate row as written; ``None`` means the field is not set."""

    effective_from: date
    hourly_rate: Decimal | None = None
    percent: Decimal | None = None
    minimum_minutes: Decimal | None = None
    increment_minutes: Decimal | None = None
    rounding: Rounding | None = None
    ooh_multiplier: Decimal | None = None
    weekend_multiplier: Decimal | None = None
    holiday_multiplier: Decimal | None = None
    overage_multiplier: Decimal | None = None
    prepay_multiplier: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ResolvedRate:
    """The row that prices one piece of work, after inheritance and defaults."""

    charge_type: str
    scope: Scope
    effective_from: date
    hourly_rate: Decimal
    minimum_minutes: Decimal
    increment_minutes: Decimal
    rounding: Rounding
    ooh_multiplier: Decimal
    weekend_multiplier: Decimal
    holiday_multiplier: Decimal
    overage_multiplier: Decimal
    prepay_multiplier: Decimal
    percent: Decimal | None = None

    def multiplier(self, cls: WorkClass) -> Decimal:
        if cls == "ooh":
            return self.ooh_multiplier
        if cls == "weekend":
            return self.weekend_multiplier
        if cls == "holiday":
            return self.holiday_multiplier
        return Decimal(1)

    def describe(self) -> str:
        rate = f"{self.hourly_rate}/h"
        if self.percent is not None:
            rate += f" ({self.percent}% of global)"
        return f"{self.scope} {self.charge_type} row from {self.effective_from.isoformat()}: {rate}"


@dataclass(frozen=True, slots=True)
class ChargeType:
    id: str
    name: str
    item_code: str
    account_code: str | None = None
    tax_code: str | None = None
    travel: str | None = None
    rates: tuple[RateRow, ...] = ()


def _in_force(rows: tuple[RateRow, ...], keys: tuple[date, ...], day: date) -> RateRow | None:
    i = bisect_right(keys, day)
    return rows[i - 1] if i else None


@dataclass(frozen=True)
class _Rows:
    rows: tuple[RateRow, ...]
    keys: tuple[date, ...]

    @classmethod
    def of(cls, rows: tuple[RateRow, ...]) -> _Rows:
        ordered = tuple(sorted(rows, key=lambda r: r.effective_from))
        return cls(ordered, tuple(r.effective_from for r in ordered))

    def at(self, day: date) -> RateRow | None:
        return _in_force(self.rows, self.keys, day)


@dataclass(frozen=True)
class Ratebook:
    charge_types: Mapping[str, ChargeType]
    customer_rates: Mapping[str, Mapping[str, tuple[RateRow, ...]]] = field(default_factory=dict)
    contract_rates: Mapping[str, Mapping[str, tuple[RateRow, ...]]] = field(default_factory=dict)
    _plans: dict[
        tuple[str, str | None, str | None], tuple[tuple[date, ...], tuple[ResolvedRate | None, ...]]
    ] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[tuple[str, str, str], _Rows] = field(default_factory=dict, compare=False, repr=False)
    _merged: dict[tuple[str, Scope, int, int], ResolvedRate | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _rows(self, scope: str, owner: str, charge_type: str) -> _Rows | None:
        key = (scope, owner, charge_type)
        found = self._index.get(key)
        if found is None:
            if scope == "global":
                ct = self.charge_types.get(charge_type)
                rows = ct.rates if ct else ()
            elif scope == "customer":
                rows = self.customer_rates.get(owner, {}).get(charge_type, ())
            else:
                rows = self.contract_rates.get(owner, {}).get(charge_type, ())
            found = _Rows.of(rows)
            self._index[key] = found
        return found if found.rows else None

    def resolve(
        self, charge_type: str, customer: str | None, contract: str | None, day: date
    ) -> ResolvedRate | None:
        """The row in force for this work, or ``None`` when no scope prices it (rule 2.4)."""
        key = (charge_type, customer, contract)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(charge_type, customer, contract)
        dates, results = plan
        return results[bisect_right(dates, day)]

    def _plan(
        self, charge_type: str, customer: str | None, contract: str | None
    ) -> tuple[tuple[date, ...], tuple[ResolvedRate | None, ...]]:
        """The answer only changes on a row's effective date: resolve once per such date."""
        starts: set[date] = set()
        for scope, owner in (("global", ""), ("customer", customer), ("contract", contract)):
            if owner is None:
                continue
            rows = self._rows(scope, owner, charge_type)
            if rows is not None:
                starts.update(rows.keys)
        dates = tuple(sorted(starts))
        results = [self._resolve(charge_type, customer, contract, date.min)]
        results.extend(self._resolve(charge_type, customer, contract, d) for d in dates)
        return dates, tuple(results)

    def _resolve(
        self, charge_type: str, customer: str | None, contract: str | None, day: date
    ) -> ResolvedRate | None:
        global_rows = self._rows("global", "", charge_type)
        global_row = global_rows.at(day) if global_rows else None
        scopes: list[tuple[Scope, str]] = []
        if contract is not None:
            scopes.append(("contract", contract))
        if customer is not None:
            scopes.append(("customer", customer))
        for scope, owner in scopes:
            rows = self._rows(scope, owner, charge_type)
            row = rows.at(day) if rows else None
            if row is not None:
                return self._merge_once(charge_type, scope, row, global_row)
        if global_row is None:
            return None
        return self._merge_once(charge_type, "global", global_row, None)

    def _merge_once(
        self, charge_type: str, scope: Scope, row: RateRow, base: RateRow | None
    ) -> ResolvedRate | None:
        # rows are held by this ratebook, so their identities are stable for its lifetime
        key = (charge_type, scope, id(row), id(base))
        try:
            return self._merged[key]
        except KeyError:
            merged = _merge(charge_type, scope, row, base)
            self._merged[key] = merged
            return merged


def _merge(charge_type: str, scope: Scope, row: RateRow, base: RateRow | None) -> ResolvedRate | None:
    values: dict[str, object] = {}
    for name in _INHERITED:
        own = getattr(row, name)
        values[name] = own if own is not None or base is None else getattr(base, name)
    percent = row.percent if scope != "global" else None
    if percent is not None:
        if base is None or base.hourly_rate is None:
            return None
        values["hourly_rate"] = base.hourly_rate * percent / Decimal(100)
    hourly = values["hourly_rate"]
    if not isinstance(hourly, Decimal):
        return None
    ooh = _dec(values["ooh_multiplier"], Decimal(1))
    weekend = _dec(values["weekend_multiplier"], ooh)
    holiday = _dec(values["holiday_multiplier"], weekend)
    rounding = values["rounding"]
    return ResolvedRate(
        charge_type=charge_type,
        scope=scope,
        effective_from=row.effective_from,
        hourly_rate=hourly,
        minimum_minutes=_dec(values["minimum_minutes"], Decimal(0)),
        increment_minutes=_dec(values["increment_minutes"], Decimal(0)),
        rounding=_rounding(rounding),
        ooh_multiplier=ooh,
        weekend_multiplier=weekend,
        holiday_multiplier=holiday,
        overage_multiplier=_dec(values["overage_multiplier"], Decimal(1)),
        prepay_multiplier=_dec(values["prepay_multiplier"], Decimal(1)),
        percent=percent,
    )


def _dec(value: object, default: Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else default


def _rounding(value: object) -> Rounding:
    if value == "nearest":
        return "nearest"
    if value == "down":
        return "down"
    return "up"

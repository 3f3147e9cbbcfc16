"""Contracts: which one an entry draws from, and the balances it draws (rule 5).

``PrepayAccount`` holds purchase lots (hours or money) drawn earliest expiry first;
``AllowanceAccount`` holds the hours included per allowance period, with rollover and cap.
Both are driven by the engine in consumption order (work start, entry id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revloop.domain.money import q4
from revloop.domain.periods import Period, add_months
from revloop.domain.rating.recurring import charge_period_containing
from revloop.domain.records import Contract

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Match:
    contract: Contract | None
    ambiguous: tuple[str, ...] = ()
    problem: str | None = None  # an issue code when a named contract cannot be used


def match_contract(
    candidates: Sequence[Contract],
    named: Contract | None,
    named_id: str | None,
    customer: str,
    charge_type: str,
    service_line: str | None,
    day: date,
) -> Match:
    """The contract named on the entry, else the customer's one contract in force covering it."""
    if named_id is not None:
        if named is None or named.customer != customer:
            return Match(None, problem="contract.unknown")
        if not named.in_force(day):
            return Match(None, problem="contract.not_in_force")
        return Match(named)
    found = [c for c in candidates if c.in_force(day) and c.covers_work(charge_type, service_line)]
    if len(found) > 1:
        return Match(None, ambiguous=tuple(sorted(c.id for c in found)))
    return Match(found[0] if found else None)


class _Lot:
    __slots__ = ("date", "expires", "remaining", "seq")

    def __init__(self, day: date, expires: date | None, amount: Decimal, seq: int) -> None:
        self.date = day
        self.expires = expires
        self.remaining = amount
        self.seq = seq

    def live(self, day: date) -> bool:
        return self.date <= day and (self.expires is None or day <= self.expires)

    def order(self) -> tuple[bool, date, date, int]:
        return (self.expires is None, self.expires or date.max, self.date, self.seq)


class PrepayAccount:
    """A prepaid balance made of lots. ``debt`` is what was drawn below zero."""

    def __init__(self, contract: Contract, period: Period, opening: Decimal | None) -> None:
        self.contract = contract
        self.debt = _ZERO
        self._lots: list[_Lot] = []
        self._pending: list[_Lot] = []
        seq = 0
        if opening is not None:
            if opening >= 0:
                self._pending.append(_Lot(period.start, None, opening, seq))
            else:
                self.debt = -opening
            seq += 1
        for p in sorted(contract.purchases, key=lambda x: x.date):
            if opening is not None and p.date < period.start:
                continue  # replaced by the opening balance
            if p.date >= period.end:
                continue
            self._pending.append(_Lot(p.date, p.expires, p.amount, seq))
            seq += 1
        self._seq = seq

    def _activate(self, day: date) -> None:
        if not self._pending or (self._pending[0].date > day and len(self._pending) == 1):
            return
        still: list[_Lot] = []
        for lot in sorted(self._pending, key=lambda x: (x.date, x.seq)):
            if lot.date <= day:
                if self.debt > 0:
                    pay = min(self.debt, lot.remaining)
                    self.debt -= pay
                    lot.remaining -= pay
                self._lots.append(lot)
            else:
                still.append(lot)
        self._pending = still

    def available(self, day: date) -> Decimal:
        self._activate(day)
        total = _ZERO
        for lot in self._lots:
            if lot.date <= day and (lot.expires is None or day <= lot.expires):  # lot.live(day)
                total += lot.remaining
        return total - self.debt

    def consume(self, day: date, amount: Decimal) -> None:
        """Take ``amount`` from live lots, earliest expiry first; any rest becomes debt."""
        self._activate(day)
        need = amount
        live = [x for x in self._lots if x.live(day)]
        if len(live) > 1:
            live.sort(key=_Lot.order)
        for lot in live:
            if need <= 0:
                break
            take = min(lot.remaining, need)
            if take > 0:
                lot.remaining -= take
                need -= take
        if need > 0:
            self.debt += need
        self._lots = [lot for lot in self._lots if lot.remaining > 0]  # spent lots add nothing

    def purchase(self, day: date, amount: Decimal) -> None:
        self._pending.append(_Lot(day, None, amount, self._seq))
        self._seq += 1
        self._activate(day)

    def closing(self, period: Period) -> Decimal:
        return self.available(period.last_day)


@dataclass(frozen=True, slots=True)
class PrepayDraw:
    covered_hours: Decimal  # paid from a positive balance
    negative_hours: Decimal  # drawn into a negative balance
    payg_hours: Decimal  # charged as pay-as-you-go
    before: Decimal
    after: Decimal
    consumed: Decimal  # hours or money taken off the balance


def draw_prepay(
    account: PrepayAccount, day: date, hours: Decimal, per_hour: Decimal, cost: Decimal
) -> PrepayDraw:
    """Draw one class part of ``hours`` costing ``cost`` (hours x multiplier, or money)."""
    before = account.available(day)
    negative = account.contract.on_exhausted == "negative"
    if cost <= before:
        account.consume(day, cost)
        return PrepayDraw(hours, _ZERO, _ZERO, before, before - cost, cost)
    covered = _ZERO
    taken = _ZERO
    if before > 0 and per_hour > 0:
        covered = min(q4(before / per_hour), hours)
        taken = before
        account.consume(day, before)
    rest = hours - covered
    if negative:
        rest_cost = cost - taken if cost > taken else _ZERO
        account.consume(day, rest_cost)
        after = account.available(day)
        return PrepayDraw(covered, rest, _ZERO, before, after, taken + rest_cost)
    after = account.available(day)
    return PrepayDraw(covered, _ZERO, rest, before, after, taken)


class AllowanceAccount:
    """Hours included per allowance period; unused hours roll over (capped) when allowed."""

    def __init__(self, contract: Contract, period: Period, opening: Decimal | None) -> None:
        self.contract = contract
        per = contract.hours_per_period or _ZERO
        self._per = per
        first = charge_period_containing(period.start, contract.billing)
        if opening is not None:
            self.balance = opening
            # a new allowance period starting on the first day is granted on top, after the cap
            self._next = first.start if first.start == period.start else add_months(first.start, self._step)
        else:
            self.balance = per if self._granted(first) else _ZERO
            self._next = add_months(first.start, self._step)
        self._period = period

    @property
    def _step(self) -> int:
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.contract.billing]

    def _granted(self, allowance_period: Period) -> bool:
        c = self.contract
        return c.start < allowance_period.end and (c.end is None or c.end > allowance_period.start)

    def advance_to(self, day: date) -> None:
        while self._next <= day and self._next < self._period.end:
            ap = Period(self._next, add_months(self._next, self._step))
            carried = self.balance if self.contract.rollover else _ZERO
            if self.contract.end is not None and self.contract.end <= ap.start:
                carried = _ZERO
            cap = self.contract.rollover_cap_hours
            if cap is not None:
                carried = min(carried, cap)
            self.balance = carried + (self._per if self._granted(ap) else _ZERO)
            self._next = ap.end

    def draw(self, day: date, hours: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(covered, overage, before, after) for ``hours`` worked on ``day``."""
        self.advance_to(day)
        before = self.balance
        covered = min(max(before, _ZERO), hours)
        self.balance = before - covered
        return covered, hours - covered, before, self.balance

    def closing(self) -> Decimal:
        self.advance_to(self._period.last_day)
        return self.balance

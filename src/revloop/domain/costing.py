"""The cost model: what an hour of each agent costs, what an issued item cost, where a fee goes.

Two ways to an hourly cost, computed side by side:

- **salary**: each agent's fully loaded hourly cost is
  ``(salary × (1 + on-cost % / 100) + share of the overhead pool) / productive hours``, effective
  from a date. The annual overhead pool (12 × the monthly overhead) is shared among the agents whose
  cost is derived (not given directly) in force on a date, ``by_hours`` (in proportion to their
  productive hours: the same overhead per hour for everyone) or ``by_headcount`` (an equal share
  each, so an agent with fewer productive hours carries more per hour). An hourly cost given
  directly is used as it is: nothing is added to it and it takes no share of the pool.
- **books**: the payroll and overhead accounts of the Profit and Loss of a month, divided by the
  hours logged (work and travel) in the same month: one blended rate per month.

Item costs come from stock lots consumed first in, first out; fixed and allowance fees are split
to service lines by the hours worked or by declared weights. Nothing here reads files or clocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from revloop.domain.issues import InputError, Issue, Severity
from revloop.domain.money import allocate, q4, round2

Allocation = Literal["by_hours", "by_headcount"]
FeeSplit = Literal["hours", "weights"]
MONTHS_A_YEAR = Decimal(12)
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class CostInputError(InputError):
    """Agent costs that cannot be used (a CSV row, a missing salary, an unknown agent)."""

    code = "costs.input"


def month_of(day: date) -> date:
    return day.replace(day=1)


# --- the salary method -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentCost:
    """One row of an agent's cost history (``agent_costs``), in force from ``effective_from``."""

    agent: str
    effective_from: date
    annual_salary: Decimal = ZERO
    oncost_percent: Decimal = ZERO
    productive_hours_per_year: Decimal = Decimal(1600)
    hourly_cost: Decimal | None = None  # given directly: used as it is
    currency: str = "GBP"

    @property
    def direct(self) -> bool:
        return self.hourly_cost is not None

    @property
    def employment_cost(self) -> Decimal:
        """Salary plus on-costs, a year."""
        return self.annual_salary * (1 + self.oncost_percent / HUNDRED)


@dataclass(frozen=True, slots=True)
class LoadedRate:
    """An agent's fully loaded hourly cost from ``effective_from`` (until the next one)."""

    agent: str
    effective_from: date
    hourly: Decimal  # q4
    employment_cost: Decimal  # salary + on-costs, a year (0 when given directly)
    overhead_share: Decimal  # the agent's share of the annual overhead pool
    productive_hours: Decimal
    direct: bool

    @property
    def explanation(self) -> str:
        if self.direct:
            return f"{self.hourly}/h given directly"
        return (
            f"({round2(self.employment_cost)} salary and on-costs + {round2(self.overhead_share)} overhead) "
            f"/ {self.productive_hours} productive hours = {self.hourly}/h"
        )


@dataclass(frozen=True, slots=True)
class CostPolicy:
    overhead_monthly: Decimal = ZERO
    allocation: Allocation = "by_hours"

    @property
    def annual_pool(self) -> Decimal:
        return self.overhead_monthly * MONTHS_A_YEAR


def _in_force(rows: Sequence[AgentCost], day: date) -> dict[str, AgentCost]:
    """Each agent's latest row in force on ``day``."""
    out: dict[str, AgentCost] = {}
    for row in sorted(rows, key=lambda r: (r.effective_from, r.agent)):
        if row.effective_from <= day:
            out[row.agent] = row
    return out


def _shares(active: Mapping[str, AgentCost], policy: CostPolicy) -> dict[str, Decimal]:
    derived = {a: r for a, r in active.items() if not r.direct}
    if not derived or policy.annual_pool == 0:
        return {a: ZERO for a in derived}
    if policy.allocation == "by_headcount":
        return {a: policy.annual_pool / len(derived) for a in derived}
    hours = sum((r.productive_hours_per_year for r in derived.values()), ZERO)
    return {a: policy.annual_pool * r.productive_hours_per_year / hours for a, r in derived.items()}


def loaded_rate(row: AgentCost, share: Decimal) -> LoadedRate:
    if row.hourly_cost is not None:
        return LoadedRate(
            row.agent,
            row.effective_from,
            q4(row.hourly_cost),
            ZERO,
            ZERO,
            row.productive_hours_per_year,
            True,
        )
    hourly = q4((row.employment_cost + share) / row.productive_hours_per_year)
    return LoadedRate(
        row.agent,
        row.effective_from,
        hourly,
        row.employment_cost,
        share,
        row.productive_hours_per_year,
        False,
    )


@dataclass(frozen=True, slots=True)
class RateTimeline:
    """Every agent's loaded rates in date order; ``rate_on`` answers for a day."""

    rates: Mapping[str, tuple[LoadedRate, ...]]

    def rate_on(self, agent: str, day: date) -> LoadedRate | None:
        found = None
        for rate in self.rates.get(agent, ()):
            if rate.effective_from <= day:
                found = rate
            else:
                break
        return found

    def latest(self, agent: str) -> LoadedRate | None:
        rates = self.rates.get(agent, ())
        return rates[-1] if rates else None


def check_rows(rows: Iterable[AgentCost]) -> list[Issue]:
    """Rows a loaded rate cannot be computed from."""
    issues = []
    for row in rows:
        if row.hourly_cost is None and row.productive_hours_per_year <= 0:
            issues.append(
                Issue(
                    "costs.invalid",
                    Severity.ERROR,
                    f"revloop:agent:{row.agent}",
                    f"the cost from {row.effective_from} has no productive hours",
                    action="set --productive-hours (or --hourly-cost) with `revloop costs set`",
                )
            )
        if (row.hourly_cost is not None and row.hourly_cost < 0) or row.annual_salary < 0:
            issues.append(
                Issue(
                    "costs.invalid",
                    Severity.ERROR,
                    f"revloop:agent:{row.agent}",
                    f"the cost from {row.effective_from} is negative",
                    action="correct it with `revloop costs set`",
                )
            )
    return issues


def loaded_rates(rows: Sequence[AgentCost], policy: CostPolicy) -> RateTimeline:
    """The salary method over the whole history: a new rate for an agent wherever its own row or the
    overhead allocation (another agent joining or changing hours) changes. Invalid rows are skipped
    (``check_rows`` names them)."""
    usable = [r for r in rows if r.hourly_cost is not None or r.productive_hours_per_year > 0]
    changes = sorted({r.effective_from for r in usable})
    out: dict[str, list[LoadedRate]] = defaultdict(list)
    for day in changes:
        active = _in_force(usable, day)
        shares = _shares(active, policy)
        for agent, row in sorted(active.items()):
            rate = loaded_rate(row, shares.get(agent, ZERO))
            previous = out[agent][-1] if out[agent] else None
            if previous is None or (previous.hourly, previous.overhead_share, previous.employment_cost) != (
                rate.hourly,
                rate.overhead_share,
                rate.employment_cost,
            ):
                out[agent].append(
                    LoadedRate(
                        rate.agent,
                        day,
                        rate.hourly,
                        rate.employment_cost,
                        rate.overhead_share,
                        rate.productive_hours,
                        rate.direct,
                    )
                )
    return RateTimeline({a: tuple(v) for a, v in out.items()})


# --- the books method --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PnlLine:
    month: date  # first day of the month
    section: str
    account_code: str
    account_name: str
    amount: Decimal  # as the report shows it (costs positive in cost sections)


@dataclass(frozen=True, slots=True)
class BooksMonth:
    month: date
    payroll: Decimal
    overhead: Decimal
    hours: Decimal
    rate: Decimal | None  # q4 of (payroll + overhead) / hours; None when no hours were logged

    @property
    def cost(self) -> Decimal:
        return self.payroll + self.overhead


def _matches(line: PnlLine, accounts: Iterable[str]) -> bool:
    wanted = {a.strip().lower() for a in accounts}
    return line.account_code.lower() in wanted or line.account_name.strip().lower() in wanted


def books_rates(
    lines: Sequence[PnlLine],
    hours_by_month: Mapping[date, Decimal],
    payroll_accounts: Sequence[str],
    overhead_accounts: Sequence[str],
    months: Sequence[date] | None = None,
) -> tuple[dict[date, BooksMonth], list[Issue]]:
    """The books method per month (of ``months``, or every month with a P&L or hours)."""
    issues: list[Issue] = []
    if not payroll_accounts and not overhead_accounts:
        issues.append(
            Issue(
                "costs.no_accounts",
                Severity.ERROR,
                "revloop:settings:costs",
                "no payroll or overhead accounts are named, so the books give no cost",
                action="set costs.payroll_accounts and costs.overhead_accounts (codes or names)",
            )
        )
    by_month: dict[date, list[PnlLine]] = defaultdict(list)
    for line in lines:
        by_month[month_of(line.month)].append(line)
    wanted = sorted(set(months) if months is not None else set(by_month) | set(hours_by_month))
    out: dict[date, BooksMonth] = {}
    for month in wanted:
        rows = by_month.get(month)
        hours = hours_by_month.get(month, ZERO)
        if not rows:
            issues.append(
                Issue(
                    "costs.no_pnl",
                    Severity.ERROR,
                    f"revloop:pnl:{month:%Y-%m}",
                    f"no Profit and Loss is stored for {month:%Y-%m}",
                    action="run `revloop costs pnl` for the months you report on",
                )
            )
            continue
        payroll = sum((r.amount for r in rows if _matches(r, payroll_accounts)), ZERO)
        overhead = sum(
            (r.amount for r in rows if _matches(r, overhead_accounts) and not _matches(r, payroll_accounts)),
            ZERO,
        )
        named = bool(payroll_accounts or overhead_accounts)
        rate = q4((payroll + overhead) / hours) if hours > 0 and named else None
        if named and rate is None:
            issues.append(
                Issue(
                    "costs.no_hours",
                    Severity.WARNING,
                    f"revloop:pnl:{month:%Y-%m}",
                    f"no hours were logged in {month:%Y-%m}, so the books give no hourly cost",
                    action="sync HaloPSA, or leave the month out",
                )
            )
        out[month] = BooksMonth(month, payroll, overhead, hours, rate)
    return out, issues


def blended_books_rate(months: Iterable[BooksMonth]) -> Decimal | None:
    """Σ (payroll + overhead) / Σ hours over several months."""
    cost = hours = ZERO
    for m in months:
        if m.hours > 0:
            cost += m.cost
            hours += m.hours
    return q4(cost / hours) if hours > 0 else None


# --- items: first in, first out ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockLot:
    id: str
    item: str
    date: date
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True, slots=True)
class StockIssue:
    id: str
    item: str
    date: date
    quantity: Decimal
    unit_cost: Decimal | None = None  # what the issue itself says it cost, if anything


@dataclass(frozen=True, slots=True)
class IssueCost:
    id: str
    cost: Decimal  # exact: Σ quantity × unit cost of the layers used
    layers: tuple[tuple[str, Decimal, Decimal], ...] = field(default=())  # (lot id, quantity, unit cost)


def fifo_costs(
    lots: Sequence[StockLot], issued: Sequence[StockIssue]
) -> tuple[dict[str, IssueCost], list[Issue]]:
    """Each issue's cost, consuming the item's lots in date order (then id) as the issues happen in
    date order (then id). A lot bought after the issue's date is not used for it. Quantity the lots
    cannot cover is costed at the issue's own unit cost; without one it is an issue, never a zero."""
    remaining: dict[str, list[list[object]]] = defaultdict(list)
    for lot in sorted(lots, key=lambda lot: (lot.item, lot.date, lot.id)):
        remaining[lot.item].append([lot.id, lot.date, lot.quantity, lot.unit_cost])
    out: dict[str, IssueCost] = {}
    problems: list[Issue] = []
    for issue in sorted(issued, key=lambda i: (i.date, i.id)):
        need = issue.quantity
        cost = ZERO
        layers: list[tuple[str, Decimal, Decimal]] = []
        for layer in remaining.get(issue.item, []):
            lot_id, lot_date, left, unit = layer
            assert isinstance(left, Decimal) and isinstance(unit, Decimal) and isinstance(lot_date, date)
            if need <= 0:
                break
            if left <= 0 or lot_date > issue.date:
                continue
            take = min(left, need)
            layer[2] = left - take
            need -= take
            cost += take * unit
            layers.append((str(lot_id), take, unit))
        if need > 0:
            if issue.unit_cost is None:
                problems.append(
                    Issue(
                        "costs.no_stock",
                        Severity.ERROR,
                        f"revloop:item_issue:{issue.id}",
                        f"{need} of item {issue.item} issued on {issue.date} is not covered by any stock lot "
                        "and the issue has no unit cost",
                        action="record the purchase lot of the item, or give the issue a unit cost",
                    )
                )
                continue
            cost += need * issue.unit_cost
            layers.append(("issue", need, issue.unit_cost))
        out[issue.id] = IssueCost(issue.id, cost, tuple(layers))
    return out, problems


# --- fees to service lines ---------------------------------------------------------------------


def split_fee(
    amount: Decimal,
    rule: FeeSplit,
    *,
    hours: Mapping[str, Decimal],
    weights: Mapping[str, Decimal],
    fallback: str,
    allowed: Sequence[str] | None = None,
) -> dict[str, Decimal]:
    """A fee (a multiple of 0.01) split to service lines, to the cent and losing nothing.

    ``hours``: the hours worked under the fee per service line; ``weights``: the declared weights.
    ``allowed`` (the contract's service lines, if it names any) limits the lines that take a share.
    When the rule has nothing to go on (no hours that month, no weight), the fee goes whole to
    ``fallback`` (the fee item's own service line)."""
    basis = hours if rule == "hours" else weights
    lines = sorted(k for k, v in basis.items() if v > 0 and (allowed is None or k in allowed))
    if not lines:
        return {fallback: amount}
    sign = -1 if amount < 0 else 1
    parts = allocate(abs(amount), [basis[k] for k in lines])
    return {k: sign * p for k, p in zip(lines, parts, strict=True) if p != 0 or len(lines) == 1}

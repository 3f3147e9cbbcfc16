"""Profit: revenue and fully loaded cost attributed to client × service line × month, then summed.

Everything becomes a ``Fact``: one attributed amount (revenue, cost, hours) with the client, service
line, month, contract and agent it belongs to. Time entries give hours and cost (loaded rate ×
(minutes + travel minutes) / 60, plus mileage cost); invoice lines give revenue (fees split to
service lines by the declared rule); expenses, issued items and supplier costs give cost. Facts
are exact; figures are rounded once, where a row is shown (``round2``), and a row's margin is its
rounded revenue less its rounded cost, so a table always adds up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from revloop.domain.costing import FeeSplit, month_of, split_fee
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import round2

ZERO = Decimal(0)
SIXTY = Decimal(60)
HUNDRED = Decimal(100)
NO_LINE = "(none)"
FactKind = Literal["labour", "mileage", "revenue", "expense", "item", "supplier"]
Dimension = Literal["customer", "service_line", "contract", "agent", "month"]
DIMENSIONS: tuple[Dimension, ...] = ("customer", "service_line", "contract", "agent", "month")


@dataclass(frozen=True, slots=True)
class Fact:
    kind: FactKind
    source: str
    customer: str
    service_line: str
    month: date
    contract: str = ""
    agent: str = ""
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    hours: Decimal = ZERO


# --- work ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Work:
    """A time entry as the cost model sees it."""

    id: str
    customer: str
    agent: str
    day: date
    minutes: Decimal
    travel_minutes: Decimal = ZERO
    mileage: Decimal = ZERO
    service_line: str | None = None
    contract: str | None = None
    mileage_service_line: str | None = None  # the mileage item's, for an entry without a line

    @property
    def hours(self) -> Decimal:
        return (self.minutes + self.travel_minutes) / SIXTY


RateFor = Callable[[str, date], Decimal | None]


def cost_work(
    work: Iterable[Work], rate_for: RateFor, mileage_cost: Decimal
) -> tuple[list[Fact], list[Issue]]:
    """Each entry's cost: its agent's loaded rate for the entry's date × its hours, plus mileage ×
    the mileage cost. An entry whose agent has no cost keeps its hours, adds no cost, and is named
    (one issue per agent, with the entries and hours it leaves uncosted)."""
    facts: list[Fact] = []
    missing: dict[str, list[Work]] = defaultdict(list)
    for w in work:
        line = w.service_line or NO_LINE
        month = month_of(w.day)
        rate = rate_for(w.agent, w.day)
        if rate is None:
            missing[w.agent].append(w)
        cost = ZERO if rate is None else rate * w.hours
        facts.append(
            Fact("labour", w.id, w.customer, line, month, w.contract or "", w.agent, cost=cost, hours=w.hours)
        )
        if w.mileage:
            facts.append(
                Fact(
                    "mileage",
                    f"{w.id}:mileage",
                    w.customer,
                    w.service_line or w.mileage_service_line or NO_LINE,
                    month,
                    w.contract or "",
                    w.agent,
                    cost=w.mileage * mileage_cost,
                )
            )
    issues = []
    for agent, entries in sorted(missing.items()):
        hours = sum((w.hours for w in entries), ZERO)
        first = min(w.day for w in entries)
        issues.append(
            Issue(
                "costs.agent_missing",
                Severity.ERROR,
                f"revloop:agent:{agent or '?'}",
                f"agent {agent or '(none)'} has no cost for {len(entries)} time entries "
                f"({round2(hours)} hours, the first on {first}); their cost is left out",
                action=f"`revloop costs set {agent or 'AGENT'} --salary ... --from {first}` "
                "(or --hourly-cost), or name the P&L accounts for the books method",
                amount=str(round2(hours)),
            )
        )
    return facts, issues


# --- revenue -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sale:
    """A revenue line: ``amount`` net of tax in the invoice's currency; ``fx`` = units of that currency
    per one unit of the base currency (1 for the base currency). ``fee_contract`` is set on a fixed or
    allowance fee, or a prepay top-up, which is split to service lines."""

    id: str
    customer: str
    month: date
    amount: Decimal
    service_line: str | None = None
    contract: str | None = None
    fx: Decimal = Decimal(1)
    fee_contract: str | None = None
    fee_lines: tuple[str, ...] | None = None  # the contract's service lines, if it names any


def fee_hours(facts: Iterable[Fact]) -> dict[tuple[str, date], dict[str, dict[str, Decimal]]]:
    """(customer, month) → contract ('' too) → service line → hours, from labour facts."""
    out: dict[tuple[str, date], dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: ZERO))
    )
    for f in facts:
        if f.kind == "labour" and f.hours:
            out[(f.customer, f.month)][f.contract][f.service_line] += f.hours
    return out


def attribute_sales(
    sales: Iterable[Sale],
    hours: Mapping[tuple[str, date], Mapping[str, Mapping[str, Decimal]]],
    rule: FeeSplit,
    weights: Mapping[str, Decimal],
) -> list[Fact]:
    """Revenue facts in the base currency. A fee is split (in its own currency, to the cent) by the
    hours worked that month under its contract (or, when no entry names the contract, by all the
    client's hours that month), or by the declared weights; then converted."""
    facts = []
    for s in sales:
        if s.fee_contract is None:
            parts = {s.service_line or NO_LINE: s.amount}
        else:
            month_hours = hours.get((s.customer, s.month), {})
            basis: dict[str, Decimal] = dict(month_hours.get(s.fee_contract, {}))
            if not basis:
                basis = defaultdict(lambda: ZERO)
                for by_line in month_hours.values():
                    for line, h in by_line.items():
                        basis[line] += h
            parts = split_fee(
                s.amount,
                rule,
                hours=basis,
                weights=weights,
                fallback=s.service_line or NO_LINE,
                allowed=s.fee_lines,
            )
        for line, part in sorted(parts.items()):
            facts.append(
                Fact(
                    "revenue",
                    s.id,
                    s.customer,
                    line,
                    s.month,
                    s.contract or s.fee_contract or "",
                    revenue=part / s.fx,
                )
            )
    return facts


def cost_fact(
    kind: FactKind, source: str, customer: str, day: date, cost: Decimal, service_line: str | None
) -> Fact:
    return Fact(kind, source, customer, service_line or NO_LINE, month_of(day), cost=cost)


# --- summing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfitRow:
    key: tuple[tuple[str, str], ...]  # (dimension, value) in the order asked
    revenue: Decimal  # round2
    cost: Decimal  # round2
    hours: Decimal  # exact
    capacity: Decimal  # productive hours available to the row's months
    exact_revenue: Decimal
    exact_cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return round2(self.margin / self.revenue * HUNDRED) if self.revenue else None

    @property
    def effective_rate(self) -> Decimal | None:
        """Revenue per hour logged."""
        return round2(self.revenue / self.hours) if self.hours else None

    @property
    def utilisation(self) -> Decimal | None:
        """Hours logged as a percentage of the productive hours available."""
        return round2(self.hours / self.capacity * HUNDRED) if self.capacity else None

    def value(self, dimension: str) -> str:
        for k, v in self.key:
            if k == dimension:
                return v
        return ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.key)
        out.update(
            {
                "revenue": str(self.revenue),
                "cost": str(self.cost),
                "margin": str(self.margin),
                "margin_percent": _text(self.margin_percent),
                "hours": str(round2(self.hours)),
                "effective_rate": _text(self.effective_rate),
                "utilisation_percent": _text(self.utilisation),
            }
        )
        return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def share_by_agent(facts: Sequence[Fact]) -> list[Fact]:
    """Facts with no agent (revenue, expenses, supplier cost) shared among the agents who logged hours
    for the same client, service line and month, in proportion to their hours; kept whole (agent
    '') where nobody logged any."""
    hours: dict[tuple[str, str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for f in facts:
        if f.agent and f.hours:
            hours[(f.customer, f.service_line, f.month)][f.agent] += f.hours
    out: list[Fact] = []
    for f in facts:
        by_agent = hours.get((f.customer, f.service_line, f.month))
        if f.agent or not by_agent:
            out.append(f)
            continue
        total = sum(by_agent.values(), ZERO)
        for agent, h in sorted(by_agent.items()):
            share = h / total
            out.append(replace(f, agent=agent, revenue=f.revenue * share, cost=f.cost * share))
    return out


def summarise(
    facts: Sequence[Fact],
    by: Sequence[Dimension],
    *,
    months: Sequence[date],
    capacity: Mapping[tuple[str, date], Decimal],
) -> list[ProfitRow]:
    """One row per distinct value of the ``by`` dimensions. ``capacity``: (agent, month) → productive
    hours; a row of one agent is measured against that agent's, any other row against the team's."""
    if "agent" in by:
        facts = share_by_agent(facts)
    groups: dict[tuple[str, ...], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for f in facts:
        key = tuple(_dimension(f, d) for d in by)
        g = groups[key]
        g[0] += f.revenue
        g[1] += f.cost
        g[2] += f.hours
    team: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for (_agent, month), hours in capacity.items():
        team[month] += hours
    rows = []
    for key, (revenue, cost, hours) in sorted(groups.items()):
        named = tuple(zip(by, key, strict=True))
        row_months = [date.fromisoformat(v + "-01") for d, v in named if d == "month"] or list(months)
        agent = next((v for d, v in named if d == "agent"), None)
        if agent is not None:
            available = sum((capacity.get((agent, m), ZERO) for m in row_months), ZERO)
        else:
            available = sum((team.get(m, ZERO) for m in row_months), ZERO)
        rows.append(ProfitRow(named, round2(revenue), round2(cost), hours, available, revenue, cost))
    return rows


def _dimension(f: Fact, dimension: Dimension) -> str:
    if dimension == "month":
        return f"{f.month:%Y-%m}"
    value: str = getattr(f, dimension)
    return value


def total_row(rows: Sequence[ProfitRow], capacity: Decimal) -> ProfitRow:
    revenue = sum((r.exact_revenue for r in rows), ZERO)
    cost = sum((r.exact_cost for r in rows), ZERO)
    hours = sum((r.hours for r in rows), ZERO)
    return ProfitRow((), round2(revenue), round2(cost), hours, capacity, revenue, cost)


def client_margins(facts: Iterable[Fact], months: Sequence[date]) -> dict[str, tuple[Decimal, Decimal]]:
    """customer → (revenue, cost), each rounded once, over ``months``."""
    wanted = set(months)
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for f in facts:
        if f.month in wanted:
            sums[f.customer][0] += f.revenue
            sums[f.customer][1] += f.cost
    return {c: (round2(r), round2(k)) for c, (r, k) in sums.items()}

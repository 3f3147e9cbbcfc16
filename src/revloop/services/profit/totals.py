"""Time entries and invoice lines summed in SQL, for the profit model and the cost model's view.

Read one by one (``loading.read_work``, ``loading.read_sales``) a year of a large MSP is millions of
rows; summed in the database it is a few hundred thousand, with the same figures:

* entries of the same client, agent, contract, service line and stretch of days (a month, cut again
  wherever any agent's cost changes, since the overhead is shared among the agents in force) cost
  the same per hour, so their sum costs what the entries cost one by one;
* invoice lines of the same document, contract, kind, item and service line are attributed alike
  (and, with a service line of their own and an item without a unit cost, whatever their kind and
  item); the base currency's are then summed per client, month, service line and contract. Lines that
  are split (a fixed or allowance fee, a prepay top-up: split to the cent, line by line) and the
  lines of a document in another currency (converted line by line) are kept one by one.

Sums of exact decimals are exact; hours are the summed minutes over 60, one division instead of one
per entry, so a cost carries its 28 significant digits differently than entry by entry: a row whose
exact cost ends in exactly half a penny may round a penny the other way. Issues that count entries or
lines count the stored ones (``WorkTotals.recount``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import operators

from revloop.adapters.db import tables as t
from revloop.config import Settings
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.profitability import SIXTY, Fact, Sale, Work
from revloop.services.profit.loading import (
    SPLIT_KINDS,
    Documents,
    Lines,
    Revenue,
    add_line,
    months_of,
    pick_documents,
)

ZERO = Decimal(0)
NOUGHT = {2: ZERO.scaleb(-2), 4: ZERO.scaleb(-4)}  # a zero as the column type gives it
#: a period longer than this many months is read from SQLite by scanning the table: most of the
#: store's entries are in it, and reading them through the date index costs more than the scan
SCAN_MONTHS = 3


def scaled(stored: Any, places: int) -> Decimal:
    """A sum of scaled-integer values as stored (``Money2``: 2 places, ``Qty4``: 4) as a Decimal."""
    return Decimal(stored).scaleb(-places) if stored else NOUGHT[places]


def day_of(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def service_line_of() -> Any:
    """The entry's service line as the profit model takes it: its own, else its ticket's, else its
    charge type's (an empty text counts as none)."""
    te, tk, ct = t.time_entries, t.tickets, t.charge_types
    return sa.func.coalesce(
        sa.func.nullif(te.c.service_line, ""),
        sa.func.nullif(tk.c.service_line, ""),
        sa.func.nullif(ct.c.service_line, ""),
    )


def work_from() -> Any:
    te = t.time_entries
    return te.outerjoin(t.tickets, t.tickets.c.id == te.c.ticket_id).outerjoin(
        t.charge_types, t.charge_types.c.id == te.c.charge_type_id
    )


def stretches(conn: Connection, period: Period) -> list[date]:
    """The first days of the stretches entries are summed over: every month of the period, cut again
    on every day an agent's cost changes."""
    cuts = set(months_of(period))
    for (day,) in conn.execute(sa.select(t.agent_costs.c.effective_from).distinct()):
        if period.start < day < period.end:
            cuts.add(day)
    return sorted(cuts)


def stretch_of(starts: Sequence[date]) -> Any:
    """The index in ``starts`` of an entry's stretch."""
    day = t.time_entries.c.work_date
    return sa.case(*[(day >= start, n) for n, start in reversed(list(enumerate(starts)))], else_=0)


def in_period(conn: Connection, period: Period) -> list[Any]:
    """The entries of ``period``; over a long period SQLite scans the table instead of the date index."""
    day: Any = t.time_entries.c.work_date
    if conn.dialect.name == "sqlite" and len(months_of(period)) > SCAN_MONTHS:
        day = sa.sql.expression.UnaryExpression(day, operator=operators.custom_op("+"), type_=sa.Date)
    return [day >= period.start, day < period.end]


def _sum(column: Any) -> Any:
    """The sum of a scaled-integer column as the stored integer (no per-row type processing)."""
    return sa.type_coerce(sa.func.sum(column), sa.BigInteger)


def missing_cost_issue(agent: str, entries: int, hours: Decimal, first: date) -> Issue:
    """``costs.agent_missing`` as ``profitability.cost_work`` words it, from the entries' figures."""
    return Issue(
        "costs.agent_missing",
        Severity.ERROR,
        f"revloop:agent:{agent or '?'}",
        f"agent {agent or '(none)'} has no cost for {entries} time entries "
        f"({round2(hours)} hours, the first on {first}); their cost is left out",
        action=f"`revloop costs set {agent or 'AGENT'} --salary ... --from {first}` "
        "(or --hourly-cost), or name the P&L accounts for the books method",
        amount=str(round2(hours)),
    )


# -- time entries for the profit model -------------------------------------------------------------


@dataclass
class WorkTotals:
    """A ``work_reader`` for ``report.build``: the period's entries summed in SQL. ``counts`` keeps,
    per summed ``Work``, how many entries it holds and the first day, for the issues. ``prefetch``
    starts the queries on connections of their own while the model reads the rest."""

    counts: dict[str, tuple[int, Any]] = field(default_factory=dict)  # entries, first day (as read)
    by_item: dict[str, str] = field(default_factory=dict)  # item code -> service line (the model's)
    starts: list[date] = field(default_factory=list)  # the stretches' first days
    pending: list[Future[list[Any]]] = field(default_factory=list)

    def prefetch(self, engine: Engine, period: Period, submit: Callable[..., Any], parts: int = 2) -> None:
        """Start reading, in ``parts`` runs of stretches each on a connection of its own."""
        with engine.connect() as conn:
            self.starts = stretches(conn, period)
        if not self.starts:
            return
        bounds = sorted({self.starts[len(self.starts) * n // parts] for n in range(parts)} | {period.end})
        for first, end in pairwise(bounds):
            self.pending.append(submit(self._read_apart, engine, Period(first, end)))

    def _read_apart(self, engine: Engine, part: Period) -> list[Any]:
        with engine.connect() as conn:
            return self.read(conn, part)

    def read(self, conn: Connection, part: Period) -> list[Any]:
        """The summed rows of the entries of ``part`` (a run of whole stretches)."""
        te = t.time_entries
        stretch = stretch_of(self.starts)
        line = service_line_of()
        item = sa.case((line.is_(None), t.charge_types.c.item_code), else_=None)
        query = (
            sa.select(
                te.c.customer_id,
                te.c.agent_id,
                te.c.contract_id,
                line.label("line"),
                item.label("item"),
                stretch.label("stretch"),
                _sum(te.c.minutes).label("minutes"),
                _sum(te.c.travel_minutes).label("travel"),
                _sum(te.c.mileage).label("mileage"),
                sa.func.count().label("n"),
                sa.type_coerce(sa.func.min(te.c.work_date), sa.String).label("first"),
            )
            .select_from(work_from())
            .where(*in_period(conn, part))
            .group_by(te.c.customer_id, te.c.agent_id, te.c.contract_id, line, item, stretch)
        )
        return list(conn.execute(query))

    def __call__(self, conn: Connection, period: Period, lines: Lines | None = None) -> list[Work]:
        self.by_item = dict(lines.by_item) if lines else {}
        mileage_line = lines.mileage if lines else None
        if self.pending:
            rows = [r for found in self.pending for r in found.result()]
        else:
            self.starts = stretches(conn, period)
            rows = self.read(conn, period)
        starts = self.starts
        customers = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
        contracts = {r.id: r.code for r in conn.execute(sa.select(t.contracts.c.id, t.contracts.c.code))}
        by_item, counts = self.by_item, self.counts
        out = []
        for n, r in enumerate(rows):
            key = f"sum:{n}"
            counts[key] = (r.n, r.first)
            out.append(
                Work(
                    key,
                    customers.get(r.customer_id, ""),
                    "" if r.agent_id is None else str(r.agent_id),
                    starts[r.stretch],
                    scaled(r.minutes, 4),
                    scaled(r.travel, 4),
                    scaled(r.mileage, 4),
                    r.line or by_item.get(r.item or ""),
                    contracts.get(r.contract_id),
                    mileage_line,
                )
            )
        return out

    def entries(self, works: Iterable[Work]) -> int:
        """How many stored entries ``works`` (summed by this reader) hold."""
        return sum(int(self.counts[w.id][0]) for w in works)

    def entries_by_id(self) -> dict[str, int]:
        return {key: int(n) for key, (n, _first) in self.counts.items()}

    def recount(self, work: Sequence[Work], issues: list[Issue], missing: Callable[[Work], bool]) -> None:
        """Issues that count entries (``costs.agent_missing``, time without a service line) counted
        the summed groups: they are written again, in place, from the entries' own count and first day.
        ``missing(work)``: whether the work found no cost."""
        bare = [w for w in work if not w.service_line]
        for n, issue in enumerate(issues):
            groups = f"{len(bare)} time entries ("
            if issue.subject == "revloop:work:no-service-line" and issue.message.startswith(groups):
                issues[n] = replace(
                    issue, message=f"{self.entries(bare)} time entries (" + issue.message.removeprefix(groups)
                )
        if not any(i.code == "costs.agent_missing" for i in issues):
            return
        per_agent: dict[str, list[Work]] = {}
        for w in work:
            if missing(w):
                per_agent.setdefault(w.agent, []).append(w)
        written = [
            missing_cost_issue(
                agent,
                self.entries(works),
                sum((w.hours for w in works), ZERO),
                min(day_of(self.counts[w.id][1]) for w in works),
            )
            for agent, works in sorted(per_agent.items())
        ]
        at = next(n for n, i in enumerate(issues) if i.code == "costs.agent_missing")
        issues[:] = [i for i in issues if i.code != "costs.agent_missing"]
        issues[at:at] = written


# -- invoice lines -------------------------------------------------------------------------------


class _Line(NamedTuple):
    """Summed invoice lines as ``loading.add_line`` reads a line."""

    invoice_id: int
    position: int
    kind: str
    item_code: str | None
    contract_id: int | None
    service_line: str | None
    amount: Decimal
    tax: Decimal
    quantity: Decimal


@dataclass
class SaleTotals:
    """A ``sales_reader`` for ``report.build``: the picked documents' lines summed in SQL.
    ``documents`` keeps, per client, the documents whose lines are its revenue and their month."""

    documents: dict[str, dict[tuple[str, str], date]] = field(default_factory=dict)

    def __call__(
        self, conn: Connection, settings: Settings, period: Period, lines: Lines
    ) -> tuple[list[Sale], list[Fact], list[Issue]]:
        docs = pick_documents(conn, settings, period)
        revenue = SummedRevenue(list(docs.issues))
        for ids in docs.chunks():
            for r in conn.execute(_lines_query(settings, docs, ids)):
                line = _Line(
                    r.invoice_id,
                    r.position,
                    r.kind,
                    r.item_code,
                    r.contract_id,
                    r.service_line,
                    scaled(r.amount, 2),
                    scaled(r.tax, 2),
                    scaled(r.quantity, 4),
                )
                add_line(revenue, docs, settings, lines, line, r.n)
        self._keep(docs, settings)
        return revenue.finish()

    def _keep(self, docs: Documents, settings: Settings) -> None:
        """The documents per client (those in a currency without a rate are left out, as their lines)."""
        for doc, month in docs.picked.values():
            if docs.fx(settings, doc) is not None:
                shown = self.documents.setdefault(docs.customers[doc.customer_id], {})
                shown[(doc.origin, doc.number or doc.key)] = month


def _lines_query(settings: Settings, docs: Documents, ids: list[int]) -> Any:
    """The lines of the documents ``ids``, summed per document, contract, kind, item and service line.
    A line that is split or converted on its own stays alone (grouped with its position); a line with
    its own service line whose item has no unit cost is attributed by its service line and contract
    only, so its kind and item are not told apart."""
    il, inv = t.invoice_lines, t.invoices
    split_codes = sorted(
        {code for c in docs.contracts.values() if c.kind in SPLIT_KINDS for code in c.item_codes}
    )
    alone = sa.or_(
        inv.c.currency != settings.currency,
        il.c.kind.in_(("fee", "topup")),
        il.c.item_code.in_(split_codes),
    )
    plain = sa.and_(
        sa.func.coalesce(il.c.service_line, "") != "",
        sa.not_(alone),
        sa.or_(il.c.item_code.is_(None), il.c.item_code.not_in(sorted(docs.unit_costs))),
    )
    single = sa.case((alone, il.c.position), else_=None)
    kind = sa.case((plain, None), else_=il.c.kind)
    item = sa.case((plain, None), else_=il.c.item_code)
    keys = (il.c.invoice_id, il.c.contract_id, kind, item, il.c.service_line, single)
    return (
        sa.select(
            il.c.invoice_id,
            il.c.contract_id,
            kind.label("kind"),
            item.label("item_code"),
            il.c.service_line,
            sa.func.min(il.c.position).label("position"),
            _sum(il.c.amount).label("amount"),
            _sum(il.c.tax).label("tax"),
            _sum(il.c.quantity).label("quantity"),
            sa.func.count().label("n"),
        )
        .select_from(il.join(inv, inv.c.id == il.c.invoice_id))
        .where(il.c.invoice_id.in_(ids))
        .group_by(*keys)
        .order_by(il.c.invoice_id, sa.func.min(il.c.position))  # as the lines: issues in their order
    )


class SummedRevenue(Revenue):
    """Revenue lines in the base currency that are not split, summed per client, month, service line
    and contract as they come; supplier costs per client, service line, month and contract."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues=issues)
        self._sales: dict[tuple[Any, ...], list[Any]] = {}  # key -> [first sale, amount]
        self._costs: dict[tuple[Any, ...], list[Any]] = {}  # key -> [first fact, cost]

    def add_sale(self, sale: Sale) -> None:
        if sale.fee_contract is not None or sale.fx != 1:
            self.sales.append(sale)
            return
        key = (sale.customer, sale.month, sale.service_line, sale.contract)
        found = self._sales.get(key)
        if found is None:
            self._sales[key] = [sale, sale.amount]
        else:
            found[1] += sale.amount

    def add_cost(self, fact: Fact) -> None:
        key = (fact.customer, fact.service_line, fact.month, fact.contract)
        found = self._costs.get(key)
        if found is None:
            self._costs[key] = [fact, fact.cost]
        else:
            found[1] += fact.cost

    def finish(self) -> tuple[list[Sale], list[Fact], list[Issue]]:
        sales = self.sales + [
            replace(s, id=f"sum:{s.customer}:{s.month:%Y-%m}:{n}", amount=amount)
            for n, (s, amount) in enumerate(self._sales.values())
        ]
        costs = [
            replace(f, source=f"supplier:sum:{n}", cost=cost)
            for n, (f, cost) in enumerate(self._costs.values())
        ]
        return sales, costs, self.issues


# -- hours by agent, for the cost model's view ---------------------------------------------------------


@dataclass(frozen=True)
class AgentHours:
    """An agent's entries in one stretch of days (see ``stretches``), summed."""

    agent: str
    day: date  # the stretch's first day
    minutes: Decimal  # work and travel
    entries: int
    first: date

    @property
    def hours(self) -> Decimal:
        return self.minutes / SIXTY


def agent_hours(conn: Connection, period: Period) -> list[AgentHours]:
    """The period's time entries summed per agent and stretch of days."""
    te = t.time_entries
    starts = stretches(conn, period)
    stretch = stretch_of(starts)
    query = (
        sa.select(
            te.c.agent_id,
            stretch.label("stretch"),
            _sum(te.c.minutes).label("minutes"),
            _sum(te.c.travel_minutes).label("travel"),
            sa.func.count().label("n"),
            sa.type_coerce(sa.func.min(te.c.work_date), sa.String).label("first"),
        )
        .where(*in_period(conn, period))
        .group_by(te.c.agent_id, stretch)
    )
    return [
        AgentHours(
            "" if r.agent_id is None else str(r.agent_id),
            starts[int(r.stretch)],
            scaled(r.minutes, 4) + scaled(r.travel, 4),
            int(r.n),
            day_of(r.first),
        )
        for r in conn.execute(query)
    ]


__all__ = [
    "AgentHours",
    "SaleTotals",
    "SummedRevenue",
    "WorkTotals",
    "agent_hours",
    "missing_cost_issue",
    "service_line_of",
    "stretches",
    "work_from",
]

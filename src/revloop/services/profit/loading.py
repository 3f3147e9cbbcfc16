"""The store → the cost model's and the profit model's inputs (read only).

Revenue is what the books say was invoiced: revloop's posted invoices, and the invoices and credit
notes synced from Xero (``AUTHORISED`` or ``PAID``). A document revloop posted and Xero holds is
counted once: with revloop's lines (they know their contract) when Xero's subtotal still equals
revloop's, otherwise with Xero's (edited in Xero: the books win); a voided or deleted one not at all.
HaloPSA's copies of invoices are never counted. A document belongs to the month it bills: its
period, or the period in its reference key (``revloop:<customer>:<contract|all>:<period start>``),
or else the month of its date. A document in another currency is converted at the rate Xero booked
it at (its ``CurrencyRate``, kept by the sync; for one revloop posted, its Xero copy's), else at
``costs.fx_rates``; expenses (not in Xero) always at ``costs.fx_rates``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.config import Settings
from revloop.domain.costing import AgentCost, PnlLine, StockIssue, StockLot, fifo_costs, month_of
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.profitability import NO_LINE, Fact, Sale, Work, cost_fact

POSTED_XERO = ("AUTHORISED", "PAID")
GONE = ("VOIDED", "DELETED")
FEE_KINDS = ("fixed_price", "allowance")
#: contracts whose fee (or, for prepay, top-up) pays for the work they cover: split like a fee
SPLIT_KINDS = (*FEE_KINDS, "prepay")
ZERO = Decimal(0)
ONE = Decimal(1)
MINUS_ONE = Decimal(-1)


@dataclass
class Store:
    """What the profit model reads, for the months of ``period``."""

    period: Period
    currency: str
    customers: dict[str, str]  # code -> name
    halopsa_ids: dict[str, str]  # customer code -> HaloPSA client id
    agents: dict[str, str]  # agent key -> name
    agent_costs: list[AgentCost]
    work: list[Work]
    sales: list[Sale]
    costs: list[Fact]  # expenses, issued items, supplier cost of items sold
    issues: list[Issue] = field(default_factory=list)


def months_of(period: Period) -> list[date]:
    months = []
    day = month_of(period.start)
    while day < period.end:
        months.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def read_agent_costs(conn: Connection) -> tuple[list[AgentCost], dict[str, str]]:
    agents = {str(r.id): r.name for r in conn.execute(sa.select(t.agents.c.id, t.agents.c.name))}
    rows = [
        AgentCost(
            agent=str(r.agent_id),
            effective_from=r.effective_from,
            annual_salary=r.annual_salary,
            oncost_percent=r.oncost_percent or ZERO,
            productive_hours_per_year=r.productive_hours_per_year,
            hourly_cost=r.hourly_cost,
            currency=r.currency,
        )
        for r in conn.execute(sa.select(t.agent_costs).order_by(t.agent_costs.c.effective_from))
    ]
    return rows, agents


def read_pnl(conn: Connection, months: Sequence[date] | None = None) -> list[PnlLine]:
    query = sa.select(t.pnl_lines)
    if months is not None:
        query = query.where(t.pnl_lines.c.month.in_(list(months)))
    return [
        PnlLine(r.month, r.section, r.account_code or "", r.account_name, r.amount)
        for r in conn.execute(query.order_by(t.pnl_lines.c.month, t.pnl_lines.c.id))
    ]


def read_work(conn: Connection, period: Period, lines: Lines | None = None) -> list[Work]:
    """The period's time entries. Service line: the entry's, else its ticket's, else its charge
    type's, else (with ``lines``) the one of the charge type's item code; mileage without one takes
    the mileage item's."""
    customers = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
    contracts = {r.id: r.code for r in conn.execute(sa.select(t.contracts.c.id, t.contracts.c.code))}
    types = {
        r.id: r.service_line or (lines.lookup(r.item_code) if lines else None)
        for r in conn.execute(
            sa.select(t.charge_types.c.id, t.charge_types.c.service_line, t.charge_types.c.item_code)
        )
    }
    tickets = {
        r.id: r.service_line for r in conn.execute(sa.select(t.tickets.c.id, t.tickets.c.service_line))
    }
    mileage_line = lines.mileage if lines else None
    query = (
        sa.select(t.time_entries)
        .where(t.time_entries.c.work_date >= period.start, t.time_entries.c.work_date < period.end)
        .order_by(t.time_entries.c.work_date, t.time_entries.c.id)
    )
    return [
        Work(
            id=r.source_key,
            customer=customers.get(r.customer_id, ""),
            agent="" if r.agent_id is None else str(r.agent_id),
            day=r.work_date,
            minutes=r.minutes,
            travel_minutes=r.travel_minutes or ZERO,
            mileage=r.mileage or ZERO,
            service_line=r.service_line or tickets.get(r.ticket_id) or types.get(r.charge_type_id),
            contract=contracts.get(r.contract_id),
            mileage_service_line=mileage_line,
        )
        for r in conn.execute(query)
    ]


def _reference_month(reference: str | None) -> date | None:
    parts = (reference or "").split(":")
    if len(parts) >= 4 and parts[0] == "revloop":
        try:
            return month_of(date.fromisoformat(parts[3]))
        except ValueError:
            return None
    return None


class Lines:
    """Service line of an invoice line or other record, from what the store and settings say."""

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self.by_item: dict[str, str] = {}
        for r in conn.execute(sa.select(t.charge_types.c.item_code, t.charge_types.c.service_line)):
            if r.item_code and r.service_line:
                self.by_item.setdefault(r.item_code, r.service_line)
        for r in conn.execute(sa.select(t.items.c.code, t.items.c.service_line)):
            if r.service_line:
                self.by_item[r.code] = r.service_line
        for code, line in settings.costs_service_lines.items():
            self.by_item.setdefault(code, line)
        self.unknown: dict[str, int] = defaultdict(int)
        self.mileage = self.lookup(settings.billing_mileage_item_code)

    def lookup(self, item_code: str | None) -> str | None:
        """The service line of an item code (its item's, a charge type's, or the settings'), if any."""
        return self.by_item.get(item_code or "")

    def of(self, item_code: str | None, stored: str | None = None, count: int = 1) -> str:
        """The line's service line; ``count``: how many lines ask (counted when there is none)."""
        if stored:
            return stored
        line = self.by_item.get(item_code or "")
        if line is None:
            self.unknown[item_code or ""] += count
            return NO_LINE
        return line

    def issues(self) -> list[Issue]:
        return [
            Issue(
                "profit.no_service_line",
                Severity.WARNING,
                f"revloop:item:{code or '?'}",
                f"{n} lines with item {code or '(no item code)'} have no service line; "
                f"they are shown under {NO_LINE}",
                action="give the item a service line in HaloPSA, or map it in costs.service_lines",
            )
            for code, n in sorted(self.unknown.items())
        ]


@dataclass
class _Contract:
    code: str
    customer: str
    kind: str
    start: date
    end: date | None
    item_codes: frozenset[str]
    service_lines: tuple[str, ...] | None


def _contracts(conn: Connection, settings: Settings, customers: dict[int, str]) -> dict[int, _Contract]:
    out = {}
    for r in conn.execute(sa.select(t.contracts)):
        topup = r.topup_item_code if r.kind == "prepay" else None
        codes = {c for c in (r.item_code, topup, settings.billing_contract_item_codes.get(r.kind)) if c}
        out[r.id] = _Contract(
            r.code,
            customers.get(r.customer_id, ""),
            r.kind,
            r.start,
            r.end,
            frozenset(codes),
            tuple(r.service_lines) if r.service_lines else None,
        )
    return out


def _fee_contract(
    contracts: Sequence[_Contract], customer: str, month: date, item_code: str | None
) -> _Contract | None:
    """The fixed, allowance or prepay contract of the client in force in ``month`` whose fee (top-up)
    item this is (``contracts``: the client's split contracts)."""
    for c in contracts:
        if (
            c.customer == customer
            and c.kind in SPLIT_KINDS
            and item_code in c.item_codes
            and c.start < date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            and (c.end is None or c.end > month)
        ):
            return c
    return None


def fx_hint(currency: str, base: str) -> str:
    return f'set costs.fx_rates = {{ {currency} = "<{currency} per {base}>" }}'


def _fx(settings: Settings, currency: str) -> Decimal | None:
    if currency == settings.currency:
        return ONE
    return settings.costs_fx_rates.get(currency)


#: what deciding which documents count, and attributing their lines, reads of an invoice
DOCUMENT_COLUMNS = (
    "id",
    "origin",
    "doc_type",
    "key",
    "reference",
    "number",
    "customer_id",
    "period_start",
    "date",
    "currency",
    "currency_rate",
    "line_amount_types",
    "status",
    "external_id",
    "subtotal",
)


@dataclass
class Documents:
    """The invoices and credit notes whose lines are revenue of the period's months, and what their
    lines are read with."""

    picked: dict[int, tuple[Any, date]]  # invoice id -> (the document, the month it bills)
    customers: dict[int, str]  # customer id -> code
    contracts: dict[int, _Contract]
    split: dict[str, list[_Contract]]  # customer code -> its fixed, allowance and prepay contracts
    stocked_codes: set[str]  # items issued from stock: their cost is the stock's, not a unit cost
    issues: list[Issue]
    rates: dict[int, Decimal] = field(default_factory=dict)  # invoice id -> Xero's currency rate
    #: item code -> supplier cost per unit: the item's HaloPSA cost price, else (and over it) the settings'
    unit_costs: dict[str, Decimal] = field(default_factory=dict)

    def fx(self, settings: Settings, doc: Any) -> Decimal | None:
        """Units of the document's currency per unit of the base currency: the rate Xero booked it
        at (its own, or its Xero copy's for one revloop posted), else ``costs.fx_rates``."""
        if doc.currency == settings.currency:
            return Decimal(1)
        return self.rates.get(doc.id) or _fx(settings, doc.currency)

    def chunks(self, size: int = 5000) -> list[list[int]]:
        """The picked ids in ascending runs of at most ``size`` (one statement each)."""
        ids = sorted(self.picked)
        return [ids[n : n + size] for n in range(0, len(ids), size)]


def _chosen(docs: Sequence[Any]) -> list[Any]:
    """Each document counted once: revloop's posted one when Xero's copy still says the same,
    otherwise Xero's (``AUTHORISED`` or ``PAID``)."""
    xero = {r.external_id: r for r in docs if r.origin == "xero" and r.external_id}
    posted = {
        r.external_id: r for r in docs if r.origin == "revloop" and r.status == "posted" and r.external_id
    }
    chosen: list[Any] = []
    for r in docs:
        if r.origin == "revloop":
            if r.status != "posted":
                continue
            copy = xero.get(r.external_id) if r.external_id else None
            if copy is None or (copy.status in POSTED_XERO and copy.subtotal == r.subtotal):
                chosen.append(r)
        elif r.status in POSTED_XERO:
            twin = posted.get(r.external_id)
            if twin is None or twin.subtotal != r.subtotal:
                chosen.append(r)
    return chosen


def _unknown_customer(r: Any) -> Issue:
    return Issue(
        "profit.unknown_customer",
        Severity.ERROR,
        f"{r.origin}:{r.doc_type}:{r.external_id or r.key}",
        f"{r.doc_type.replace('_', ' ')} {r.number or r.key} ({r.subtotal} {r.currency}) is for "
        "a contact linked to no customer; its revenue is left out",
        action="link the Xero contact to a customer with `revloop map`, then sync again",
        amount=str(r.subtotal),
    )


def pick_documents(conn: Connection, settings: Settings, period: Period) -> Documents:
    """The documents counted as revenue of the period's months (see the module's docstring)."""
    customers = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
    contracts = _contracts(conn, settings, customers)
    split: dict[str, list[_Contract]] = defaultdict(list)
    for c in contracts.values():
        if c.kind in SPLIT_KINDS:
            split[c.customer].append(c)
    stocked = {r.item_id for r in conn.execute(sa.select(t.item_lots.c.item_id).distinct())} | {
        r.item_id for r in conn.execute(sa.select(t.items_issued.c.item_id).distinct())
    }
    stocked_codes = {r.code for r in conn.execute(sa.select(t.items.c.id, t.items.c.code)) if r.id in stocked}
    inv = t.invoices
    columns = [inv.c[name] for name in DOCUMENT_COLUMNS]
    docs = list(
        conn.execute(
            sa.select(*columns).where(
                inv.c.origin.in_(("revloop", "xero")), inv.c.doc_type.in_(("invoice", "credit_note"))
            )
        )
    )
    wanted = set(months_of(period))
    picked: dict[int, tuple[Any, date]] = {}
    issues: list[Issue] = []
    booked = {r.external_id: r.currency_rate for r in docs if r.origin == "xero" and r.currency_rate}
    rates: dict[int, Decimal] = {}
    for r in _chosen(docs):
        month = (
            month_of(r.period_start)
            if r.period_start
            else _reference_month(r.key or r.reference) or (month_of(r.date) if r.date else None)
        )
        if month is None or month not in wanted:
            continue
        if r.customer_id not in customers:
            issues.append(_unknown_customer(r))
            continue
        picked[r.id] = (r, month)
        rate = r.currency_rate if r.origin == "xero" else booked.get(r.external_id)
        if rate:
            rates[r.id] = rate
    return Documents(
        picked, customers, contracts, dict(split), stocked_codes, issues, rates, unit_costs(conn, settings)
    )


def unit_costs(conn: Connection, settings: Settings) -> dict[str, Decimal]:
    """Item code -> what one costs the MSP: HaloPSA's cost price of the item, unless
    ``costs.item_unit_costs`` names one (a price agreed with the supplier since, say). The cost price
    of labour, mileage and expense items is not taken: their cost is the agents', the mileage's and
    the expenses' own, counted from the work."""
    counted = {settings.billing_mileage_item_code, settings.billing_expense_item_code or "EXPENSES"}
    counted |= {code for (code,) in conn.execute(sa.select(t.charge_types.c.item_code).distinct()) if code}
    stored = {
        r.code: r.unit_cost
        for r in conn.execute(
            sa.select(t.items.c.code, t.items.c.unit_cost).where(t.items.c.unit_cost.is_not(None))
        )
        if r.code not in counted
    }
    return {**stored, **settings.costs_item_unit_costs}


@dataclass
class Revenue:
    """What invoice lines give: revenue lines, the supplier cost of what they sell, and issues."""

    sales: list[Sale] = field(default_factory=list)
    supplier: list[Fact] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def add_sale(self, sale: Sale) -> None:
        self.sales.append(sale)

    def add_cost(self, fact: Fact) -> None:
        self.supplier.append(fact)


def add_line(
    revenue: Revenue, docs: Documents, settings: Settings, lines: Lines, line: Any, count: int = 1
) -> bool:
    """``line`` of a picked document as a revenue line (and its supplier cost); ``count``: how many
    stored lines it sums (for the issues). False when its currency has no rate (it is left out)."""
    doc, month = docs.picked[line.invoice_id]
    customer = docs.customers[doc.customer_id]
    fx = docs.fx(settings, doc)
    source = f"{doc.origin}:{doc.number or doc.key}/{line.position}"
    if fx is None:
        revenue.issues.append(
            Issue(
                "profit.no_fx_rate",
                Severity.ERROR,
                f"{doc.origin}:{doc.doc_type}:{doc.external_id or doc.key}",
                f"no rate for {doc.currency} to {settings.currency}; the line {source} is left out",
                action=fx_hint(doc.currency, settings.currency),
            )
        )
        return False
    sign = MINUS_ONE if doc.doc_type == "credit_note" else ONE
    amount = line.amount - (line.tax if doc.line_amount_types == "Inclusive" else ZERO)
    contract = docs.contracts.get(line.contract_id) if line.contract_id else None
    fee = None
    kinds = FEE_KINDS if line.kind == "fee" else ("prepay",) if line.kind == "topup" else ()
    if doc.origin == "revloop" and contract and contract.kind in kinds:
        fee = contract
    elif doc.origin == "xero":
        fee = _fee_contract(docs.split.get(customer, ()), customer, month, line.item_code)
    service_line = lines.of(line.item_code, line.service_line, count)
    owner = contract or fee
    revenue.add_sale(
        Sale(
            id=source,
            customer=customer,
            month=month,
            amount=sign * amount,
            service_line=service_line,
            contract=owner.code if owner else None,
            fx=fx,
            fee_contract=fee.code if fee else None,
            fee_lines=fee.service_lines if fee else None,
        )
    )
    unit_cost = docs.unit_costs.get(line.item_code or "")
    if unit_cost is not None and line.item_code not in docs.stocked_codes and line.kind != "item":
        revenue.add_cost(
            Fact(
                "supplier",
                source,
                customer,
                service_line,
                month,
                owner.code if owner else "",
                cost=sign * line.quantity * unit_cost,
            )
        )
    return True


def read_sales(
    conn: Connection, settings: Settings, period: Period, lines: Lines
) -> tuple[list[Sale], list[Fact], list[Issue]]:
    """Revenue lines of the period's months, one per invoice line, and the supplier cost of the items
    they sell."""
    docs = pick_documents(conn, settings, period)
    revenue = Revenue(issues=list(docs.issues))
    il = t.invoice_lines
    for ids in docs.chunks():
        query = sa.select(il).where(il.c.invoice_id.in_(ids)).order_by(il.c.invoice_id, il.c.position)
        for line in conn.execute(query):
            add_line(revenue, docs, settings, lines, line)
    return revenue.sales, revenue.supplier, revenue.issues


def read_other_costs(
    conn: Connection, settings: Settings, period: Period, lines: Lines
) -> tuple[list[Fact], list[Issue]]:
    """Expenses (what they cost) and issued items (first in, first out) of the period."""
    issues: list[Issue] = []
    customers = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
    facts: list[Fact] = []
    expense_item = settings.billing_expense_item_code or "EXPENSES"
    ex = t.expenses
    expenses = (
        sa.select(ex, t.tickets.c.service_line.label("ticket_line"))
        .select_from(ex.outerjoin(t.tickets, t.tickets.c.id == ex.c.ticket_id))
        .where(ex.c.date >= period.start, ex.c.date < period.end)
        .order_by(ex.c.id)
    )
    for r in conn.execute(expenses):
        fx = _fx(settings, r.currency)
        if fx is None:
            issues.append(
                Issue(
                    "profit.no_fx_rate",
                    Severity.ERROR,
                    f"revloop:expense:{r.source_key}",
                    f"no rate for {r.currency} to {settings.currency}; the expense is left out",
                    action=fx_hint(r.currency, settings.currency),
                )
            )
            continue
        line = r.ticket_line or lines.of(r.item_code or expense_item)
        customer = customers[r.customer_id]
        facts.append(cost_fact("expense", f"expense:{r.source_key}", customer, r.date, r.cost / fx, line))
    items = {r.id: r for r in conn.execute(sa.select(t.items))}
    lots = [
        StockLot(str(r.id), items[r.item_id].code, r.date, r.quantity, r.unit_cost)
        for r in conn.execute(sa.select(t.item_lots))
    ]
    issued_rows = list(conn.execute(sa.select(t.items_issued).where(t.items_issued.c.date < period.end)))
    issued = [
        StockIssue(
            r.source_key,
            items[r.item_id].code if r.item_id in items else f"?{r.source_key}",
            r.date,
            r.quantity,
            r.unit_cost,
        )
        for r in issued_rows
    ]
    costs, problems = fifo_costs(lots, issued)
    in_period = {r.source_key: r for r in issued_rows if r.date >= period.start}
    issues += [p for p in problems if p.subject.rsplit(":", 1)[-1] in in_period]
    for key, r in sorted(in_period.items()):
        if key not in costs:
            continue
        item = items.get(r.item_id)
        line = lines.of(item.code if item else None, item.service_line if item else None)
        customer = customers[r.customer_id]
        facts.append(cost_fact("item", f"item:{key}", customer, r.date, costs[key].cost, line))
    return facts, issues


def _work_without_line(work: Sequence[Work]) -> list[Issue]:
    bare = [w for w in work if not w.service_line]
    if not bare:
        return []
    hours = sum((w.hours for w in bare), ZERO)
    return [
        Issue(
            "profit.no_service_line",
            Severity.WARNING,
            "revloop:work:no-service-line",
            f"{len(bare)} time entries ({round2(hours)} hours) have no service line: neither the entry, "
            f"its ticket nor its charge type names one; they are shown under {NO_LINE}",
            action="give the charge type (or the ticket) a service line in HaloPSA, or map the charge "
            "type's item code in costs.service_lines; a store synced before tickets carried their "
            "charge type's line gets them with `revloop sync halopsa --full`",
            amount=str(round2(hours)),
        )
    ]


SalesReader = Callable[[Connection, Settings, Period, Lines], tuple[list[Sale], list[Fact], list[Issue]]]


def load(
    conn: Connection,
    settings: Settings,
    period: Period,
    work_reader: Callable[..., list[Work]] | None = None,
    sales_reader: SalesReader | None = None,
) -> Store:
    """The store's records for ``period``; ``work_reader(conn, period, lines)`` reads the time entries
    (default ``read_work``, one ``Work`` per entry; a reader may sum entries that cost the same per hour)
    and ``sales_reader(conn, settings, period, lines)`` the invoice lines (default ``read_sales``, one
    ``Sale`` per line; a reader may sum lines that are attributed alike)."""
    customer_rows = list(conn.execute(sa.select(t.customers.c.id, t.customers.c.code, t.customers.c.name)))
    halopsa_ids = {
        r.local_id: r.external_id
        for r in conn.execute(
            sa.select(t.external_ids.c.local_id, t.external_ids.c.external_id).where(
                t.external_ids.c.entity == "customer",
                t.external_ids.c.system == "halopsa",
                t.external_ids.c.status == "confirmed",
            )
        )
    }
    agent_costs, agents = read_agent_costs(conn)
    lines = Lines(conn, settings)
    sales, supplier, issues = (sales_reader or read_sales)(conn, settings, period, lines)
    other, more = read_other_costs(conn, settings, period, lines)
    work = (work_reader or read_work)(conn, period, lines)
    issues += more + lines.issues() + _work_without_line(work)
    return Store(
        period=period,
        currency=settings.currency,
        customers={r.code: r.name for r in customer_rows},
        halopsa_ids=halopsa_ids,
        agents=agents,
        agent_costs=agent_costs,
        work=work,
        sales=sales,
        costs=supplier + other,
        issues=issues,
    )

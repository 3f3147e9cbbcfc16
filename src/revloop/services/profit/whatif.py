"""``revloop whatif``: re-rate history with changed prices or contracts, in memory, and compare.

Each month of the range is rated twice with the billing engine (``revloop.domain.engine.rate``) from
the same book, read from the store with all of the month's work whatever its billing state: once as
it is, once changed. Nothing is written. Prepaid balances are carried from month to month within
each run. Revenue is converted to the base currency at ``costs.fx_rates``; cost is the profit
model's fully loaded cost, which the changes do not touch.

Changes:

- ``--rate "CHARGE_TYPE=+8%"``: every rate row of the charge type (global, customer and contract
  scope) scaled; the charge type by code or name (a unique part of the name will do).
- ``--move "CUSTOMER=allowance:HOURS:FEE"`` (or ``fixed:FEE``, ``payg``): the client's contracts
  replaced, from the start of the range, by one contract of that kind covering all its work.
- ``--price "CUSTOMER=FEE"``: the fee of the client's fixed and allowance contracts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.engine import rate
from revloop.domain.invoicing import DraftInvoice
from revloop.domain.issues import InputError, Issue, Severity
from revloop.domain.money import q4, round2, to_decimal
from revloop.domain.periods import Period, add_months
from revloop.domain.ratebook import Ratebook, RateRow
from revloop.domain.records import (
    Book,
    Contract,
    ExpenseRecord,
    ItemIssue,
    MileageRecord,
    TimeEntry,
    WriteOff,
)
from revloop.services.billing.resolve import load_book
from revloop.services.profit.loading import fx_hint, months_of
from revloop.services.profit.report import build

ZERO = Decimal(0)
HUNDRED = Decimal(100)
HISTORY_STATES = ("unbilled", "invoiced", "covered", "written_off")


class WhatIfError(InputError):
    """A what-if change that cannot be applied (bad syntax, unknown client or charge type)."""

    code = "whatif.change"


@dataclass(frozen=True)
class RateChange:
    charge_type: str
    percent: Decimal

    @property
    def factor(self) -> Decimal:
        return 1 + self.percent / HUNDRED


@dataclass(frozen=True)
class Move:
    customer: str
    kind: str  # allowance | fixed_price | payg
    hours: Decimal | None = None
    fee: Decimal | None = None


@dataclass(frozen=True)
class Price:
    customer: str
    fee: Decimal


Change = RateChange | Move | Price
_PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%?\s*$")


def _split(text: str, option: str, example: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise WhatIfError(f"{option} {text!r} is not understood", hint=f"write e.g. {option} {example!r}")
    return name.strip(), value.strip()


def _amount(text: str, option: str) -> Decimal:
    try:
        value = to_decimal(text)
    except ValueError:
        raise WhatIfError(f"{option}: {text!r} is not a number") from None
    if value < 0:
        raise WhatIfError(f"{option}: {text} is negative")
    return value


def parse_rate(text: str) -> RateChange:
    name, value = _split(text, "--rate", "remote=+8%")
    m = _PERCENT.match(value)
    if m is None:
        raise WhatIfError(f"--rate {text!r}: {value!r} is not a percentage", hint='write e.g. "remote=+8%"')
    return RateChange(name, Decimal(m.group(1)))


def parse_move(text: str) -> Move:
    name, value = _split(text, "--move", "ACME=allowance:10:950")
    kind, *args = [p.strip() for p in value.split(":")]
    kind = kind.lower()
    if kind == "allowance" and len(args) == 2:
        return Move(name, "allowance", _amount(args[0], "--move"), _amount(args[1], "--move"))
    if kind in ("fixed", "fixed_price") and len(args) == 1:
        return Move(name, "fixed_price", None, _amount(args[0], "--move"))
    if kind == "payg" and not args:
        return Move(name, "payg")
    raise WhatIfError(
        f"--move {text!r} is not understood",
        hint="write CUSTOMER=allowance:HOURS:FEE, CUSTOMER=fixed:FEE or CUSTOMER=payg",
    )


def parse_price(text: str) -> Price:
    name, value = _split(text, "--price", "ACME=1500")
    return Price(name, _amount(value, "--price"))


# --- names ------------------------------------------------------------------------------------


def _unique(text: str, options: Mapping[str, str], what: str) -> str:
    """A code from its code, its exact name, or a part of its name that only one has (any case)."""
    wanted = text.strip().lower()
    for code, name in options.items():
        if code.lower() == wanted or name.lower() == wanted:
            return code
    found = [code for code, name in options.items() if wanted in name.lower()]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{c} ({n})" for c, n in sorted(options.items()))
    if found:
        raise WhatIfError(
            f"{what} {text!r} could be any of {', '.join(sorted(found))}", hint=f"one of: {known}"
        )
    raise WhatIfError(f"no {what} {text!r}", hint=f"one of: {known}")


def resolve_changes(conn: Connection, changes: Sequence[Change]) -> list[Change]:
    """Every change with its client (by code, HaloPSA id or name) or charge type named by code."""
    customers = {r.code: r.name for r in conn.execute(sa.select(t.customers.c.code, t.customers.c.name))}
    halo = {
        r.external_id: r.local_id
        for r in conn.execute(
            sa.select(t.external_ids.c.local_id, t.external_ids.c.external_id).where(
                t.external_ids.c.entity == "customer", t.external_ids.c.system == "halopsa"
            )
        )
    }
    types = {r.code: r.name for r in conn.execute(sa.select(t.charge_types.c.code, t.charge_types.c.name))}
    out: list[Change] = []
    for change in changes:
        if isinstance(change, RateChange):
            out.append(replace(change, charge_type=_unique(change.charge_type, types, "charge type")))
        elif change.customer.strip() in halo and halo[change.customer.strip()] in customers:
            out.append(replace(change, customer=halo[change.customer.strip()]))
        else:
            out.append(replace(change, customer=_unique(change.customer, customers, "customer")))
    return out


# --- the history book ---------------------------------------------------------------------------


def history_book(conn: Connection, settings: Settings, period: Period) -> tuple[Book, Mapping[str, str]]:
    """The period's book as billing reads it, with all of its work whatever its billing state."""
    resolved = load_book(conn, settings, period)
    codes = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
    contracts = {r.id: r.code for r in conn.execute(sa.select(t.contracts.c.id, t.contracts.c.code))}
    types = {r.id: r.code for r in conn.execute(sa.select(t.charge_types.c.id, t.charge_types.c.code))}
    agents = {r.id: r.name for r in conn.execute(sa.select(t.agents.c.id, t.agents.c.name))}
    tickets = {
        r.id: (r.halopsa_id or str(r.id), r.summary, r.service_line)
        for r in conn.execute(
            sa.select(t.tickets.c.id, t.tickets.c.halopsa_id, t.tickets.c.summary, t.tickets.c.service_line)
        )
    }
    known = resolved.book.customers
    entries: list[TimeEntry] = []
    mileage: list[MileageRecord] = []
    query = sa.select(t.time_entries).where(
        t.time_entries.c.work_date >= period.start,
        t.time_entries.c.work_date < period.end,
        t.time_entries.c.billing_state.in_(HISTORY_STATES),
    )
    for r in conn.execute(query.order_by(t.time_entries.c.start_utc, t.time_entries.c.id)):
        code = codes.get(r.customer_id)
        if code is None or code not in known:
            continue
        ticket, summary, line = tickets.get(r.ticket_id, (None, "", None))
        entries.append(
            TimeEntry(
                id=r.source_key,
                customer=code,
                start=r.start_utc,
                minutes=r.minutes,
                charge_type=types.get(r.charge_type_id),
                ticket=ticket,
                agent=agents.get(r.agent_id, ""),
                non_billable_minutes=r.non_billable_minutes,
                travel_minutes=r.travel_minutes,
                contract=contracts.get(r.contract_id),
                service_line=r.service_line or line,
                summary=summary,
                written_off=WriteOff(r.state_by or "", r.state_reason or "")
                if r.billing_state == "written_off"
                else None,
            )
        )
        if r.mileage and r.mileage > 0:
            mileage.append(MileageRecord(f"{r.source_key}:mileage", code, r.work_date, r.mileage))
    expense_item = settings.billing_expense_item_code or None
    item_tax = {r.code: r.tax_code for r in conn.execute(sa.select(t.items.c.code, t.items.c.tax_code))}
    expenses = tuple(
        ExpenseRecord(
            r.source_key,
            codes[r.customer_id],
            r.date,
            r.cost,
            r.category,
            r.item_code or expense_item,
            r.tax_code or item_tax.get(r.item_code or expense_item or ""),
        )
        for r in conn.execute(
            sa.select(t.expenses).where(t.expenses.c.date >= period.start, t.expenses.c.date < period.end)
        )
        if codes.get(r.customer_id) in known
    )
    items = {r.id: r.code for r in conn.execute(sa.select(t.items.c.id, t.items.c.code))}
    issued = tuple(
        ItemIssue(
            r.source_key,
            codes[r.customer_id],
            r.date,
            r.quantity,
            items.get(r.item_id),
            r.description or "",
            r.unit_price,
            r.unit_cost,
            r.tax_code,
        )
        for r in conn.execute(
            sa.select(t.items_issued).where(
                t.items_issued.c.date >= period.start, t.items_issued.c.date < period.end
            )
        )
        if codes.get(r.customer_id) in known
    )
    book = replace(
        resolved.book, entries=tuple(entries), mileage=tuple(mileage), expenses=expenses, items_issued=issued
    )
    return book, resolved.currencies


def _scale(rows: tuple[RateRow, ...], factor: Decimal) -> tuple[RateRow, ...]:
    return tuple(
        replace(r, hourly_rate=q4(r.hourly_rate * factor)) if r.hourly_rate is not None else r for r in rows
    )


def apply(book: Book, changes: Sequence[Change], period: Period, settings: Settings) -> Book:
    """The book with the changes made (a new book; the one given is not touched)."""
    for change in changes:
        if isinstance(change, RateChange):
            rb = book.ratebook
            types = dict(rb.charge_types)
            code = change.charge_type
            if code in types:
                types[code] = replace(types[code], rates=_scale(types[code].rates, change.factor))
            customer = {
                c: {k: (_scale(v, change.factor) if k == code else v) for k, v in rows.items()}
                for c, rows in rb.customer_rates.items()
            }
            contract = {
                c: {k: (_scale(v, change.factor) if k == code else v) for k, v in rows.items()}
                for c, rows in rb.contract_rates.items()
            }
            book = replace(book, ratebook=Ratebook(types, customer, contract))
        elif isinstance(change, Price):
            contracts = {
                k: replace(c, fee=change.fee)
                if c.customer == change.customer and c.kind in ("fixed_price", "allowance")
                else c
                for k, c in book.contracts.items()
            }
            book = replace(book, contracts=contracts)
        else:
            book = _move(book, change, period, settings)
    return book


def _move(book: Book, move: Move, period: Period, settings: Settings) -> Book:
    own = [c for c in book.contracts.values() if c.customer == move.customer]
    contracts = {k: c for k, c in book.contracts.items() if c.customer != move.customer}
    if move.kind != "payg":
        template = next((c for c in own if c.kind in ("fixed_price", "allowance")), own[0] if own else None)
        code = f"whatif:{move.customer}"
        item_code = settings.billing_contract_item_codes.get(move.kind) or (
            template.item_code if template else None
        )
        contracts[code] = Contract(
            id=code,
            customer=move.customer,
            kind="allowance" if move.kind == "allowance" else "fixed_price",
            start=period.start,
            fee=move.fee,
            hours_per_period=move.hours,
            item_code=item_code,
            tax_code=template.tax_code if template else None,
            account_code=template.account_code if template else None,
            description=f"{move.kind.replace('_', ' ')} (what if)",
        )
    entries = tuple(replace(e, contract=None) if e.customer == move.customer else e for e in book.entries)
    return replace(book, contracts=contracts, entries=entries)


# --- the comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfRow:
    customer: str
    name: str
    revenue: Decimal
    revenue_whatif: Decimal
    cost: Decimal

    @property
    def revenue_delta(self) -> Decimal:
        return self.revenue_whatif - self.revenue

    @property
    def cost_whatif(self) -> Decimal:
        return self.cost

    @property
    def cost_delta(self) -> Decimal:
        return self.cost_whatif - self.cost

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_whatif(self) -> Decimal:
        return self.revenue_whatif - self.cost_whatif

    @property
    def margin_delta(self) -> Decimal:
        return self.margin_whatif - self.margin

    def as_dict(self) -> dict[str, str]:
        return {
            "customer": self.customer,
            "name": self.name,
            "revenue": str(self.revenue),
            "revenue_whatif": str(self.revenue_whatif),
            "revenue_delta": str(self.revenue_delta),
            "cost": str(self.cost),
            "cost_whatif": str(self.cost_whatif),
            "cost_delta": str(self.cost_delta),
            "margin": str(self.margin),
            "margin_whatif": str(self.margin_whatif),
            "margin_delta": str(self.margin_delta),
        }


@dataclass(frozen=True)
class WhatIf:
    period: Period
    changes: tuple[Change, ...]
    rows: tuple[WhatIfRow, ...]
    currency: str
    issues: tuple[Issue, ...]

    def total(self) -> WhatIfRow:
        def s(name: str) -> Decimal:
            return sum((getattr(r, name) for r in self.rows), ZERO)

        return WhatIfRow("", "total", s("revenue"), s("revenue_whatif"), s("cost"))


def _revenue(
    drafts: Sequence[DraftInvoice],
    currencies: Mapping[str, str],
    settings: Settings,
    out: dict[str, Decimal],
    issues: list[Issue],
) -> None:
    for draft in drafts:
        customer = draft.customer
        currency = currencies.get(customer, settings.currency)
        fx = Decimal(1) if currency == settings.currency else settings.costs_fx_rates.get(currency)
        if fx is None:
            issues.append(
                Issue(
                    "profit.no_fx_rate",
                    Severity.ERROR,
                    f"revloop:customer:{customer}",
                    f"no rate for {currency} to {settings.currency}; the client's revenue is left out",
                    action=fx_hint(currency, settings.currency),
                )
            )
            continue
        out[customer] += draft.subtotal / fx


def what_if(app: App, period: Period, changes: Sequence[Change]) -> WhatIf:
    settings = app.settings
    issues: list[Issue] = []
    base: dict[str, Decimal] = defaultdict(lambda: ZERO)
    changed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with app.engine.connect() as conn:
        resolved = resolve_changes(conn, changes)
        names = {r.code: r.name for r in conn.execute(sa.select(t.customers.c.code, t.customers.c.name))}
        model = build(conn, settings, period)
        opening_base: Mapping[str, Decimal] | None = None
        opening_changed: Mapping[str, Decimal] | None = None
        for month in months_of(period):
            month_period = Period(month, add_months(month, 1))
            book, currencies = history_book(conn, settings, month_period)
            before = replace(book, opening_balances=opening_base) if opening_base is not None else book
            after = apply(book, resolved, period, settings)
            if opening_changed is not None:
                after = replace(after, opening_balances=opening_changed)
            first = rate(before, month_period)
            second = rate(after, month_period)
            issues += [i for i in second.issues if i.severity == Severity.ERROR]
            _revenue(first.invoices, currencies, settings, base, issues)
            _revenue(second.invoices, currencies, settings, changed, [])
            opening_base, opening_changed = first.balances, second.balances
    cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for f in model.facts:
        cost[f.customer] += f.cost
    customers = sorted(set(base) | set(changed) | {c for c in cost if c})
    rows = tuple(
        WhatIfRow(c, names.get(c, c), round2(base[c]), round2(changed[c]), round2(cost[c])) for c in customers
    )
    seen: set[tuple[str, str]] = set()
    unique = []
    for i in issues + [i for i in model.issues if i.code.startswith("costs.")]:
        if (i.code, i.subject) not in seen:
            seen.add((i.code, i.subject))
            unique.append(i)
    return WhatIf(period, tuple(resolved), rows, settings.currency, tuple(unique))


def describe(change: Change) -> str:
    if isinstance(change, RateChange):
        return f"{change.charge_type} rates {change.percent:+}%"
    if isinstance(change, Price):
        return f"{change.customer} fee {change.fee}"
    if change.kind == "payg":
        return f"{change.customer} moved to pay as you go"
    if change.kind == "allowance":
        return f"{change.customer} moved to an allowance of {change.hours} hours for {change.fee}"
    return f"{change.customer} moved to a fixed fee of {change.fee}"


__all__ = ["Move", "Price", "RateChange", "WhatIf", "WhatIfError", "parse_move", "parse_price", "parse_rate"]

"""Rating the generated work into the invoices a correct billing run would have produced.

It follows shared billing-rules.md with the settings the demo MSP uses (written to ``facts``):
entry rounding scope, split classes (each entry lies in one class), summary presentation, covered
work hidden, monthly periods billed on the 1st of the next month, fees and recurring charges in
advance, travel always pay-as-you-go, prepay balances in money drawn at ``round2(hours × unit)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .catalogue import CHARGE_TYPES, FX, ITEMS, MILEAGE_RATE, TAX_PERCENT, TRAVEL, Rate, RateBook
from .model import ZERO, add_months, q2, q4
from .people import Client
from .work import KIND_NAMES, Contract, ContractIndex, Entry

CLASS_LABEL = {
    "normal": "normal hours",
    "ooh": "out of hours",
    "weekend": "weekend",
    "holiday": "bank holiday",
}
CLASS_ORDER = {"normal": 0, "ooh": 1, "weekend": 2, "holiday": 3}
KIND_ORDER = {
    "fee": 0,
    "recurring": 1,
    "labour": 2,
    "overage": 3,
    "travel": 4,
    "mileage": 5,
    "expense": 6,
    "item": 7,
    "topup": 8,
}


def billed_minutes(minutes: int, rate: Rate) -> int:
    inc = rate.increment_minutes
    rounded = minutes
    if inc:
        whole, rest = divmod(minutes, inc)
        if rate.rounding == "up":
            whole += 1 if rest else 0
        elif rate.rounding == "nearest":
            whole += 1 if 2 * rest >= inc else 0
        rounded = whole * inc
    return max(rounded, rate.minimum_minutes)


def hours_of(minutes: int) -> Decimal:
    return q4(Decimal(minutes) / 60)


@dataclass
class Line:
    kind: str
    description: str
    quantity: Decimal
    unit: Decimal
    item_code: str
    account: str
    service_line: str
    contract_id: int = 0
    entries: list[tuple[int, int]] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return q2(self.quantity * self.unit)


@dataclass
class Invoice:
    client_id: int
    period: date  # first day of the billed month
    lines: list[Line]
    tax_type: str
    currency: str
    number: str = ""
    halo_id: int = 0

    @property
    def date(self) -> date:
        return add_months(self.period, 1)

    @property
    def key(self) -> str:
        return f"revloop:c{self.client_id}:all:{self.period.isoformat()}"  # revloop customer code c<halo id>

    def tax(self, line: Line) -> Decimal:
        return q2(line.amount * TAX_PERCENT[self.tax_type] / 100)

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)

    @property
    def total_tax(self) -> Decimal:
        return sum((self.tax(ln) for ln in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.total_tax


@dataclass
class Rated:
    """One entry's labour, rated as pay-as-you-go."""

    ct: int
    cls: str
    hours: Decimal
    unit: Decimal
    rate: Rate


class Rater:
    def __init__(self, book: RateBook) -> None:
        self.book = book

    def labour(self, e: Entry, contract_id: int) -> Rated | None:
        if not e.ct:
            return None
        billable = e.minutes - e.nonbill
        if billable <= 0:
            return None
        _, rate = self.book.resolve(e.client_id, contract_id, e.ct, e.day)
        return Rated(e.ct, e.cls, hours_of(billed_minutes(billable, rate)), rate.unit(e.cls), rate)

    def travel(self, e: Entry, contract_id: int) -> Rated | None:
        if not e.travel:
            return None
        _, rate = self.book.resolve(e.client_id, contract_id, TRAVEL, e.day)
        return Rated(TRAVEL, "normal", hours_of(billed_minutes(e.travel, rate)), q4(rate.hourly_rate), rate)


def group_value(parts: list[tuple[str, int, str, Decimal, Decimal]]) -> Decimal:
    """The net value of work as summary lines would show it: grouped by (kind, charge type, class,
    unit), quantities summed, each group ``round2(qty × unit)``."""
    groups: dict[tuple[str, int, str, Decimal], Decimal] = {}
    for kind, ct, cls, hours, unit in parts:
        groups[(kind, ct, cls, unit)] = groups.get((kind, ct, cls, unit), ZERO) + hours
    return sum((q2(qty * key[3]) for key, qty in groups.items()), ZERO)


def month_label(period: date) -> str:
    return period.strftime("%B %Y")


class MonthHook:
    """What a plant may change while a client's month is billed (the clean MSP uses none)."""

    def extra_entries(self, client: Client, period: date, biller: Biller) -> list[Entry]:
        return []

    def skip_purchase(self, contract: Contract, period: date) -> bool:
        return False


@dataclass
class EntryState:
    state: str  # invoiced | covered | overage_unbilled | excluded
    invoice: Invoice | None
    contract_id: int = 0
    drawn: Decimal = ZERO  # prepay money drawn, allowance hours drawn


class Biller:
    def __init__(self, rater: Rater, contracts: ContractIndex, clients: dict[int, Client]) -> None:
        self.rater = rater
        self.contracts = contracts
        self.clients = clients
        self.invoices: list[Invoice] = []
        self.states: dict[tuple[int, int], EntryState] = {}
        self.balance: dict[int, Decimal] = {}  # prepay money balance per contract
        self.ledger: dict[int, list[tuple[date, Decimal, str, Invoice | None]]] = {}
        self.excluded: set[tuple[int, int]] = set()
        self.unbilled_overage: set[tuple[int, int]] = set()
        self.duplicates: dict[tuple[int, date], list[Entry]] = {}
        self.expenses: dict[tuple[int, date], list[dict[str, object]]] = {}
        self.new_entries: list[Entry] = []

    # -- consumption before a month is billed (for prepay top-ups) --
    def prepay_use(self, entries: list[Entry], contract: Contract) -> Decimal:
        used = ZERO
        for e in entries:
            if e.contract_id != contract.id or e.ct not in contract.covers or e.key in self.excluded:
                continue
            rated = self.rater.labour(e, contract.id)
            if rated:
                used += q2(rated.hours * rated.unit)
        return used

    def open_prepay(self, contract: Contract, on: date) -> None:
        self.balance[contract.id] = contract.lot_size
        self.ledger[contract.id] = [(on, contract.lot_size, "Balance brought forward", None)]

    def bill_month(
        self, client: Client, period: date, entries: list[Entry], hook: MonthHook | None = None
    ) -> Invoice | None:
        hook = hook or MonthHook()
        extra = hook.extra_entries(client, period, self)
        if extra:
            entries = sorted(entries + extra, key=lambda e: (e.start, e.ticket_id, e.action_id))
            self.new_entries.extend(extra)
        nxt = add_months(period, 1)
        lines: list[Line] = []
        contract = self.contracts.in_force(client.id, period)
        label = month_label(period)
        topups: list[Line] = []
        if contract and contract.kind in ("fixed_price", "allowance") and contract.fee:
            item = "FEE-FIXED" if contract.kind == "fixed_price" else "FEE-ALLOW"
            lines.append(
                Line(
                    "fee",
                    f"{contract.ref} {KIND_NAMES[contract.kind]} agreement, {label}",
                    Decimal(1),
                    contract.fee,
                    item,
                    ITEMS[item].account,
                    ITEMS[item].service_line,
                    contract.id,
                )
            )
        for charge in client.recurring:
            product = ITEMS[charge["item_code"]]
            lines.append(
                Line(
                    "recurring",
                    f"{product.name}, {label}",
                    charge["quantity"],
                    charge["unit_amount"],
                    product.code,
                    product.account,
                    product.service_line,
                )
            )
        if contract and contract.kind == "prepay" and contract.id in self.balance:
            use = self.prepay_use(entries, contract)
            if not hook.skip_purchase(contract, period):
                while self.balance[contract.id] - use < contract.threshold:
                    self.balance[contract.id] += contract.lot_size
                    topups.append(
                        Line(
                            "topup",
                            f"{contract.ref} prepaid support credit",
                            Decimal(1),
                            contract.lot_size,
                            "PREPAY",
                            ITEMS["PREPAY"].account,
                            ITEMS["PREPAY"].service_line,
                            contract.id,
                        )
                    )
                    self.ledger[contract.id].append((period, contract.lot_size, "Prepay purchase", None))
        groups: dict[tuple[str, int, str, Decimal], Line] = {}
        mileage: list[Line] = []
        allowance_left: dict[int, Decimal] = {}
        covered: list[tuple[tuple[int, int], int, Decimal]] = []

        def add(
            kind: str,
            rated: Line | None,
            key: tuple[str, int, str, Decimal],
            e: Entry,
            hours: Decimal,
            contract_id: int,
        ) -> None:
            line = groups.get(key)
            if line is None:
                kind_, ct, cls, unit = key
                ctype = CHARGE_TYPES[ct]
                what = "overage" if kind_ == "overage" else CLASS_LABEL[cls] if kind_ == "labour" else "time"
                line = groups[key] = Line(
                    kind_,
                    f"{ctype.name}, {what}, {label}",
                    ZERO,
                    unit,
                    ctype.item_code,
                    ctype.account,
                    ctype.service_line,
                    contract_id,
                )
            line.quantity += hours
            line.entries.append(e.key)

        for e in entries:
            if e.key in self.excluded:
                self.states[e.key] = EntryState("excluded", None, e.contract_id)
                continue
            entry_contract = self.contracts.by_id.get(e.contract_id)
            in_force = entry_contract is not None and entry_contract.start <= e.day < entry_contract.end
            cid = e.contract_id if in_force else 0
            rated = self.rater.labour(e, cid)
            if rated is not None:
                assert entry_contract is not None or cid == 0
                if in_force and entry_contract is not None and e.ct in entry_contract.covers:
                    c = entry_contract
                    if c.kind == "fixed_price":
                        covered.append((e.key, c.id, ZERO))
                    elif c.kind == "allowance":
                        left = allowance_left.setdefault(c.id, c.hours_per_period)
                        take = min(left, rated.hours)
                        allowance_left[c.id] = left - take
                        covered.append((e.key, c.id, take))
                        over = rated.hours - take
                        if over > 0:
                            unit = q4(rated.unit * rated.rate.overage_multiplier)
                            if e.key in self.unbilled_overage:
                                self.states[e.key] = EntryState("overage_unbilled", None, c.id, take)
                            else:
                                add("overage", None, ("overage", e.ct, e.cls, unit), e, over, c.id)
                    else:  # prepay, in money
                        cost = q2(rated.hours * rated.unit)
                        self.balance[c.id] -= cost
                        self.ledger[c.id].append((e.day, -cost, f"ticket {e.ticket_id}/{e.action_id}", None))
                        covered.append((e.key, c.id, cost))
                else:
                    add("labour", None, ("labour", e.ct, e.cls, rated.unit), e, rated.hours, cid)
            travel = self.rater.travel(e, cid)
            if travel is not None:
                add("travel", None, ("travel", TRAVEL, "normal", travel.unit), e, travel.hours, cid)
            if e.miles:
                rate = q2(MILEAGE_RATE * FX[client.currency])
                mileage.append(
                    Line(
                        "mileage",
                        f"Mileage {e.miles} mi, ticket {e.ticket_id} on {e.day.isoformat()}",
                        Decimal(e.miles),
                        rate,
                        "MILEAGE",
                        ITEMS["MILEAGE"].account,
                        ITEMS["MILEAGE"].service_line,
                        cid,
                        [e.key],
                    )
                )
        for e in self.duplicates.get((client.id, period), []):
            rated = self.rater.labour(e, 0)
            if rated:
                add("labour", None, ("labour", e.ct, e.cls, rated.unit), e, rated.hours, 0)
        work = sorted(
            groups.values(), key=lambda ln: (KIND_ORDER[ln.kind], ln.item_code, ln.description, ln.unit)
        )
        expenses = []
        for exp in self.expenses.get((client.id, period), []):
            expenses.append(
                Line(
                    "expense",
                    str(exp["description"]),
                    Decimal(1),
                    Decimal(str(exp["amount"])),
                    "EXPENSES",
                    ITEMS["EXPENSES"].account,
                    ITEMS["EXPENSES"].service_line,
                )
            )
        lines += work + mileage + expenses + topups
        if not lines:
            return None
        invoice = Invoice(client.id, period, lines, client.tax_type, client.currency)
        self.invoices.append(invoice)
        for key, cid, drawn in covered:
            if key not in self.states:
                self.states[key] = EntryState("covered", invoice, cid, drawn)
        for line in work + mileage:
            for key in line.entries:
                if key not in self.states:
                    self.states[key] = EntryState("invoiced", invoice, line.contract_id)
        for i, (day, amount, why, inv) in enumerate(self.ledger.get(contract.id if contract else -1, [])):
            if why == "Prepay purchase" and day == period and inv is None:
                self.ledger[contract.id][i] = (day, amount, why, invoice)  # type: ignore[union-attr]
        del nxt
        return invoice


Callback = Callable[[Client, date, Biller], list[Entry]]

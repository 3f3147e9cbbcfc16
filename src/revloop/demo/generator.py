"""``generate(seed, size, today)``: a believable MSP, deterministic from its inputs.

The pipeline: people and clients → contracts (kinds, renewal chains) → tickets and time entries →
prices set from the work (fees, allowances, prepay lots) → planted work → a correct billing run over
the 12 closed months → both vendors' records → planted edits on the books → manifest and facts.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from . import books
from .billing import Biller, MonthHook, Rater
from .catalogue import REMOTE, customer_currency_rates, global_ratebook, make_rate
from .model import DEFAULT_TODAY, ZERO, DemoMsp, add_months, month_start, q2, q4, size_for
from .people import Client, make_agents, make_clients, recurring_charges
from .problems import Roles, assign_kinds, assign_roles, overrun_pieces, planted_ticket, working_days
from .work import Calendar, Contract, ContractIndex, Entry, WorkGenerator, make_contracts

D = Decimal


def _roundup(value: Decimal, step: int) -> Decimal:
    return D(math.ceil(value / step) * step)


def draw_crossing(
    entries: list[Entry], balance: Decimal, cost: Decimal, below: Decimal
) -> tuple[Entry | None, Decimal]:
    """Entries each drawing ``cost`` from ``balance`` in consumption order (work start, then ticket
    and action): the one whose draw took the balance from at least ``below`` to under it, and the
    balance after them all. More pieces than working days wrap round to the first days, later in
    the day, so the order is not the order the entries were made in."""
    crossing = None
    for e in sorted(entries, key=lambda x: (x.start, x.ticket_id, x.action_id)):
        before = balance
        balance -= cost
        if crossing is None and before >= below > balance:
            crossing = e
    return crossing, balance


class Plants(MonthHook):
    """Month hooks for the prepay plants (they depend on the balance when the month opens)."""

    def __init__(self, gen: Generation) -> None:
        self.gen = gen
        self.notes: dict[str, dict[str, Any]] = {}

    def skip_purchase(self, contract: Contract, period: date) -> bool:
        g = self.gen
        return period == g.last_month and contract.client_id in (
            g.roles.get("prepay_below"),
            g.roles.get("prepay_negative"),
        )

    def extra_entries(self, client: Client, period: date, biller: Biller) -> list[Entry]:
        g = self.gen
        if period != g.last_month:
            return []
        for role in ("prepay_below", "prepay_negative"):
            if client.id != g.roles.get(role):
                continue
            contract = g.index.in_force(client.id, period)
            assert contract is not None and contract.kind == "prepay"
            start_balance = biller.balance[contract.id]
            _, rate = g.book.resolve(client.id, contract.id, REMOTE, period)
            unit = rate.unit("normal")
            if role == "prepay_below":
                count = max(1, math.ceil((start_balance - contract.threshold / 2) / unit))
            else:
                count = math.ceil(start_balance / unit) + 2
            days = working_days(g.cal, period)
            k = 1
            pieces = [
                (days[i % len(days)], 8 * 60 + 30 + 60 * ((i // len(days)) % 8), 60) for i in range(count)
            ]
            summary = (
                "Line-of-business upgrade support" if role == "prepay_below" else "Repeated server outages"
            )
            _, entries = planted_ticket(g.work, client, summary, pieces, REMOTE, contract.id)
            below = contract.threshold if role == "prepay_below" else ZERO
            crossing, balance = draw_crossing(entries, start_balance, q2(D(k) * unit), below)
            assert crossing is not None
            self.notes[role] = {"contract": contract, "balance": balance, "entry": crossing}
            return entries
        return []


class Generation:
    def __init__(self, seed: int, size: str, today: date, plant: bool, entries: int | None) -> None:
        self.rng = random.Random(seed)
        self.size = size_for(size, entries)
        self.today = today
        self.plant = plant
        self.this_month = month_start(today)
        self.history_start = add_months(self.this_month, -12)
        self.last_month = add_months(self.this_month, -1)
        self.months = [add_months(self.history_start, i) for i in range(12)]
        self.cal = Calendar(self.history_start - timedelta(days=1), add_months(self.this_month, 2))

    # -- the business --------------------------------------------------------------------------------
    def people(self) -> None:
        rng = self.rng
        self.agents = make_agents(rng, self.size.agents)
        self.clients = make_clients(rng, self.size.clients)
        self.by_client = {c.id: c for c in self.clients}
        site_id = 1
        for c in self.clients:
            for _ in range(1 if c.users < 20 else rng.randint(1, 3)):
                c.site_ids.append(site_id)
                site_id += 1
            c.recurring = recurring_charges(rng, c)
        self.kinds = assign_kinds(rng, self.clients)
        self.roles: Roles = assign_roles(self.clients, self.kinds)
        forced_end = {}
        if self.roles.get("renewal_no_quote"):
            forced_end[self.roles["renewal_no_quote"]] = add_months(self.this_month, 1)
        if self.roles.get("renewal_quoted"):
            forced_end[self.roles["renewal_quoted"]] = add_months(self.this_month, 2)
        forced_start = (
            {self.roles["outside_contract"]: self.last_month} if self.roles.get("outside_contract") else {}
        )
        for c in self.clients:  # prepay balances live on one contract across the whole history
            if self.kinds[c.id] == "prepay" and c.id not in forced_end:
                forced_start.setdefault(c.id, add_months(self.history_start, -rng.randint(0, 10)))
        self.contracts = make_contracts(
            rng, self.clients, self.kinds, self.history_start, self.this_month, forced_end, forced_start
        )
        for k in self.contracts:
            if self.kinds[k.client_id] == "prepay" and k.client_id in forced_start:
                k.end = max(k.end, add_months(k.start, 36))
        self.index = ContractIndex(self.contracts)
        self.book = global_ratebook()
        for c in self.clients:
            if c.currency != "GBP":
                customer_currency_rates(self.book, c.id, c.currency)
        uk = [c for c in self.clients if c.country == "GB"]
        for c in uk[2::7]:  # negotiated remote rates, one raised mid-year
            self.book.add_customer(c.id, REMOTE, make_rate(REMOTE, date(2025, 4, 1), D("85.00")))
        if len(uk) > 2:
            self.book.add_customer(uk[2].id, REMOTE, make_rate(REMOTE, date(2026, 7, 1), D("88.00")))
        project_contract = next(
            (k for k in self.contracts if k.kind == "payg" and k.end > self.this_month), None
        )
        if project_contract is not None:
            from .catalogue import PROJECT

            self.book.add_contract(
                project_contract.id, PROJECT, make_rate(PROJECT, project_contract.start, D("110.00"))
            )

    def work_done(self) -> None:
        mtd = (self.today - self.this_month).days
        target = self.size.entries + self.size.entries * mtd // 365
        self.work = WorkGenerator(
            self.rng, self.cal, self.clients, self.agents, self.index, self.history_start, self.today
        )
        self.work.generate(target)
        held = {self.roles.get("prepay_below"), self.roles.get("prepay_negative")} - {None}
        if self.plant and held:  # their last month is replaced by planted work
            self.work.entries = [
                e
                for e in self.work.entries
                if not (e.client_id in held and e.start.date() >= self.last_month)
            ]
        self.rater = Rater(self.book)

    def price(self) -> None:
        """Fees, allowances and prepay lots set from the work each contract actually covers."""
        value: dict[tuple[int, date], Decimal] = {}
        hours: dict[tuple[int, date], Decimal] = {}
        for e in self.work.entries:
            if not e.contract_id or e.start.date() >= self.this_month:
                continue
            c = self.index.by_id[e.contract_id]
            if e.ct not in c.covers:
                continue
            rated = self.rater.labour(e, c.id)
            if rated is None:
                continue
            key = (c.id, month_start(e.start.date()))
            value[key] = value.get(key, ZERO) + q2(rated.hours * rated.unit)
            hours[key] = hours.get(key, ZERO) + rated.hours
        for c in self.contracts:
            months = [m for m in self.months if c.start <= m < c.end] or [c.start]
            avg = sum((value.get((c.id, m), ZERO) for m in months), ZERO) / len(months)
            top = max((hours.get((c.id, m), ZERO) for m in months), default=ZERO)
            client = self.by_client[c.client_id]
            _, remote = self.book.resolve(c.client_id, c.id, REMOTE, max(c.start, self.history_start))
            if c.kind == "fixed_price":
                c.fee = max(_roundup(avg * D("1.1") + 40, 5), D(150))
            elif c.kind == "allowance":
                c.hours_per_period = max(_roundup(top + 2, 1), D(5))
                c.fee = _roundup(c.hours_per_period * remote.hourly_rate * D("0.85"), 5)
            elif c.kind == "prepay":
                c.lot_size = max(_roundup(avg * 3, 100), _roundup(remote.hourly_rate * 8, 100))
                c.threshold = max(_roundup(avg * D("0.6"), 50), _roundup(remote.hourly_rate * D("2.5"), 50))
                if self.plant and c.client_id == self.roles.get("prepay_negative"):
                    c.threshold, c.on_exhausted = ZERO, "negative"
            del client

    # -- planted work (before billing) ---------------------------------------------------------------
    def plant_work(self, biller: Biller) -> None:
        self.planted: dict[str, dict[str, Any]] = {}
        if not self.plant:
            return
        g, roles = self.work, self.roles
        last = self.last_month
        if roles.get("unbilled"):
            client = self.by_client[roles["unbilled"]]
            days = working_days(self.cal, last)
            contract = self.index.in_force(client.id, days[3])
            _, entries = planted_ticket(
                g,
                client,
                "Laptop rebuild after failed feature update",
                [(days[3], 10 * 60, 48), (days[4], 14 * 60, 72), (days[6], 9 * 60, 30)],
                REMOTE,
                contract.id if contract else 0,
                "helpdesk_l1",
            )
            g.entries += entries
            biller.excluded.update(e.key for e in entries)
            self.planted["unbilled"] = {"entries": entries}
        if roles.get("billed_twice"):
            client = self.by_client[roles["billed_twice"]]
            month = add_months(last, -2)
            day = working_days(self.cal, month)[5]
            contract = self.index.in_force(client.id, day)
            _, entries = planted_ticket(
                g,
                client,
                "Shared drive permissions clean-up",
                [(day, 13 * 60, 90)],
                REMOTE,
                contract.id if contract else 0,
            )
            g.entries += entries
            biller.duplicates[(client.id, add_months(month, 1))] = entries
            self.planted["billed_twice"] = {
                "entries": entries,
                "first": month,
                "second": add_months(month, 1),
            }
        if roles.get("outside_contract"):
            client = self.by_client[roles["outside_contract"]]
            current = self.index.in_force(client.id, last)
            assert current is not None and current.previous
            days = working_days(self.cal, last)
            _, entries = planted_ticket(
                g,
                client,
                "Mailbox migration follow-up",
                [(days[8], 9 * 60 + 30, 66), (days[9], 11 * 60, 42), (days[12], 15 * 60, 54)],
                REMOTE,
                current.previous,
            )
            g.entries += entries
            biller.excluded.update(e.key for e in entries)
            self.planted["outside_contract"] = {"entries": entries, "contract": current.previous}
        if roles.get("allowance_overrun"):
            client = self.by_client[roles["allowance_overrun"]]
            contract = self.index.in_force(client.id, last)
            assert contract is not None and contract.kind == "allowance"
            used = ZERO
            for e in g.entries:
                if (
                    e.contract_id == contract.id
                    and month_start(e.start.date()) == last
                    and e.ct in contract.covers
                ):
                    rated = self.rater.labour(e, contract.id)
                    used += rated.hours if rated else ZERO
            need = contract.hours_per_period - used + D("4.5")
            pieces = overrun_pieces(working_days(self.cal, last, last=True), need)
            _, entries = planted_ticket(
                g, client, "Network slowdown investigation", pieces, REMOTE, contract.id
            )
            g.entries += entries
            self.planted["allowance_overrun"] = {"contract": contract}
        if roles.get("negative_margin"):
            self._heavy_client(roles["negative_margin"])

    def _heavy_client(self, client_id: int) -> None:
        """A fixed-price client that takes far more time than it pays for (covered remote work): enough
        hours that their cost exceeds everything else the client is billed by a clear margin."""
        client = self.by_client[client_id]
        g = self.work
        other = sum((r["quantity"] * r["unit_amount"] for r in client.recurring), ZERO) * len(self.months)
        for e in g.entries:
            if e.client_id != client_id or e.start.date() >= self.this_month:
                continue
            contract = self.index.by_id.get(e.contract_id)
            rated = self.rater.labour(e, e.contract_id)
            if rated and not (contract and e.ct in contract.covers):
                other += rated.hours * rated.unit
            travel = self.rater.travel(e, e.contract_id)
            other += (travel.hours * travel.unit if travel else ZERO) + e.miles
        hourly = max(a.hourly_cost for a in self.agents if a.role == "helpdesk_l2")
        monthly_hours = (other * D("1.4") / len(self.months) + 300) / hourly
        count = max(6, math.ceil(monthly_hours / D("1.8")))
        for month in self.months:
            contract = self.index.in_force(client_id, month)
            if contract is None:
                continue
            days = working_days(self.cal, month)
            pieces = [(days[i % len(days)], 9 * 60 + 120 * ((i // len(days)) % 4), 108) for i in range(count)]
            _, entries = planted_ticket(
                g, client, "Recurring performance complaints", pieces, REMOTE, contract.id, "helpdesk_l2"
            )
            g.entries += entries

    # -- billing --------------------------------------------------------------------------------------
    def bill(self) -> Biller:
        biller = Biller(self.rater, self.index, self.by_client)
        self.plant_work(biller)
        self.expenses = books.make_expenses(self.rng, self.work.entries, self.this_month)
        for exp in self.expenses:
            if exp["period"] is not None:
                biller.expenses.setdefault((exp["client_id"], exp["period"]), []).append(exp)
        hook = Plants(self) if self.plant else MonthHook()
        by_month: dict[tuple[int, date], list[Entry]] = {}
        for e in self.work.entries:
            by_month.setdefault((e.client_id, month_start(e.start.date())), []).append(e)
        for rows in by_month.values():
            rows.sort(key=lambda e: (e.start, e.ticket_id, e.action_id))
        if self.plant and self.roles.get("allowance_overrun"):
            self._mark_overage(biller, by_month)
        for client in self.clients:
            for contract in self.index.for_client(client.id):
                if contract.kind == "prepay" and contract.start <= self.history_start < contract.end:
                    biller.open_prepay(contract, self.history_start - timedelta(days=1))
            for month in self.months:
                biller.bill_month(client, month, by_month.get((client.id, month), []), hook)
            self._top_up_open_month(biller, client, by_month.get((client.id, self.this_month), []))
        self.work.entries += biller.new_entries
        if isinstance(hook, Plants):
            self.planted.update(hook.notes)
        return biller

    def _top_up_open_month(self, biller: Biller, client: Client, entries: list[Entry]) -> None:
        contract = self.index.in_force(client.id, self.this_month)
        if contract is None or contract.kind != "prepay" or contract.id not in biller.balance:
            return
        use = biller.prepay_use(entries, contract)
        held = self.plant and client.id in (self.roles.get("prepay_below"), self.roles.get("prepay_negative"))
        while not held and biller.balance[contract.id] - use < contract.threshold:
            biller.balance[contract.id] += contract.lot_size
            biller.ledger[contract.id].append((self.this_month, contract.lot_size, "Prepay purchase", None))
        biller.balance[contract.id] -= use

    def _mark_overage(self, biller: Biller, by_month: dict[tuple[int, date], list[Entry]]) -> None:
        client_id = self.roles["allowance_overrun"]
        contract = self.index.in_force(client_id, self.last_month)
        assert contract is not None
        left = contract.hours_per_period
        parts = []
        subjects = []
        for e in by_month.get((client_id, self.last_month), []):
            if e.contract_id != contract.id or e.ct not in contract.covers:
                continue
            rated = self.rater.labour(e, contract.id)
            if rated is None:
                continue
            take = min(left, rated.hours)
            left -= take
            over = rated.hours - take
            if over > 0:
                biller.unbilled_overage.add(e.key)
                parts.append(("overage", e.ct, e.cls, over, q4(rated.unit * rated.rate.overage_multiplier)))
                subjects.append(e)
        self.planted["allowance_overrun"].update(parts=parts, entries=subjects)


def generate(
    seed: int = 7,
    size: str = "demo",
    today: date | None = None,
    plant: bool = True,
    entries: int | None = None,
) -> DemoMsp:
    """A believable MSP (see the package README). ``entries`` overrides the size's entry count."""
    g = Generation(seed, size, today or DEFAULT_TODAY, plant, entries)
    g.people()
    g.work_done()
    g.price()
    biller = g.bill()
    msp = DemoMsp(seed=seed, size=g.size.name, today=g.today)
    ledger = books.Ledger(g, biller)
    ledger.build(msp)
    msp.manifest.sort(key=lambda m: (m["code"], m["subjects"]))
    msp.facts = books.facts(g, biller)
    overheads: dict[str, dict[str, Decimal]] = {}
    for row in msp.xero["ProfitAndLossRows"]:
        if row["AccountCode"] in msp.facts["overheads"]["accounts"]:
            overheads.setdefault(row["Date"][:7], {})[row["AccountCode"]] = row["Amount"]
    msp.facts["overheads"]["monthly"] = overheads
    msp.facts["overheads"]["pool_total"] = sum((sum(m.values(), ZERO) for m in overheads.values()), ZERO)
    return msp

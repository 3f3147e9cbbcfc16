"""Both vendors' records from the billed MSP, the planted edits on the books, and the facts.

Xero holds the clean history a correct billing process would have posted (one ACCREC invoice per
client and month, dated the 1st of the next month, due 30 days later, paid unless planted otherwise);
each HaloPSA invoice mirrors its Xero invoice, and billed actions carry its number.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .billing import Biller, Invoice, Line, group_value
from .catalogue import (
    CHARGE_TYPES,
    FX,
    ITEMS,
    MILEAGE_RATE,
    ORG_NAME,
    TAX_PERCENT,
    TRACKING_REGION,
    TRACKING_SERVICE_LINE,
    TRAVEL,
    halo_charge_types,
    halo_items,
    tracking_option_id,
    xero_settings,
)
from .model import (
    EMPTY_DATE,
    ZERO,
    DemoMsp,
    add_months,
    guid,
    halo_dt,
    money,
    month_start,
    q2,
    xero_date,
    xero_stamp,
)
from .people import ON_COST_RATE, PRODUCTIVE_HOURS, ROLES, halo_agents
from .work import COVERS, KIND_NAMES, Entry

if TYPE_CHECKING:
    from .generator import Generation

D = Decimal
TENANT_ID = "3f2c8a4e-6b1d-4e7a-9c52-8d0f1a2b3c4d"  # the Xero simulator's demo tenant
PAYMENT_TERMS_DAYS = 30
HALO_PAID, HALO_UNPAID = 2, 0


def make_expenses(rng: random.Random, entries: list[Entry], this_month: date) -> list[dict[str, Any]]:
    """Parking and tolls on some site visits, recharged at cost on the month's invoice."""
    out: list[dict[str, Any]] = []
    for e in entries:
        if e.miles and rng.random() < 0.12:
            day = e.start.date()
            period = month_start(day)
            out.append(
                {
                    "id": len(out) + 1,
                    "agent_id": e.agent_id,
                    "ticket_id": e.ticket_id,
                    "action_id": e.action_id,
                    "client_id": e.client_id,
                    "day": day,
                    "description": f"Parking, ticket {e.ticket_id} on {day.isoformat()}",
                    "amount": D(rng.choice(("4.50", "6.00", "7.20", "8.00", "12.50"))),
                    "period": period if period < this_month else None,
                }
            )
    return out


def _tracking(line: Line, region: str) -> list[dict[str, str]]:
    return [
        {
            "TrackingCategoryID": TRACKING_SERVICE_LINE,
            "Name": "Service Line",
            "Option": line.service_line,
            "TrackingOptionID": tracking_option_id(TRACKING_SERVICE_LINE, line.service_line),
        },
        {
            "TrackingCategoryID": TRACKING_REGION,
            "Name": "Region",
            "Option": region,
            "TrackingOptionID": tracking_option_id(TRACKING_REGION, region),
        },
    ]


def xero_totals(record: dict[str, Any]) -> None:
    """Per-line Xero maths (exclusive): LineAmount = round2(qty × unit), tax per line, sums."""
    sub = tax = ZERO
    for li in record["LineItems"]:
        li["LineAmount"] = q2(li["Quantity"] * li["UnitAmount"])
        li["TaxAmount"] = q2(li["LineAmount"] * TAX_PERCENT[li["TaxType"]] / 100)
        sub += li["LineAmount"]
        tax += li["TaxAmount"]
    record["SubTotal"], record["TotalTax"], record["Total"] = sub, tax, sub + tax
    if "AmountPaid" in record:
        record["AmountDue"] = record["Total"] - record["AmountPaid"] - record.get("AmountCredited", ZERO)


def halo_totals(record: dict[str, Any]) -> None:
    net = tax = ZERO
    for line in record["lines"]:
        line["net_amount"] = q2(line["qty_order"] * line["unit_price"])
        line["tax_amount"] = q2(line["net_amount"] * line["tax_rate"] / 100)
        net += line["net_amount"]
        tax += line["tax_amount"]
    record["revenue"], record["tax_total"], record["total"] = net, tax, net + tax
    record["amountdue"] = record["total"] - record["amountpaid"]


class Ledger:
    def __init__(self, g: Generation, biller: Biller) -> None:
        self.g = g
        self.biller = biller
        self.rng = random.Random(f"books-{g.rng.random()}")
        self.x_inv: dict[int, dict[str, Any]] = {}  # id(Invoice) → Xero record
        self.h_inv: dict[int, dict[str, Any]] = {}
        self.manifest: list[dict[str, Any]] = []
        self.unpaid: set[int] = set()
        self.missing: set[int] = set()
        self.quote_skip: set[int] = set()

    # -- billing-level plants (they change what was billed, so both sides show them) --------------
    def _fee_lines(self, client_id: int, months: list[date] | None = None) -> list[tuple[Invoice, Line]]:
        out = []
        for inv in self.biller.invoices:
            if inv.client_id == client_id and (months is None or inv.period in months):
                out += [(inv, ln) for ln in inv.lines if ln.kind == "fee"]
        return out

    def _stale_fee(self) -> dict[str, Any] | None:
        client_id = self.g.roles.get("stale_fee")
        if client_id is None:
            return None
        months = [add_months(self.g.last_month, -i) for i in (2, 1, 0)]
        patched = []
        for inv, line in self._fee_lines(client_id, months):
            contract = self.g.index.by_id[line.contract_id]
            delta = max(D(25), D(math.ceil(contract.fee * D("0.08") / 5) * 5))
            line.unit = contract.fee - delta
            patched.append((inv, contract, delta))
        if not patched:
            return None
        return {"patched": patched}

    def client_money(self, client_id: int) -> tuple[Decimal, Decimal]:
        """(revenue, cost) over the 12 closed months in GBP, as the manifest defines them."""
        g = self.g
        revenue = ZERO
        for inv in self.biller.invoices:
            if inv.client_id == client_id:
                revenue += inv.subtotal / FX[inv.currency]
        agents = {a.id: a.hourly_cost for a in g.agents}
        cost = ZERO
        for e in g.work.entries:
            if e.client_id == client_id and e.start.date() < g.this_month:
                cost += D(e.minutes + e.travel) / 60 * agents[e.agent_id] + e.miles * MILEAGE_RATE
        for exp in g.expenses:
            if exp["client_id"] == client_id and exp["period"] is not None:
                cost += exp["amount"]
        for charge in g.by_client[client_id].recurring:
            cost += charge["quantity"] * charge["unit_cost"] * len(g.months)
        return q2(revenue), q2(cost)

    def _negative_margin(self) -> dict[str, Any] | None:
        client_id = self.g.roles.get("negative_margin")
        if client_id is None:
            return None
        fees = self._fee_lines(client_id)
        revenue, cost = self.client_money(client_id)
        other = revenue - sum((ln.amount for _, ln in fees), ZERO)
        fee = max(D(25), D(math.floor((cost - other) * D("0.7") / max(1, len(fees)) / 5) * 5))
        for _, line in fees:
            line.unit = fee
            self.g.index.by_id[line.contract_id].fee = fee
        revenue, cost = self.client_money(client_id)
        return {"revenue": revenue, "cost": cost, "fee": fee}

    # -- build ----------------------------------------------------------------------------------------
    def build(self, msp: DemoMsp) -> None:
        g = self.g
        stale = margin = None
        if g.plant:
            stale = self._stale_fee()
            margin = self._negative_margin()
        invoices = sorted(self.biller.invoices, key=lambda i: (i.date, i.client_id))
        for n, inv in enumerate(invoices, start=1):
            inv.number = f"INV-{n:05d}"
            inv.halo_id = n
        self.invoices = invoices
        if g.plant:
            self._choose_book_plants()
        msp.xero = xero_settings(TENANT_ID)
        msp.xero["Contacts"] = [self._contact(c) for c in g.clients]
        msp.xero["Invoices"] = []
        msp.xero["Payments"] = []
        msp.xero["CreditNotes"] = []
        for inv in invoices:
            x = self._xero_invoice(inv)
            self.x_inv[id(inv)] = x
            h = self._halo_invoice(inv, x)
            self.h_inv[id(inv)] = h
            if inv.halo_id not in self.missing:
                msp.xero["Invoices"].append(x)
                self._pay(inv, x, h, msp)
        msp.halopsa = self._halo(msp)
        quotes_h, quotes_x = self._quotes()
        msp.halopsa["quotation"] = quotes_h
        msp.xero["Quotes"] = quotes_x
        msp.xero["ProfitAndLossRows"] = self._pl_rows()
        if g.plant:
            self._manifest_billing(stale, margin)
            self._plant_books(msp)
            self._manifest_work()
        msp.manifest = self.manifest

    def _choose_book_plants(self) -> None:
        g = self.g
        last = [i for i in self.invoices if i.period == g.last_month]
        by_client = {(i.client_id, i.period): i for i in self.invoices}
        self.plan: dict[str, Any] = {}
        for role in ("drift", "voided"):
            cid = g.roles.get(role)
            inv = by_client.get((cid, g.last_month)) if cid else None
            if inv is None and last:
                inv = last[0] if role == "drift" else last[-1]
            if inv is not None:
                self.plan[role] = inv
                self.unpaid.add(inv.halo_id)
        cid = g.roles.get("overdue") or 0
        self.plan["overdue"] = [
            by_client[(cid, add_months(g.last_month, -k))]
            for k in (4, 3)
            if (cid, add_months(g.last_month, -k)) in by_client
        ]
        self.unpaid.update(i.halo_id for i in self.plan["overdue"])
        for role, back in (("missing", 6), ("mismatch", 7)):
            cid = g.roles.get(role) or 0
            inv = by_client.get((cid, add_months(g.last_month, -back)))
            if inv is not None:
                self.plan[role] = inv
        if "missing" in self.plan:
            self.missing.add(self.plan["missing"].halo_id)
        if g.roles.get("renewal_no_quote"):
            self.quote_skip.add(g.roles["renewal_no_quote"])

    # -- Xero -----------------------------------------------------------------------------------------
    def _contact(self, c: Any) -> dict[str, Any]:
        return {
            "ContactID": c.contact_id,
            "ContactNumber": str(c.id),
            "AccountNumber": f"C{c.id}",
            "ContactStatus": "ACTIVE",
            "Name": c.name,
            "EmailAddress": f"accounts@{c.name.split()[0].lower()}{c.id}.example",
            "DefaultCurrency": c.currency,
            "AccountsReceivableTaxType": c.tax_type,
            "IsCustomer": True,
            "IsSupplier": False,
            "Addresses": [{"AddressType": "STREET", "City": c.name.split()[0], "Country": c.region}],
            "Phones": [],
            "PaymentTerms": {"Sales": {"Day": PAYMENT_TERMS_DAYS, "Type": "DAYSAFTERBILLDATE"}},
            "UpdatedDateUTC": xero_stamp(
                datetime.combine(self.g.history_start - timedelta(days=40), time(9))
            ),
        }

    def _xero_invoice(self, inv: Invoice) -> dict[str, Any]:
        client = self.g.by_client[inv.client_id]
        lines = []
        for n, line in enumerate(inv.lines):
            lines.append(
                {
                    "LineItemID": guid(0x1B, inv.halo_id * 1000 + n),
                    "Description": line.description,
                    "Quantity": line.quantity,
                    "UnitAmount": line.unit,
                    "ItemCode": line.item_code,
                    "AccountCode": line.account,
                    "TaxType": inv.tax_type,
                    "Tracking": _tracking(line, client.region),
                }
            )
        due = inv.date + timedelta(days=PAYMENT_TERMS_DAYS)
        record = {
            "Type": "ACCREC",
            "InvoiceID": guid(0x1A, inv.halo_id),
            "InvoiceNumber": inv.number,
            "Reference": inv.key,
            "Contact": {"ContactID": client.contact_id, "Name": client.name},
            "Date": xero_date(inv.date),
            "DateString": f"{inv.date.isoformat()}T00:00:00",
            "DueDate": xero_date(due),
            "DueDateString": f"{due.isoformat()}T00:00:00",
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "LineItems": lines,
            "CurrencyCode": inv.currency,
            "CurrencyRate": FX[inv.currency],
            "AmountPaid": ZERO,
            "AmountCredited": ZERO,
            "Payments": [],
            "HasAttachments": False,
            "UpdatedDateUTC": xero_stamp(datetime.combine(inv.date, time(7, 5))),
        }
        xero_totals(record)
        return record

    def _pay(self, inv: Invoice, x: dict[str, Any], h: dict[str, Any], msp: DemoMsp) -> None:
        today = self.g.today
        paid_on = inv.date + timedelta(days=self.rng.randint(6, 42))
        if inv.halo_id in self.unpaid or paid_on >= today:
            return
        payment_id = guid(0x1C, inv.halo_id)
        amount = x["Total"]
        msp.xero["Payments"].append(
            {
                "PaymentID": payment_id,
                "Date": xero_date(paid_on),
                "Amount": amount,
                "BankAmount": q2(amount / x["CurrencyRate"]),
                "CurrencyRate": x["CurrencyRate"],
                "Reference": f"BACS {inv.number}",
                "Status": "AUTHORISED",
                "PaymentType": "ACCRECPAYMENT",
                "IsReconciled": True,
                "Account": {"AccountID": guid(0xA1, 1), "Code": "090"},
                "Invoice": {"InvoiceID": x["InvoiceID"], "InvoiceNumber": inv.number},
                "UpdatedDateUTC": xero_stamp(datetime.combine(paid_on, time(10, 30))),
            }
        )
        x["Payments"] = [
            {
                "PaymentID": payment_id,
                "Date": xero_date(paid_on),
                "Amount": amount,
                "Reference": f"BACS {inv.number}",
                "CurrencyRate": x["CurrencyRate"],
            }
        ]
        x["AmountPaid"] = amount
        x["AmountDue"] = ZERO
        x["Status"] = "PAID"
        x["FullyPaidOnDate"] = xero_date(paid_on)
        x["UpdatedDateUTC"] = xero_stamp(datetime.combine(paid_on, time(10, 30)))
        h["amountpaid"], h["amountdue"], h["paymentstatus"] = amount, ZERO, HALO_PAID
        h["datepaid"] = halo_dt(paid_on)
        h["xero_status"] = "PAID"

    def _pl_rows(self) -> list[dict[str, Any]]:
        g = self.g
        rows = []
        scale = D(len(g.agents)) / 15
        for month in g.months:
            end = add_months(month, 1) - timedelta(days=1)
            salaries = q2(sum((a.salary for a in g.agents), ZERO) / 12)
            oncost = q2(salaries * ON_COST_RATE)
            licences = backup = ZERO
            for c in g.clients:
                for r in c.recurring:
                    cost = r["quantity"] * r["unit_cost"]
                    if r["item_code"] == "M365-BP":
                        licences += cost
                    elif r["item_code"] in ("BACKUP", "HOSTING"):
                        backup += cost
            for code, amount in (
                ("477", salaries),
                ("478", oncost),
                ("469", q2(D("4250") * scale)),
                ("489", q2(D("780") * scale)),
                ("445", q2(D("610") * scale)),
                ("429", q2(D("1900") * scale + self.rng.randint(0, 400))),
                ("493", q2(D("350") * scale)),
                ("310", q2(licences)),
                ("311", q2(backup)),
            ):
                rows.append({"AccountCode": code, "Date": end.isoformat(), "Amount": amount})
        return rows

    # -- HaloPSA --------------------------------------------------------------------------------------
    def _halo_invoice(self, inv: Invoice, x: dict[str, Any]) -> dict[str, Any]:
        client = self.g.by_client[inv.client_id]
        posted = datetime.combine(inv.date, time(7, 5))
        missing = inv.halo_id in self.missing
        lines = []
        for n, (line, xl) in enumerate(zip(inv.lines, x["LineItems"], strict=True)):
            lines.append(
                {
                    "id": inv.halo_id * 1000 + n,
                    "ihid": inv.halo_id,
                    "item_code": line.item_code,
                    "item_shortdescription": line.description,
                    "qty_order": line.quantity,
                    "unit_price": line.unit,
                    "net_amount": xl["LineAmount"],
                    "tax_amount": xl["TaxAmount"],
                    "tax_rate": TAX_PERCENT[inv.tax_type],
                    "tax_code": inv.tax_type,
                    "nominal_code": line.account,
                    "contract_id": line.contract_id,
                    "startdate": halo_dt(inv.period),
                    "enddate": halo_dt(add_months(inv.period, 1) - timedelta(days=1)),
                    "xero_lineid": "" if missing else xl["LineItemID"],
                }
            )
        return {
            "id": inv.halo_id,
            "invoicenumber": inv.number,
            "thirdpartyinvoicenumber": "" if missing else inv.number,
            "reference": inv.key,
            "client_id": client.id,
            "client_name": client.name,
            "invoice_date": halo_dt(inv.date),
            "duedate": halo_dt(inv.date + timedelta(days=PAYMENT_TERMS_DAYS)),
            "date_created": halo_dt(posted - timedelta(minutes=5)),
            "last_modified": halo_dt(posted),
            "last_synced": EMPTY_DATE if missing else halo_dt(posted),
            "period_start_date": halo_dt(inv.period),
            "period_end_date": halo_dt(add_months(inv.period, 1) - timedelta(days=1)),
            "total": x["Total"],
            "revenue": x["SubTotal"],
            "tax_total": x["TotalTax"],
            "amountpaid": ZERO,
            "amountdue": x["Total"],
            "paymentstatus": HALO_UNPAID,
            "posted": True,
            "dateposted": halo_dt(posted),
            "xeroid": "" if missing else x["InvoiceID"],
            "xero_tenant_id": TENANT_ID,
            "xero_status": "" if missing else "AUTHORISED",
            "currency_code_iso": inv.currency,
            "lines": lines,
        }

    def _halo(self, msp: DemoMsp) -> dict[str, list[dict[str, Any]]]:
        g = self.g
        created = halo_dt(datetime.combine(g.history_start - timedelta(days=400), time(9)))
        contracts_by_client = {c.id: g.index.in_force(c.id, g.today) for c in g.clients}
        clients = []
        sites = []
        assets: list[dict[str, Any]] = []
        recurring: list[dict[str, Any]] = []
        site_names = {}
        for c in g.clients:
            current = contracts_by_client[c.id]
            clients.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "ref": f"C{c.id}",
                    "toplevel_id": 1,
                    "toplevel_name": "Clients",
                    "datecreated": created,
                    "paymentterms": PAYMENT_TERMS_DAYS,
                    "taxable": c.tax_type != "NONE",
                    "currencyisocode": c.currency,
                    "xeroid": c.contact_id,
                    "accountsid": str(c.id),
                    "xero_tenant_id": TENANT_ID,
                    "accountsemailaddress": f"accounts@{c.name.split()[0].lower()}{c.id}.example",
                    "default_contract": current.id if current else 0,
                    "is_vip": c.users > 100,
                }
            )
            for n, site_id in enumerate(c.site_ids):
                name = "Head Office" if n == 0 else f"Branch {n}"
                site_names[site_id] = name
                sites.append(
                    {
                        "id": site_id,
                        "name": name,
                        "client_id": c.id,
                        "client_name": c.name,
                        "timezone": c.timezone,
                        "isinvoicesite": n == 0,
                    }
                )
            kinds = [
                ("Workstation", 1, c.workstations, "WS"),
                ("Server", 2, c.servers, "SRV"),
                ("Firewall", 3, 1, "FW"),
            ]
            for type_name, type_id, count, prefix in kinds:
                for k in range(count):
                    assets.append(
                        {
                            "id": len(assets) + 1,
                            "inventory_number": f"C{c.id}-{prefix}{k + 1:03d}",
                            "key_field": f"{prefix}-{c.id}-{k + 1:03d}".lower(),
                            "client_id": c.id,
                            "client_name": c.name,
                            "site_id": c.site_ids[0],
                            "site_name": "Head Office",
                            "assettype_id": type_id,
                            "assettype_name": type_name,
                            "contract_id": current.id if current else 0,
                            "contract_ref": current.ref if current else "",
                            # last updated when the asset was recorded, as HaloPSA stamps it
                            "dlastupdate": halo_dt(g.history_start),
                        }
                    )
            rid = len(recurring) + 1
            recurring.append(
                {
                    "id": rid,
                    "client_id": c.id,
                    "client_name": c.name,
                    "invoicenumber": f"RI-{c.id}",
                    "reference": f"Monthly services {c.name}",
                    "startdate": halo_dt(g.history_start - timedelta(days=365)),
                    "nextcreationdate": halo_dt(add_months(g.this_month, 1)),
                    "lastcreated": halo_dt(g.this_month),
                    "period": 1,
                    "period_type": 2,
                    "lines": [
                        {
                            "id": rid * 100 + n,
                            "ihid": rid,
                            "item_code": r["item_code"],
                            "item_shortdescription": ITEMS[r["item_code"]].name,
                            "qty_order": r["quantity"],
                            "unit_price": r["unit_amount"],
                            "unit_cost": r["unit_cost"],
                            "tax_code": c.tax_type,
                            "nominal_code": ITEMS[r["item_code"]].account,
                            "recurring_invoice_quantity_type": r["count_source"],
                        }
                        for n, r in enumerate(c.recurring, start=1)
                    ],
                }
            )
        contracts = [self._halo_contract(c) for c in g.contracts]
        prepay: list[dict[str, Any]] = []
        for contract_id, rows in self.biller.ledger.items():
            contract = g.index.by_id[contract_id]
            client = g.by_client[contract.client_id]
            for day, amount, why, inv in rows:
                if amount <= 0:
                    continue
                prepay.append(
                    {
                        "id": len(prepay) + 1,
                        "client_id": client.id,
                        "client_name": client.name,
                        "contract_id": contract_id,
                        "date": halo_dt(day),
                        "amount": amount,
                        "description": why,
                        "invoice_number": inv.number if inv else "",
                        "invoice_id": str(inv.halo_id) if inv else "",
                        "invoicedate": halo_dt(inv.date) if inv else EMPTY_DATE,
                    }
                )
        tickets = [self._halo_ticket(t, site_names) for t in g.work.tickets]
        actions = self._halo_actions()
        expenses = []
        inv_by = {(i.client_id, i.period): i for i in self.invoices}
        for exp in g.expenses:
            inv = inv_by.get((exp["client_id"], exp["period"])) if exp["period"] else None
            expenses.append(
                {
                    "id": exp["id"],
                    "agent_id": exp["agent_id"],
                    "fault_id": exp["ticket_id"],
                    "actionnumber": exp["action_id"],
                    "description": exp["description"],
                    "amount": exp["amount"],
                    "type_name": "Parking",
                    "date_added": halo_dt(datetime.combine(exp["day"], time(17))),
                    "date_invoiced": halo_dt(inv.date) if inv else EMPTY_DATE,
                    "invoiceable": True,
                    "ihid": inv.halo_id if inv else 0,
                    "client_id": exp["client_id"],
                    "client_name": g.by_client[exp["client_id"]].name,
                }
            )
        holidays_ = [
            {
                "id": guid(0x40, n),
                "holid": n,
                "workday_id": 1,
                "date": halo_dt(day),
                "end_date": halo_dt(day),
                "allday": True,
                "name": name,
                "duration": D("1.0"),
            }
            for n, (day, name) in enumerate(g.cal.holiday_names(), start=1)
        ]
        workday = [
            {
                "id": 1,
                "name": "Standard Hours",
                "timezone": "Europe/London",
                "start": "1900-01-01T08:30:00",
                "end": "1900-01-01T17:30:00",
            }
        ]
        return {
            "client": clients,
            "site": sites,
            "agent": halo_agents(g.agents),
            "tickets": tickets,
            "actions": actions,
            "clientcontract": contracts,
            "chargerate": g.book.halo_rows(g.today),
            "lookup": halo_charge_types(),
            "recurringinvoice": recurring,
            "item": halo_items(),
            "asset": assets,
            "expense": expenses,
            "holiday": holidays_,
            "workday": workday,
            "clientprepay": prepay,
            "invoice": [self.h_inv[id(i)] for i in self.invoices],
        }

    def _halo_contract(self, c: Any) -> dict[str, Any]:
        g = self.g
        client = g.by_client[c.client_id]
        active = c.start <= g.today < c.end
        balance = self.biller.balance.get(c.id, ZERO)
        return {
            "id": c.id,
            "ref": c.ref,
            "client_id": client.id,
            "client_name": client.name,
            "site_id": client.site_ids[0],
            "contracttype": list(KIND_NAMES).index(c.kind) + 1,
            "contracttype_name": KIND_NAMES[c.kind],
            "status": 1 if active else 2,
            "contract_status": "Active" if active else "Expired" if c.end <= g.today else "Pending",
            "active": active,
            "started": c.start <= g.today,
            "expired": c.end <= g.today,
            "start_date": halo_dt(c.start),
            "end_date": halo_dt(c.end - timedelta(days=1)),
            "termmonths": c.term_months,
            "previouscontract": c.previous,
            "billingperiod": 1,
            "billing_period_string": "Monthly",
            "periodchargeamount": c.fee,
            "numberofunitsfree": c.hours_per_period,
            "chargehoursperperiod": c.hours_per_period,
            "chargerollover": False,
            "allowfixedprice": c.kind == "fixed_price",
            "allowpyg": c.kind in ("payg", "allowance") or c.on_exhausted == "payg",
            "allowprepay": c.kind == "prepay",
            "contract_prepayasamount": c.kind == "prepay",
            "contract_prepaytotal": sum(
                (a for _, a, _, _ in self.biller.ledger.get(c.id, []) if a > 0), ZERO
            ),
            "contract_prepaybalance": balance,
            "next_invoice_date": halo_dt(add_months(g.this_month, 1)) if active else EMPTY_DATE,
            "last_modified": halo_dt(datetime.combine(c.start - timedelta(days=14), time(11))),
        }

    def _halo_ticket(self, t: Any, site_names: dict[int, str]) -> dict[str, Any]:
        g = self.g
        client = g.by_client[t.client_id]
        opened = g.cal.to_utc(t.opened) if t.opened.date() in g.cal.offset else t.opened
        closed = g.cal.to_utc(t.closed) if t.closed else None
        contract = g.index.by_id.get(t.contract_id)
        types = {
            "remote": (1, "Incident"),
            "onsite": (3, "Site Visit"),
            "project": (4, "Project Task"),
            "emergency": (2, "Major Incident"),
        }
        type_id, type_name = types[t.kind]
        return {
            "id": t.id,
            "summary": t.summary,
            "details": f"{t.summary}. Reported by the customer.",
            "tickettype_id": type_id,
            "tickettype_name": type_name,
            "status_id": 9 if closed else 2,
            "status_name": "Closed" if closed else "In Progress",
            "client_id": client.id,
            "client_name": client.name,
            "site_id": t.site_id,
            "site_name": site_names.get(t.site_id, ""),
            "agent_id": t.agent_id,
            "category_1": t.category,
            "dateoccurred": halo_dt(opened),
            "datecreated": halo_dt(opened),
            "dateclosed": halo_dt(closed) if closed else EMPTY_DATE,
            "last_update": halo_dt(closed or opened),
            "contract_id": t.contract_id,
            "contract_ref": contract.ref if contract else "",
            "chargerate": {"remote": 1, "onsite": 2, "project": 3, "emergency": 5}[t.kind],
        }

    def _halo_actions(self) -> list[dict[str, Any]]:
        g = self.g
        names = {a.id: a.name for a in g.agents}
        states = self.biller.states
        refs = {c.id: c.ref for c in g.contracts}
        to_utc = g.cal.to_utc
        sixty = D(60)
        out = []
        for e in g.work.entries:
            start = to_utc(e.start)
            end = start + timedelta(minutes=e.minutes)
            state = states.get(e.key)
            inv = state.invoice if state is not None else None
            number = inv.number if inv is not None else ""
            rec = {
                "id": e.action_id,
                "ticket_id": e.ticket_id,
                "who": names[e.agent_id],
                "who_agentid": e.agent_id,
                "outcome": e.outcome,
                "note": e.note,
                "datetime": halo_dt(start),
                "actionarrivaldate": halo_dt(start),
                "actioncompletiondate": halo_dt(end),
                "actiondatecreated": halo_dt(end),
                "last_updated": halo_dt(end),
                "timetaken": D(e.minutes) / sixty,
                "nonbilltime": D(e.nonbill) / sixty,
                "chargerate": e.ct,
                "actisbillable": e.ct != 0,
                "actioncontractid": e.contract_id,
                "action_contract_id": e.contract_id,
                "action_contract_ref": refs.get(e.contract_id, ""),
                "actioninvoicenumber": number,
                "invoice_id": inv.halo_id if inv is not None else 0,
            }
            if e.travel:
                rec["traveltime"] = D(e.travel) / sixty
                rec["travel_chargerate"] = TRAVEL
                rec["actiontravelinvoicenumber"] = number
            if e.miles:
                rec["mileage"] = D(e.miles)
                rec["actionmileageinvoicenumber"] = number
            if state is not None and state.state == "covered" and state.drawn:
                contract = g.index.by_id[state.contract_id]
                if contract.kind == "prepay":
                    rec["actionprepayamount"] = state.drawn
                else:
                    rec["actionprepayhours"] = state.drawn
            out.append(rec)
        return out

    # -- quotes ---------------------------------------------------------------------------------------
    def _quotes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        g = self.g
        halo, xero = [], []
        soon = g.today + timedelta(days=60)
        wanted = []
        for c in g.contracts:
            if g.today < c.end <= soon and c.client_id not in self.quote_skip:
                wanted.append((c, "renewal"))
        project_clients = sorted(g.work.project_clients)[: max(1, len(g.clients) // 12)]
        for cid in project_clients:
            current = g.index.in_force(cid, g.today)
            if current is not None:
                wanted.append((current, "project"))
        for n, (c, why) in enumerate(wanted, start=1):
            client = g.by_client[c.client_id]
            dated = g.today - timedelta(days=12 + n % 9)
            expiry = dated + timedelta(days=30)
            if why == "renewal":
                title = f"Renewal of {c.ref} ({KIND_NAMES[c.kind]}), 12 months"
                fee = c.fee if c.fee else q2(D(c.lot_size or 1000))
                item, qty, unit = (
                    (
                        "FEE-FIXED"
                        if c.kind == "fixed_price"
                        else "FEE-ALLOW"
                        if c.kind == "allowance"
                        else "PREPAY"
                    ),
                    D(12),
                    q2(fee * D("1.04")),
                )
            else:
                title = "Server and storage refresh"
                item, qty, unit = "CONSULT", D(6), q2(ITEMS["CONSULT"].price * FX[client.currency])
            net = q2(qty * unit)
            tax = q2(net * TAX_PERCENT[client.tax_type] / 100)
            halo.append(
                {
                    "id": n,
                    "title": title,
                    "client_id": client.id,
                    "client_name": client.name,
                    "site_id": client.site_ids[0],
                    "status": 1,
                    "date": halo_dt(dated),
                    "expiry_date": halo_dt(expiry),
                    "revenue": net,
                    "tax_total": tax,
                    "total": net + tax,
                    "third_party_number": f"QU-{n:04d}",
                    "lines": [
                        {
                            "id": n * 10,
                            "productcode": item,
                            "name": ITEMS[item].name,
                            "baseprice": unit,
                            "quantity": qty,
                            "contract_id": c.id,
                        }
                    ],
                }
            )
            xero.append(
                {
                    "QuoteID": guid(0x1D, n),
                    "QuoteNumber": f"QU-{n:04d}",
                    "Reference": f"halopsa:quote:{n}",
                    "Title": title[:100],
                    "Contact": {"ContactID": client.contact_id, "Name": client.name},
                    "Date": xero_date(dated),
                    "DateString": f"{dated.isoformat()}T00:00:00",
                    "ExpiryDate": xero_date(expiry),
                    "ExpiryDateString": f"{expiry.isoformat()}T00:00:00",
                    "Status": "SENT",
                    "LineAmountTypes": "EXCLUSIVE",
                    "CurrencyCode": client.currency,
                    "CurrencyRate": FX[client.currency],
                    "LineItems": [
                        {
                            "LineItemID": guid(0x1E, n),
                            "Description": title,
                            "Quantity": qty,
                            "UnitAmount": unit,
                            "ItemCode": item,
                            "AccountCode": ITEMS[item].account,
                            "TaxType": client.tax_type,
                            "LineAmount": net,
                            "TaxAmount": tax,
                        }
                    ],
                    "SubTotal": net,
                    "TotalTax": tax,
                    "Total": net + tax,
                    "TotalDiscount": ZERO,
                    "UpdatedDateUTC": xero_stamp(datetime.combine(dated, time(15))),
                }
            )
        return halo, xero

    # -- planted problems on the books ----------------------------------------------------------------
    def _subject_inv(self, inv: Invoice, halo: bool = True, xero: bool = True) -> list[str]:
        out = []
        if xero:
            out.append(f"xero:invoice:{guid(0x1A, inv.halo_id)}")
        if halo:
            out.append(f"halopsa:invoice:{inv.halo_id}")
        return out

    def _add(self, code: str, subjects: list[str], amount: Decimal, note: str) -> None:
        self.manifest.append({"code": code, "subjects": subjects, "amount": money(amount), "note": note})

    def _manifest_billing(self, stale: dict[str, Any] | None, margin: dict[str, Any] | None) -> None:
        if stale:
            contracts = sorted({c.id for _, c, _ in stale["patched"]})
            total = sum((d for _, _, d in stale["patched"]), ZERO)
            self._add(
                "contract.billed_vs_contracted",
                [f"halopsa:contract:{c}" for c in contracts]
                + [f"xero:invoice:{guid(0x1A, inv.halo_id)}" for inv, _, _ in stale["patched"]],
                total,
                "fixed fee billed below the contract's periodchargeamount; amount = shortfall, net",
            )
        if margin:
            cid = self.g.roles["negative_margin"]
            self._add(
                "profit.negative_margin",
                [f"halopsa:client:{cid}"],
                margin["revenue"] - margin["cost"],
                "12 closed months: net revenue (GBP) minus labour, mileage, expense and supplier cost",
            )

    def _plant_books(self, msp: DemoMsp) -> None:
        g = self.g
        plan = self.plan
        edit_at = datetime.combine(g.today - timedelta(days=9), time(14, 12))
        if "drift" in plan:
            inv = plan["drift"]
            x = self.x_inv[id(inv)]
            before = x["Total"]
            target = next(
                (li for li in x["LineItems"] if li["ItemCode"].startswith("LAB-")), x["LineItems"][0]
            )
            target["UnitAmount"] = (target["UnitAmount"] * D("0.9")).quantize(D("0.0001"))
            target["Description"] += " (10% goodwill discount)"
            xero_totals(x)
            x["UpdatedDateUTC"] = xero_stamp(edit_at)
            self._add(
                "xero.drift",
                self._subject_inv(inv),
                x["Total"] - before,
                "edited in Xero after posting; amount = Xero total now - posted total",
            )
        if "voided" in plan:
            inv = plan["voided"]
            x = self.x_inv[id(inv)]
            x["Status"] = "VOIDED"  # AmountDue stays as it was, as the Xero simulator reports it
            x["UpdatedDateUTC"] = xero_stamp(edit_at + timedelta(hours=1))
            self._add(
                "xero.drift",
                self._subject_inv(inv),
                -x["Total"],
                "voided in Xero after posting; amount = minus the voided total",
            )
        if plan.get("overdue"):
            invs = plan["overdue"]
            self._add(
                "payment.overdue",
                [f"xero:invoice:{guid(0x1A, i.halo_id)}" for i in invs],
                sum((self.x_inv[id(i)]["AmountDue"] for i in invs), ZERO),
                "unpaid past due date; amount = sum of AmountDue (invoice currency)",
            )
        if "missing" in plan:
            inv = plan["missing"]
            self._add(
                "halopsa.invoice_missing_in_xero",
                [f"halopsa:invoice:{inv.halo_id}"],
                self.h_inv[id(inv)]["total"],
                "HaloPSA invoice never reached Xero; amount = its total",
            )
        if "mismatch" in plan:
            inv = plan["mismatch"]
            h = self.h_inv[id(inv)]
            line = next((ln for ln in h["lines"] if ln["item_code"] in ("M365-BP", "MONITOR")), h["lines"][0])
            line["qty_order"] += 1
            halo_totals(h)
            h["last_modified"] = halo_dt(edit_at)
            x = self.x_inv[id(inv)]
            self._add(
                "amount.mismatch",
                self._subject_inv(inv),
                h["total"] - x["Total"],
                "HaloPSA invoice edited after posting; amount = HaloPSA total - Xero total",
            )
            if h["amountpaid"]:
                h["amountdue"] = h["total"] - h["amountpaid"]
        cid = g.roles.get("no_contract")
        if cid is not None:
            client = g.by_client[cid]
            day = add_months(g.last_month, -2) + timedelta(days=14)
            unit = q2(ITEMS["CONSULT"].price * FX[client.currency])
            x = {
                "Type": "ACCREC",
                "InvoiceID": guid(0x1F, 1),
                "InvoiceNumber": "INV-M0001",
                "Reference": "Ad hoc consultancy",
                "Contact": {"ContactID": client.contact_id, "Name": client.name},
                "Date": xero_date(day),
                "DateString": f"{day.isoformat()}T00:00:00",
                "DueDate": xero_date(day + timedelta(days=30)),
                "DueDateString": f"{(day + timedelta(days=30)).isoformat()}T00:00:00",
                "Status": "AUTHORISED",
                "LineAmountTypes": "Exclusive",
                "CurrencyCode": client.currency,
                "CurrencyRate": FX[client.currency],
                "AmountPaid": ZERO,
                "AmountCredited": ZERO,
                "Payments": [],
                "HasAttachments": False,
                "UpdatedDateUTC": xero_stamp(datetime.combine(day, time(16))),
                "LineItems": [
                    {
                        "LineItemID": guid(0x1F, 2),
                        "Description": "Consultancy day: network review",
                        "Quantity": D("1.0000"),
                        "UnitAmount": unit,
                        "ItemCode": "CONSULT",
                        "AccountCode": ITEMS["CONSULT"].account,
                        "TaxType": client.tax_type,
                        "Tracking": [],
                    }
                ],
            }
            xero_totals(x)
            msp.xero["Invoices"].append(x)
            paid_on = day + timedelta(days=20)
            msp.xero["Payments"].append(
                {
                    "PaymentID": guid(0x1F, 3),
                    "Date": xero_date(paid_on),
                    "Amount": x["Total"],
                    "BankAmount": q2(x["Total"] / x["CurrencyRate"]),
                    "CurrencyRate": x["CurrencyRate"],
                    "Reference": "BACS INV-M0001",
                    "Status": "AUTHORISED",
                    "PaymentType": "ACCRECPAYMENT",
                    "IsReconciled": True,
                    "Account": {"AccountID": guid(0xA1, 1), "Code": "090"},
                    "Invoice": {"InvoiceID": x["InvoiceID"], "InvoiceNumber": "INV-M0001"},
                    "UpdatedDateUTC": xero_stamp(datetime.combine(paid_on, time(10))),
                }
            )
            x.update(
                Status="PAID",
                AmountPaid=x["Total"],
                AmountDue=ZERO,
                FullyPaidOnDate=xero_date(paid_on),
                Payments=[{"PaymentID": guid(0x1F, 3), "Date": xero_date(paid_on), "Amount": x["Total"]}],
            )
            self._add(
                "invoice.no_contract",
                [f"xero:invoice:{x['InvoiceID']}", f"xero:contact:{client.contact_id}"],
                x["SubTotal"],
                "raised by hand in Xero, matching no contract or HaloPSA invoice; amount = net",
            )
        cid = g.roles.get("renewal_no_quote")
        if cid is not None:
            contract = g.index.in_force(cid, g.today)
            assert contract is not None
            self._add(
                "renewal.no_quote",
                [f"halopsa:contract:{contract.id}"],
                contract.fee * 12,
                f"contract ends {contract.end.isoformat()} with no quote; amount = 12 x monthly fee",
            )

    def _manifest_work(self) -> None:
        g = self.g
        p = g.planted
        rater = g.rater

        def parts(entries: list[Entry], contract_id: int = -1) -> Decimal:
            rows = []
            for e in entries:
                rated = rater.labour(e, e.contract_id if contract_id < 0 else contract_id)
                if rated:
                    rows.append(("labour", e.ct, e.cls, rated.hours, rated.unit))
            return group_value(rows)

        def acts(entries: list[Entry]) -> list[str]:
            return [f"halopsa:action:{e.ticket_id}/{e.action_id}" for e in entries]

        if "unbilled" in p:
            es = p["unbilled"]["entries"]
            self._add(
                "time.unbilled",
                acts(es),
                parts(es),
                "billable time in a closed month never invoiced; amount = net value at the rates in force",
            )
        if "billed_twice" in p:
            es = p["billed_twice"]["entries"]
            by = {(i.client_id, i.period): i for i in self.invoices}
            first = by[(es[0].client_id, p["billed_twice"]["first"])]
            second = by[(es[0].client_id, p["billed_twice"]["second"])]
            self._add(
                "time.billed_twice",
                [
                    *acts(es),
                    f"xero:invoice:{guid(0x1A, first.halo_id)}",
                    f"xero:invoice:{guid(0x1A, second.halo_id)}",
                ],
                parts(es),
                "the same time on two invoices; amount = net value billed the second time",
            )
        if "outside_contract" in p:
            es = p["outside_contract"]["entries"]
            self._add(
                "time.outside_contract",
                [*acts(es), f"halopsa:contract:{p['outside_contract']['contract']}"],
                parts(es, 0),
                "time logged against an expired contract, not invoiced; amount = net value "
                "at pay-as-you-go rates",
            )
        if "allowance_overrun" in p and p["allowance_overrun"].get("parts"):
            info = p["allowance_overrun"]
            self._add(
                "allowance.overrun",
                [f"halopsa:contract:{info['contract'].id}", *acts(info["entries"])],
                group_value(info["parts"]),
                "hours beyond the monthly allowance, overage not invoiced; amount = net overage value",
            )
        for role, code in (
            ("prepay_below", "prepay.below_threshold"),
            ("prepay_negative", "prepay.negative"),
        ):
            if role in p:
                info = p[role]
                contract = info["contract"]
                self._add(
                    code,
                    [f"halopsa:contract:{contract.id}", *acts([info["entry"]])],
                    info["balance"],
                    "prepay money balance at the end of the last closed month (threshold "
                    f"{contract.threshold}); the action named is the draw that crossed it",
                )


def facts(g: Generation, biller: Biller) -> dict[str, Any]:
    """What a cost model and a rating check need that HaloPSA does not hold."""
    contracts = []
    for c in g.contracts:
        contracts.append(
            {
                "id": c.id,
                "client_id": c.client_id,
                "ref": c.ref,
                "kind": c.kind,
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
                "previous": c.previous,
                "fee": str(c.fee),
                "billing": "monthly",
                "timing": "advance",
                "covers": list(COVERS[c.kind]),
                "hours_per_period": str(c.hours_per_period),
                "period": "monthly",
                "rollover": False,
                "prepay": (
                    {
                        "unit": "money",
                        "threshold": str(c.threshold),
                        "on_exhausted": c.on_exhausted,
                        "lot_size": str(c.lot_size),
                        "opening_balance": str(c.lot_size),
                        "opening_date": (g.history_start - timedelta(days=1)).isoformat(),
                        "balance_today": str(biller.balance.get(c.id, ZERO)),
                    }
                    if c.kind == "prepay"
                    else None
                ),
                "service_line": "Managed Services" if c.kind != "payg" else "Support",
            }
        )
    return {
        "_keys": {
            "currency": "the MSP's home currency",
            "periods": "history (12 closed months) and the open month",
            "calendar": "working hours and holidays used to class all work (every client)",
            "billing_settings": "billing-rules settings the clean history was billed with",
            "agents": "salary, on-cost rate, productive hours and loaded hourly cost per agent",
            "overheads": "monthly overhead pool by Xero account (also in Xero ProfitAndLossRows)",
            "service_lines": "service line of each charge type, item and contract kind",
            "contracts": "each contract's kind, term [start, end), fee, coverage, allowance, prepay terms",
            "clients": "country, currency, tax type, users and timezone per client",
            "recurring": "recurring charges per client: item, quantity, count source, price, supplier cost",
            "ratebook": "every rate row: scope, charge type, effective date, price and rounding fields",
            "fx": "units of each currency per GBP, used for every foreign invoice and payment",
            "mileage_rate": "GBP per mile (converted at fx for other currencies)",
            "expense_markup_percent": "markup on recharged expenses",
            "roles": "which client carries which planted problem (present also when nothing is planted)",
        },
        "currency": "GBP",
        "periods": {
            "history_start": g.history_start.isoformat(),
            "history_end": g.this_month.isoformat(),
            "open_period_start": g.this_month.isoformat(),
            "today": g.today.isoformat(),
        },
        "calendar": {
            "timezone": "Europe/London",
            "working_hours": {"mon-fri": ["08:30", "17:30"]},
            "holidays": {"country": "GB", "subdivision": "ENG"},
            "applies_to": "all clients",
        },
        "billing_settings": {
            "rounding_scope": "entry",
            "ooh_mode": "split",
            "presentation": "summary",
            "show_covered_work": False,
            "money_rounding": "half_up",
            "period": "monthly",
            "invoice_date": "first day of the next month",
            "payment_terms_days": PAYMENT_TERMS_DAYS,
            "line_amount_types": "Exclusive",
            "prepay_money_draw": "round2(billed_hours x unit)",
            "travel_uses_multipliers": False,
            "invoice_reference": "revloop:c<client>:all:<period>",
        },
        "agents": [
            {
                "id": a.id,
                "name": a.name,
                "role": a.role,
                "title": ROLES[a.role][0],
                "salary": str(a.salary),
                "on_cost_rate": str(ON_COST_RATE),
                "productive_hours": str(PRODUCTIVE_HOURS),
                "hourly_cost": str(a.hourly_cost),
            }
            for a in g.agents
        ],
        "overheads": {
            "accounts": ["469", "489", "445", "429", "493"],
            "note": "monthly: {YYYY-MM: {account: amount}} as in Xero ProfitAndLossRows; pool_total: sum",
        },
        "service_lines": {
            "charge_types": {str(ct.id): ct.service_line for ct in CHARGE_TYPES.values()},
            "items": {code: item.service_line for code, item in ITEMS.items()},
            "contract_kinds": {
                "payg": "Support",
                "fixed_price": "Managed Services",
                "allowance": "Managed Services",
                "prepay": "Managed Services",
            },
        },
        "contracts": contracts,
        "clients": {
            str(c.id): {
                "country": c.country,
                "currency": c.currency,
                "tax_type": c.tax_type,
                "users": c.users,
                "timezone": c.timezone,
                "kind": g.kinds[c.id],
            }
            for c in g.clients
        },
        "recurring": {
            str(c.id): [
                {k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in c.recurring
            ]
            for c in g.clients
        },
        "ratebook": g.book.facts(),
        "fx": {k: str(v) for k, v in FX.items()},
        "mileage_rate": str(MILEAGE_RATE),
        "expense_markup_percent": "0",
        "roles": dict(sorted(g.roles.of.items())),
        "organisation": ORG_NAME,
    }

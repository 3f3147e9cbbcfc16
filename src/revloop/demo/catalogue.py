"""What the demo MSP sells and how it is priced: charge types with dated rate rows (global, customer
and contract scope), catalogue items, and the Xero organisation's settings (UK chart of accounts, VAT
rates, currencies, tracking categories)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .model import EMPTY_DATE, guid, halo_dt, q4

D = Decimal

# Halo charge types (Lookup rows with lookupid 17); id 0 on an action means "no charge".
REMOTE, ONSITE, PROJECT, TRAVEL, EMERGENCY = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class ChargeType:
    id: int
    name: str
    item_code: str
    account: str
    service_line: str


CHARGE_TYPES: dict[int, ChargeType] = {
    REMOTE: ChargeType(REMOTE, "Remote Support", "LAB-REMOTE", "200", "Support"),
    ONSITE: ChargeType(ONSITE, "On-site Support", "LAB-ONSITE", "200", "Support"),
    PROJECT: ChargeType(PROJECT, "Project Work", "LAB-PROJECT", "202", "Projects"),
    TRAVEL: ChargeType(TRAVEL, "Travel", "LAB-TRAVEL", "200", "Support"),
    EMERGENCY: ChargeType(EMERGENCY, "After-hours Emergency", "LAB-EMERG", "200", "Support"),
}

ROUND_CODES = {"nearest": 0, "up": 1, "down": 2}  # ChargeRate.round as this tenant uses it


@dataclass(frozen=True)
class Rate:
    """A rate row with every field set (what the billing rules call a resolved row)."""

    effective_from: date
    hourly_rate: Decimal
    minimum_minutes: int
    increment_minutes: int
    rounding: str
    ooh_multiplier: Decimal
    weekend_multiplier: Decimal
    holiday_multiplier: Decimal
    overage_multiplier: Decimal
    prepay_multiplier: Decimal

    def multiplier(self, work_class: str) -> Decimal:
        if work_class == "ooh":
            return self.ooh_multiplier
        if work_class == "weekend":
            return self.weekend_multiplier
        if work_class == "holiday":
            return self.holiday_multiplier
        return Decimal(1)

    def unit(self, work_class: str) -> Decimal:
        return q4(self.hourly_rate * self.multiplier(work_class))


# charge type: (min, increment, rounding, ooh, weekend, holiday, overage, prepay), [(from, GBP rate)]
_RULES: dict[int, tuple[int, int, str, str, str, str, str, str]] = {
    REMOTE: (15, 15, "nearest", "1.5", "1.5", "2.0", "1.25", "1"),
    ONSITE: (60, 15, "up", "1.5", "1.5", "2.0", "1.25", "2"),
    PROJECT: (0, 30, "nearest", "1.5", "1.5", "2.0", "1", "1"),
    TRAVEL: (0, 15, "up", "1", "1", "1", "1", "1"),
    EMERGENCY: (60, 30, "up", "1", "1", "1.5", "1", "1"),
}
GLOBAL_PRICES: dict[int, list[tuple[date, str]]] = {
    REMOTE: [(date(2025, 4, 1), "90.00"), (date(2026, 4, 1), "95.00")],
    ONSITE: [(date(2025, 4, 1), "110.00"), (date(2026, 4, 1), "115.00")],
    PROJECT: [(date(2025, 4, 1), "120.00"), (date(2026, 4, 1), "125.00")],
    TRAVEL: [(date(2025, 4, 1), "45.00")],
    EMERGENCY: [(date(2025, 4, 1), "150.00"), (date(2026, 6, 1), "160.00")],
}

FX = {"GBP": D("1"), "AUD": D("1.95"), "NZD": D("2.15"), "USD": D("1.27")}  # units per GBP
MILEAGE_RATE = D("0.45")  # GBP per mile
EXPENSE_MARKUP_PERCENT = D("0")


def in_currency(gbp: Decimal, currency: str) -> Decimal:
    """A GBP price list figure in another currency, rounded to a whole 5 (how the MSP prices)."""
    if currency == "GBP":
        return gbp
    value = gbp * FX[currency]
    return (value / 5).quantize(D("1")) * 5


def make_rate(ct: int, start: date, price: Decimal) -> Rate:
    minimum, increment, rounding, ooh, weekend, holiday, overage, prepay = _RULES[ct]
    return Rate(
        start, price, minimum, increment, rounding, D(ooh), D(weekend), D(holiday), D(overage), D(prepay)
    )


class RateBook:
    """Rate rows at three scopes; the narrowest scope with a row in force wins (billing rules §2)."""

    def __init__(self) -> None:
        self.global_rows: dict[int, list[Rate]] = {}
        self.customer_rows: dict[tuple[int, int], list[Rate]] = {}
        self.contract_rows: dict[tuple[int, int], list[Rate]] = {}
        self._cache: dict[tuple[int, int, int, date], tuple[str, Rate]] = {}

    @staticmethod
    def _add(table: dict[Any, list[Rate]], key: Any, rate: Rate) -> None:
        rows = table.setdefault(key, [])
        rows.append(rate)
        rows.sort(key=lambda r: r.effective_from)

    def add_global(self, ct: int, rate: Rate) -> None:
        self._add(self.global_rows, ct, rate)

    def add_customer(self, client_id: int, ct: int, rate: Rate) -> None:
        self._add(self.customer_rows, (client_id, ct), rate)

    def add_contract(self, contract_id: int, ct: int, rate: Rate) -> None:
        self._add(self.contract_rows, (contract_id, ct), rate)

    @staticmethod
    def _in_force(rows: list[Rate] | None, day: date) -> Rate | None:
        if not rows:
            return None
        index = bisect_right([r.effective_from for r in rows], day)
        return rows[index - 1] if index else None

    def resolve(self, client_id: int, contract_id: int, ct: int, day: date) -> tuple[str, Rate]:
        key = (client_id, contract_id, ct, day)
        found = self._cache.get(key)
        if found is None:
            row = self._in_force(self.contract_rows.get((contract_id, ct)), day)
            scope = "contract"
            if row is None:
                row, scope = self._in_force(self.customer_rows.get((client_id, ct)), day), "customer"
            if row is None:
                row, scope = self._in_force(self.global_rows.get(ct), day), "global"
            if row is None:
                raise LookupError(f"no rate for charge type {ct} on {day}")
            found = self._cache[key] = (scope, row)
        return found

    def halo_rows(self, today: date) -> list[dict[str, Any]]:
        """``/ChargeRate`` records: area = client id (0 global), contract_id, charge_id; minutes."""
        out: list[dict[str, Any]] = []
        scoped: list[tuple[int, int, int, list[Rate]]] = [
            (0, 0, ct, rows) for ct, rows in self.global_rows.items()
        ]
        scoped += [(client, 0, ct, rows) for (client, ct), rows in self.customer_rows.items()]
        scoped += [(0, contract, ct, rows) for (contract, ct), rows in self.contract_rows.items()]
        for area, contract, ct, rows in scoped:
            for index, rate in enumerate(rows):
                nxt = rows[index + 1].effective_from if index + 1 < len(rows) else None
                current = rate.effective_from <= today and (nxt is None or today < nxt)
                out.append(
                    {
                        "id": len(out) + 1,
                        "area": area,
                        "contract_id": contract,
                        "charge_id": ct,
                        "startdate": halo_dt(rate.effective_from),
                        "expirydate": EMPTY_DATE,
                        "current": current,
                        "rate": rate.hourly_rate,
                        "current_rate": rate.hourly_rate,
                        "minimum": D(rate.minimum_minutes),
                        "increment": D(rate.increment_minutes),
                        "round": ROUND_CODES[rate.rounding],
                        "oohmultiplier": rate.ooh_multiplier,
                        "weekendmultiplier": rate.weekend_multiplier,
                        "holidaymultiplier": rate.holiday_multiplier,
                        "contractmultiplier": rate.overage_multiplier,
                    }
                )
        return out

    def facts(self) -> list[dict[str, Any]]:
        """The rate book in billing-rules terms (scope, ids, every field), for a later rating check."""
        rows: list[dict[str, Any]] = []

        def put(scope: str, scope_id: int, ct: int, rate: Rate) -> None:
            rows.append(
                {
                    "scope": scope,
                    "scope_id": scope_id,
                    "charge_type": ct,
                    "effective_from": rate.effective_from.isoformat(),
                    "hourly_rate": str(rate.hourly_rate),
                    "minimum_minutes": rate.minimum_minutes,
                    "increment_minutes": rate.increment_minutes,
                    "rounding": rate.rounding,
                    "ooh_multiplier": str(rate.ooh_multiplier),
                    "weekend_multiplier": str(rate.weekend_multiplier),
                    "holiday_multiplier": str(rate.holiday_multiplier),
                    "overage_multiplier": str(rate.overage_multiplier),
                    "prepay_multiplier": str(rate.prepay_multiplier),
                }
            )

        for ct, rs in sorted(self.global_rows.items()):
            for r in rs:
                put("global", 0, ct, r)
        for (client, ct), rs in sorted(self.customer_rows.items()):
            for r in rs:
                put("customer", client, ct, r)
        for (contract, ct), rs in sorted(self.contract_rows.items()):
            for r in rs:
                put("contract", contract, ct, r)
        return rows


def global_ratebook() -> RateBook:
    book = RateBook()
    for ct, prices in GLOBAL_PRICES.items():
        for start, price in prices:
            book.add_global(ct, make_rate(ct, start, D(price)))
    return book


def customer_currency_rates(book: RateBook, client_id: int, currency: str) -> None:
    """A client billed in another currency gets a full customer-scope price list in it."""
    for ct, prices in GLOBAL_PRICES.items():
        for start, price in prices:
            book.add_customer(client_id, ct, make_rate(ct, start, in_currency(D(price), currency)))


# --- catalogue items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    price: Decimal  # GBP list price
    cost: Decimal  # GBP cost per unit (what the MSP pays its supplier)
    account: str
    service_line: str
    recurring: bool = False


ITEMS: dict[str, Item] = {
    i.code: i
    for i in (
        Item("LAB-REMOTE", "Remote support (per hour)", D("95.00"), D("0"), "200", "Support"),
        Item("LAB-ONSITE", "On-site support (per hour)", D("115.00"), D("0"), "200", "Support"),
        Item("LAB-PROJECT", "Project work (per hour)", D("125.00"), D("0"), "202", "Projects"),
        Item("LAB-TRAVEL", "Travel time (per hour)", D("45.00"), D("0"), "200", "Support"),
        Item("LAB-EMERG", "After-hours emergency (per hour)", D("160.00"), D("0"), "200", "Support"),
        Item("MILEAGE", "Mileage (per mile)", D("0.45"), D("0.45"), "200", "Support"),
        Item("EXPENSES", "Recharged expenses", D("0"), D("0"), "260", "Support"),
        Item("FEE-FIXED", "Managed service agreement (monthly)", D("0"), D("0"), "201", "Managed Services"),
        Item("FEE-ALLOW", "Support hours agreement (monthly)", D("0"), D("0"), "201", "Managed Services"),
        Item("PREPAY", "Prepaid support credit", D("0"), D("0"), "201", "Managed Services"),
        Item(
            "BACKUP",
            "Cloud backup per server (monthly)",
            D("35.00"),
            D("12.00"),
            "203",
            "Cloud & Licensing",
            True,
        ),
        Item(
            "M365-BP",
            "Microsoft 365 Business Premium per user (monthly)",
            D("18.10"),
            D("15.80"),
            "203",
            "Cloud & Licensing",
            True,
        ),
        Item("HOSTING", "Hosted server (monthly)", D("120.00"), D("55.00"), "203", "Cloud & Licensing", True),
        Item(
            "MONITOR",
            "RMM monitoring & AV per device (monthly)",
            D("6.50"),
            D("2.10"),
            "201",
            "Managed Services",
            True,
        ),
        Item("CONSULT", "Consultancy day", D("850.00"), D("0"), "202", "Projects"),
    )
}


def halo_items() -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "name": item.name,
            "description": item.name,
            "internalreference": item.code,
            "externalreference": item.code,
            "baseprice": item.price,
            "costprice": item.cost,
            "recurringprice": item.price if item.recurring else Decimal("0.0"),
            "recurringcost": item.cost if item.recurring else Decimal("0.0"),
            "isrecurringitem": item.recurring,
            "nominalcode": item.account,
            "accountsid": guid(0xB1, n),
            "taxcode_name": "OUTPUT2",
        }
        for n, item in enumerate(ITEMS.values(), start=1)
    ]


def halo_charge_types() -> list[dict[str, Any]]:
    return [
        {
            "id": ct.id,
            "lookupid": 17,
            "name": ct.name,
            "sequence": ct.id,
            "linked_item": ct.item_code,
            "value2": ct.service_line,
        }
        for ct in CHARGE_TYPES.values()
    ]


# --- Xero organisation settings --------------------------------------------------------------------

ORG_NAME = "Northgate IT Services Ltd"
SERVICE_LINES = ("Support", "Managed Services", "Projects", "Cloud & Licensing")
REGIONS = {"GB": "United Kingdom", "AU": "Australia", "NZ": "New Zealand", "US": "United States"}
ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "NONE", None),
    ("200", "Sales - Support", "REVENUE", "OUTPUT2", None),
    ("201", "Sales - Managed Services", "REVENUE", "OUTPUT2", None),
    ("202", "Sales - Projects", "REVENUE", "OUTPUT2", None),
    ("203", "Sales - Cloud & Licensing", "REVENUE", "OUTPUT2", None),
    ("260", "Other Revenue", "OTHERINCOME", "OUTPUT2", None),
    ("310", "Cost of Sales - Licences", "DIRECTCOSTS", "INPUT2", None),
    ("311", "Cost of Sales - Backup & Hosting", "DIRECTCOSTS", "INPUT2", None),
    ("429", "General Expenses", "OVERHEADS", "INPUT2", None),
    ("445", "Light, Power, Heating", "OVERHEADS", "INPUT2", None),
    ("469", "Rent", "OVERHEADS", "INPUT2", None),
    ("489", "Telephone & Internet", "OVERHEADS", "INPUT2", None),
    ("493", "Travel - National", "OVERHEADS", "INPUT2", None),
    ("477", "Salaries", "EXPENSE", "NONE", None),
    ("478", "Employer NI & Pensions", "EXPENSE", "NONE", None),
    ("610", "Accounts Receivable", "CURRENT", "NONE", "DEBTORS"),
    ("800", "Accounts Payable", "CURRLIAB", "NONE", "CREDITORS"),
    ("820", "VAT", "CURRLIAB", "NONE", "GST"),
    ("860", "Rounding", "CURRLIAB", "NONE", "ROUNDING"),
]
TAX_RATES = [
    ("20% (VAT on Income)", "OUTPUT2", "OUTPUT", "20.0000"),
    ("20% (VAT on Expenses)", "INPUT2", "INPUT", "20.0000"),
    ("Zero Rated Income", "ZERORATEDOUTPUT", "OUTPUT", "0.0000"),
    ("Exempt Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "0.0000"),
    ("No VAT", "NONE", "NONE", "0.0000"),
]
TAX_PERCENT = {code: Decimal(rate) for _, code, _, rate in TAX_RATES}
CURRENCIES = [
    ("GBP", "British Pound"),
    ("AUD", "Australian Dollar"),
    ("NZD", "New Zealand Dollar"),
    ("USD", "United States Dollar"),
]
TRACKING_SERVICE_LINE = guid(0xC1, 1)
TRACKING_REGION = guid(0xC1, 2)


def tracking_option_id(category: str, name: str) -> str:
    if category == TRACKING_SERVICE_LINE:
        return guid(0xC2, SERVICE_LINES.index(name) + 1)
    return guid(0xC3, list(REGIONS.values()).index(name) + 1)


def xero_settings(tenant_id: str) -> dict[str, Any]:
    organisation = {
        "OrganisationID": tenant_id,
        "Name": ORG_NAME,
        "LegalName": ORG_NAME,
        "PaysTax": True,
        "Version": "UK",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "GBP",
        "CountryCode": "GB",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "TaxNumber": "GB 287 5512 90",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "Timezone": "GMTSTANDARDTIME",
        "ShortCode": "!nGt7x",
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "LineOfBusiness": "Managed IT services",
        "PaymentTerms": {"Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"}},
    }
    accounts = []
    for n, (code, name, kind, tax, system) in enumerate(ACCOUNTS, start=1):
        row: dict[str, Any] = {
            "AccountID": guid(0xA1, n),
            "Code": code,
            "Name": name,
            "Type": kind,
            "TaxType": tax,
            "Status": "ACTIVE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": kind == "OVERHEADS",
            "ReportingCode": "",
        }
        if kind == "BANK":
            row.update(BankAccountNumber="20456712", BankAccountType="BANK", CurrencyCode="GBP")
        if system:
            row["SystemAccount"] = system
        accounts.append(row)
    tax_rates = [
        {
            "Name": name,
            "TaxType": code,
            "ReportTaxType": report,
            "TaxComponents": [
                {"Name": "VAT", "Rate": D(rate), "IsCompound": False, "IsNonRecoverable": False}
            ],
            "Status": "ACTIVE",
            "CanApplyToRevenue": True,
            "DisplayTaxRate": D(rate),
            "EffectiveRate": D(rate),
        }
        for name, code, report, rate in TAX_RATES
    ]
    tracking = [
        {
            "TrackingCategoryID": TRACKING_SERVICE_LINE,
            "Name": "Service Line",
            "Status": "ACTIVE",
            "Options": [
                {
                    "TrackingOptionID": tracking_option_id(TRACKING_SERVICE_LINE, name),
                    "Name": name,
                    "Status": "ACTIVE",
                    "TrackingCategoryID": TRACKING_SERVICE_LINE,
                }
                for name in SERVICE_LINES
            ],
        },
        {
            "TrackingCategoryID": TRACKING_REGION,
            "Name": "Region",
            "Status": "ACTIVE",
            "Options": [
                {
                    "TrackingOptionID": tracking_option_id(TRACKING_REGION, name),
                    "Name": name,
                    "Status": "ACTIVE",
                    "TrackingCategoryID": TRACKING_REGION,
                }
                for name in REGIONS.values()
            ],
        },
    ]
    items = [
        {
            "ItemID": guid(0xB1, n),
            "Code": item.code,
            "Name": item.name[:50],
            "Description": item.name,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": item.price, "AccountCode": item.account, "TaxType": "OUTPUT2"},
        }
        for n, item in enumerate(ITEMS.values(), start=1)
    ]
    return {
        "Organisation": organisation,
        "Accounts": accounts,
        "TaxRates": tax_rates,
        "Currencies": [{"Code": c, "Description": d} for c, d in CURRENCIES],
        # the rates Xero takes for a document sent without one (its day rate), as the demo's books use
        "DayRates": {code: str(rate) for code, rate in FX.items() if rate != 1},
        "TrackingCategories": tracking,
        "Items": items,
    }

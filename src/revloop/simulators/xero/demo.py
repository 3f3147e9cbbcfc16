"""The default demo organisation: an Australian MSP's chart of accounts, GST tax rates, items and
tracking, with fixed ids so every run is the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DEMO_TENANT_ID = "3f2c8a4e-6b1d-4e7a-9c52-8d0f1a2b3c4d"
DEMO_CLIENT_ID = "5A1C3E7B9D2F4A6C8E0B1D3F5A7C9E2B"
DEMO_CLIENT_SECRET = "revloop-demo-client-secret-0123456789abcdef"
DEMO_REDIRECT_URI = "http://localhost:8400/xero/callback"
CUSTOM_CLIENT_ID = "9E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B"
CUSTOM_CLIENT_SECRET = "revloop-custom-connection-secret-fedcba9876543210"
WEBHOOK_KEY = "revloop-demo-webhook-signing-key"
DEMO_SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings "
    "accounting.reports.read accounting.invoices accounting.payments accounting.attachments"
)
CUSTOM_SCOPES = (
    "accounting.transactions accounting.contacts accounting.settings accounting.reports.read "
    "accounting.invoices accounting.payments"
)


def organisation(tenant_id: str, name: str = "Demo MSP Pty Ltd") -> dict[str, Any]:
    return {
        "OrganisationID": tenant_id,
        "APIKey": "",
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "AU",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "AUD",
        "CountryCode": "AU",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "TaxNumber": "12345678901",
        "FinancialYearEndDay": 30,
        "FinancialYearEndMonth": 6,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": "2024-01-01T00:00:00.000Z",
        "OrganisationEntityType": "COMPANY",
        "Timezone": "AUSEASTERNSTANDARDTIME",
        "ShortCode": "!demo1",
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "LineOfBusiness": "Managed IT services",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {"Sales": {"Day": 14, "Type": "DAYSAFTERBILLDATE"}},
    }


def _guid(n: int, prefix: str) -> str:
    return f"{prefix}-0000-4000-8000-{n:012d}"


ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "BASEXCLUDED"),
    ("200", "Sales", "REVENUE", "OUTPUT"),
    ("210", "Managed Services", "REVENUE", "OUTPUT"),
    ("220", "Project Services", "REVENUE", "OUTPUT"),
    ("230", "Hardware Sales", "SALES", "OUTPUT"),
    ("260", "Other Revenue", "OTHERINCOME", "OUTPUT"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT"),
    ("320", "Subcontractors", "DIRECTCOSTS", "INPUT"),
    ("404", "Bank Fees", "EXPENSE", "BASEXCLUDED"),
    ("420", "Entertainment", "EXPENSE", "INPUT"),
    ("429", "General Expenses", "EXPENSE", "INPUT"),
    ("445", "Light, Power, Heating", "OVERHEADS", "INPUT"),
    ("469", "Rent", "OVERHEADS", "INPUT"),
    ("477", "Wages and Salaries", "EXPENSE", "BASEXCLUDED"),
    ("478", "Superannuation", "EXPENSE", "BASEXCLUDED"),
    ("489", "Telephone & Internet", "OVERHEADS", "INPUT"),
    ("493", "Travel - National", "EXPENSE", "INPUT"),
    ("610", "Accounts Receivable", "CURRENT", "BASEXCLUDED"),
    ("800", "Accounts Payable", "CURRLIAB", "BASEXCLUDED"),
    ("820", "GST", "CURRLIAB", "BASEXCLUDED"),
    ("860", "Rounding", "CURRLIAB", "BASEXCLUDED"),
]
SYSTEM_ACCOUNTS = {"610": "DEBTORS", "800": "CREDITORS", "820": "GST", "860": "ROUNDING"}


def accounts() -> list[dict[str, Any]]:
    rows = []
    for n, (code, name, kind, tax) in enumerate(ACCOUNTS, start=1):
        row: dict[str, Any] = {
            "AccountID": _guid(n, "a0000000"),
            "Code": code,
            "Name": name,
            "Type": kind,
            "TaxType": tax,
            "Status": "ACTIVE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": kind in ("EXPENSE", "OVERHEADS"),
            "ReportingCode": "",
        }
        if kind == "BANK":
            row.update(BankAccountNumber="062000123456", BankAccountType="BANK", CurrencyCode="AUD")
        if code in SYSTEM_ACCOUNTS:
            row["SystemAccount"] = SYSTEM_ACCOUNTS[code]
        rows.append(row)
    return rows


def tax_rates() -> list[dict[str, Any]]:
    def rate(name: str, tax_type: str, report: str, percent: str) -> dict[str, Any]:
        value = Decimal(percent)
        return {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "TaxComponents": [{"Name": "GST", "Rate": value, "IsCompound": False, "IsNonRecoverable": False}],
            "Status": "ACTIVE",
            "DisplayTaxRate": value,
            "EffectiveRate": value,
        }

    return [
        rate("GST on Income", "OUTPUT", "OUTPUT", "10.0000"),
        rate("GST on Expenses", "INPUT", "INPUT", "10.0000"),
        rate("GST Free Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "0.0000"),
        rate("GST Free Expenses", "EXEMPTEXPENSES", "EXEMPTEXPENSES", "0.0000"),
        rate("BAS Excluded", "BASEXCLUDED", "BASEXCLUDED", "0.0000"),
        rate("No GST", "NONE", "NONE", "0.0000"),
    ]


def currencies() -> list[dict[str, Any]]:
    return [
        {"Code": "AUD", "Description": "Australian Dollar"},
        {"Code": "NZD", "Description": "New Zealand Dollar"},
        {"Code": "USD", "Description": "United States Dollar"},
    ]


def tracking_categories() -> list[dict[str, Any]]:
    category_id = _guid(1, "c0000000")
    options = ["Managed Services", "Projects", "Hardware", "Ad hoc Support"]
    return [
        {
            "TrackingCategoryID": category_id,
            "Name": "Service Line",
            "Status": "ACTIVE",
            "Options": [
                {
                    "TrackingOptionID": _guid(n, "d0000000"),
                    "Name": name,
                    "Status": "ACTIVE",
                    "TrackingCategoryID": category_id,
                }
                for n, name in enumerate(options, start=1)
            ],
        }
    ]


def items() -> list[dict[str, Any]]:
    def item(n: int, code: str, name: str, price: str, account: str) -> dict[str, Any]:
        return {
            "ItemID": _guid(n, "b0000000"),
            "Code": code,
            "Name": name,
            "Description": name,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": account, "TaxType": "OUTPUT"},
        }

    return [
        item(1, "LAB-REMOTE", "Remote support (per hour)", "165.00", "220"),
        item(2, "LAB-ONSITE", "Onsite support (per hour)", "195.00", "220"),
        item(3, "MSP-SEAT", "Managed services per seat (monthly)", "89.0000", "210"),
        item(4, "TRAVEL-KM", "Travel (per km)", "0.8800", "220"),
    ]


def branding_themes() -> list[dict[str, Any]]:
    return [
        {
            "BrandingThemeID": _guid(1, "f0000000"),
            "Name": "Standard",
            "Type": "INVOICE",
            "SortOrder": 0,
            "CreatedDateUTC": "2024-01-01T00:00:00.000Z",
        },
        {
            "BrandingThemeID": _guid(2, "f0000000"),
            "Name": "Managed Services",
            "Type": "INVOICE",
            "SortOrder": 1,
            "CreatedDateUTC": "2024-01-01T00:00:00.000Z",
        },
    ]


def contacts() -> list[dict[str, Any]]:
    return [
        {
            "ContactID": _guid(1, "e0000000"),
            "Name": "Acme Dental Group",
            "ContactNumber": "HALO-1001",
            "EmailAddress": "accounts@acmedental.example",
            "IsCustomer": True,
        },
        {
            "ContactID": _guid(2, "e0000000"),
            "Name": "Brightwater Legal",
            "ContactNumber": "HALO-1002",
            "EmailAddress": "ap@brightwater.example",
            "IsCustomer": True,
        },
    ]

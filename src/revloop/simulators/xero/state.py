"""One Xero organisation's records, held as wire-shaped dicts with ``Decimal`` money.

Stored dates are ``YYYY-MM-DD`` strings and stored timestamps ISO strings; ``render`` functions in
the resource modules turn them into Xero's ``/Date()/`` form on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .wire import IdSource, iso_stamp

COLLECTIONS = (
    "branding_themes",
    "contacts",
    "items",
    "tax_rates",
    "accounts",
    "tracking_categories",
    "invoices",
    "credit_notes",
    "quotes",
    "repeating_invoices",
    "payments",
)

# Fields that carry money or quantities; the snapshot writes them as strings and restore reads them back.
NUMBER_KEYS = frozenset(
    {
        "Quantity",
        "UnitAmount",
        "LineAmount",
        "TaxAmount",
        "DiscountRate",
        "DiscountAmount",
        "SubTotal",
        "TotalTax",
        "Total",
        "TotalDiscount",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "CurrencyRate",
        "Amount",
        "BankAmount",
        "RemainingCredit",
        "AppliedAmount",
        "UnitPrice",
        "Rate",
        "DisplayTaxRate",
        "EffectiveRate",
        "QuantityOnHand",
        "TotalCostPool",
        "Discount",
    }
)


class OrgState:
    """All records of one organisation (tenant), plus the indexes the API needs."""

    def __init__(self, tenant_id: str, organisation: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.organisation = organisation
        self.currencies: list[dict[str, Any]] = []
        #: units of a currency per unit of the base currency, taken as a document's CurrencyRate when
        #: it is sent without one (Xero takes the day's rate); a currency without one: 1
        self.day_rates: dict[str, Decimal] = {}
        self.sequences: dict[str, int] = {"invoice": 1, "credit_note": 1, "quote": 1}
        self.pl_rows: list[dict[str, Any]] = []  # seeded P&L amounts (payroll, overheads, ...)
        for name in COLLECTIONS:
            setattr(self, name, {})
        self.branding_themes: dict[str, dict[str, Any]]
        self.contacts: dict[str, dict[str, Any]]
        self.items: dict[str, dict[str, Any]]
        self.tax_rates: dict[str, dict[str, Any]]  # keyed by TaxType
        self.accounts: dict[str, dict[str, Any]]
        self.tracking_categories: dict[str, dict[str, Any]]
        self.invoices: dict[str, dict[str, Any]]
        self.credit_notes: dict[str, dict[str, Any]]
        self.quotes: dict[str, dict[str, Any]]
        self.repeating_invoices: dict[str, dict[str, Any]]
        self.payments: dict[str, dict[str, Any]]
        self.invoice_numbers: dict[str, str] = {}  # ACCREC number → InvoiceID
        self.credit_note_numbers: dict[str, str] = {}
        self.used_numbers: dict[str, set[str]] = {}  # number field → every number issued or given

    # --- lookups ----------------------------------------------------------------------------------

    def account_by_code(self, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        for account in self.accounts.values():
            if account.get("Code") == code:
                return account
        return None

    def item_by_code(self, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        for item in self.items.values():
            if item.get("Code") == code:
                return item
        return None

    def contact_by(self, key: str, value: str) -> dict[str, Any] | None:
        if key == "ContactID":
            return self.contacts.get(value.lower())
        for contact in self.contacts.values():
            if contact.get(key) == value and (key != "Name" or contact.get("ContactStatus") == "ACTIVE"):
                return contact
        return None

    def base_currency(self) -> str:
        return str(self.organisation.get("BaseCurrency", "AUD"))

    def rebuild_indexes(self) -> None:
        self.invoice_numbers = {
            inv["InvoiceNumber"]: inv_id
            for inv_id, inv in self.invoices.items()
            if inv.get("Type") == "ACCREC" and inv.get("InvoiceNumber") and inv.get("Status") != "DELETED"
        }
        self.credit_note_numbers = {
            cn["CreditNoteNumber"]: cn_id
            for cn_id, cn in self.credit_notes.items()
            if cn.get("CreditNoteNumber")
        }
        self.used_numbers = {
            "InvoiceNumber": {
                str(r["InvoiceNumber"])
                for r in self.invoices.values()
                if r.get("Type") == "ACCREC" and r.get("InvoiceNumber")
            },
            "CreditNoteNumber": {
                str(r["CreditNoteNumber"]) for r in self.credit_notes.values() if r.get("CreditNoteNumber")
            },
            "QuoteNumber": {str(r["QuoteNumber"]) for r in self.quotes.values() if r.get("QuoteNumber")},
        }

    def next_number(self, kind: str, prefix: str, taken: Callable[[str], bool]) -> str:
        while True:
            number = f"{prefix}{self.sequences[kind]:04d}"
            self.sequences[kind] += 1
            if not taken(number):
                return number

    # --- snapshot ---------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "organisation": self.organisation,
            "currencies": self.currencies,
            "sequences": self.sequences,
            "pl_rows": self.pl_rows,
        }
        for name in COLLECTIONS:
            data[name] = getattr(self, name)
        plain: dict[str, Any] = to_plain(data)
        return plain

    @classmethod
    def load(cls, data: dict[str, Any]) -> OrgState:
        data = from_plain(data)
        org = cls(data["tenant_id"], data["organisation"])
        org.currencies = data["currencies"]
        org.sequences = data["sequences"]
        org.pl_rows = data["pl_rows"]
        for name in COLLECTIONS:
            setattr(org, name, data.get(name, {}))
        org.rebuild_indexes()
        return org


def to_plain(value: Any) -> Any:
    """Deep copy with ``Decimal`` as exact strings, so the snapshot is plain JSON."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def from_plain(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: from_plain(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain(v, key) for v in value]
    if key in NUMBER_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
        return Decimal(value)
    return value


@dataclass
class Ctx:
    """What a resource handler needs for one request."""

    org: OrgState
    ids: IdSource
    now: datetime
    params: dict[str, str]
    unitdp: int = 2
    rounding: str = ROUND_HALF_UP
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (category, type, resource id)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def stamp(self) -> str:
        return iso_stamp(self.now)

    @property
    def today(self) -> str:
        return self.now.date().isoformat()

    def flag(self, name: str) -> bool | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value.strip().lower() == "true"

"""What a document shows, separate from how it is drawn.

An ``InvoiceDocument`` is built from a draft invoice plus what only the books know (number,
dates, the customer's address) and the sender's ``Branding``. Every figure is a ``Decimal``
taken from the invoice as rated: documents never recompute money.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, format_decimal

from revloop.domain.invoicing import DraftInvoice
from revloop.domain.issues import InputError

CLASS_LABELS = {"normal": "", "ooh": "out of hours", "weekend": "weekend", "holiday": "public holiday"}


@dataclass(frozen=True)
class Branding:
    """The sender: who the invoice is from and how it looks. Overridable per customer."""

    company: str = "Your MSP Ltd"
    address: tuple[str, ...] = ()
    email: str = ""
    phone: str = ""
    tax_number: str = ""
    accent: str = "#1f4e79"
    logo: str = ""  # path or URL of an image
    payment_terms: str = "Payment due within 30 days of the invoice date."
    bank_details: tuple[str, ...] = ()
    footer: str = ""
    locale: str = "en_GB"

    @classmethod
    def load(cls, path: Path, base: Branding | None = None) -> Branding:
        """Read branding from a TOML or JSON file; keys not given keep ``base``'s values."""
        start = base or cls()
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read branding file {path}: {exc}") from None
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"{path}: unknown branding keys {sorted(unknown)}")
        for key in ("address", "bank_details"):
            if key in data:
                data[key] = tuple(data[key])
        return replace(start, **data)


@dataclass(frozen=True)
class DocumentLine:
    description: str
    detail: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    tax_code: str
    tax: Decimal
    kind: str


@dataclass(frozen=True)
class InvoiceDocument:
    key: str
    number: str  # the Xero number once posted; the key's tail on a draft
    status: str  # "draft" | "posted"
    customer_id: str
    customer_name: str
    customer_address: tuple[str, ...]
    reference: str
    issue_date: date
    due_date: date | None
    period_label: str
    currency: str
    amounts_are: str  # Exclusive | Inclusive
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    branding: Branding = field(default_factory=Branding)
    doc_type: str = "invoice"  # invoice | credit_note
    corrects: str = ""  # a credit note's or replacement's corrected invoice number

    @property
    def title(self) -> str:
        kind = "CREDIT NOTE" if self.doc_type == "credit_note" else "INVOICE"
        return f"TAX {kind}" if self.status == "posted" else f"DRAFT {kind}"

    def money(self, value: Decimal) -> str:
        return format_currency(value, self.currency, locale=self.branding.locale)

    def unit_money(self, value: Decimal) -> str:
        """A unit price with up to 4 decimals, so quantity x the price shown is the amount."""
        return format_currency(
            value, self.currency, format="¤#,##0.00##", currency_digits=False, locale=self.branding.locale
        )

    def number_text(self, value: Decimal) -> str:
        text = format_decimal(value.normalize() if value == value.to_integral() else value, locale="en_GB")
        return text

    @property
    def tax_by_code(self) -> list[tuple[str, Decimal]]:
        sums: dict[str, Decimal] = {}
        for line in self.lines:
            sums[line.tax_code] = sums.get(line.tax_code, Decimal(0)) + line.tax
        return sorted(sums.items())


def document_from_draft(
    invoice: DraftInvoice,
    *,
    customer_name: str,
    issue_date: date,
    due_date: date | None = None,
    number: str | None = None,
    customer_address: tuple[str, ...] = (),
    branding: Branding | None = None,
    show_zero_lines: bool = True,
) -> InvoiceDocument:
    lines = []
    for line in invoice.lines:
        if not show_zero_lines and line.amount == 0:
            continue
        label = CLASS_LABELS.get(line.cls or "", "")
        detail = f"{line.kind}{' · ' + label if label else ''}"
        lines.append(
            DocumentLine(
                description=line.description,
                detail=detail,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                amount=line.amount,
                tax_code=line.tax_code or "",
                tax=line.tax,
                kind=line.kind,
            )
        )
    return InvoiceDocument(
        key=invoice.key,
        number=number or "DRAFT",
        status="posted" if number else "draft",
        customer_id=invoice.customer,
        customer_name=customer_name,
        customer_address=customer_address,
        reference=invoice.key,
        issue_date=issue_date,
        due_date=due_date,
        period_label=invoice.period.label(),
        currency=invoice.currency,
        amounts_are=invoice.line_amount_types,
        lines=tuple(lines),
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        total=invoice.total,
        branding=branding or Branding(),
    )


@dataclass(frozen=True)
class ReportRow:
    """One invoice line's contribution to the monthly report."""

    customer: str
    customer_name: str
    contract: str
    charge_type: str
    kind: str
    currency: str
    amount: Decimal
    tax: Decimal
    invoice_key: str


@dataclass(frozen=True)
class BillingReport:
    period_label: str
    rows: tuple[ReportRow, ...]
    invoices: int
    branding: Branding = field(default_factory=Branding)
    charts: tuple[Path, ...] = ()  # profitability charts (SVG) shown after the totals

    def totals_by(self, attribute: str) -> list[tuple[str, str, Decimal, Decimal]]:
        """(group, currency, amount, tax) summed by ``customer``, ``contract`` or ``charge_type``."""
        sums: dict[tuple[str, str], list[Decimal]] = {}
        for row in self.rows:
            group = (
                getattr(row, attribute)
                if attribute != "customer"
                else f"{row.customer_name} ({row.customer})"
            )
            cell = sums.setdefault((group, row.currency), [Decimal(0), Decimal(0)])
            cell[0] += row.amount
            cell[1] += row.tax
        return [(g, c, v[0], v[1]) for (g, c), v in sorted(sums.items())]

    def grand_totals(self) -> list[tuple[str, Decimal, Decimal]]:
        sums: dict[str, list[Decimal]] = {}
        for row in self.rows:
            cell = sums.setdefault(row.currency, [Decimal(0), Decimal(0)])
            cell[0] += row.amount
            cell[1] += row.tax
        return [(c, v[0], v[1]) for c, v in sorted(sums.items())]


def report_from_drafts(
    period_label: str,
    invoices: list[DraftInvoice],
    names: Mapping[str, str],
    branding: Branding | None = None,
) -> BillingReport:
    rows = [
        ReportRow(
            customer=inv.customer,
            customer_name=names.get(inv.customer, inv.customer),
            contract=line.contract or "(none)",
            charge_type=line.charge_type or line.kind,
            kind=line.kind,
            currency=inv.currency,
            amount=line.amount,
            tax=line.tax,
            invoice_key=inv.key,
        )
        for inv in invoices
        for line in inv.lines
    ]
    return BillingReport(period_label, tuple(rows), len(invoices), branding or Branding())

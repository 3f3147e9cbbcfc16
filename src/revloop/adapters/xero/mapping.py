"""revloop's invoice drafts and customers → Xero request bodies; Xero invoices → what reconciliation
compares. The one place that knows which Xero field carries what.

Rules from NOTES §3.1 and §6.3: a new invoice names its contact by ``ContactID`` only (other contact
fields would edit the contact); ``TaxAmount`` and totals are never sent (Xero computes them per line,
and revloop mirrors that maths); unit amounts go at 4 dp (the client sends ``unitdp=4``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from revloop.domain.invoicing import DraftInvoice, InvoiceLine
from revloop.domain.money import q4

from . import wire


def line_payload(line: InvoiceLine) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Description": line.description,
        "Quantity": q4(line.quantity),
        "UnitAmount": q4(line.unit_amount),
    }
    if line.item_code:
        out["ItemCode"] = line.item_code
    if line.account_code:
        out["AccountCode"] = line.account_code
    if line.tax_code:
        out["TaxType"] = line.tax_code
    return out


def invoice_payload(
    draft: DraftInvoice,
    *,
    contact_id: str,
    number: str,
    issued: date,
    due: date,
    reference: str | None = None,
    url: str | None = None,
    status: str = "DRAFT",
) -> dict[str, Any]:
    """The body of one ``PUT /Invoices`` element for a draft (ACCREC)."""
    body: dict[str, Any] = {
        "Type": wire.InvoiceType.ACCREC.value,
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": number,
        "Date": issued,
        "DueDate": due,
        "CurrencyCode": draft.currency,
        "LineAmountTypes": draft.line_amount_types,
        "Status": status,
        "LineItems": [line_payload(line) for line in draft.lines],
    }
    if reference:
        body["Reference"] = reference
    if url:
        body["Url"] = url
    return body


def contact_payload(
    *, name: str, contact_number: str, email: str | None = None, tax_number: str | None = None
) -> dict[str, Any]:
    """A new customer; ``ContactNumber`` carries the HaloPSA client id (Xero's external key)."""
    body: dict[str, Any] = {"Name": name, "ContactNumber": contact_number}
    if email:
        body["EmailAddress"] = email
    if tax_number:
        body["TaxNumber"] = tax_number
    return body


@dataclass(frozen=True, slots=True)
class PostedLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    tax_amount: Decimal
    account_code: str | None
    tax_type: str | None


@dataclass(frozen=True, slots=True)
class PostedInvoice:
    """Xero's figures for an invoice, as reconciliation stores them (the system of record)."""

    invoice_id: str
    number: str | None
    status: str | None
    contact_id: str | None
    issued: date | None
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_due: Decimal
    lines: tuple[PostedLine, ...]


def _d(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(0)


def posted_invoice(invoice: wire.Invoice) -> PostedInvoice:
    if not invoice.InvoiceID or invoice.InvoiceID == wire.ZERO_GUID:
        raise ValueError("the invoice has no InvoiceID: it was not saved")
    return PostedInvoice(
        invoice_id=invoice.InvoiceID,
        number=invoice.InvoiceNumber,
        status=str(invoice.Status) if invoice.Status is not None else None,
        contact_id=invoice.Contact.ContactID if invoice.Contact else None,
        issued=invoice.Date,
        subtotal=_d(invoice.SubTotal),
        tax=_d(invoice.TotalTax),
        total=_d(invoice.Total),
        amount_due=_d(invoice.AmountDue),
        lines=tuple(
            PostedLine(
                description=line.Description or "",
                quantity=_d(line.Quantity),
                unit_amount=_d(line.UnitAmount),
                line_amount=_d(line.LineAmount),
                tax_amount=_d(line.TaxAmount),
                account_code=line.AccountCode,
                tax_type=line.TaxType,
            )
            for line in invoice.LineItems
        ),
    )

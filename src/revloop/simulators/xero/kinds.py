"""The four document kinds (invoices, credit notes, quotes, repeating invoices): their ids, numbers,
statuses and the transitions Xero allows between them, and the fields each one carries."""

from __future__ import annotations

from dataclasses import dataclass

from .listing import ListSpec

INVOICE_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": set(),
    "VOIDED": set(),
    "DELETED": set(),
}
QUOTE_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SENT", "DELETED"},
    "SENT": {"SENT", "DRAFT", "ACCEPTED", "DECLINED", "DELETED"},
    "DECLINED": {"DECLINED", "SENT", "DRAFT", "DELETED"},
    "ACCEPTED": {"ACCEPTED", "SENT", "INVOICED", "DELETED"},
    "INVOICED": {"INVOICED", "ACCEPTED"},
    "DELETED": set(),
}
REPEATING_TRANSITIONS = {
    "DRAFT": {"DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "DELETED"},
    "DELETED": set(),
}


@dataclass(frozen=True)
class Kind:
    label: str  # "Invoice"
    key: str  # envelope key
    collection: str
    id_field: str
    number_field: str | None
    types: tuple[str, ...]
    statuses: tuple[str, ...]
    create_statuses: tuple[str, ...]
    transitions: dict[str, set[str]]
    lat_values: tuple[str, str, str]  # wire spelling of Exclusive, Inclusive, NoTax
    prefix: str | None
    sequence: str | None
    category: str | None  # webhook event category
    date_fields: tuple[str, ...]
    writable: tuple[str, ...]


INVOICE = Kind(
    "Invoice",
    "Invoices",
    "invoices",
    "InvoiceID",
    "InvoiceNumber",
    ("ACCREC", "ACCPAY"),
    ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"),
    ("DRAFT", "SUBMITTED", "AUTHORISED"),
    INVOICE_TRANSITIONS,
    ("Exclusive", "Inclusive", "NoTax"),
    "INV-",
    "invoice",
    "INVOICE",
    ("Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"),
    ("Reference", "Url", "SentToContact", "BrandingThemeID", "CurrencyRate", "RepeatingInvoiceID"),
)
CREDIT_NOTE = Kind(
    "Credit Note",
    "CreditNotes",
    "credit_notes",
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCRECCREDIT", "ACCPAYCREDIT"),
    INVOICE.statuses,
    INVOICE.create_statuses,
    INVOICE_TRANSITIONS,
    INVOICE.lat_values,
    "CN-",
    "credit_note",
    "CREDITNOTE",
    ("Date", "DueDate"),
    ("Reference", "BrandingThemeID", "CurrencyRate", "SentToContact"),
)
QUOTE = Kind(
    "Quote",
    "Quotes",
    "quotes",
    "QuoteID",
    "QuoteNumber",
    ("QUOTE",),
    ("DRAFT", "SENT", "DECLINED", "ACCEPTED", "INVOICED", "DELETED"),
    ("DRAFT", "SENT"),
    QUOTE_TRANSITIONS,
    ("EXCLUSIVE", "INCLUSIVE", "NOTAX"),
    "QU-",
    "quote",
    None,
    ("Date", "ExpiryDate"),
    ("Reference", "Terms", "Title", "Summary", "BrandingThemeID", "CurrencyRate"),
)
REPEATING = Kind(
    "Repeating Invoice",
    "RepeatingInvoices",
    "repeating_invoices",
    "RepeatingInvoiceID",
    None,
    ("ACCREC", "ACCPAY"),
    ("DRAFT", "AUTHORISED", "DELETED"),
    ("DRAFT", "AUTHORISED"),
    REPEATING_TRANSITIONS,
    INVOICE.lat_values,
    None,
    None,
    None,
    (),
    ("Reference", "BrandingThemeID", "ApprovedForSending", "SendCopy", "MarkAsSent", "IncludePDF"),
)
KINDS = {k.key: k for k in (INVOICE, CREDIT_NOTE, QUOTE, REPEATING)}
MATHS_LAT = ("Exclusive", "Inclusive", "NoTax")
SCHEDULE_UNITS = ("WEEKLY", "MONTHLY")
DUE_DATE_TYPES = (
    "DAYSAFTERBILLDATE",
    "DAYSAFTERBILLMONTH",
    "DAYSAFTERINVOICEDATE",
    "DAYSAFTERINVOICEMONTH",
    "OFCURRENTMONTH",
    "OFFOLLOWINGMONTH",
)

INVOICE_FIELDS = (
    "Type",
    "InvoiceID",
    "InvoiceNumber",
    "Reference",
    "Payments",
    "CreditNotes",
    "Prepayments",
    "Overpayments",
    "AmountDue",
    "AmountPaid",
    "AmountCredited",
    "CurrencyRate",
    "IsDiscounted",
    "HasAttachments",
    "HasErrors",
    "Contact",
    "Date",
    "DueDate",
    "Status",
    "LineAmountTypes",
    "LineItems",
    "SubTotal",
    "TotalTax",
    "Total",
    "TotalDiscount",
    "UpdatedDateUTC",
    "CurrencyCode",
    "FullyPaidOnDate",
    "SentToContact",
    "Url",
    "BrandingThemeID",
    "RepeatingInvoiceID",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
)
CREDIT_NOTE_FIELDS = (
    "Type",
    "CreditNoteID",
    "CreditNoteNumber",
    "Reference",
    "Contact",
    "Date",
    "DueDate",
    "Status",
    "LineAmountTypes",
    "LineItems",
    "SubTotal",
    "TotalTax",
    "Total",
    "UpdatedDateUTC",
    "CurrencyCode",
    "CurrencyRate",
    "FullyPaidOnDate",
    "RemainingCredit",
    "Allocations",
    "Payments",
    "BrandingThemeID",
    "HasAttachments",
    "HasErrors",
    "SentToContact",
)
QUOTE_FIELDS = (
    "QuoteID",
    "QuoteNumber",
    "Reference",
    "Terms",
    "Contact",
    "LineItems",
    "Date",
    "ExpiryDate",
    "Status",
    "CurrencyCode",
    "CurrencyRate",
    "SubTotal",
    "TotalTax",
    "Total",
    "TotalDiscount",
    "Title",
    "Summary",
    "BrandingThemeID",
    "UpdatedDateUTC",
    "LineAmountTypes",
)
REPEATING_FIELDS = (
    "Type",
    "RepeatingInvoiceID",
    "ID",
    "Contact",
    "Schedule",
    "LineItems",
    "LineAmountTypes",
    "Reference",
    "BrandingThemeID",
    "CurrencyCode",
    "Status",
    "SubTotal",
    "TotalTax",
    "Total",
    "HasAttachments",
    "ApprovedForSending",
    "SendCopy",
    "MarkAsSent",
    "IncludePDF",
)
SPECS = {
    "Invoices": ListSpec("Invoices", "Invoice", INVOICE_FIELDS),
    "CreditNotes": ListSpec("CreditNotes", "CreditNote", CREDIT_NOTE_FIELDS),
    "Quotes": ListSpec("Quotes", "Quote", QUOTE_FIELDS, page_size_param=False),
    "RepeatingInvoices": ListSpec(
        "RepeatingInvoices", "RepeatingInvoice", REPEATING_FIELDS, paged=False, modified_since=False
    ),
}

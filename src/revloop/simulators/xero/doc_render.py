"""Rendering documents as Xero sends them: ``/Date()/`` dates with their ``DateString`` twins,
embedded contacts, payments, credit notes and allocations, and unit amounts to 2 or 4 places."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from . import contacts as contact_api
from .kinds import (
    CREDIT_NOTE,
    CREDIT_NOTE_FIELDS,
    INVOICE,
    INVOICE_FIELDS,
    QUOTE_FIELDS,
    REPEATING_FIELDS,
    Kind,
)
from .lines import render_line
from .money import q2
from .state import OrgState
from .wire import ZERO_GUID, date_string, ms_date, ms_timestamp, utc_string


def echo(kind: Kind, record: dict[str, Any], unitdp: int) -> dict[str, Any]:
    """A record that failed validation, shaped as Xero echoes it."""
    out = {k: v for k, v in record.items() if k != "Contact"}
    out.setdefault(kind.id_field, ZERO_GUID)
    for name in kind.date_fields:
        if out.get(name):
            out[name] = ms_date(out[name])
    out["LineItems"] = [render_line(line, unitdp) for line in record.get("LineItems", [])]
    if "Contact" in record:
        out["Contact"] = dict(record["Contact"])
    if isinstance(out.get("Schedule"), dict):
        out["Schedule"] = _render_schedule(out["Schedule"])
    return out


def _render_schedule(schedule: dict[str, Any]) -> dict[str, Any]:
    out = dict(schedule)
    for name in ("StartDate", "NextScheduledDate", "EndDate"):
        if out.get(name):
            out[name] = ms_date(out[name])
    return out


def render(
    org: OrgState, kind: Kind, record: dict[str, Any], *, unitdp: int, lines: bool = True
) -> dict[str, Any]:
    fields = {
        "Invoices": INVOICE_FIELDS,
        "CreditNotes": CREDIT_NOTE_FIELDS,
        "Quotes": QUOTE_FIELDS,
        "RepeatingInvoices": REPEATING_FIELDS,
    }[kind.key]
    out: dict[str, Any] = {}
    for key in fields:
        if key not in record:
            continue
        value = record[key]
        if key == "Contact":
            out[key] = contact_api.reference(org, value["ContactID"])
        elif key == "LineItems":
            if lines:
                out[key] = [render_line(line, unitdp) for line in value]
        elif key in kind.date_fields or key == "FullyPaidOnDate":
            if value:
                if key in ("Date", "DueDate", "ExpiryDate"):
                    out[f"{key}String"] = date_string(value)
                out[key] = ms_date(value)
        elif key == "UpdatedDateUTC":
            out[key] = ms_timestamp(value)
            if kind in (INVOICE, CREDIT_NOTE):
                out["UpdatedDateUTCString"] = utc_string(value)
        elif key == "Payments":
            out[key] = [_render_payment_ref(p) for p in value]
        elif key == "CreditNotes":
            out[key] = [_render_credit_ref(c) for c in value]
        elif key == "Allocations":
            out[key] = [_render_allocation(org, a) for a in value]
        elif key == "Schedule":
            out[key] = _render_schedule(value)
        else:
            out[key] = copy.deepcopy(value)
    if kind is INVOICE:
        out["HasErrors"] = False
    return out


def _render_payment_ref(payment: dict[str, Any]) -> dict[str, Any]:
    out = {
        "PaymentID": payment["PaymentID"],
        "Date": ms_date(payment["Date"]),
        "Amount": q2(Decimal(payment["Amount"])),
        "CurrencyRate": Decimal(payment.get("CurrencyRate", Decimal("1.000000"))),
        "HasAccount": False,
        "HasValidationErrors": False,
    }
    if payment.get("Reference"):
        out["Reference"] = payment["Reference"]
    return out


def _render_credit_ref(credit: dict[str, Any]) -> dict[str, Any]:
    return {
        "CreditNoteID": credit["CreditNoteID"],
        "CreditNoteNumber": credit.get("CreditNoteNumber", ""),
        "Date": ms_date(credit["Date"]),
        "AppliedAmount": q2(Decimal(credit["Amount"])),
        "HasErrors": False,
    }


def _render_allocation(org: OrgState, allocation: dict[str, Any]) -> dict[str, Any]:
    invoice = org.invoices.get(allocation["InvoiceID"], {})
    return {
        "AllocationID": allocation["AllocationID"],
        "Amount": q2(Decimal(allocation["Amount"])),
        "Date": ms_date(allocation["Date"]),
        "Invoice": {
            "InvoiceID": allocation["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber", ""),
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": False,
            "HasAttachments": False,
            "LineItems": [],
        },
    }

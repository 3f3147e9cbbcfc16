"""/Payments (against invoices and credit notes) and credit-note allocations to invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from . import contacts as contact_api
from .batch import BatchScope, Outcome, run_batch
from .documents import CREDIT_NOTE, INVOICE, refresh_balance
from .listing import ListSpec, run_list
from .money import ZERO, q2
from .state import Ctx, OrgState
from .wire import (
    WireError,
    envelope,
    json_response,
    ms_date,
    ms_timestamp,
    not_found,
    parse_date,
    to_decimal,
    utc_string,
)

PAYMENT_FIELDS = (
    "PaymentID",
    "Date",
    "BankAmount",
    "Amount",
    "Reference",
    "CurrencyRate",
    "PaymentType",
    "Status",
    "UpdatedDateUTC",
    "HasAccount",
    "IsReconciled",
    "Account",
    "Invoice",
    "CreditNote",
    "HasValidationErrors",
)
SPEC = ListSpec("Payments", "Payment", PAYMENT_FIELDS)
PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}
NOT_AUTHORISED = "Payments can only be made against Authorised documents"
TOO_MUCH = "Payment amount exceeds the amount outstanding on this document"


def _document(org: OrgState, data: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Which document a payment is for: ("invoice" | "credit_note", record or None)."""
    invoice = data.get("Invoice")
    if isinstance(invoice, dict):
        if invoice.get("InvoiceID"):
            return "invoice", org.invoices.get(str(invoice["InvoiceID"]).lower())
        if invoice.get("InvoiceNumber"):
            number = str(invoice["InvoiceNumber"])
            return "invoice", next(
                (r for r in org.invoices.values() if r.get("InvoiceNumber") == number), None
            )
    credit = data.get("CreditNote")
    if isinstance(credit, dict):
        if credit.get("CreditNoteID"):
            return "credit_note", org.credit_notes.get(str(credit["CreditNoteID"]).lower())
        if credit.get("CreditNoteNumber"):
            number = str(credit["CreditNoteNumber"])
            return "credit_note", next(
                (r for r in org.credit_notes.values() if r.get("CreditNoteNumber") == number), None
            )
    return "", None


def _account(org: OrgState, data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    if data.get("AccountID"):
        return org.accounts.get(str(data["AccountID"]).lower())
    return org.account_by_code(str(data["Code"])) if data.get("Code") else None


def _validate(ctx: Ctx, data: dict[str, Any], scope: BatchScope) -> Outcome:
    org = ctx.org
    echo = dict(data)
    errors: list[str] = []
    which, document = _document(org, data)
    if not which:
        return Outcome(
            echo=echo, errors=["You must specify either an Invoice or a CreditNote for the payment"]
        )
    if document is None:
        return Outcome(
            echo=echo, errors=[f"{'Invoice' if which == 'invoice' else 'Credit Note'} could not be found"]
        )
    account = _account(org, data.get("Account"))
    if account is None or account.get("Status") != "ACTIVE":
        errors.append("Account could not be found")
    elif account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
        errors.append(f"Payments cannot be made to account '{account.get('Code')}'")
    try:
        amount = to_decimal(data.get("Amount"))
        day = parse_date(data.get("Date")) or ctx.today
    except WireError as exc:
        return Outcome(echo=echo, errors=[str(exc)])
    if amount is None or amount <= 0:
        errors.append("Payment amount must be greater than zero")
        amount = ZERO
    amount = q2(amount, ctx.rounding)
    if document.get("Status") != "AUTHORISED":
        errors.append(NOT_AUTHORISED)
    else:
        doc_id = document["InvoiceID"] if which == "invoice" else document["CreditNoteID"]
        outstanding = Decimal(document["AmountDue"] if which == "invoice" else document["RemainingCredit"])
        already = scope.pending.get(doc_id, ZERO)
        if amount > outstanding - already:
            errors.append(TOO_MUCH)
        else:
            scope.pending[doc_id] = already + amount
    if errors:
        return Outcome(echo=echo, errors=errors)
    assert account is not None

    def commit() -> dict[str, Any]:
        payment_id = ctx.ids.guid()
        rate = to_decimal(data.get("CurrencyRate")) or Decimal("1.000000")
        record: dict[str, Any] = {
            "PaymentID": payment_id,
            "Date": day,
            "Amount": amount,
            "BankAmount": amount,
            "Reference": str(data.get("Reference", "")),
            "CurrencyRate": rate,
            "PaymentType": PAYMENT_TYPES[document["Type"]],
            "Status": "AUTHORISED",
            "IsReconciled": bool(data.get("IsReconciled", False)),
            "Account": {"AccountID": account["AccountID"], "Code": account.get("Code")},
            "UpdatedDateUTC": ctx.stamp,
        }
        ref = {
            "PaymentID": payment_id,
            "Date": day,
            "Amount": amount,
            "Reference": record["Reference"],
            "CurrencyRate": rate,
        }
        if which == "invoice":
            record["Invoice"] = {"InvoiceID": document["InvoiceID"]}
            document["Payments"].append(ref)
            document["AmountPaid"] = q2(Decimal(document["AmountPaid"]) + amount)
            refresh_balance(INVOICE, document)
            ctx.events.append(("INVOICE", "UPDATE", document["InvoiceID"]))
        else:
            record["CreditNote"] = {"CreditNoteID": document["CreditNoteID"]}
            document["Payments"].append(ref)
            refresh_balance(CREDIT_NOTE, document)
            ctx.events.append(("CREDITNOTE", "UPDATE", document["CreditNoteID"]))
        document["UpdatedDateUTC"] = ctx.stamp
        org.payments[payment_id] = record
        return record

    return Outcome(echo=echo, commit=commit)


def render(org: OrgState, record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PaymentID": record["PaymentID"],
        "Date": ms_date(record["Date"]),
        "BankAmount": q2(Decimal(record.get("BankAmount", record["Amount"]))),
        "Amount": q2(Decimal(record["Amount"])),
        "Reference": record.get("Reference", ""),
        "CurrencyRate": Decimal(record.get("CurrencyRate", Decimal("1.000000"))),
        "PaymentType": record["PaymentType"],
        "Status": record["Status"],
        "UpdatedDateUTC": ms_timestamp(record["UpdatedDateUTC"]),
        "UpdatedDateUTCString": utc_string(record["UpdatedDateUTC"]),
        "HasAccount": True,
        "IsReconciled": bool(record.get("IsReconciled", False)),
        "Account": dict(record["Account"]),
        "HasValidationErrors": False,
    }
    if "Invoice" in record:
        invoice = org.invoices.get(record["Invoice"]["InvoiceID"], {})
        out["Invoice"] = _doc_ref(org, invoice, "InvoiceID", "InvoiceNumber")
    if "CreditNote" in record:
        credit = org.credit_notes.get(record["CreditNote"]["CreditNoteID"], {})
        out["CreditNote"] = _doc_ref(org, credit, "CreditNoteID", "CreditNoteNumber")
    return out


def _doc_ref(org: OrgState, doc: dict[str, Any], id_field: str, number_field: str) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "Type": doc.get("Type"),
        id_field: doc.get(id_field),
        number_field: doc.get(number_field, ""),
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "HasErrors": False,
        "IsDiscounted": False,
        "HasAttachments": False,
        "LineItems": [],
        "CurrencyCode": doc.get("CurrencyCode"),
    }
    if doc.get("Contact"):
        ref["Contact"] = contact_api.reference(org, doc["Contact"]["ContactID"])
    if id_field == "CreditNoteID":
        for key in ("Payments", "CreditNotes", "Prepayments", "Overpayments", "IsDiscounted"):
            ref.pop(key)
    return ref


def list_payments(ctx: Ctx) -> httpx.Response:
    payload = run_list(ctx, SPEC, list(ctx.org.payments.values()), lambda r: render(ctx.org, r))
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


def get_payment(ctx: Ctx, payment_id: str) -> httpx.Response:
    record = ctx.org.payments.get(payment_id.lower())
    if record is None:
        return not_found()
    return json_response(200, envelope(ctx.ids, ctx.now, Payments=[render(ctx.org, record)]))


def create_payments(ctx: Ctx, body: Any) -> httpx.Response:
    return run_batch(
        ctx,
        body,
        key="Payments",
        id_field="PaymentID",
        error_flag="HasValidationErrors",
        validate=lambda data, scope: _validate(ctx, data, scope),
        render=lambda r: render(ctx.org, r),
    )


def delete_payment(ctx: Ctx, payment_id: str, body: Any) -> httpx.Response:
    """``POST /Payments/{PaymentID}`` with ``{"Status": "DELETED"}``: the only change Xero allows."""
    org = ctx.org
    record = org.payments.get(payment_id.lower())
    if record is None:
        return not_found()
    items = body.get("Payments", [body]) if isinstance(body, dict) else []
    data = items[0] if items and isinstance(items[0], dict) else {}

    def validate(_data: dict[str, Any], _scope: BatchScope) -> Outcome:
        if str(data.get("Status", "")).upper() != "DELETED":
            return Outcome(echo=dict(data), errors=["Payments can only be deleted, not updated"])
        if record["Status"] == "DELETED":
            return Outcome(echo=dict(data), errors=["This payment has already been deleted"])

        def commit() -> dict[str, Any]:
            record["Status"] = "DELETED"
            record["UpdatedDateUTC"] = ctx.stamp
            if "Invoice" in record:
                doc = org.invoices[record["Invoice"]["InvoiceID"]]
                doc["AmountPaid"] = q2(Decimal(doc["AmountPaid"]) - Decimal(record["Amount"]))
                kind, category, id_field = INVOICE, "INVOICE", "InvoiceID"
            else:
                doc = org.credit_notes[record["CreditNote"]["CreditNoteID"]]
                kind, category, id_field = CREDIT_NOTE, "CREDITNOTE", "CreditNoteID"
            doc["Payments"] = [p for p in doc["Payments"] if p["PaymentID"] != record["PaymentID"]]
            refresh_balance(kind, doc)
            doc["UpdatedDateUTC"] = ctx.stamp
            ctx.events.append((category, "UPDATE", doc[id_field]))
            return record

        return Outcome(echo=dict(data), commit=commit)

    return run_batch(
        ctx,
        {"Payments": [data]},
        key="Payments",
        id_field="PaymentID",
        error_flag="HasValidationErrors",
        validate=validate,
        render=lambda r: render(org, r),
    )


# --- credit note allocations ----------------------------------------------------------------------


def allocate_credit_note(ctx: Ctx, credit_note_id: str, body: Any) -> httpx.Response:
    org = ctx.org
    credit = org.credit_notes.get(credit_note_id.lower())
    if credit is None:
        return not_found()

    def validate(data: dict[str, Any], scope: BatchScope) -> Outcome:
        echo = dict(data)
        errors: list[str] = []
        raw_ref = data.get("Invoice")
        invoice_ref: dict[str, Any] = raw_ref if isinstance(raw_ref, dict) else {}
        invoice = org.invoices.get(str(invoice_ref.get("InvoiceID", "")).lower())
        try:
            amount = to_decimal(data.get("Amount"))
            day = parse_date(data.get("Date")) or ctx.today
        except WireError as exc:
            return Outcome(echo=echo, errors=[str(exc)])
        if credit["Status"] != "AUTHORISED":
            errors.append("Credit Note must be AUTHORISED before it can be allocated")
        if invoice is None:
            errors.append("Invoice could not be found")
        elif invoice["Status"] != "AUTHORISED":
            errors.append("Credit notes can only be allocated to Authorised invoices")
        if amount is None or amount <= 0:
            errors.append("Allocation amount must be greater than zero")
        if errors:
            return Outcome(echo=echo, errors=errors)
        assert invoice is not None and amount is not None
        amount = q2(amount, ctx.rounding)
        used = scope.pending.get("credit", ZERO)
        owed = scope.pending.get(invoice["InvoiceID"], ZERO)
        if amount > Decimal(credit["RemainingCredit"]) - used:
            return Outcome(echo=echo, errors=["The amount being allocated exceeds the remaining credit"])
        if amount > Decimal(invoice["AmountDue"]) - owed:
            return Outcome(
                echo=echo, errors=["The amount being allocated exceeds the amount due on the invoice"]
            )
        scope.pending["credit"] = used + amount
        scope.pending[invoice["InvoiceID"]] = owed + amount

        def commit() -> dict[str, Any]:
            allocation = {
                "AllocationID": ctx.ids.guid(),
                "InvoiceID": invoice["InvoiceID"],
                "Amount": amount,
                "Date": day,
            }
            credit["Allocations"].append(allocation)
            invoice["CreditNotes"].append(
                {
                    "CreditNoteID": credit["CreditNoteID"],
                    "CreditNoteNumber": credit.get("CreditNoteNumber", ""),
                    "Amount": amount,
                    "Date": day,
                }
            )
            invoice["AmountCredited"] = q2(Decimal(invoice["AmountCredited"]) + amount)
            refresh_balance(INVOICE, invoice)
            refresh_balance(CREDIT_NOTE, credit)
            invoice["UpdatedDateUTC"] = credit["UpdatedDateUTC"] = ctx.stamp
            ctx.events.append(("INVOICE", "UPDATE", invoice["InvoiceID"]))
            ctx.events.append(("CREDITNOTE", "UPDATE", credit["CreditNoteID"]))
            return allocation

        return Outcome(echo=echo, commit=commit)

    def render_allocation(allocation: dict[str, Any]) -> dict[str, Any]:
        invoice = org.invoices[allocation["InvoiceID"]]
        return {
            "AllocationID": allocation["AllocationID"],
            "Amount": q2(Decimal(allocation["Amount"])),
            "Date": ms_date(allocation["Date"]),
            "Invoice": _doc_ref(org, invoice, "InvoiceID", "InvoiceNumber"),
            "CreditNote": _doc_ref(org, credit, "CreditNoteID", "CreditNoteNumber"),
        }

    return run_batch(
        ctx,
        body,
        key="Allocations",
        id_field="AllocationID",
        error_flag="HasErrors",
        validate=validate,
        render=render_allocation,
    )

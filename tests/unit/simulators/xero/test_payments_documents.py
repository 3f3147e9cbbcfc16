"""Payments, credit notes and allocations, quotes and repeating invoices."""

from __future__ import annotations

from decimal import Decimal

import httpx

from .support import body, invoice, line, post, put

D = Decimal
BANK = {"Code": "090"}


def authorised(xero: httpx.Client, contact_id: str, unit: str = "100.00") -> dict:
    doc = invoice(contact_id, line("Work", "1", unit), Status="AUTHORISED")
    return body(put(xero, "/Invoices", {"Invoices": [doc]}))["Invoices"][0]


def pay(xero: httpx.Client, invoice_id: str, amount: str, **extra) -> httpx.Response:
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": BANK,
        "Amount": D(amount),
        "Date": "2026-11-05",
    }
    payment.update(extra)
    return put(xero, "/Payments", {"Payments": [payment]})


def test_payments_reduce_amount_due_and_mark_paid(xero: httpx.Client, contact_id: str) -> None:
    inv = authorised(xero, contact_id)  # 110.00 with GST
    first = pay(xero, inv["InvoiceID"], "60.00")
    assert first.status_code == 200
    payment = body(first)["Payments"][0]
    assert payment["PaymentType"] == "ACCRECPAYMENT" and payment["Status"] == "AUTHORISED"
    assert payment["Invoice"]["InvoiceNumber"] == inv["InvoiceNumber"]
    after = body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]
    assert (after["AmountPaid"], after["AmountDue"], after["Status"]) == (
        D("60.00"),
        D("50.00"),
        "AUTHORISED",
    )
    too_much = pay(xero, inv["InvoiceID"], "50.01")
    assert too_much.status_code == 400
    assert body(too_much)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payment amount exceeds the amount outstanding on this document"}
    ]
    assert pay(xero, inv["InvoiceID"], "50.00").status_code == 200
    paid = body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]
    assert (paid["Status"], paid["AmountDue"]) == ("PAID", D("0.00"))
    assert paid["FullyPaidOnDate"] == "/Date(1793836800000+0000)/"
    assert len(paid["Payments"]) == 2
    edit = post(xero, f"/Invoices/{inv['InvoiceID']}", {"Reference": "changed"})
    assert edit.status_code == 400


def test_payment_rules(xero: httpx.Client, contact_id: str) -> None:
    draft = body(put(xero, "/Invoices", {"Invoices": [invoice(contact_id)]}))["Invoices"][0]
    response = pay(xero, draft["InvoiceID"], "1.00")
    assert body(response)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payments can only be made against Authorised documents"}
    ]
    inv = authorised(xero, contact_id)
    two = put(
        xero,
        "/Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": BANK, "Amount": D("100")},
                {"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": BANK, "Amount": D("20")},
            ]
        },
        summarizeErrors="false",
    )
    ok, error = body(two)["Payments"]
    assert ok["StatusAttributeString"] == "OK" and error["StatusAttributeString"] == "ERROR"
    wrong_account = pay(xero, inv["InvoiceID"], "1.00", Account={"Code": "200"})
    assert wrong_account.status_code == 400
    by_number = put(
        xero,
        "/Payments",
        {"Invoice": {"InvoiceNumber": inv["InvoiceNumber"]}, "Account": BANK, "Amount": D("10.00")},
    )
    assert by_number.status_code == 200


def test_deleting_a_payment_reopens_the_invoice(xero: httpx.Client, contact_id: str) -> None:
    inv = authorised(xero, contact_id)
    payment = body(pay(xero, inv["InvoiceID"], "110.00"))["Payments"][0]
    assert body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]["Status"] == "PAID"
    deleted = post(xero, f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert body(deleted)["Payments"][0]["Status"] == "DELETED"
    reopened = body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]
    assert (reopened["Status"], reopened["AmountDue"], reopened["Payments"]) == (
        "AUTHORISED",
        D("110.00"),
        [],
    )
    assert post(xero, f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"}).status_code == 400
    assert post(xero, f"/Payments/{payment['PaymentID']}", {"Amount": 5}).status_code == 400
    listed = body(xero.get("/Payments", params={"where": 'Status=="DELETED"', "page": 1}))
    assert len(listed["Payments"]) == 1 and listed["pagination"]["itemCount"] == 1
    assert body(xero.get(f"/Payments/{payment['PaymentID']}"))["Payments"][0]["Amount"] == D("110.00")
    assert xero.get("/Payments/00000000-0000-4000-8000-000000000000").status_code == 404


def test_void_needs_no_payments(xero: httpx.Client, contact_id: str) -> None:
    inv = authorised(xero, contact_id)
    pay(xero, inv["InvoiceID"], "10.00")
    voided = post(xero, f"/Invoices/{inv['InvoiceID']}", {"Status": "VOIDED"})
    assert voided.status_code == 400


def test_credit_note_and_allocation(xero: httpx.Client, contact_id: str) -> None:
    inv = authorised(xero, contact_id, "200.00")  # 220.00
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "Date": "2026-11-03",
        "LineItems": [line("Refund", "1", "50.00")],
    }
    created = body(put(xero, "/CreditNotes", {"CreditNotes": [note]}))["CreditNotes"][0]
    assert created["CreditNoteNumber"] == "CN-0001"
    assert (created["Total"], created["RemainingCredit"]) == (D("55.00"), D("55.00"))
    allocation = {"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Amount": D("55.00"), "Date": "2026-11-04"}
    response = put(xero, f"/CreditNotes/{created['CreditNoteID']}/Allocations", {"Allocations": [allocation]})
    assert response.status_code == 200, response.text
    after = body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]
    assert (after["AmountCredited"], after["AmountDue"]) == (D("55.00"), D("165.00"))
    assert after["CreditNotes"][0]["AppliedAmount"] == D("55.00")
    credit = body(xero.get(f"/CreditNotes/{created['CreditNoteID']}"))["CreditNotes"][0]
    assert (credit["RemainingCredit"], credit["Status"]) == (D("0.00"), "PAID")
    again = put(xero, f"/CreditNotes/{created['CreditNoteID']}/Allocations", {"Allocations": [allocation]})
    assert again.status_code == 400
    discounted = dict(note, LineItems=[line("x", "1", "1", DiscountRate=D(10))])
    assert put(xero, "/CreditNotes", {"CreditNotes": [discounted]}).status_code == 400
    assert len(body(xero.get("/CreditNotes", params={"page": 1}))["CreditNotes"]) == 1


def test_quotes(xero: httpx.Client, contact_id: str) -> None:
    quote = {
        "Contact": {"ContactID": contact_id},
        "Date": "2026-11-01",
        "ExpiryDate": "2026-11-30",
        "Title": "Network refresh",
        "LineAmountTypes": "EXCLUSIVE",
        "LineItems": [
            {
                "Description": "Switch",
                "Quantity": 1,
                "UnitAmount": D("19.95"),
                "DiscountRate": 10,
                "TaxType": "OUTPUT",
                "AccountCode": "230",
            }
        ],
    }
    created = body(put(xero, "/Quotes", {"Quotes": [quote]}))["Quotes"][0]
    assert created["QuoteNumber"] == "QU-0001" and created["Status"] == "DRAFT"
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (D("17.96"), D("1.80"), D("19.76"))
    assert created["TotalDiscount"] == D("1.99") and created["ExpiryDateString"] == "2026-11-30T00:00:00"
    sent = body(post(xero, f"/Quotes/{created['QuoteID']}", {"Status": "SENT"}))["Quotes"][0]
    assert sent["Status"] == "SENT"
    accepted = body(
        post(xero, "/Quotes", {"Quotes": [{"QuoteID": created["QuoteID"], "Status": "ACCEPTED"}]})
    )
    assert accepted["Quotes"][0]["Status"] == "ACCEPTED"
    assert put(xero, "/Quotes", {"Quotes": [dict(quote, LineAmountTypes="Exclusive ")]}).status_code == 200
    listed = body(xero.get("/Quotes", params={"Status": "ACCEPTED", "page": 1}))
    assert [q["QuoteID"] for q in listed["Quotes"]] == [created["QuoteID"]]
    assert listed["pagination"]["pageSize"] == 100
    by_contact = body(xero.get("/Quotes", params={"ContactID": contact_id, "DateFrom": "2026-11-01"}))[
        "Quotes"
    ]
    assert len(by_contact) == 2


def test_repeating_invoices(xero: httpx.Client, contact_id: str) -> None:
    template = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "Schedule": {
            "Period": 1,
            "Unit": "MONTHLY",
            "DueDate": 14,
            "DueDateType": "DAYSAFTERBILLDATE",
            "StartDate": "2026-12-01",
        },
        "LineItems": [line("Managed services", "10", "89.00")],
    }
    created = body(put(xero, "/RepeatingInvoices", {"RepeatingInvoices": [template]}))["RepeatingInvoices"][0]
    assert created["Total"] == D("979.00") and created["ID"] == created["RepeatingInvoiceID"]
    assert created["Schedule"]["NextScheduledDate"] == "/Date(1796083200000+0000)/"
    got = body(xero.get(f"/RepeatingInvoices/{created['RepeatingInvoiceID']}"))["RepeatingInvoices"][0]
    assert got["LineItems"][0]["Quantity"] == D("10.0000")
    deleted = post(
        xero,
        "/RepeatingInvoices",
        {"RepeatingInvoices": [{"RepeatingInvoiceID": created["RepeatingInvoiceID"], "Status": "DELETED"}]},
    )
    assert body(deleted)["RepeatingInvoices"][0]["Status"] == "DELETED"
    no_schedule = dict(template)
    no_schedule.pop("Schedule")
    assert put(xero, "/RepeatingInvoices", {"RepeatingInvoices": [no_schedule]}).status_code == 400
    listed = body(xero.get("/RepeatingInvoices", params={"where": 'Status=="DELETED"'}))
    assert "pagination" not in listed and len(listed["RepeatingInvoices"]) == 1

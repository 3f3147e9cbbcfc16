"""A revloop draft posted to the Xero simulator and read back: Xero's figures equal revloop's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.mapping import contact_payload, invoice_payload, posted_invoice
from revloop.domain.invoicing import DraftInvoice, InvoiceLine
from revloop.domain.periods import Period


def _line(description: str, quantity: str, unit: str, amount: str, tax: str) -> InvoiceLine:
    return InvoiceLine(
        kind="labour",
        item_code="",
        account_code="200",
        description=description,
        cls="normal",
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit),
        amount=Decimal(amount),
        tax_code="OUTPUT",
        tax_rate=Decimal("10"),
        tax=Decimal(tax),
        sources=(),
        why=(),
    )


def test_a_draft_posts_and_reads_back_with_the_same_figures(xero: XeroClient, tenant: str) -> None:
    [made] = xero.create_contacts(
        tenant, [contact_payload(name="Harbour Vets", contact_number="HALO-77")], idempotency_key="c-77"
    )
    assert made.ok and made.record is not None and made.record.ContactID
    lines = (
        _line("Remote support", "1.25", "120.0000", "150.00", "15.00"),
        _line("On-site visit", "0.3333", "95.5000", "31.83", "3.18"),
    )
    draft = DraftInvoice(
        key="revloop:77:all:2026-10-01",
        customer="77",
        contract=None,
        period=Period(date(2026, 10, 1), date(2026, 11, 1)),
        currency="AUD",
        line_amount_types="Exclusive",
        lines=lines,
        subtotal=Decimal("181.83"),
        tax=Decimal("18.18"),
        total=Decimal("200.01"),
    )
    body = invoice_payload(
        draft,
        contact_id=made.record.ContactID,
        number="RL-77-1",
        issued=date(2026, 11, 1),
        due=date(2026, 11, 15),
    )
    [result] = xero.create_invoices(tenant, [body], idempotency_key=draft.key)
    assert result.ok and result.record is not None
    posted = posted_invoice(result.record)
    assert (posted.subtotal, posted.tax, posted.total) == (draft.subtotal, draft.tax, draft.total)
    assert [line.line_amount for line in posted.lines] == [Decimal("150.00"), Decimal("31.83")]
    assert posted.lines[1].unit_amount == Decimal("95.5000")
    assert posted.issued == date(2026, 11, 1)
    [again] = xero.invoices(tenant, numbers=["RL-77-1"]).records
    assert posted_invoice(again) == posted

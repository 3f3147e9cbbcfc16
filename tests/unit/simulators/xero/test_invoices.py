"""Invoices: creation and maths, numbering, batches and summarizeErrors, validation messages, status
rules, reads by id and number, and the list filters."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from revloop.simulators.common import SimClock
from revloop.simulators.xero import XeroSimulator

from .support import body, invoice, line, post, put

D = Decimal
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def create(xero: httpx.Client, *docs: dict, **params) -> list[dict]:
    response = put(xero, "/Invoices", {"Invoices": list(docs)}, **params)
    assert response.status_code == 200, response.text
    return body(response)["Invoices"]


def test_create_computes_xero_maths_and_envelope(xero: httpx.Client, contact_id: str) -> None:
    response = put(
        xero,
        "/Invoices",
        {
            "Invoices": [
                invoice(
                    contact_id,
                    line("Remote support", "2.5", "165.00"),
                    line("Seats", "12", "89.00"),
                    line("Discounted", "1", "19.95", DiscountRate=D("10")),
                )
            ]
        },
    )
    assert response.status_code == 200
    data = body(response)
    assert data["Status"] == "OK" and data["ProviderName"] and data["DateTimeUTC"].startswith("/Date(")
    inv = data["Invoices"][0]
    assert inv["InvoiceNumber"] == "INV-0001"
    assert inv["Status"] == "DRAFT"
    assert [li["LineAmount"] for li in inv["LineItems"]] == [D("412.50"), D("1068.00"), D("17.96")]
    assert [li["TaxAmount"] for li in inv["LineItems"]] == [D("41.25"), D("106.80"), D("1.80")]
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (D("1498.46"), D("149.85"), D("1648.31"))
    assert inv["AmountDue"] == D("1648.31") and inv["AmountPaid"] == D("0.00")
    assert inv["IsDiscounted"] is True and inv["TotalDiscount"] == D("1.99")
    assert inv["Date"] == "/Date(1793404800000+0000)/" and inv["DateString"] == "2026-10-31T00:00:00"
    assert inv["DueDateString"] == "2026-11-14T00:00:00"
    assert inv["UpdatedDateUTC"].startswith("/Date(") and inv["UpdatedDateUTCString"].endswith("Z")
    assert inv["Contact"]["Name"] == "Acme Dental Group"
    assert inv["LineItems"][0]["Quantity"] == D("2.5000")
    assert '"Quantity":2.5000' in response.text  # exact decimals on the wire


def test_line_amount_types_default_exclusive_and_inclusive(xero: httpx.Client, contact_id: str) -> None:
    inv = create(xero, invoice(contact_id, line("Gross", "1", "110.00"), LineAmountTypes="Inclusive"))[0]
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (D("100.00"), D("10.00"), D("110.00"))
    bad = put(xero, "/Invoices", {"Invoices": [invoice(contact_id, LineAmountTypes="Gross")]})
    assert bad.status_code == 400


def test_numbers_are_sequential_and_unique(xero: httpx.Client, contact_id: str) -> None:
    a, b = create(xero, invoice(contact_id), invoice(contact_id))
    assert (a["InvoiceNumber"], b["InvoiceNumber"]) == ("INV-0001", "INV-0002")
    create(xero, invoice(contact_id, InvoiceNumber="INV-0003"))
    assert create(xero, invoice(contact_id))[0]["InvoiceNumber"] == "INV-0004"
    dup = put(xero, "/Invoices", {"Invoices": [invoice(contact_id, InvoiceNumber="INV-0001")]})
    assert dup.status_code == 400
    error = body(dup)
    assert (error["ErrorNumber"], error["Type"], error["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert error["Elements"][0]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    bills = create(
        xero,
        invoice(contact_id, Type="ACCPAY", InvoiceNumber="SUP-1"),
        invoice(contact_id, Type="ACCPAY", InvoiceNumber="SUP-1"),
    )
    assert len(bills) == 2  # ACCPAY numbers need not be unique


def test_default_batch_is_all_or_nothing(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    response = put(
        xero,
        "/Invoices",
        {"Invoices": [invoice(contact_id), invoice(contact_id, line("x", "1", "1", TaxType="NOPE"))]},
    )
    assert response.status_code == 400
    elements = body(response)["Elements"]
    assert len(elements) == 1
    assert elements[0]["InvoiceID"] == ZERO_GUID and elements[0]["HasErrors"] is True
    assert elements[0]["ValidationErrors"] == [
        {"Message": "The TaxType code NOPE does not exist or cannot be used for this type of transaction."}
    ]
    assert sim.orgs[sim.credentials["tenant_id"]].invoices == {}


def test_summarize_errors_false_saves_the_good_ones(xero: httpx.Client, contact_id: str) -> None:
    response = put(
        xero,
        "/Invoices",
        {
            "Invoices": [
                invoice(contact_id, Reference="good"),
                invoice("00000000-0000-4000-8000-00000000dead", Reference="bad contact"),
                invoice(contact_id, line("x", "1", "5", AccountCode="999"), Reference="warned"),
            ]
        },
        summarizeErrors="false",
    )
    assert response.status_code == 200
    good, bad, warned = body(response)["Invoices"]
    assert good["StatusAttributeString"] == "OK" and good["InvoiceID"] != ZERO_GUID
    assert (
        bad["StatusAttributeString"] == "ERROR" and bad["InvoiceID"] == ZERO_GUID and bad["HasErrors"] is True
    )
    assert "could not be found" in bad["ValidationErrors"][0]["Message"]
    assert warned["StatusAttributeString"] == "WARNING"
    assert warned["Warnings"] == [
        {"Message": "Account code '999' has been removed as it does not match a recognised account."}
    ]
    assert "AccountCode" not in warned["LineItems"][0]
    listed = body(xero.get("/Invoices", params={"page": 1}))["Invoices"]
    assert {i["Reference"] for i in listed} == {"good", "warned"}


def test_validation_messages(xero: httpx.Client, contact_id: str) -> None:
    def errors(doc: dict) -> list[str]:
        response = put(xero, "/Invoices", {"Invoices": [doc]})
        assert response.status_code == 400
        return [e["Message"] for e in body(response)["Elements"][0]["ValidationErrors"]]

    assert errors(invoice(contact_id, Contact={})) == [
        "The Contact must contain at least 1 of the following elements to identify the contact: "
        "Name, ContactID, ContactNumber"
    ]
    assert errors(invoice(contact_id, line("x", "1", "1", ItemCode="NOPE"))) == [
        "Item code 'NOPE' is not valid"
    ]
    assert errors(invoice(contact_id, line("x", "1", "1", AccountCode="999"), Status="AUTHORISED")) == [
        "Account must be valid."
    ]
    assert errors(invoice(contact_id, Status="PAID")) == ["Invoice not of valid status for creation"]
    assert errors(invoice(contact_id, line("x", "2", "10", LineAmount=D("25")))) == [
        "The line total 25.00 does not match the expected line total 20.00"
    ]
    assert errors(
        invoice(contact_id, Type="ACCPAY", LineItems=[line("x", "1", "10", DiscountRate=D(5))])
    ) == ["Discounts are not supported on invoice line items"]
    assert errors(invoice(contact_id, CurrencyCode="EUR")) == [
        "The currency code 'EUR' is not enabled for this organisation."
    ]


def test_contact_by_name_is_created_and_items_fill_lines(xero: httpx.Client, sim: XeroSimulator) -> None:
    inv = create(
        xero,
        {
            "Type": "ACCREC",
            "Contact": {"Name": "New Client Ltd", "ContactNumber": "HALO-9"},
            "LineItems": [{"ItemCode": "LAB-REMOTE", "Quantity": 2}],
        },
    )[0]
    assert inv["Contact"]["Name"] == "New Client Ltd"
    li = inv["LineItems"][0]
    assert (li["Description"], li["UnitAmount"], li["AccountCode"], li["TaxType"]) == (
        "Remote support (per hour)",
        D("165.00"),
        "220",
        "OUTPUT",
    )
    assert li["Item"]["Code"] == "LAB-REMOTE"
    assert inv["DateString"] == "2026-11-02T00:00:00"  # today on the simulator clock
    contacts = body(xero.get("/Contacts", params={"where": 'Name=="New Client Ltd"'}))["Contacts"]
    assert contacts[0]["ContactNumber"] == "HALO-9" and contacts[0]["IsCustomer"] is True


def test_tracking_by_name(xero: httpx.Client, contact_id: str) -> None:
    tracking = [{"Name": "Service Line", "Option": "Projects"}]
    inv = create(xero, invoice(contact_id, line("x", "1", "10", Tracking=tracking)))[0]
    entry = inv["LineItems"][0]["Tracking"][0]
    assert entry["Option"] == "Projects" and entry["TrackingOptionID"]
    bad = put(
        xero,
        "/Invoices",
        {
            "Invoices": [
                invoice(
                    contact_id, line("x", "1", "1", Tracking=[{"Name": "Service Line", "Option": "Nope"}])
                )
            ]
        },
    )
    assert bad.status_code == 400


def test_status_transitions(xero: httpx.Client, contact_id: str) -> None:
    inv = create(xero, invoice(contact_id))[0]
    path = f"/Invoices/{inv['InvoiceID']}"

    def move(status: str) -> httpx.Response:
        return post(xero, path, {"Invoices": [{"InvoiceID": inv["InvoiceID"], "Status": status}]})

    assert body(move("SUBMITTED"))["Invoices"][0]["Status"] == "SUBMITTED"
    assert body(move("DRAFT"))["Invoices"][0]["Status"] == "DRAFT"
    assert body(move("AUTHORISED"))["Invoices"][0]["Status"] == "AUTHORISED"
    back = move("DRAFT")
    assert back.status_code == 400
    assert body(back)["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Invoice not of valid status for modification"
    )
    assert move("DELETED").status_code == 400
    assert body(move("VOIDED"))["Invoices"][0]["Status"] == "VOIDED"
    assert move("AUTHORISED").status_code == 400
    draft = create(xero, invoice(contact_id))[0]
    deleted = post(xero, f"/Invoices/{draft['InvoiceID']}", {"Status": "DELETED"})
    assert body(deleted)["Invoices"][0]["Status"] == "DELETED"


def test_update_keeps_line_ids_and_recomputes(xero: httpx.Client, contact_id: str) -> None:
    inv = create(xero, invoice(contact_id, line("a", "1", "100"), line("b", "1", "50")))[0]
    first = inv["LineItems"][0]
    updated = body(
        post(
            xero,
            "/Invoices",
            {
                "Invoices": [
                    {
                        "InvoiceID": inv["InvoiceID"],
                        "LineItems": [
                            {
                                "LineItemID": first["LineItemID"],
                                "Description": "a",
                                "Quantity": 3,
                                "UnitAmount": 100,
                                "AccountCode": "210",
                                "TaxType": "OUTPUT",
                            }
                        ],
                    }
                ]
            },
        )
    )["Invoices"][0]
    assert [li["LineItemID"] for li in updated["LineItems"]] == [first["LineItemID"]]
    assert updated["Total"] == D("330.00")
    assert updated["InvoiceNumber"] == inv["InvoiceNumber"]
    by_number = body(
        post(
            xero,
            "/Invoices",
            {
                "Invoices": [
                    {"Type": "ACCREC", "InvoiceNumber": inv["InvoiceNumber"], "Reference": "via number"}
                ]
            },
        )
    )["Invoices"][0]
    assert by_number["InvoiceID"] == inv["InvoiceID"] and by_number["Reference"] == "via number"


def test_get_by_id_and_number_and_404(xero: httpx.Client, contact_id: str) -> None:
    inv = create(xero, invoice(contact_id))[0]
    by_id = body(xero.get(f"/Invoices/{inv['InvoiceID']}"))["Invoices"][0]
    by_number = body(xero.get(f"/Invoices/{inv['InvoiceNumber']}"))["Invoices"][0]
    assert by_id == by_number
    assert by_id["LineItems"]
    missing = xero.get("/Invoices/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.text == "The resource you're looking for cannot be found"
    assert (
        post(xero, "/Invoices/00000000-0000-4000-8000-000000000000", {"Status": "DELETED"}).status_code == 404
    )


def _seed_many(xero: httpx.Client, contact_id: str, other: str) -> list[dict]:
    docs = [
        invoice(
            contact_id if n % 2 else other,
            line("x", "1", str(10 * n)),
            Reference=f"RUN-{n:03d}",
            Date=f"2026-{9 + n % 3:02d}-{1 + n:02d}",
            Status="AUTHORISED" if n % 3 == 0 else "DRAFT",
        )
        for n in range(1, 13)
    ]
    return create(xero, *docs)


def test_where_filters(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    org = sim.orgs[sim.credentials["tenant_id"]]
    other = next(c for c in org.contacts if c != contact_id)
    _seed_many(xero, contact_id, other)

    def refs(where: str, **params) -> set[str]:
        response = xero.get("/Invoices", params={"where": where, "page": 1, **params})
        assert response.status_code == 200, response.text
        return {i["Reference"] for i in body(response)["Invoices"]}

    assert refs('Status=="AUTHORISED"') == {"RUN-003", "RUN-006", "RUN-009", "RUN-012"}
    assert refs(f'Contact.ContactID==Guid("{contact_id}")') == {f"RUN-{n:03d}" for n in range(1, 13, 2)}
    assert refs(f'Contact.ContactID=guid("{contact_id}") AND Status=="AUTHORISED"') == {"RUN-003", "RUN-009"}
    assert refs('Status=="AUTHORISED" OR Reference=="RUN-001"') == {
        "RUN-001",
        "RUN-003",
        "RUN-006",
        "RUN-009",
        "RUN-012",
    }
    assert refs("Date>=DateTime(2026,11,01) && Date<DateTime(2026,11,05)") == {"RUN-002"}
    assert refs('Reference.StartsWith("RUN-01")') == {"RUN-010", "RUN-011", "RUN-012"}
    assert refs('Reference.Contains("N-00")') == {f"RUN-00{n}" for n in range(1, 10)}
    assert refs('Status!="DRAFT" AND Total>98') == {"RUN-009", "RUN-012"}
    assert refs('(Status=="DRAFT" OR Status=="SUBMITTED") AND Total<=22') == {"RUN-001", "RUN-002"}
    assert refs('Type=="ACCREC" AND AmountDue > 125') == {"RUN-012"}
    for bad in (
        'Status=="DRAFT" XOR 1',
        "Status",
        'Nonsense=="x"',
        'NOT Status=="DRAFT"',
        'Reference.Matches("x")',
        "Date>=DateTime(2026,13,1)",
    ):
        response = xero.get("/Invoices", params={"where": bad})
        assert response.status_code == 400, bad
        assert body(response)["Type"] == "QueryParseException"


def test_list_parameters(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    org = sim.orgs[sim.credentials["tenant_id"]]
    other = next(c for c in org.contacts if c != contact_id)
    made = _seed_many(xero, contact_id, other)
    ids = ",".join(i["InvoiceID"] for i in made[:3])
    assert len(body(xero.get("/Invoices", params={"IDs": ids}))["Invoices"]) == 3
    numbers = body(xero.get("/Invoices", params={"InvoiceNumbers": "INV-0001,INV-0005"}))["Invoices"]
    assert {i["InvoiceNumber"] for i in numbers} == {"INV-0001", "INV-0005"}
    assert len(body(xero.get("/Invoices", params={"ContactIDs": other}))["Invoices"]) == 6
    assert len(body(xero.get("/Invoices", params={"Statuses": "AUTHORISED,DRAFT"}))["Invoices"]) == 12
    ordered = body(xero.get("/Invoices", params={"order": "Total DESC", "page": 1}))["Invoices"]
    assert [i["Total"] for i in ordered[:2]] == [D("132.00"), D("121.00")]
    by_date = body(xero.get("/Invoices", params={"order": "Date ASC, Reference DESC", "page": 1}))["Invoices"]
    assert by_date[0]["Reference"] == "RUN-003"
    assert xero.get("/Invoices", params={"order": "Bogus"}).status_code == 400


def test_paging_and_line_items(xero: httpx.Client, contact_id: str) -> None:
    create(xero, *[invoice(contact_id, Reference=f"P{n}") for n in range(7)])
    page = body(xero.get("/Invoices", params={"page": 2, "pageSize": 3}))
    assert page["pagination"] == {"page": 2, "pageSize": 3, "pageCount": 3, "itemCount": 7}
    assert len(page["Invoices"]) == 3 and page["Invoices"][0]["LineItems"]
    assert len(body(xero.get("/Invoices", params={"page": 3, "pageSize": 3}))["Invoices"]) == 1
    big = body(xero.get("/Invoices", params={"page": 1, "pageSize": 5000}))
    assert big["pagination"]["pageSize"] == 1000
    unpaged = body(xero.get("/Invoices"))
    assert "pagination" not in unpaged and len(unpaged["Invoices"]) == 7
    assert "LineItems" not in unpaged["Invoices"][0]
    summary = body(xero.get("/Invoices", params={"page": 1, "summaryOnly": "true"}))["Invoices"][0]
    assert "LineItems" not in summary


def test_if_modified_since(xero: httpx.Client, clock: SimClock, contact_id: str) -> None:
    old = create(xero, invoice(contact_id, Reference="old"))[0]
    clock.advance(600)
    since = clock.now().replace(microsecond=0)
    create(xero, invoice(contact_id, Reference="new"))
    clock.advance(60)
    post(xero, f"/Invoices/{old['InvoiceID']}", {"Reference": "old-touched"})
    got = body(xero.get("/Invoices", params={"page": 1}, headers={"If-Modified-Since": since.isoformat()}))
    assert {i["Reference"] for i in got["Invoices"]} == {"new", "old-touched"}
    rfc = since.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert len(body(xero.get("/Invoices", headers={"If-Modified-Since": rfc}))["Invoices"]) == 2


def test_unitdp_4(xero: httpx.Client, contact_id: str) -> None:
    precise = line("Per-minute", "90", "2.7499")
    two = create(xero, invoice(contact_id, dict(precise)))[0]
    assert two["LineItems"][0]["UnitAmount"] == D("2.75") and two["Total"] == D("272.25")
    four = create(xero, invoice(contact_id, dict(precise)), unitdp=4)[0]
    assert four["LineItems"][0]["UnitAmount"] == D("2.7499")
    assert four["LineItems"][0]["LineAmount"] == D("247.49")
    read_2dp = body(xero.get(f"/Invoices/{four['InvoiceID']}"))["Invoices"][0]
    assert read_2dp["LineItems"][0]["UnitAmount"] == D("2.75")
    read_4dp = body(xero.get(f"/Invoices/{four['InvoiceID']}", params={"unitdp": 4}))["Invoices"][0]
    assert read_4dp["LineItems"][0]["UnitAmount"] == D("2.7499")


def test_bad_json_is_post_data_invalid(xero: httpx.Client) -> None:
    response = xero.put("/Invoices", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert body(response)["Type"] == "PostDataInvalidException"


@pytest.mark.parametrize("path", ["/invoices", "/INVOICES"])
def test_paths_are_case_insensitive(xero: httpx.Client, path: str) -> None:
    assert xero.get(path).status_code == 200


def test_lock_dates(xero: httpx.Client, sim: XeroSimulator, contact_id: str) -> None:
    sim.seed({"Organisation": {"PeriodLockDate": "2026-09-30"}})
    locked = put(
        xero, "/Invoices", {"Invoices": [invoice(contact_id, Date="2026-09-15", Status="AUTHORISED")]}
    )
    assert locked.status_code == 400
    assert body(locked)["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The document date cannot be before the period lock date, currently set at 30-Sep-2026"
    )
    assert put(xero, "/Invoices", {"Invoices": [invoice(contact_id, Date="2026-09-15")]}).status_code == 200
    assert put(xero, "/Invoices", {"Invoices": [invoice(contact_id, Status="AUTHORISED")]}).status_code == 200
    org = body(xero.get("/Organisation"))["Organisations"][0]
    assert org["PeriodLockDate"] == "/Date(1790726400000+0000)/"


def test_contact_fields_sent_with_an_invoice_update_the_contact(xero: httpx.Client, contact_id: str) -> None:
    doc = invoice(contact_id)
    doc["Contact"] = {
        "ContactID": contact_id,
        "EmailAddress": "new-ap@acme.example",
        "HasValidationErrors": False,
    }
    put(xero, "/Invoices", {"Invoices": [doc]})
    contact = body(xero.get(f"/Contacts/{contact_id}"))["Contacts"][0]
    assert contact["EmailAddress"] == "new-ap@acme.example"


def test_a_foreign_invoice_sent_without_a_rate_takes_the_days_rate(
    xero: httpx.Client, sim: XeroSimulator, contact_id: str
) -> None:
    org = sim.orgs[sim.credentials["tenant_id"]]
    foreign = next(c["Code"] for c in org.currencies if c["Code"] != org.base_currency())
    org.day_rates[foreign] = D("1.27")
    dated, given, base = create(
        xero,
        invoice(contact_id, CurrencyCode=foreign),
        invoice(contact_id, CurrencyCode=foreign, CurrencyRate=D("1.3")),
        invoice(contact_id),
    )
    assert dated["CurrencyRate"] == D("1.270000")  # the day's rate
    assert given["CurrencyRate"] == D("1.3")  # the rate sent
    assert base["CurrencyRate"] == D("1.000000")

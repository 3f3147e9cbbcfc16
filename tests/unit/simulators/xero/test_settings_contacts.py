"""Organisation, accounts, tax rates, currencies, tracking categories, items and contacts."""

from __future__ import annotations

from decimal import Decimal

import httpx

from revloop.simulators.xero import XeroSimulator

from .support import body, post, put

D = Decimal


def test_settings_reads(xero: httpx.Client, sim: XeroSimulator) -> None:
    org = body(xero.get("/Organisation"))["Organisations"][0]
    assert org["OrganisationID"] == sim.credentials["tenant_id"]
    assert org["BaseCurrency"] == "AUD" and org["CreatedDateUTC"].startswith("/Date(")
    accounts = body(xero.get("/Accounts"))["Accounts"]
    rounding = [a for a in accounts if a.get("SystemAccount") == "ROUNDING"]
    assert rounding and rounding[0]["Class"] == "LIABILITY"
    one = body(xero.get(f"/Accounts/{accounts[0]['AccountID']}"))["Accounts"]
    assert one[0]["Code"] == accounts[0]["Code"]
    assert len(body(xero.get("/Accounts", params={"where": 'Type=="REVENUE"'}))["Accounts"]) == 3
    rates = body(xero.get("/TaxRates"))["TaxRates"]
    output = next(r for r in rates if r["TaxType"] == "OUTPUT")
    assert output["EffectiveRate"] == D("10.0000") and output["DisplayTaxRate"] == D("10.0000")
    assert '"EffectiveRate":10.0000' in xero.get("/TaxRates/OUTPUT").text
    assert xero.get("/TaxRates/NOPE").status_code == 404
    themes = body(xero.get("/BrandingThemes"))["BrandingThemes"]
    assert [t["Name"] for t in themes] == ["Standard", "Managed Services"]
    assert themes[0]["CreatedDateUTC"].startswith("/Date(")
    assert xero.get("/BrandingThemes/00000000-0000-4000-8000-000000000000").status_code == 404
    codes = [c["Code"] for c in body(xero.get("/Currencies"))["Currencies"]]
    assert codes[0] == "AUD"
    tracking = body(xero.get("/TrackingCategories"))["TrackingCategories"]
    assert tracking[0]["Name"] == "Service Line" and len(tracking[0]["Options"]) == 4
    one = body(xero.get(f"/TrackingCategories/{tracking[0]['TrackingCategoryID']}"))
    assert (
        one["TrackingCategories"][0]["Options"][0]["TrackingCategoryID"] == tracking[0]["TrackingCategoryID"]
    )


def test_items_create_update_and_unitdp(xero: httpx.Client) -> None:
    created = put(
        xero,
        "/Items",
        {
            "Items": [
                {
                    "Code": "BACKUP-TB",
                    "Name": "Backup per TB",
                    "SalesDetails": {"UnitPrice": D("12.3456"), "AccountCode": "210", "TaxType": "OUTPUT"},
                }
            ]
        },
        unitdp=4,
    )
    item = body(created)["Items"][0]
    assert item["SalesDetails"]["UnitPrice"] == D("12.3456") and item["IsSold"] is True
    assert body(xero.get(f"/Items/{item['ItemID']}"))["Items"][0]["SalesDetails"]["UnitPrice"] == D("12.35")
    duplicate = put(xero, "/Items", {"Items": [{"Code": "BACKUP-TB"}]})
    assert body(duplicate)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Price List Item with Code 'BACKUP-TB' already exists"}
    ]
    assert put(xero, "/Items", {"Items": [{"Name": "no code"}]}).status_code == 400
    renamed = body(post(xero, "/Items", {"Items": [{"Code": "BACKUP-TB", "Name": "Backup (TB)"}]}))["Items"][
        0
    ]
    assert renamed["ItemID"] == item["ItemID"] and renamed["Name"] == "Backup (TB)"
    by_code = body(xero.get("/Items/BACKUP-TB"))["Items"][0]
    assert by_code["ItemID"] == item["ItemID"]
    assert len(body(xero.get("/Items"))["Items"]) == 5
    assert post(xero, f"/Items/{item['ItemID']}", {"Description": "d"}).status_code == 200


def test_contacts_crud_and_rules(xero: httpx.Client) -> None:
    created = body(
        put(
            xero,
            "/Contacts",
            {
                "Contacts": [
                    {
                        "Name": "Cobalt Clinics",
                        "ContactNumber": "HALO-2001",
                        "EmailAddress": "ap@cobalt.example",
                    }
                ]
            },
        )
    )["Contacts"][0]
    assert created["ContactStatus"] == "ACTIVE" and created["HasValidationErrors"] is False
    dup = put(xero, "/Contacts", {"Contacts": [{"Name": "Cobalt Clinics"}]})
    assert dup.status_code == 400
    assert body(dup)["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The contact name Cobalt Clinics is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    assert body(dup)["Elements"][0]["HasValidationErrors"] is True
    by_number = body(xero.get("/Contacts/HALO-2001"))["Contacts"][0]
    assert by_number["ContactID"] == created["ContactID"]
    archived = body(post(xero, f"/Contacts/{created['ContactID']}", {"ContactStatus": "ARCHIVED"}))[
        "Contacts"
    ]
    assert archived[0]["ContactStatus"] == "ARCHIVED"
    names = {c["Name"] for c in body(xero.get("/Contacts"))["Contacts"]}
    assert "Cobalt Clinics" not in names
    everything = body(xero.get("/Contacts", params={"includeArchived": "true"}))["Contacts"]
    assert "Cobalt Clinics" in {c["Name"] for c in everything}
    reused = put(xero, "/Contacts", {"Contacts": [{"Name": "Cobalt Clinics"}]})
    assert reused.status_code == 200  # uniqueness is among active contacts only
    page = body(xero.get("/Contacts", params={"page": 1, "searchTerm": "acme"}))
    assert [c["Name"] for c in page["Contacts"]] == ["Acme Dental Group"]
    assert page["pagination"]["itemCount"] == 1
    ids = ",".join(c["ContactID"] for c in everything[:2])
    assert len(body(xero.get("/Contacts", params={"IDs": ids, "includeArchived": "true"}))["Contacts"]) == 2
    in_batch = put(
        xero, "/Contacts", {"Contacts": [{"Name": "Twin"}, {"Name": "Twin"}]}, summarizeErrors="false"
    )
    statuses = [c["StatusAttributeString"] for c in body(in_batch)["Contacts"]]
    assert statuses == ["OK", "ERROR"]
    assert xero.get("/Contacts/NO-SUCH-NUMBER").status_code == 404

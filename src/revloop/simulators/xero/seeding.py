"""Loading wire-shaped records into an organisation quickly, filling what the API would fill."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import contacts, demo, documents, settings
from .money import ZERO, compute_document, q2
from .state import OrgState
from .wire import is_guid, parse_date, parse_timestamp, to_decimal

if TYPE_CHECKING:
    from .app import XeroSimulator

MONEY_LINE_KEYS = ("Quantity", "UnitAmount", "LineAmount", "TaxAmount", "DiscountRate", "DiscountAmount")


class Seeder:
    def __init__(self, sim: XeroSimulator) -> None:
        self.sim = sim

    @property
    def stamp(self) -> str:
        from .wire import iso_stamp

        return iso_stamp(self.sim.clock.now())

    def _id(self, value: Any) -> str:
        return str(value).lower() if is_guid(value) else self.sim.ids.guid()

    def seed_demo(self, tenant_id: str) -> None:
        self._chart(self.sim.orgs[tenant_id])
        self.seed(
            {
                "Items": demo.items(),
                "TrackingCategories": demo.tracking_categories(),
                "Contacts": demo.contacts(),
            },
            tenant_id=tenant_id,
            name=None,
            chart=False,
        )

    def _chart(self, org: OrgState) -> None:
        stamp = self.stamp
        for account in demo.accounts():
            record = settings.fill_account(account, stamp)
            org.accounts[record["AccountID"]] = record
        for rate in demo.tax_rates():
            org.tax_rates[rate["TaxType"]] = settings.fill_tax_rate(rate)
        org.currencies = demo.currencies()
        for theme in demo.branding_themes():
            self._created(theme, stamp)
            org.branding_themes[theme["BrandingThemeID"]] = theme

    def seed(self, data: dict[str, Any], *, tenant_id: str, name: str | None, chart: bool) -> None:
        sim = self.sim
        if tenant_id not in sim.orgs:
            org = sim.add_organisation(tenant_id, name or f"Organisation {len(sim.orgs) + 1}")
            if chart:
                self._chart(org)
        org = sim.orgs[tenant_id]
        if name:
            org.organisation["Name"] = org.organisation["LegalName"] = name
        stamp = self.stamp
        if "Organisation" in data:
            values = dict(data["Organisation"])
            for key in ("PeriodLockDate", "EndOfYearLockDate"):
                if values.get(key):
                    values[key] = parse_date(values[key])
            org.organisation.update(values)
        for raw in data.get("Accounts", []):
            record = settings.fill_account(
                {**copy.deepcopy(raw), "AccountID": self._id(raw.get("AccountID"))}, stamp
            )
            self._stamp(record, stamp)
            org.accounts[record["AccountID"]] = record
        for raw in data.get("TaxRates", []):
            rate = copy.deepcopy(raw)
            for component in rate.get("TaxComponents", []):
                component["Rate"] = to_decimal(component.get("Rate")) or ZERO
            for key in ("EffectiveRate", "DisplayTaxRate"):
                if key in rate:
                    rate[key] = to_decimal(rate[key])
            org.tax_rates[rate["TaxType"]] = settings.fill_tax_rate(rate)
        if "Currencies" in data:
            codes = {c["Code"] for c in org.currencies}
            org.currencies += [dict(c) for c in data["Currencies"] if c["Code"] not in codes]
        for code, rate in (data.get("DayRates") or {}).items():
            org.day_rates[str(code)] = to_decimal(rate) or Decimal(1)
        for raw in data.get("TrackingCategories", []):
            category = copy.deepcopy(raw)
            category["TrackingCategoryID"] = self._id(category.get("TrackingCategoryID"))
            for option in category.get("Options", []):
                option["TrackingOptionID"] = self._id(option.get("TrackingOptionID"))
            record = settings.fill_tracking(category)
            org.tracking_categories[record["TrackingCategoryID"]] = record
        for raw in data.get("BrandingThemes", []):
            theme = copy.deepcopy(raw)
            theme["BrandingThemeID"] = self._id(theme.get("BrandingThemeID"))
            theme.setdefault("Type", "INVOICE")
            theme.setdefault("SortOrder", len(org.branding_themes))
            self._created(theme, stamp)
            org.branding_themes[theme["BrandingThemeID"]] = theme
        for raw in data.get("Items", []):
            item = copy.deepcopy(raw)
            item["ItemID"] = self._id(item.get("ItemID"))
            record = settings.fill_item(item, stamp)
            self._stamp(record, stamp)
            org.items[record["ItemID"]] = record
        for raw in data.get("Contacts", []):
            contact = copy.deepcopy(raw)
            contact["ContactID"] = self._id(contact.get("ContactID"))
            record = contacts.fill_defaults(contact, stamp)
            self._stamp(record, stamp)
            org.contacts[record["ContactID"]] = record
        for kind in (documents.INVOICE, documents.CREDIT_NOTE, documents.QUOTE, documents.REPEATING):
            for raw in data.get(kind.key, []):
                self._document(org, kind, raw, stamp)
        org.rebuild_indexes()
        for raw in data.get("Payments", []):
            self._payment(org, raw, stamp)
        for row in data.get("ProfitAndLossRows", []):
            org.pl_rows.append(
                {
                    "AccountCode": str(row["AccountCode"]),
                    "Date": parse_date(row["Date"]),
                    "Amount": to_decimal(row["Amount"]) or ZERO,
                    **(
                        {"TrackingOptionID": str(row["TrackingOptionID"]).lower()}
                        if row.get("TrackingOptionID")
                        else {}
                    ),
                }
            )

    @staticmethod
    def _created(record: dict[str, Any], stamp: str) -> None:
        value = record.get("CreatedDateUTC")
        record["CreatedDateUTC"] = (
            parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if value else stamp
        )

    @staticmethod
    def _stamp(record: dict[str, Any], stamp: str) -> None:
        value = record.get("UpdatedDateUTC")
        record["UpdatedDateUTC"] = (
            parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if value else stamp
        )

    def _contact_ref(self, org: OrgState, raw: Any, stamp: str) -> dict[str, str]:
        raw = raw if isinstance(raw, dict) else {}
        if raw.get("ContactID") and str(raw["ContactID"]).lower() in org.contacts:
            return {"ContactID": str(raw["ContactID"]).lower()}
        found = None
        if raw.get("ContactNumber"):
            found = org.contact_by("ContactNumber", str(raw["ContactNumber"]))
        if found is None and raw.get("Name"):
            found = org.contact_by("Name", str(raw["Name"]))
        if found is None:
            fields = {k: v for k, v in raw.items() if k in contacts.WRITABLE}
            fields.setdefault("Name", f"Contact {len(org.contacts) + 1}")
            found = contacts.fill_defaults({"ContactID": self._id(raw.get("ContactID")), **fields}, stamp)
            org.contacts[found["ContactID"]] = found
        return {"ContactID": found["ContactID"]}

    def _document(self, org: OrgState, kind: documents.Kind, raw: dict[str, Any], stamp: str) -> None:
        record = copy.deepcopy(raw)
        record[kind.id_field] = self._id(record.get(kind.id_field))
        if kind is documents.REPEATING:
            record["ID"] = record[kind.id_field]
        record["Contact"] = self._contact_ref(org, record.get("Contact"), stamp)
        for name in (*kind.date_fields, "FullyPaidOnDate"):
            if record.get(name):
                record[name] = parse_date(record[name])
        for key in [k for k in record if k.endswith("String")]:
            record.pop(key)
        if kind is documents.REPEATING and isinstance(record.get("Schedule"), dict):
            for name in ("StartDate", "NextScheduledDate", "EndDate"):
                if record["Schedule"].get(name):
                    record["Schedule"][name] = parse_date(record["Schedule"][name])
        if kind is not documents.REPEATING:
            record.setdefault("Date", self.sim.clock.now().date().isoformat())
        record.setdefault("Status", "DRAFT")
        record.setdefault("LineAmountTypes", kind.lat_values[0])
        record.setdefault("CurrencyCode", org.base_currency())
        lines = record.get("LineItems") or []
        for line in lines:
            line["LineItemID"] = self._id(line.get("LineItemID"))
            for key in MONEY_LINE_KEYS:
                if key in line and line[key] is not None:
                    line[key] = to_decimal(line[key])
        if "Total" not in record or any("LineAmount" not in line for line in lines):
            lat = documents.MATHS_LAT[kind.lat_values.index(record["LineAmountTypes"])]

            def rate_for(line: dict[str, Any]) -> Decimal:
                rate = org.tax_rates.get(str(line.get("TaxType", "")))
                return Decimal(rate["EffectiveRate"]) if rate else ZERO

            maths = compute_document(
                lines, line_amount_types=lat, rate_for=rate_for, unitdp=4, rounding=self.sim.rounding
            )
            record.update(SubTotal=q2(maths.sub_total), TotalTax=q2(maths.total_tax), Total=q2(maths.total))
            if kind in (documents.INVOICE, documents.QUOTE):
                record["TotalDiscount"] = q2(maths.total_discount)
        for key in (
            "SubTotal",
            "TotalTax",
            "Total",
            "TotalDiscount",
            "AmountPaid",
            "AmountCredited",
            "CurrencyRate",
        ):
            if key in record and record[key] is not None:
                record[key] = to_decimal(record[key])
        record["LineItems"] = lines
        if kind is documents.INVOICE:
            record.setdefault("AmountPaid", ZERO)
            record.setdefault("AmountCredited", ZERO)
            record.setdefault("IsDiscounted", any(line.get("DiscountRate") for line in lines))
            for key in ("Payments", "CreditNotes", "Prepayments", "Overpayments"):
                record[key] = []
        if kind is documents.CREDIT_NOTE:
            record["Allocations"] = []
            record["Payments"] = []
        if kind is not documents.REPEATING:
            record.setdefault("CurrencyRate", Decimal("1.000000"))
            self._stamp(record, stamp)
        record.setdefault("HasAttachments", False)
        documents.assign_number(org, kind, record)
        documents.refresh_balance(kind, record)
        getattr(org, kind.collection)[record[kind.id_field]] = record
        contact = org.contacts.get(record["Contact"]["ContactID"])
        if contact is not None and kind in (documents.INVOICE, documents.CREDIT_NOTE):
            contact["IsCustomer" if record.get("Type") in ("ACCREC", "ACCRECCREDIT") else "IsSupplier"] = True

    def _payment(self, org: OrgState, raw: dict[str, Any], stamp: str) -> None:
        invoice_ref = raw.get("Invoice") or {}
        invoice = org.invoices.get(str(invoice_ref.get("InvoiceID", "")).lower())
        if invoice is None and invoice_ref.get("InvoiceNumber"):
            invoice = next(
                (i for i in org.invoices.values() if i.get("InvoiceNumber") == invoice_ref["InvoiceNumber"]),
                None,
            )
        if invoice is None:
            raise ValueError(f"seeded payment refers to an unknown invoice: {invoice_ref}")
        account_ref = raw.get("Account") or {}
        account = (
            org.accounts.get(str(account_ref.get("AccountID", "")).lower())
            or org.account_by_code(account_ref.get("Code"))
            or next((a for a in org.accounts.values() if a.get("Type") == "BANK"), None)
        )
        amount = q2(to_decimal(raw.get("Amount")) or ZERO)
        day = parse_date(raw.get("Date")) or self.sim.clock.now().date().isoformat()
        payment_id = self._id(raw.get("PaymentID"))
        record = {
            "PaymentID": payment_id,
            "Date": day,
            "Amount": amount,
            "BankAmount": amount,
            "Reference": str(raw.get("Reference", "")),
            "CurrencyRate": to_decimal(raw.get("CurrencyRate")) or Decimal("1.000000"),
            "PaymentType": "ACCRECPAYMENT" if invoice.get("Type") == "ACCREC" else "ACCPAYPAYMENT",
            "Status": raw.get("Status", "AUTHORISED"),
            "IsReconciled": bool(raw.get("IsReconciled", False)),
            "Account": {"AccountID": account["AccountID"], "Code": account.get("Code")} if account else {},
            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
            "UpdatedDateUTC": stamp,
        }
        self._stamp(record, stamp)
        org.payments[payment_id] = record
        if record["Status"] == "AUTHORISED":
            invoice["Payments"].append(
                {
                    "PaymentID": payment_id,
                    "Date": day,
                    "Amount": amount,
                    "Reference": record["Reference"],
                    "CurrencyRate": record["CurrencyRate"],
                }
            )
            invoice["AmountPaid"] = q2(Decimal(invoice["AmountPaid"]) + amount)
            documents.refresh_balance(documents.INVOICE, invoice)

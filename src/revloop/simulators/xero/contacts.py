"""/Contacts: list, get by ContactID or ContactNumber, create and update in batches."""

from __future__ import annotations

from typing import Any

import httpx

from .batch import BatchScope, Outcome, run_batch
from .listing import ListSpec, run_list, split_list
from .state import Ctx, OrgState
from .wire import envelope, is_guid, json_response, ms_timestamp, not_found

CONTACT_FIELDS = (
    "ContactID",
    "ContactNumber",
    "AccountNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "BankAccountDetails",
    "TaxNumber",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "IsSupplier",
    "IsCustomer",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
    "ContactGroups",
    "ContactPersons",
    "UpdatedDateUTC",
    "HasAttachments",
    "HasValidationErrors",
    "Website",
    "XeroNetworkKey",
    "SalesDefaultLineAmountType",
    "PurchasesDefaultLineAmountType",
    "Balances",
)
WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "BankAccountDetails",
    "TaxNumber",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
    "ContactPersons",
    "Website",
)
SPEC = ListSpec("Contacts", "Contact", CONTACT_FIELDS, default_order="Name")
NAME_TAKEN = (
    "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)


def new_contact(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ContactID": ctx.ids.guid(),
        "ContactStatus": "ACTIVE",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
    }
    record.update({k: data[k] for k in WRITABLE if k in data})
    record["UpdatedDateUTC"] = ctx.stamp
    return record


def fill_defaults(record: dict[str, Any], stamp: str) -> dict[str, Any]:
    """Complete a seeded contact with what the API always returns."""
    record.setdefault("ContactStatus", "ACTIVE")
    for key in ("Addresses", "Phones", "ContactGroups", "ContactPersons"):
        record.setdefault(key, [])
    record.setdefault("IsSupplier", False)
    record.setdefault("IsCustomer", False)
    record.setdefault("HasAttachments", False)
    record.setdefault("UpdatedDateUTC", stamp)
    record["ContactID"] = str(record["ContactID"]).lower()
    return record


def render(record: dict[str, Any], *, summary: bool = False) -> dict[str, Any]:
    out = {k: record[k] for k in CONTACT_FIELDS if k in record and k != "UpdatedDateUTC"}
    out["UpdatedDateUTC"] = ms_timestamp(record.get("UpdatedDateUTC"))
    out["HasValidationErrors"] = False
    if summary:
        for key in ("Addresses", "Phones", "ContactPersons", "ContactGroups"):
            out.pop(key, None)
    return out


def reference(org: OrgState, contact_id: str) -> dict[str, Any]:
    """The contact as embedded in documents and payments."""
    contact = org.contacts.get(contact_id, {})
    out: dict[str, Any] = {"ContactID": contact_id}
    for key in ("ContactNumber", "Name"):
        if key in contact:
            out[key] = contact[key]
    out.update(
        {
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        }
    )
    return out


def list_contacts(ctx: Ctx) -> httpx.Response:
    records = list(ctx.org.contacts.values())
    ids = {i.lower() for i in split_list(ctx.params.get("IDs"))}
    if ids:
        records = [r for r in records if r["ContactID"] in ids]
    if ctx.flag("includeArchived") is not True:
        records = [r for r in records if r.get("ContactStatus") != "ARCHIVED"]
    term = (ctx.params.get("searchTerm") or "").lower()
    if term:
        fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
        records = [r for r in records if any(term in str(r.get(f, "")).lower() for f in fields)]
    summary = ctx.flag("summaryOnly") is True
    payload = run_list(ctx, SPEC, records, lambda r: render(r, summary=summary))
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


def find(org: OrgState, key: str) -> dict[str, Any] | None:
    if is_guid(key):
        return org.contacts.get(key.lower())
    return org.contact_by("ContactNumber", key)


def get_contact(ctx: Ctx, key: str) -> httpx.Response:
    record = find(ctx.org, key)
    if record is None:
        return not_found()
    return json_response(200, envelope(ctx.ids, ctx.now, Contacts=[render(record)]))


def _validate(
    ctx: Ctx, data: dict[str, Any], scope: BatchScope, *, create_only: bool, forced_id: str | None
) -> Outcome:
    org = ctx.org
    contact_id = forced_id or (str(data["ContactID"]).lower() if data.get("ContactID") else None)
    existing = None
    if contact_id:
        existing = org.contacts.get(contact_id)
        if existing is None:
            return Outcome(echo=dict(data), errors=["The contact could not be found"])
    elif not create_only and data.get("ContactNumber"):
        existing = org.contact_by("ContactNumber", str(data["ContactNumber"]))
    if existing is not None and create_only:
        return Outcome(echo=dict(data), errors=["A contact with this ContactID already exists"])
    errors: list[str] = []
    name = data.get("Name", existing.get("Name") if existing else None)
    if not name or not str(name).strip():
        errors.append("The contact name must be specified")
    status = data.get("ContactStatus", existing.get("ContactStatus", "ACTIVE") if existing else "ACTIVE")
    if status not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
        errors.append(f"'{status}' is not a valid ContactStatus")
    if name and status == "ACTIVE":
        clash = org.contact_by("Name", str(name))
        own_id = existing["ContactID"] if existing else None
        if (clash is not None and clash["ContactID"] != own_id) or not scope.claim("contact-name", str(name)):
            errors.append(NAME_TAKEN.format(name=name))
    if errors:
        return Outcome(echo=dict(data), errors=errors)

    def commit() -> dict[str, Any]:
        if existing is None:
            record = new_contact(ctx, data)
            org.contacts[record["ContactID"]] = record
            ctx.events.append(("CONTACT", "CREATE", record["ContactID"]))
            return record
        existing.update({k: data[k] for k in WRITABLE if k in data})
        existing["UpdatedDateUTC"] = ctx.stamp
        ctx.events.append(("CONTACT", "UPDATE", existing["ContactID"]))
        return existing

    return Outcome(echo=dict(data), commit=commit)


def write_contacts(ctx: Ctx, body: Any, *, create_only: bool, forced_id: str | None = None) -> httpx.Response:
    return run_batch(
        ctx,
        body,
        key="Contacts",
        id_field="ContactID",
        error_flag="HasValidationErrors",
        validate=lambda data, scope: _validate(
            ctx, data, scope, create_only=create_only, forced_id=forced_id
        ),
        render=render,
    )

"""Organisation settings: /Organisation, /Accounts, /TaxRates, /Currencies, /TrackingCategories, /Items."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx

from .batch import BatchScope, Outcome, run_batch
from .lines import TAX_TYPE_INVALID
from .listing import ListSpec, run_list
from .money import unit_quantum
from .state import Ctx
from .wire import envelope, is_guid, json_response, ms_date, ms_timestamp, not_found, to_decimal

ACCOUNT_FIELDS = (
    "AccountID",
    "Code",
    "Name",
    "Status",
    "Type",
    "TaxType",
    "Description",
    "Class",
    "SystemAccount",
    "EnablePaymentsToAccount",
    "ShowInExpenseClaims",
    "BankAccountNumber",
    "BankAccountType",
    "CurrencyCode",
    "ReportingCode",
    "ReportingCodeName",
    "HasAttachments",
    "UpdatedDateUTC",
    "AddToWatchlist",
)
TAX_RATE_FIELDS = (
    "Name",
    "TaxType",
    "ReportTaxType",
    "CanApplyToAssets",
    "CanApplyToEquity",
    "CanApplyToExpenses",
    "CanApplyToLiabilities",
    "CanApplyToRevenue",
    "DisplayTaxRate",
    "EffectiveRate",
    "Status",
    "TaxComponents",
)
ITEM_FIELDS = (
    "ItemID",
    "Code",
    "Name",
    "Description",
    "PurchaseDescription",
    "UpdatedDateUTC",
    "PurchaseDetails",
    "SalesDetails",
    "IsTrackedAsInventory",
    "InventoryAssetAccountCode",
    "TotalCostPool",
    "QuantityOnHand",
    "IsSold",
    "IsPurchased",
)
TRACKING_FIELDS = ("TrackingCategoryID", "Name", "Status", "Options")
ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


# --- Organisation ---------------------------------------------------------------------------------


def render_organisation(org: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(org)
    for key in ("PeriodLockDate", "EndOfYearLockDate"):
        if out.get(key):
            out[key] = ms_date(out[key])
    if out.get("CreatedDateUTC"):
        out["CreatedDateUTC"] = ms_timestamp(out["CreatedDateUTC"])
    return out


def get_organisation(ctx: Ctx) -> httpx.Response:
    body = envelope(ctx.ids, ctx.now, Organisations=[render_organisation(ctx.org.organisation)])
    return json_response(200, body)


# --- Accounts ------------------------------------------------------------------------------------


def fill_account(record: dict[str, Any], stamp: str) -> dict[str, Any]:
    record["AccountID"] = str(record["AccountID"]).lower()
    record.setdefault("Status", "ACTIVE")
    record.setdefault("Class", ACCOUNT_CLASS.get(str(record.get("Type")), "EXPENSE"))
    record.setdefault("EnablePaymentsToAccount", False)
    record.setdefault("ShowInExpenseClaims", False)
    record.setdefault("HasAttachments", False)
    record.setdefault("AddToWatchlist", False)
    record.setdefault("UpdatedDateUTC", stamp)
    return record


def render_account(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(record[k]) for k in ACCOUNT_FIELDS if k in record}
    out["UpdatedDateUTC"] = ms_timestamp(record.get("UpdatedDateUTC"))
    return out


ACCOUNT_SPEC = ListSpec("Accounts", "Account", ACCOUNT_FIELDS, paged=False, default_order="Code")


def list_accounts(ctx: Ctx) -> httpx.Response:
    payload = run_list(ctx, ACCOUNT_SPEC, list(ctx.org.accounts.values()), render_account)
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


def get_account(ctx: Ctx, account_id: str) -> httpx.Response:
    record = ctx.org.accounts.get(account_id.lower()) if is_guid(account_id) else None
    if record is None:
        return not_found()
    return json_response(200, envelope(ctx.ids, ctx.now, Accounts=[render_account(record)]))


# --- Tax rates -----------------------------------------------------------------------------------


def fill_tax_rate(record: dict[str, Any]) -> dict[str, Any]:
    components = record.setdefault("TaxComponents", [])
    if "EffectiveRate" not in record:
        record["EffectiveRate"] = sum((Decimal(c.get("Rate", 0)) for c in components), Decimal("0"))
    record["EffectiveRate"] = Decimal(record["EffectiveRate"])
    record.setdefault("DisplayTaxRate", record["EffectiveRate"])
    record.setdefault("Status", "ACTIVE")
    for key in (
        "CanApplyToAssets",
        "CanApplyToEquity",
        "CanApplyToExpenses",
        "CanApplyToLiabilities",
        "CanApplyToRevenue",
    ):
        record.setdefault(key, True)
    return record


def render_tax_rate(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(record[k]) for k in TAX_RATE_FIELDS if k in record}
    for key in ("DisplayTaxRate", "EffectiveRate"):
        out[key] = Decimal(out[key]).quantize(Decimal("0.0001"))
    for component in out.get("TaxComponents", []):
        component["Rate"] = Decimal(component["Rate"]).quantize(Decimal("0.0001"))
    return out


TAX_SPEC = ListSpec(
    "TaxRates", "TaxRate", TAX_RATE_FIELDS, paged=False, default_order="Name", modified_since=False
)


def list_tax_rates(ctx: Ctx, tax_type: str | None = None) -> httpx.Response:
    records = list(ctx.org.tax_rates.values())
    wanted = tax_type or ctx.params.get("TaxType")
    if wanted:
        records = [r for r in records if r["TaxType"] == wanted]
        if tax_type and not records:
            return not_found()
    payload = run_list(ctx, TAX_SPEC, records, render_tax_rate)
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


# --- Currencies ----------------------------------------------------------------------------------


def list_currencies(ctx: Ctx) -> httpx.Response:
    spec = ListSpec("Currencies", "Currency", ("Code", "Description"), paged=False, modified_since=False)
    payload = run_list(ctx, spec, list(ctx.org.currencies), dict)
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


# --- Tracking categories -------------------------------------------------------------------------


def fill_tracking(record: dict[str, Any]) -> dict[str, Any]:
    record["TrackingCategoryID"] = str(record["TrackingCategoryID"]).lower()
    record.setdefault("Status", "ACTIVE")
    for option in record.setdefault("Options", []):
        option["TrackingOptionID"] = str(option["TrackingOptionID"]).lower()
        option.setdefault("Status", "ACTIVE")
        option.setdefault("TrackingCategoryID", record["TrackingCategoryID"])
    return record


TRACKING_SPEC = ListSpec(
    "TrackingCategories",
    "TrackingCategory",
    TRACKING_FIELDS,
    paged=False,
    default_order="Name",
    modified_since=False,
)


def list_tracking(ctx: Ctx, category_id: str | None = None) -> httpx.Response:
    records = list(ctx.org.tracking_categories.values())
    if category_id is not None:
        records = [r for r in records if r["TrackingCategoryID"] == category_id.lower()]
        if not records:
            return not_found()
    elif ctx.flag("includeArchived") is not True:
        records = [r for r in records if r.get("Status") == "ACTIVE"]
    payload = run_list(ctx, TRACKING_SPEC, records, lambda r: copy.deepcopy(r))
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


# --- Items ---------------------------------------------------------------------------------------


def fill_item(record: dict[str, Any], stamp: str) -> dict[str, Any]:
    record["ItemID"] = str(record["ItemID"]).lower()
    record.setdefault("IsSold", True)
    record.setdefault("IsPurchased", True)
    record.setdefault("IsTrackedAsInventory", False)
    record.setdefault("UpdatedDateUTC", stamp)
    for side in ("SalesDetails", "PurchaseDetails"):
        details = record.get(side)
        if isinstance(details, dict) and details.get("UnitPrice") is not None:
            details["UnitPrice"] = Decimal(details["UnitPrice"])
    return record


def render_item(record: dict[str, Any], unitdp: int) -> dict[str, Any]:
    out = {k: copy.deepcopy(record[k]) for k in ITEM_FIELDS if k in record}
    out["UpdatedDateUTC"] = ms_timestamp(record.get("UpdatedDateUTC"))
    for side in ("SalesDetails", "PurchaseDetails"):
        details = out.get(side)
        if isinstance(details, dict) and details.get("UnitPrice") is not None:
            details["UnitPrice"] = Decimal(details["UnitPrice"]).quantize(unit_quantum(unitdp))
    return out


ITEM_SPEC = ListSpec("Items", "Item", ITEM_FIELDS, paged=False, default_order="Code")


def list_items(ctx: Ctx) -> httpx.Response:
    payload = run_list(ctx, ITEM_SPEC, list(ctx.org.items.values()), lambda r: render_item(r, ctx.unitdp))
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


def get_item(ctx: Ctx, key: str) -> httpx.Response:
    record = ctx.org.items.get(key.lower()) if is_guid(key) else ctx.org.item_by_code(key)
    if record is None:
        return not_found()
    return json_response(200, envelope(ctx.ids, ctx.now, Items=[render_item(record, ctx.unitdp)]))


def _validate_item(
    ctx: Ctx, data: dict[str, Any], scope: BatchScope, create_only: bool, forced_id: str | None
) -> Outcome:
    org = ctx.org
    item_id = forced_id or (str(data["ItemID"]).lower() if data.get("ItemID") else None)
    existing = org.items.get(item_id) if item_id else None
    if item_id and existing is None:
        return Outcome(echo=dict(data), errors=["Item could not be found"])
    code = data.get("Code", existing.get("Code") if existing else None)
    if existing is None and not create_only and code:
        existing = org.item_by_code(str(code))
    errors: list[str] = []
    if not code:
        errors.append("Item Code must be specified")
    elif len(str(code)) > 30:
        errors.append("Item Code must not be more than 30 characters long")
    else:
        clash = org.item_by_code(str(code))
        if (
            clash is not None and (existing is None or clash["ItemID"] != existing["ItemID"])
        ) or not scope.claim("item-code", str(code)):
            errors.append(f"Price List Item with Code '{code}' already exists")
    details: dict[str, dict[str, Any]] = {}
    for side in ("SalesDetails", "PurchaseDetails"):
        if side in data and isinstance(data[side], dict):
            d = dict(data[side])
            if d.get("UnitPrice") is not None:
                d["UnitPrice"] = Decimal(to_decimal(d["UnitPrice"]) or 0).quantize(unit_quantum(ctx.unitdp))
            if d.get("AccountCode") and org.account_by_code(str(d["AccountCode"])) is None:
                errors.append(f"Account code '{d['AccountCode']}' is not a valid code for this organisation.")
            if d.get("TaxType") and d["TaxType"] not in org.tax_rates:
                errors.append(TAX_TYPE_INVALID.format(tax_type=d["TaxType"]))
            details[side] = d
    if errors:
        return Outcome(echo=dict(data), errors=errors)

    def commit() -> dict[str, Any]:
        record: dict[str, Any] = existing if existing is not None else {"ItemID": ctx.ids.guid()}
        for key in (
            "Code",
            "Name",
            "Description",
            "PurchaseDescription",
            "IsSold",
            "IsPurchased",
            "InventoryAssetAccountCode",
        ):
            if key in data:
                record[key] = data[key]
        record.update(details)
        record["UpdatedDateUTC"] = ctx.stamp
        fill_item(record, ctx.stamp)
        org.items[record["ItemID"]] = record
        return record

    return Outcome(echo=dict(data), commit=commit)


def write_items(ctx: Ctx, body: Any, *, create_only: bool, forced_id: str | None = None) -> httpx.Response:
    if forced_id is not None:
        record = (
            ctx.org.items.get(forced_id.lower()) if is_guid(forced_id) else ctx.org.item_by_code(forced_id)
        )
        if record is None:
            return not_found()
        forced_id = record["ItemID"]
    return run_batch(
        ctx,
        body,
        key="Items",
        id_field="ItemID",
        error_flag="HasValidationErrors",
        validate=lambda data, scope: _validate_item(ctx, data, scope, create_only, forced_id),
        render=lambda r: render_item(r, ctx.unitdp),
    )


# --- Branding themes -----------------------------------------------------------------------------


def render_theme(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("BrandingThemeID", "Name", "LogoUrl", "Type", "SortOrder")
    out: dict[str, Any] = {k: record[k] for k in keys if k in record}
    out["CreatedDateUTC"] = ms_timestamp(record.get("CreatedDateUTC"))
    return out


def list_branding_themes(ctx: Ctx, theme_id: str | None = None) -> httpx.Response:
    themes = sorted(ctx.org.branding_themes.values(), key=lambda t: int(t.get("SortOrder", 0)))
    if theme_id is not None:
        themes = [t for t in themes if t["BrandingThemeID"] == theme_id.lower()]
        if not themes:
            return not_found()
    return json_response(200, envelope(ctx.ids, ctx.now, BrandingThemes=[render_theme(t) for t in themes]))

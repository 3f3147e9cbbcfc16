"""Line items shared by invoices, credit notes, quotes and repeating invoices: resolve item, account,
tax type and tracking against the organisation, compute the maths, and render them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .money import ZERO, DocumentMaths, compute_document, q2, unit_quantum
from .state import Ctx
from .wire import is_guid

LINE_KEYS = (
    "LineItemID",
    "Description",
    "Quantity",
    "UnitAmount",
    "ItemCode",
    "AccountCode",
    "AccountID",
    "TaxType",
    "TaxAmount",
    "LineAmount",
    "DiscountRate",
    "DiscountAmount",
    "Tracking",
    "RepeatingInvoiceID",
)
SALES_TYPES = ("ACCREC", "ACCRECCREDIT")
TAX_TYPE_INVALID = (
    "The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
)


def prepare_lines(
    ctx: Ctx,
    raw_lines: Any,
    *,
    existing: list[dict[str, Any]],
    doc_type: str,
    status: str,
    line_amount_types: str,
    allow_discount: bool,
    kind_label: str,
) -> tuple[DocumentMaths, list[str], list[str]]:
    """Returns the computed document plus errors and warnings (Xero's messages)."""
    errors: list[str] = []
    warnings: list[str] = []
    org = ctx.org
    if raw_lines is None:
        raw_lines = []
    if not isinstance(raw_lines, list) or not all(isinstance(line, dict) for line in raw_lines):
        return (
            compute_document([], line_amount_types="Exclusive", rate_for=lambda _l: ZERO),
            ["LineItems must be a list of line items"],
            [],
        )
    existing_ids = {line["LineItemID"] for line in existing if line.get("LineItemID")}
    lines: list[dict[str, Any]] = []
    approved = status in ("SUBMITTED", "AUTHORISED")
    sales = doc_type in SALES_TYPES or doc_type == "QUOTE"
    for raw in raw_lines:
        line = {k: raw[k] for k in LINE_KEYS if k in raw and raw[k] is not None}
        line_id = str(line.get("LineItemID", "")).lower()
        line["LineItemID"] = line_id if line_id in existing_ids else ctx.ids.guid()
        if (line.get("DiscountRate") or line.get("DiscountAmount")) and not allow_discount:
            errors.append(f"Discounts are not supported on {kind_label} line items")
        item_code = line.get("ItemCode")
        if item_code:
            item = org.item_by_code(item_code)
            if item is None:
                errors.append(f"Item code '{item_code}' is not valid")
            else:
                line["Item"] = {"ItemID": item["ItemID"], "Name": item.get("Name", ""), "Code": item["Code"]}
                details = item.get("SalesDetails" if sales else "PurchaseDetails") or {}
                description = item.get("Description" if sales else "PurchaseDescription")
                if "Description" not in line and description:
                    line["Description"] = description
                if (
                    "UnitAmount" not in line
                    and "LineAmount" not in line
                    and details.get("UnitPrice") is not None
                ):
                    line["UnitAmount"] = details["UnitPrice"]
                if "AccountCode" not in line and "AccountID" not in line and details.get("AccountCode"):
                    line["AccountCode"] = details["AccountCode"]
                if "TaxType" not in line and details.get("TaxType"):
                    line["TaxType"] = details["TaxType"]
        if "AccountID" in line and "AccountCode" not in line:
            account = org.accounts.get(str(line["AccountID"]).lower())
            if account is not None:
                line["AccountCode"] = account["Code"]
        account = None
        if line.get("AccountCode"):
            account = org.account_by_code(str(line["AccountCode"]))
            if account is None or account.get("Status") != "ACTIVE":
                code = line["AccountCode"]
                warnings.append(
                    f"Account code '{code}' has been removed as it does not match a recognised account."
                )
                line.pop("AccountCode")
                account = None
        line.pop("AccountID", None)
        if account is not None:
            line["AccountID"] = account["AccountID"]
        tax_type = line.get("TaxType")
        if tax_type:
            rate = org.tax_rates.get(str(tax_type))
            if rate is None or rate.get("Status") != "ACTIVE":
                errors.append(TAX_TYPE_INVALID.format(tax_type=tax_type))
        elif line_amount_types == "NoTax" and "NONE" in org.tax_rates:
            line["TaxType"] = "NONE"
        elif account is not None and account.get("TaxType"):
            line["TaxType"] = account["TaxType"]
        has_amount = any(line.get(k) not in (None, "") for k in ("Quantity", "UnitAmount", "LineAmount"))
        if approved and has_amount and "AccountCode" not in line:
            errors.append("Account must be valid.")
        tracking = line.get("Tracking")
        if tracking is not None:
            resolved, tracking_errors = _resolve_tracking(ctx, tracking)
            errors.extend(tracking_errors)
            line["Tracking"] = resolved
        lines.append(line)

    def rate_for(line: dict[str, Any]) -> Decimal:
        rate = org.tax_rates.get(str(line.get("TaxType", "")))
        if rate is None:
            return ZERO
        return Decimal(rate.get("EffectiveRate", ZERO))

    maths = compute_document(
        lines,
        line_amount_types=line_amount_types,
        rate_for=rate_for,
        unitdp=ctx.unitdp,
        rounding=ctx.rounding,
    )
    errors.extend(maths.errors)
    return maths, errors, warnings


def _resolve_tracking(ctx: Ctx, tracking: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if not isinstance(tracking, list):
        return [], ["Tracking must be a list"]
    if len(tracking) > 2:
        return [], ["A line item can have at most 2 tracking categories"]
    resolved: list[dict[str, Any]] = []
    errors: list[str] = []
    for entry in tracking:
        if not isinstance(entry, dict):
            errors.append("Tracking must be a list of tracking categories")
            continue
        category = None
        cat_id = str(entry.get("TrackingCategoryID", "")).lower()
        if is_guid(cat_id):
            category = ctx.org.tracking_categories.get(cat_id)
        elif entry.get("Name"):
            category = next(
                (c for c in ctx.org.tracking_categories.values() if c["Name"] == entry["Name"]), None
            )
        option = None
        if category is not None:
            opt_id = str(entry.get("TrackingOptionID", "")).lower()
            for candidate in category.get("Options", []):
                if (is_guid(opt_id) and candidate["TrackingOptionID"] == opt_id) or (
                    not is_guid(opt_id) and candidate["Name"] == entry.get("Option")
                ):
                    option = candidate
        if category is None or option is None or category.get("Status") != "ACTIVE":
            errors.append(
                f"Tracking category '{entry.get('Name') or cat_id}' option "
                f"'{entry.get('Option') or entry.get('TrackingOptionID')}' is not valid"
            )
            continue
        resolved.append(
            {
                "Name": category["Name"],
                "Option": option["Name"],
                "TrackingCategoryID": category["TrackingCategoryID"],
                "TrackingOptionID": option["TrackingOptionID"],
            }
        )
    return resolved, errors


def render_line(line: dict[str, Any], unitdp: int) -> dict[str, Any]:
    out: dict[str, Any] = {"LineItemID": line["LineItemID"]}
    if "Description" in line:
        out["Description"] = line["Description"]
    if "UnitAmount" in line:
        out["UnitAmount"] = Decimal(line["UnitAmount"]).quantize(unit_quantum(unitdp))
    if "ItemCode" in line:
        out["ItemCode"] = line["ItemCode"]
    if "Item" in line:
        out["Item"] = dict(line["Item"])
    if "TaxType" in line:
        out["TaxType"] = line["TaxType"]
    out["TaxAmount"] = q2(Decimal(line.get("TaxAmount", ZERO)))
    out["LineAmount"] = q2(Decimal(line.get("LineAmount", ZERO)))
    if "AccountCode" in line:
        out["AccountCode"] = line["AccountCode"]
    if "AccountID" in line:
        out["AccountID"] = line["AccountID"]
    out["Tracking"] = [dict(t) for t in line.get("Tracking", [])]
    if "Quantity" in line:
        out["Quantity"] = Decimal(line["Quantity"])
    if "DiscountRate" in line:
        out["DiscountRate"] = Decimal(line["DiscountRate"])
    if "DiscountAmount" in line:
        out["DiscountAmount"] = q2(Decimal(line["DiscountAmount"]))
    if "RepeatingInvoiceID" in line:
        out["RepeatingInvoiceID"] = line["RepeatingInvoiceID"]
    return out

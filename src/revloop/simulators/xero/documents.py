"""Invoices, credit notes, quotes and repeating invoices: creation and updates with Xero's status
rules, numbering, the document maths, balances, lists and reads."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from . import contacts as contact_api
from .batch import BatchScope, Outcome, run_batch
from .doc_render import echo, render
from .kinds import (
    CREDIT_NOTE,
    DUE_DATE_TYPES,
    INVOICE,
    KINDS,
    MATHS_LAT,
    QUOTE,
    REPEATING,
    SCHEDULE_UNITS,
    SPECS,
    Kind,
)
from .lines import prepare_lines
from .listing import run_list, split_list
from .money import ZERO, q2
from .state import Ctx, OrgState
from .wire import ZERO_GUID, WireError, envelope, is_guid, json_response, not_found, parse_date

__all__ = ["CREDIT_NOTE", "INVOICE", "KINDS", "MATHS_LAT", "QUOTE", "REPEATING", "Kind", "render"]


def _day_rate(org: OrgState, currency: str) -> Decimal:
    """The rate Xero takes for a document sent without one: the day's rate of its currency (1 for the
    base currency, or for a currency the organisation was given no rate for), to 6 places."""
    rate = Decimal(1) if currency == org.base_currency() else org.day_rates.get(currency, Decimal(1))
    return rate.quantize(Decimal("0.000001"))


# --- balances -------------------------------------------------------------------------------------


def refresh_balance(kind: Kind, record: dict[str, Any]) -> None:
    """AmountDue/RemainingCredit from the total and what has been paid or allocated; PAID when settled."""
    total = Decimal(record.get("Total", ZERO))
    if kind is INVOICE:
        paid = Decimal(record.get("AmountPaid", ZERO))
        credited = Decimal(record.get("AmountCredited", ZERO))
        record["AmountDue"] = q2(total - paid - credited)
        settled_on = max(
            [p["Date"] for p in record.get("Payments", [])]
            + [c["Date"] for c in record.get("CreditNotes", [])],
            default=record.get("Date"),
        )
    elif kind is CREDIT_NOTE:
        applied = sum((Decimal(a["Amount"]) for a in record.get("Allocations", [])), ZERO)
        refunded = sum((Decimal(p["Amount"]) for p in record.get("Payments", [])), ZERO)
        record["RemainingCredit"] = q2(total - applied - refunded)
        settled_on = max(
            [a["Date"] for a in record.get("Allocations", [])]
            + [p["Date"] for p in record.get("Payments", [])],
            default=record.get("Date"),
        )
    else:
        return
    outstanding = record["AmountDue"] if kind is INVOICE else record["RemainingCredit"]
    if record.get("Status") == "AUTHORISED" and outstanding == 0:
        record["Status"] = "PAID"
        record["FullyPaidOnDate"] = settled_on
    elif record.get("Status") == "PAID" and outstanding > 0:
        record["Status"] = "AUTHORISED"
        record.pop("FullyPaidOnDate", None)


def _locked(kind: Kind, record: dict[str, Any]) -> bool:
    if kind is INVOICE:
        return bool(record.get("Payments") or record.get("CreditNotes"))
    if kind is CREDIT_NOTE:
        return bool(record.get("Allocations") or record.get("Payments"))
    return False


# --- validation -----------------------------------------------------------------------------------


def _norm_enum(value: Any, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    for candidate in allowed:
        if candidate.lower() == value.strip().lower():
            return candidate
    return None


def _resolve_contact(ctx: Ctx, data: Any, errors: list[str]) -> tuple[str | None, dict[str, Any] | None]:
    """Returns (existing ContactID, or None with the new contact's fields to create by name)."""
    missing = (
        "The Contact must contain at least 1 of the following elements to identify the contact: "
        "Name, ContactID, ContactNumber"
    )
    if not isinstance(data, dict) or not any(data.get(k) for k in ("ContactID", "ContactNumber", "Name")):
        errors.append(missing)
        return None, None
    org = ctx.org
    if data.get("ContactID"):
        contact = org.contacts.get(str(data["ContactID"]).lower())
        if contact is None:
            errors.append(f"The contact with ContactID '{data['ContactID']}' could not be found.")
            return None, None
        return contact["ContactID"], None
    if data.get("ContactNumber"):
        contact = org.contact_by("ContactNumber", str(data["ContactNumber"]))
        if contact is not None:
            return contact["ContactID"], None
        if not data.get("Name"):
            errors.append(f"The contact with ContactNumber '{data['ContactNumber']}' could not be found.")
            return None, None
    contact = org.contact_by("Name", str(data["Name"]))
    if contact is not None:
        return contact["ContactID"], None
    return None, {k: data[k] for k in ("Name", "ContactNumber", "EmailAddress") if data.get(k)}


def _update_contact_from_document(ctx: Ctx, contact: dict[str, Any], sent: dict[str, Any]) -> None:
    """Contact fields sent along with a document's ContactID update the contact itself."""
    changes = {
        k: v
        for k, v in sent.items()
        if k in contact_api.WRITABLE and v not in (None, "") and contact.get(k) != v
    }
    if "Name" in changes:
        clash = ctx.org.contact_by("Name", str(changes["Name"]))
        if clash is not None and clash["ContactID"] != contact["ContactID"]:
            changes.pop("Name")  # an active contact already has that name; Xero keeps the old one
    if changes:
        contact.update(changes)
        contact["UpdatedDateUTC"] = ctx.stamp
        ctx.events.append(("CONTACT", "UPDATE", contact["ContactID"]))


def _number_taken(org: OrgState, kind: Kind, number: str, own_id: str | None) -> bool:
    if kind is INVOICE:
        holder = org.invoice_numbers.get(number)
        return holder is not None and holder != own_id
    return False


def _validate(
    ctx: Ctx, kind: Kind, data: dict[str, Any], scope: BatchScope, *, create_only: bool, forced_id: str | None
) -> Outcome:
    org = ctx.org
    collection: dict[str, dict[str, Any]] = getattr(org, kind.collection)
    errors: list[str] = []
    raw_id = forced_id or data.get(kind.id_field) or (data.get("ID") if kind is REPEATING else None)
    doc_id = str(raw_id).lower() if raw_id else None
    existing = collection.get(doc_id) if doc_id else None
    if doc_id and existing is None and not create_only:
        return Outcome(echo=dict(data), errors=[f"{kind.label} could not be found"])
    if existing is None and not create_only and kind.number_field and data.get(kind.number_field):
        wanted = str(data[kind.number_field])
        existing = next(
            (
                r
                for r in collection.values()
                if r.get(kind.number_field) == wanted and r.get("Status") != "DELETED"
            ),
            None,
        )
    if existing is not None and create_only:
        existing = None  # PUT always creates; a clashing number is reported below
    base: dict[str, Any] = copy.deepcopy(existing) if existing else {}

    # Type
    if kind is QUOTE:
        doc_type = "QUOTE"
    else:
        doc_type = _norm_enum(data.get("Type", base.get("Type")), kind.types) or ""
        if not doc_type:
            errors.append(f"{kind.label} Type must be specified and one of {', '.join(kind.types)}")
        elif existing and doc_type != existing["Type"]:
            errors.append(f"The {kind.label} Type cannot be changed")

    # Status
    old_status = existing.get("Status") if existing else None
    status_in = data.get("Status")
    status = _norm_enum(status_in, kind.statuses) if status_in is not None else (old_status or "DRAFT")
    if status is None:
        errors.append(f"'{status_in}' is not a valid {kind.label} status")
        status = old_status or "DRAFT"
    if existing is None and status not in kind.create_statuses:
        errors.append(f"{kind.label} not of valid status for creation")
    if existing is not None:
        assert old_status is not None
        if status not in kind.transitions.get(old_status, set()):
            errors.append(f"{kind.label} not of valid status for modification")
        elif _locked(kind, existing) and _changes_document(kind, data, status, old_status):
            errors.append(
                f"{kind.label} not of valid status for modification. "
                "This document cannot be edited as it has a payment or credit note allocated to it."
            )
    if errors:
        return Outcome(echo=dict(data), errors=errors)

    # Contact
    contact_id: str | None = base.get("Contact", {}).get("ContactID")
    new_contact: dict[str, Any] | None = None
    if "Contact" in data or existing is None:
        contact_id, new_contact = _resolve_contact(ctx, data.get("Contact"), errors)

    # Line amount types
    lat_in = data.get("LineAmountTypes", base.get("LineAmountTypes", kind.lat_values[0]))
    lat = _norm_enum(lat_in, kind.lat_values)
    if lat is None:
        errors.append(f"'{lat_in}' is not a valid value for LineAmountTypes")
        lat = kind.lat_values[0]
    maths_lat = MATHS_LAT[kind.lat_values.index(lat)]

    # Dates, currency, number
    dates: dict[str, str | None] = {}
    for name in kind.date_fields:
        try:
            dates[name] = parse_date(data[name]) if name in data else base.get(name)
        except WireError:
            errors.append(f"{data[name]} is not a valid value for {name}")
    if kind is not REPEATING and not dates.get("Date"):
        dates["Date"] = ctx.today
    currency = str(data.get("CurrencyCode") or base.get("CurrencyCode") or org.base_currency())
    if currency not in {c["Code"] for c in org.currencies}:
        errors.append(f"The currency code '{currency}' is not enabled for this organisation.")
    number = data.get(kind.number_field) if kind.number_field else None
    if number is not None:
        number = str(number)
        if kind is INVOICE and doc_type == "ACCREC" and number:
            own = existing["InvoiceID"] if existing else None
            if _number_taken(org, kind, number, own) or not scope.claim("number", number):
                errors.append("Invoice # must be unique.")
    schedule = None
    if kind is REPEATING:
        schedule, schedule_errors = _schedule(data.get("Schedule", base.get("Schedule")))
        errors.extend(schedule_errors)

    # Lines
    if "LineItems" in data:
        raw_lines = data["LineItems"]
    else:
        raw_lines = [
            {k: v for k, v in line.items() if k not in ("LineAmount", "TaxAmount", "Item")}
            for line in base.get("LineItems", [])
        ]
    maths, line_errors, warnings = prepare_lines(
        ctx,
        raw_lines,
        existing=base.get("LineItems", []),
        doc_type=doc_type,
        status=status if kind is not QUOTE else "DRAFT",
        line_amount_types=maths_lat,
        allow_discount=kind is QUOTE or (kind is INVOICE and doc_type == "ACCREC"),
        kind_label=kind.label.lower(),
    )
    errors.extend(line_errors)
    if kind is INVOICE and status in ("SUBMITTED", "AUTHORISED") and not maths.lines:
        errors.append("An invoice must have at least one line item to be approved")
    if kind in (INVOICE, CREDIT_NOTE) and status in ("SUBMITTED", "AUTHORISED", "VOIDED"):
        locked = lock_date_error(org, dates.get("Date"))
        if locked is None and existing is not None:
            locked = lock_date_error(org, existing.get("Date"))
        if locked is not None:
            errors.append(locked)

    record = base
    if kind is not QUOTE:
        record["Type"] = doc_type
    record["Status"] = status
    record["LineAmountTypes"] = lat
    record.update({k: v for k, v in dates.items() if v})
    record["CurrencyCode"] = currency
    for key in kind.writable:
        if key in data:
            record[key] = data[key]
    record.setdefault("CurrencyRate", _day_rate(org, currency) if kind is not REPEATING else None)
    if record.get("CurrencyRate") is None:
        record.pop("CurrencyRate")
    if number is not None and kind.number_field:
        record[kind.number_field] = number
    if schedule is not None:
        record["Schedule"] = schedule
    record["LineItems"] = maths.lines
    record["SubTotal"] = q2(maths.sub_total)
    record["TotalTax"] = q2(maths.total_tax)
    record["Total"] = q2(maths.total)
    if kind in (INVOICE, QUOTE):
        record["TotalDiscount"] = q2(maths.total_discount)
    if kind is INVOICE:
        record["IsDiscounted"] = maths.discounted
    draft = dict(record)
    if contact_id or new_contact:
        draft["Contact"] = {"ContactID": contact_id or ZERO_GUID, **(new_contact or {})}
    if errors:
        return Outcome(echo=echo(kind, draft, ctx.unitdp), errors=errors, warnings=warnings)

    old_number = existing.get(kind.number_field) if existing and kind.number_field else None

    def commit() -> dict[str, Any]:
        nonlocal contact_id
        if new_contact is not None:
            created = contact_api.new_contact(ctx, new_contact)
            org.contacts[created["ContactID"]] = created
            ctx.events.append(("CONTACT", "CREATE", created["ContactID"]))
            contact_id = created["ContactID"]
        elif contact_id and isinstance(data.get("Contact"), dict):
            _update_contact_from_document(ctx, org.contacts[contact_id], data["Contact"])
        record["Contact"] = {"ContactID": contact_id}
        is_new = existing is None
        if is_new:
            record[kind.id_field] = ctx.ids.guid()
            if kind is REPEATING:
                record["ID"] = record[kind.id_field]
            _init_new(kind, record)
        assign_number(org, kind, record)
        if kind is not REPEATING:
            record["UpdatedDateUTC"] = ctx.stamp
        refresh_balance(kind, record)
        if existing is not None:
            existing.clear()
            existing.update(record)
            stored = existing
        else:
            collection[record[kind.id_field]] = record
            stored = record
        if kind is INVOICE:
            if existing is not None and old_number and old_number != stored.get("InvoiceNumber"):
                org.invoice_numbers.pop(old_number, None)
            if stored["Type"] == "ACCREC" and stored.get("InvoiceNumber"):
                if stored["Status"] == "DELETED":
                    org.invoice_numbers.pop(stored["InvoiceNumber"], None)
                else:
                    org.invoice_numbers[stored["InvoiceNumber"]] = stored["InvoiceID"]
        contact = org.contacts.get(contact_id or "")
        if contact is not None and kind in (INVOICE, CREDIT_NOTE) and stored["Status"] != "DELETED":
            contact["IsCustomer" if doc_type in ("ACCREC", "ACCRECCREDIT") else "IsSupplier"] = True
        if kind.category:
            ctx.events.append((kind.category, "CREATE" if is_new else "UPDATE", stored[kind.id_field]))
        return stored

    return Outcome(echo=echo(kind, draft, ctx.unitdp), warnings=warnings, commit=commit)


def lock_date_error(org: OrgState, day: str | None) -> str | None:
    """Approved documents may not be dated on or before the organisation's lock dates."""
    if not day:
        return None
    for field, label in (
        ("EndOfYearLockDate", "end of year lock date"),
        ("PeriodLockDate", "period lock date"),
    ):
        lock = org.organisation.get(field)
        if lock and day <= lock:
            shown = date.fromisoformat(lock).strftime("%d-%b-%Y")
            return f"The document date cannot be before the {label}, currently set at {shown}"
    return None


def assign_number(org: OrgState, kind: Kind, record: dict[str, Any]) -> None:
    """Give a new ACCREC invoice, credit note or quote the next free number of its sequence."""
    field, prefix, sequence = kind.number_field, kind.prefix, kind.sequence
    if field is None or (kind is INVOICE and record.get("Type") != "ACCREC"):
        return
    used = org.used_numbers.setdefault(field, set())
    if not record.get(field) and prefix is not None and sequence is not None:
        record[field] = org.next_number(sequence, prefix, lambda n: n in used)
    if record.get(field):
        used.add(str(record[field]))


def _changes_document(kind: Kind, data: dict[str, Any], status: str, old_status: str) -> bool:
    """Whether an update touches more than harmless fields of a paid/allocated document."""
    if status != old_status:
        return True
    harmless = {
        kind.id_field,
        "Status",
        "SentToContact",
        "ExpectedPaymentDate",
        "PlannedPaymentDate",
        "DueDate",
    }
    return any(k not in harmless for k in data)


def _init_new(kind: Kind, record: dict[str, Any]) -> None:
    record["HasAttachments"] = False
    if kind is INVOICE:
        record.update(
            AmountPaid=ZERO, AmountCredited=ZERO, Payments=[], CreditNotes=[], Prepayments=[], Overpayments=[]
        )
    elif kind is CREDIT_NOTE:
        record.update(Allocations=[], Payments=[])


def _schedule(raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(raw, dict):
        return None, ["A schedule is required for a repeating invoice"]
    errors: list[str] = []
    schedule: dict[str, Any] = {}
    try:
        schedule["Period"] = int(raw.get("Period", 1))
        schedule["DueDate"] = int(raw.get("DueDate", 0))
    except (TypeError, ValueError):
        errors.append("Schedule Period and DueDate must be whole numbers")
    unit = _norm_enum(raw.get("Unit", "MONTHLY"), SCHEDULE_UNITS)
    due_type = _norm_enum(raw.get("DueDateType", "DAYSAFTERBILLDATE"), DUE_DATE_TYPES)
    if unit is None:
        errors.append("Schedule Unit must be WEEKLY or MONTHLY")
    if due_type is None:
        errors.append("Schedule DueDateType is not valid")
    schedule["Unit"] = unit
    schedule["DueDateType"] = due_type
    for name in ("StartDate", "NextScheduledDate", "EndDate"):
        try:
            value = parse_date(raw.get(name))
        except WireError:
            errors.append(f"Schedule {name} is not a valid date")
            continue
        if value:
            schedule[name] = value
    if "StartDate" not in schedule:
        errors.append("Schedule StartDate must be specified")
    schedule.setdefault("NextScheduledDate", schedule.get("StartDate"))
    return schedule, errors


# --- HTTP handlers --------------------------------------------------------------------------------


def find(org: OrgState, kind: Kind, key: str) -> dict[str, Any] | None:
    collection: dict[str, dict[str, Any]] = getattr(org, kind.collection)
    if is_guid(key):
        return collection.get(key.lower())
    if kind.number_field:
        return next((r for r in collection.values() if r.get(kind.number_field) == key), None)
    return None


def list_documents(ctx: Ctx, kind: Kind) -> httpx.Response:
    org = ctx.org
    records = list(getattr(org, kind.collection).values())
    params = ctx.params
    ids = {i.lower() for i in split_list(params.get("IDs"))}
    if ids:
        records = [r for r in records if r[kind.id_field] in ids]
    contact_ids = {i.lower() for i in split_list(params.get("ContactIDs"))}
    if params.get("ContactID"):
        contact_ids.add(params["ContactID"].lower())
    if contact_ids:
        records = [r for r in records if r.get("Contact", {}).get("ContactID") in contact_ids]
    statuses = {s.upper() for s in split_list(params.get("Statuses"))}
    if params.get("Status"):
        statuses.add(params["Status"].upper())
    if statuses:
        records = [r for r in records if r.get("Status") in statuses]
    numbers = set(split_list(params.get("InvoiceNumbers")))
    if kind is QUOTE and params.get("QuoteNumber"):
        numbers.add(params["QuoteNumber"])
    if numbers and kind.number_field:
        records = [r for r in records if r.get(kind.number_field) in numbers]
    for param, field, op in (
        ("DateFrom", "Date", ">="),
        ("DateTo", "Date", "<="),
        ("ExpiryDateFrom", "ExpiryDate", ">="),
        ("ExpiryDateTo", "ExpiryDate", "<="),
    ):
        if kind is QUOTE and params.get(param):
            bound = parse_date(params[param]) or ""
            records = [
                r
                for r in records
                if r.get(field) and (r[field] >= bound if op == ">=" else r[field] <= bound)
            ]
    term = (params.get("searchTerm") or "").lower()
    if term:
        records = [
            r
            for r in records
            if term in str(r.get(kind.number_field or "", "")).lower()
            or term in str(r.get("Reference", "")).lower()
        ]
    summary = ctx.flag("summaryOnly") is True
    with_lines = not summary and (kind in (QUOTE, REPEATING) or params.get("page") is not None)
    spec = SPECS[kind.key]
    payload = run_list(
        ctx, spec, records, lambda r: render(org, kind, r, unitdp=ctx.unitdp, lines=with_lines)
    )
    return json_response(200, envelope(ctx.ids, ctx.now, **payload))


def get_document(ctx: Ctx, kind: Kind, key: str) -> httpx.Response:
    record = find(ctx.org, kind, key)
    if record is None:
        return not_found()
    body = envelope(ctx.ids, ctx.now, **{kind.key: [render(ctx.org, kind, record, unitdp=ctx.unitdp)]})
    return json_response(200, body)


def write_documents(
    ctx: Ctx, kind: Kind, body: Any, *, create_only: bool, forced_id: str | None = None
) -> httpx.Response:
    if forced_id is not None and find(ctx.org, kind, forced_id) is None:
        return not_found()
    if forced_id is not None and not is_guid(forced_id):
        forced_id = find(ctx.org, kind, forced_id)[kind.id_field]  # type: ignore[index]
    return run_batch(
        ctx,
        body,
        key=kind.key,
        id_field=kind.id_field,
        error_flag="HasErrors",
        validate=lambda data, scope: _validate(
            ctx, kind, data, scope, create_only=create_only, forced_id=forced_id
        ),
        render=lambda r: render(ctx.org, kind, r, unitdp=ctx.unitdp),
    )

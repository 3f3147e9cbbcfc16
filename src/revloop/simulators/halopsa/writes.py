"""POST upserts and DELETEs.

``POST /<Resource>`` takes a JSON array. An element without ``id`` (or with 0) creates a record; with
an ``id`` it updates that record, merging the fields sent. Every write stamps the record's last-updated
field with the simulator clock. Actions are keyed by (ticket_id, id): a new action gets the ticket's
next action number, and any action write (including writing ``actioninvoicenumber`` and the other
invoice fields back) stamps the action's ``last_updated`` and the ticket's ``last_update``, so both an
action date window on ``last_updated`` and ``/Tickets?lastupdatefromdate=`` see it.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .resources import INVOICE_LINE, Resource
from .store import Store, uuid_for
from .wire import EMPTY_DATE, WireError, format_dt, normalise_dt, parse_dt, to_decimal, to_int


class WriteError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_NAME_LINKS = (
    ("client_id", "client", "client_name", "name"),
    ("site_id", "site", "site_name", "name"),
    ("contract_id", "clientcontract", "contract_ref", "ref"),
    ("who_agentid", "agent", "who", "name"),
)


def coerce(res: Resource, fields: dict[str, Any]) -> dict[str, Any]:
    """Incoming values in the stored wire form: dates normalised, doubles as Decimal, ints as int."""
    dates, doubles, ints = res.date_fields, res.double_fields, res.int_fields
    out: dict[str, Any] = {}
    for key, value in fields.items():
        try:
            if key in dates:
                value = normalise_dt(value)
            elif key in doubles:
                value = to_decimal(value) if value is not None else Decimal("0.0")
            elif key in ints and value is not None:
                value = to_int(value)
        except WireError as exc:
            raise WriteError(400, f"{key}: {exc}") from exc
        out[key] = value
    return out


def _is_new(res: Resource, rid: Any) -> bool:
    return rid is None or rid == 0 or rid == "" or rid == -1


def _fill_names(store: Store, rec: dict[str, Any], changed: dict[str, Any]) -> None:
    for id_field, table, name_field, source in _NAME_LINKS:
        if id_field in changed and name_field in rec and name_field not in changed:
            other = store.tables[table].get(rec.get(id_field))
            rec[name_field] = other.get(source, "") if other else ""


def upsert(store: Store, res: Resource, items: list[Any], now: datetime) -> list[dict[str, Any]]:
    """Apply every element (all or nothing: elements are checked before any is written)."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise WriteError(400, f"[{i}]: expected an object")
    stamp = format_dt(now, fraction=True)
    saved: list[dict[str, Any]] = []
    with store.lock:
        plans = [_plan(store, res, i, item) for i, item in enumerate(items)]
        for existing, fields in plans:
            if res.name == "actions":
                saved.append(_write_action(store, res, existing, fields, now, stamp))
            else:
                saved.append(_write(store, res, existing, fields, now, stamp))
    return saved


def _plan(
    store: Store, res: Resource, i: int, item: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    fields = coerce(res, item)
    table = store.tables[res.name]
    rid = fields.get("id")
    if res.name == "actions":
        ticket_id = fields.get("ticket_id")
        if not ticket_id:
            raise WriteError(400, f"[{i}].ticket_id: A ticket_id is required")
        if store.tables["tickets"].get(ticket_id) is None:
            raise WriteError(400, f"[{i}].ticket_id: Ticket {ticket_id} does not exist")
        if _is_new(res, rid):
            if not fields.get("outcome") and not fields.get("outcome_id"):
                raise WriteError(400, f"[{i}].outcome: An outcome is required")
            return None, fields
        existing = store.actions.get((ticket_id, rid))
        if existing is None:
            raise WriteError(404, f"Action {rid} not found on ticket {ticket_id}")
        return existing, fields
    if _is_new(res, rid):
        for name in res.required:
            if fields.get(name) in (None, "", 0):
                raise WriteError(400, f"[{i}].{name}: The {name} field is required")
        return None, fields
    existing = table.get(rid)
    if existing is None:
        raise WriteError(404, f"{res.title} {rid} not found")
    return existing, fields


def _write(
    store: Store,
    res: Resource,
    existing: dict[str, Any] | None,
    fields: dict[str, Any],
    now: datetime,
    stamp: str,
) -> dict[str, Any]:
    table = store.tables[res.name]
    if existing is None:
        rec = {k: (list(v) if isinstance(v, list) else v) for k, v in res.defaults.items()}
        if res.id_is_uuid:
            number = table.allocate()
            while table.get(uuid_for(number)) is not None:
                number = table.allocate()
            rec["id"] = uuid_for(number)
            if "holid" in rec:
                rec["holid"] = number
            if "priorityid" in rec:
                rec["priorityid"] = number
        else:
            rec["id"] = table.allocate()
        if res.created and rec.get(res.created) == EMPTY_DATE and res.created not in fields:
            rec[res.created] = stamp
        for name in res.dated:
            if name not in fields or fields[name] == EMPTY_DATE:
                rec[name] = format_dt(now)
        fields = {k: v for k, v in fields.items() if k != "id"}
    else:
        rec = dict(existing)
    lines = fields.pop("lines", None)
    rec.update(fields)
    _fill_names(store, rec, fields)
    if res.stamp:
        rec[res.stamp] = stamp
    if res.name in ("invoice", "recurringinvoice"):
        if lines is not None:
            rec["lines"] = _merge_lines(store, rec, lines)
            _totals(rec)
        if not rec.get("invoicenumber") and res.name == "invoice":
            rec["invoicenumber"] = str(rec["id"])
        if existing is None and rec.get("duedate") == EMPTY_DATE:
            _due_date(store, rec)
    elif lines is not None:
        rec["lines"] = list(lines)
    table.put(rec)
    return rec


def _write_action(
    store: Store,
    res: Resource,
    existing: dict[str, Any] | None,
    fields: dict[str, Any],
    now: datetime,
    stamp: str,
) -> dict[str, Any]:
    actions = store.actions
    ticket_id = fields["ticket_id"]
    if existing is None:
        rec = res.defaults.copy()
        rec["id"] = actions.allocate_for(ticket_id)
        rec["actiondatecreated"] = stamp
        rec["datetime"] = format_dt(now)
        fields = {k: v for k, v in fields.items() if k != "id"}
    else:
        rec = dict(existing)
    rec.update(fields)
    _fill_names(store, rec, fields)
    rec["last_updated"] = stamp
    actions.put(rec)
    ticket = store.tables["tickets"].get(ticket_id)
    if ticket is not None:
        _touch_ticket(store, ticket, rec if existing is None else None, stamp)
    return rec


def _touch_ticket(
    store: Store, ticket: dict[str, Any], new_action: dict[str, Any] | None, stamp: str
) -> None:
    updated = dict(ticket)
    updated["last_update"] = stamp
    if new_action is not None:
        updated["lastactiondate"] = new_action.get("datetime", stamp)
    total = Decimal("0.0")
    charge = Decimal("0.0")
    for action in store.actions.for_ticket(ticket["id"]):
        hours = action.get("timetaken") or 0
        total += hours
        if action.get("chargerate"):
            charge += hours
    updated["timetaken"] = total
    updated["chargehours"] = charge
    updated["nonchargehours"] = total - charge
    store.tables["tickets"].put(updated)


def _merge_lines(store: Store, header: dict[str, Any], lines: list[Any]) -> list[dict[str, Any]]:
    old = {line.get("id"): line for line in header.get("lines", []) if isinstance(line, dict)}
    out: list[dict[str, Any]] = []
    for raw in lines:
        if not isinstance(raw, dict):
            raise WriteError(400, "lines: expected objects")
        fields = {k: v for k, v in raw.items()}
        for key in ("qty_order", "unit_price", "unit_cost", "net_amount", "tax_amount", "tax_rate"):
            if key in fields:
                fields[key] = to_decimal(fields[key]) if fields[key] is not None else Decimal("0.0")
        for key in ("lineactiondate", "startdate", "enddate"):
            if key in fields:
                fields[key] = normalise_dt(fields[key])
        line_id = fields.get("id")
        if line_id and line_id in old:
            line = dict(old[line_id])
        else:
            line = dict(INVOICE_LINE)
            line["id"] = store.allocate_line_id()
            fields.pop("id", None)
        line.update(fields)
        line["ihid"] = header["id"]
        if "net_amount" not in fields:
            line["net_amount"] = line["qty_order"] * line["unit_price"]
        if "tax_amount" not in fields and line.get("tax_rate"):
            line["tax_amount"] = (line["net_amount"] * line["tax_rate"] / 100).quantize(Decimal("0.01"))
        out.append(line)
    return out


def _due_date(store: Store, header: dict[str, Any]) -> None:
    """A new invoice falls due ``paymentterms`` days (the client's, default 30) after its date."""
    issued = parse_dt(header.get("invoice_date"))
    if issued is None:
        return
    client = store.tables["client"].get(header.get("client_id"))
    terms = client.get("paymentterms", 30) if client else 30
    header["duedate"] = format_dt(issued + timedelta(days=int(terms or 0)))


def _totals(header: dict[str, Any]) -> None:
    revenue = sum((line.get("net_amount") or Decimal(0) for line in header["lines"]), Decimal("0.0"))
    tax = sum((line.get("tax_amount") or Decimal(0) for line in header["lines"]), Decimal("0.0"))
    header["revenue"] = revenue
    header["tax_total"] = tax
    header["total"] = revenue + tax
    header["amountdue"] = header["total"] - (header.get("amountpaid") or Decimal(0))


def update_lines(store: Store, res: Resource, lines: list[Any], now: datetime) -> list[dict[str, Any]]:
    """``POST /Invoice/updatelines``: InvoiceDetail rows carrying ``ihid``; the headers' totals follow."""
    stamp = format_dt(now, fraction=True)
    table = store.tables[res.name]
    with store.lock:
        by_header: dict[int, list[dict[str, Any]]] = {}
        for line in lines:
            if not isinstance(line, dict) or not line.get("ihid"):
                raise WriteError(400, "ihid: Each line needs the invoice id (ihid)")
            if table.get(line["ihid"]) is None:
                raise WriteError(404, f"{res.title} {line['ihid']} not found")
            by_header.setdefault(line["ihid"], []).append(line)
        out: list[dict[str, Any]] = []
        for ihid, new in by_header.items():
            header = dict(table.get(ihid) or {})
            merged = {line["id"]: line for line in header.get("lines", [])}
            changed = _merge_lines(store, header, new)
            for line in changed:
                merged[line["id"]] = line
            header["lines"] = list(merged.values())
            _totals(header)
            if res.stamp:
                header[res.stamp] = stamp
            table.put(header)
            out.extend(changed)
        return out


def _add_months(when: datetime, months: int) -> datetime:
    month = when.month - 1 + months
    year = when.year + month // 12
    month = month % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def process_recurring(store: Store, ids: list[Any], now: datetime) -> list[dict[str, Any]]:
    """``POST /RecurringInvoice/process``: make an invoice from each template; move its schedule on."""
    stamp = format_dt(now, fraction=True)
    made: list[dict[str, Any]] = []
    with store.lock:
        templates = store.tables["recurringinvoice"]
        invoices = store.tables["invoice"]
        for rid in ids:
            template = templates.get(to_int(rid))
            if template is None:
                raise WriteError(404, f"RecurringInvoice {rid} not found")
        for rid in ids:
            template = dict(templates.get(to_int(rid)) or {})
            when = parse_dt(template.get("nextcreationdate")) or now.replace(tzinfo=None)
            invoice = {k: (list(v) if isinstance(v, list) else v) for k, v in invoices.res.defaults.items()}
            for key in invoice:
                if key in template and key not in ("id", "is_recurring_invoice", "invoicenumber", "lines"):
                    invoice[key] = template[key]
            invoice["id"] = invoices.allocate()
            invoice["invoicenumber"] = str(invoice["id"])
            invoice["recurring_invoice_id"] = template["id"]
            invoice["invoice_date"] = format_dt(when)
            invoice["date_created"] = stamp
            invoice["last_modified"] = stamp
            invoice["amountpaid"] = Decimal("0.0")
            invoice["paymentstatus"] = 0
            invoice["posted"] = False
            invoice["lines"] = []
            for line in template.get("lines", []):
                copy = dict(line)
                copy["id"] = store.allocate_line_id()
                copy["ihid"] = invoice["id"]
                copy["recurring_invoice_id"] = template["id"]
                copy["recurring_invoice_line_id"] = line.get("id", 0)
                invoice["lines"].append(copy)
            _totals(invoice)
            invoices.put(invoice)
            template["lastcreated"] = format_dt(when)
            template["nextcreationdate"] = format_dt(_add_months(when, int(template.get("period") or 1)))
            template["last_modified"] = stamp
            templates.put(template)
            made.append(invoice)
    return made


def delete(store: Store, res: Resource, rid: Any, ticket_id: int | None, now: datetime) -> dict[str, Any]:
    with store.lock:
        if res.name == "actions":
            if ticket_id is None:
                raise WriteError(400, "ticket_id: A ticket_id is required to delete an action")
            rec = store.actions.remove((ticket_id, rid))
            if rec is None:
                raise WriteError(404, f"Action {rid} not found on ticket {ticket_id}")
            ticket = store.tables["tickets"].get(ticket_id)
            if ticket is not None:
                _touch_ticket(store, ticket, None, format_dt(now, fraction=True))
            return rec
        rec = store.tables[res.name].remove(rid)
        if rec is None:
            raise WriteError(404, f"{res.title} {rid} not found")
        if res.name == "tickets":
            store.actions.remove_ticket(rid)
        return rec

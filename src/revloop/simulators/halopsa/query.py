"""List reads: filters, ordering, paging and the list item shape.

Paging (``pageinate=true``): ``page_no`` is 1-based; a page holds at most ``page_cap`` (100) records
whatever ``page_size`` asks for, while ``record_count`` is the full total and ``page_size`` echoes the
request (the trap from HaloAPI#90: loop on the real page length).

Without ``pageinate``: resources that take ``count`` return the first ``count`` records, 50 when
``count`` is absent (PYPI's observation for /Client, applied to every counted resource except /Actions,
which returns all its matches unless ``count`` is given). ``count`` is not capped at 100.
``record_count`` is always the total number of matches. /Actions also honours ``pageinate`` (SPEC
lists only ``count`` there; newer builds are reported to page it). Bare-array resources (Agent,
ChargeRate, Lookup, Holiday, Workday, Status, Priority) are never paged or counted.

Default order when ``order`` is absent: id descending on enveloped resources (PYPI reports a descending
default), ascending on bare arrays, and (ticket_id, id) ascending on /Actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .resources import CHARGE_TYPE_LOOKUP_ID, Resource
from .store import Store
from .wire import EMPTY_DATE, WireError, dt_key, parse_dt, q_bool, q_date, q_int, q_ints

Params = dict[str, str]
Pred = Callable[[dict[str, Any]], bool]

TICKET_DATESEARCH = {"dateoccured": "dateoccurred", "datecleared": "dateclosed", "lastupdate": "last_update"}
CLOSED_STATUS_ID = 9


def _eq(field: str, value: Any) -> Pred:
    return lambda r: r.get(field) == value


def _in(field: str, values: list[int]) -> Pred:
    wanted = set(values)
    return lambda r: r.get(field) in wanted


def _truthy(field: str, want: bool = True) -> Pred:
    return lambda r: bool(r.get(field)) is want


def window(field: str, start: datetime | None, end: datetime | None) -> Pred:
    def pred(r: dict[str, Any]) -> bool:
        when = dt_key(r.get(field))
        if when is None:
            return False
        if start is not None and when < start:
            return False
        return not (end is not None and when > end)

    return pred


def _end_of(value: str | None) -> datetime | None:
    """An end date; a bare date (no time) covers that whole day."""
    end = q_date(value)
    if end is not None and value is not None and "T" not in value and ":" not in value:
        end = end + timedelta(days=1) - timedelta(microseconds=1)
    return end


def _id_filters(params: Params, fields: Iterable[str]) -> list[Pred]:
    preds: list[Pred] = []
    for name in fields:
        value = q_int(params.get(name))
        if value is not None:
            preds.append(_eq(name, value))
    return preds


def _client_ids(params: Params) -> list[Pred]:
    ids = q_ints(params.get("client_ids"))
    return [_in("client_id", ids)] if ids else []


def _active(params: Params, field: str = "inactive") -> list[Pred]:
    pair = params.get("activeinactive")
    if pair:
        parts = [p.strip().lower() == "true" for p in pair.split(",")]
        want_active = parts[0] if parts else True
        want_inactive = parts[1] if len(parts) > 1 else False
    else:
        want_active = q_bool(params.get("includeactive"), True)
        want_inactive = q_bool(params.get("includeinactive"), False)

    def pred(r: dict[str, Any]) -> bool:
        return want_inactive if r.get(field) else want_active

    return [pred]


def _search(params: Params, *fields: str) -> list[Pred]:
    text = (params.get("search") or "").strip().lower()
    if not text:
        return []
    return [lambda r: any(text in str(r.get(f, "")).lower() for f in fields)]


def _stamp_window(res: Resource, params: Params) -> list[Pred]:
    """``lastupdatefromdate``/``lastupdatetodate``: a date filters on the record's last-updated stamp.

    On /Tickets these are the documented incremental-sync filters; elsewhere SPEC calls them bools
    ("include the field"), so a boolean value is accepted and ignored.
    """
    if res.stamp is None:
        return []
    bounds: list[datetime | None] = []
    for name in ("lastupdatefromdate", "lastupdatetodate"):
        raw = params.get(name)
        if raw is None or raw.strip().lower() in ("", "true", "false"):
            bounds.append(None)
        else:
            bounds.append(q_date(raw))
    if bounds[0] is None and bounds[1] is None:
        return []
    return [window(res.stamp, bounds[0], bounds[1])]


def _datesearch(
    params: Params, default_field: str, aliases: dict[str, str], fields: Iterable[str]
) -> list[Pred]:
    start = q_date(params.get("startdate"))
    end = _end_of(params.get("enddate"))
    if start is None and end is None:
        return []
    field = (params.get("datesearch") or "").strip().lower() or default_field
    field = aliases.get(field, field)
    if field not in fields:
        raise WireError(f"Invalid datesearch column: {field}")
    return [window(field, start, end)]


def is_closed(ticket: dict[str, Any]) -> bool:
    return ticket.get("status_id") == CLOSED_STATUS_ID or dt_key(ticket.get("dateclosed")) is not None


def is_billable_action(action: dict[str, Any]) -> bool:
    """Billable time per SQLNOTES: time on a real charge type (chargerate 0 is "no charge")."""
    timetaken = action.get("timetaken") or 0
    return bool(action.get("chargerate")) and timetaken > 0 and bool(action.get("actisbillable", True))


def is_unbilled_action(action: dict[str, Any]) -> bool:
    return is_billable_action(action) and not action.get("actioninvoicenumber")


# --- per-resource filters -------------------------------------------------------------------------


def ticket_filters(store: Store, params: Params) -> list[Pred]:
    res = store.tables["tickets"].res
    preds = _id_filters(
        params,
        (
            "client_id",
            "site_id",
            "agent_id",
            "contract_id",
            "status_id",
            "user_id",
            "parent_id",
            "priority_id",
            "sla_id",
        ),
    )
    preds += _client_ids(params)
    for name, field in (
        ("requesttype_id", "tickettype_id"),
        ("ticketcontract_id", "contract_id"),
        ("billingcontractid", "contract_id"),
    ):
        value = q_int(params.get(name))
        if value is not None:
            preds.append(_eq(field, value))
    ticket_ids = q_ints(params.get("ticketids"))
    if ticket_ids:
        preds.append(_in("id", ticket_ids))
    if q_bool(params.get("open_only")):
        preds.append(lambda r: not is_closed(r))
    if q_bool(params.get("closed_only")):
        preds.append(is_closed)
    if params.get("includeclosed", "").lower() == "false":
        preds.append(lambda r: not is_closed(r))
    if q_bool(params.get("billableonly")):
        preds.append(_truthy("isbillable"))
    actions = store.actions
    if q_bool(params.get("ready_for_invoicing")):
        preds.append(lambda r: any(is_unbilled_action(a) for a in actions.for_ticket(r["id"])))
    if q_bool(params.get("onlytime")):
        preds.append(lambda r: any((a.get("timetaken") or 0) > 0 for a in actions.for_ticket(r["id"])))
    if q_bool(params.get("notime")):
        preds.append(lambda r: not any((a.get("timetaken") or 0) > 0 for a in actions.for_ticket(r["id"])))
    if params.get("deleted", "").lower() != "true":
        preds.append(lambda r: not r.get("deleted"))
    preds += _datesearch(params, "dateoccurred", TICKET_DATESEARCH, res.date_fields)
    preds += _stamp_window(res, params)
    preds += _search(params, "summary", "details")
    return preds


def action_filters(params: Params) -> list[Pred]:
    preds: list[Pred] = []
    if q_bool(params.get("timeentriesonly")):
        preds.append(lambda r: (r.get("timetaken") or 0) > 0)
    if q_bool(params.get("excludeprivate")):
        preds.append(lambda r: not r.get("hiddenfromuser"))
    if q_bool(params.get("agentonly")):
        preds.append(_eq("who_type", 1))
    if q_bool(params.get("excludesys")):
        preds.append(lambda r: r.get("who_type") != 0)
    if q_bool(params.get("excludebilling")):
        preds.append(lambda r: not r.get("isbillingaction"))
    if q_bool(params.get("importantonly")):
        preds.append(_truthy("important"))
    outcome = q_int(params.get("actoutcomenum"))
    if outcome is not None:
        preds.append(_eq("outcome_id", outcome))
    return preds


def generic_filters(store: Store, res: Resource, params: Params) -> list[Pred]:
    name = res.name
    preds: list[Pred] = []
    if name == "client":
        preds += _active(params) + _search(params, "name")
        preds += _id_filters(params, ("toplevel_id",))
    elif name == "site":
        preds += _active(params) + _search(params, "name")
        preds += _id_filters(params, ("client_id",))
        site_id = q_int(params.get("site_id"))
        if site_id is not None:
            preds.append(_eq("id", site_id))
    elif name == "agent":
        if not q_bool(params.get("includedisabled"), False):
            preds.append(lambda r: not r.get("isdisabled"))
        if not q_bool(params.get("includeenabled"), True):
            preds.append(_truthy("isdisabled"))
        if not q_bool(params.get("includeunassigned"), False):
            preds.append(lambda r: r.get("id") != 1)
        if not q_bool(params.get("includeapiagents"), False):
            preds.append(lambda r: not r.get("isapiagent"))
        preds += _search(params, "name", "email")
    elif name == "clientcontract":
        preds += _id_filters(params, ("client_id", "site_id"))
        preds += _client_ids(params)
        if not q_bool(params.get("includeinactive"), False):
            preds.append(_truthy("active"))
        if q_bool(params.get("excluderenewed")):
            renewed = {c.get("previouscontract") for c in store.tables["clientcontract"].all()}
            preds.append(lambda r: r["id"] not in renewed)
        preds += _search(params, "ref", "client_name")
    elif name in ("invoice", "recurringinvoice"):
        preds += _invoice_filters(res, params)
    elif name == "item":
        preds += _active(params) + _search(params, "name", "description")
        preds += _id_filters(params, ("supplier_id",))
        if q_bool(params.get("recurringonly")):
            preds.append(_truthy("isrecurringitem"))
        if q_bool(params.get("excluderecurring")):
            preds.append(lambda r: not r.get("isrecurringitem"))
    elif name == "asset":
        preds += _active(params) + _search(params, "inventory_number", "key_field")
        preds += _id_filters(params, ("client_id", "site_id", "contract_id", "assettype_id", "item_id"))
        if params.get("inventory_number"):
            preds.append(_eq("inventory_number", params["inventory_number"]))
    elif name == "quotation":
        preds += _id_filters(params, ("client_id", "site_id", "ticket_id", "user_id"))
        preds += _search(params, "title")
    elif name == "chargerate":
        preds += _chargerate_filters(store, params)
    elif name == "lookup":
        lookup_id = q_int(params.get("lookupid"))
        preds.append(_eq("lookupid", lookup_id))
        if q_bool(params.get("exclude_nocharge")) and lookup_id == CHARGE_TYPE_LOOKUP_ID:
            preds.append(lambda r: r.get("id") != 0)
    elif name == "holiday":
        start = q_date(params.get("start_date"))
        end = _end_of(params.get("end_date"))
        if start is not None or end is not None:

            def overlaps(r: dict[str, Any]) -> bool:
                first = dt_key(r.get("date"))
                last = dt_key(r.get("end_date")) or first
                if first is None or last is None:
                    return False
                return (end is None or first <= end) and (start is None or last >= start)

            preds.append(overlaps)
        preds += _id_filters(params, ("agent_id",))
        workday = q_int(params.get("workdayid"))
        if workday is not None:
            preds.append(_eq("workday_id", workday))
        if q_bool(params.get("approved_only")):
            preds.append(_eq("approval_status", 1))
    elif name == "clientprepay":
        preds += _id_filters(params, ("client_id", "contract_id")) + _client_ids(params)
    elif name == "expense":
        preds += _id_filters(params, ("agent_id", "client_id"))
        ticket = q_int(params.get("ticket_id"))
        if ticket is not None:
            preds.append(_eq("fault_id", ticket))
    preds += _stamp_window(res, params)
    return preds


def _invoice_filters(res: Resource, params: Params) -> list[Pred]:
    preds = _id_filters(params, ("client_id", "site_id", "contract_id", "ticket_id"))
    preds += _client_ids(params)
    rid = q_int(params.get("recurringinvoice_id"))
    if rid is not None:
        preds.append(_eq("recurring_invoice_id", rid))
    if q_bool(params.get("postedonly")):
        preds.append(_truthy("posted"))
    if q_bool(params.get("notpostedonly")):
        preds.append(lambda r: not r.get("posted"))
    statuses = q_ints(params.get("paymentstatuses"))
    if statuses:
        preds.append(_in("paymentstatus", statuses))
    if params.get("includecredits", "").lower() == "false":
        preds.append(lambda r: r.get("invoicetype") != 1)
    if params.get("includeinvoices", "").lower() == "false":
        preds.append(lambda r: r.get("invoicetype") == 1)
    if q_bool(params.get("exclude_voided")):
        preds.append(lambda r: not r.get("voided"))
    for name, field in (("xero_id", "xeroid"), ("third_party_id", "thirdpartyinvoicenumber")):
        if params.get(name):
            preds.append(_eq(field, params[name]))
    preds += _datesearch(params, "invoice_date", {}, res.date_fields)
    preds += _search(params, "invoicenumber", "client_name", "reference")
    return preds


def _chargerate_filters(store: Store, params: Params) -> list[Pred]:
    preds: list[Pred] = []
    client = q_int(params.get("client_id"))
    if client is not None:
        preds.append(_eq("area", client))
    contract = q_int(params.get("contract_id"))
    if contract is not None:
        preds.append(_eq("contract_id", contract))
    charge = q_int(params.get("chargerate_id"))
    if charge is not None:
        preds.append(_eq("charge_id", charge))
    if q_bool(params.get("globalonly")):
        preds.append(lambda r: r.get("area") == 0 and r.get("contract_id") == 0)
    if q_bool(params.get("currentonly")):
        preds.append(_truthy("current"))
    return preds


# --- ordering and paging --------------------------------------------------------------------------


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None or value == EMPTY_DATE:
        return (0, 0)
    if isinstance(value, bool | int | Decimal):
        return (1, value)
    if isinstance(value, str):
        return (2, value.lower())
    return (3, str(value))


def order(res: Resource, rows: list[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
    keys: list[tuple[str, bool]] = []
    for n in ("", "2", "3", "4", "5"):
        field = (params.get(f"order{n}") or "").strip()
        if field:
            keys.append((field.lower(), q_bool(params.get(f"orderdesc{n}"))))
    if res.name == "actions":
        rows.sort(key=lambda r: (r["ticket_id"], r["id"]))
    else:
        rows.sort(key=lambda r: _sort_value(r.get("id")), reverse=res.default_desc and not keys)
    for field, desc in reversed(keys):
        rows.sort(key=lambda r, f=field: _sort_value(r.get(f)), reverse=desc)  # type: ignore[misc]
    return rows


def select(rows: list[dict[str, Any]], preds: list[Pred]) -> list[dict[str, Any]]:
    for pred in preds:
        rows = [r for r in rows if pred(r)]
    return rows


def page(
    res: Resource, rows: list[dict[str, Any]], params: Params, *, page_cap: int, default_count: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The slice to return and the extra envelope fields (page_no/page_size when paginating)."""
    if res.paged and q_bool(params.get("pageinate")):
        size = q_int(params.get("page_size"), default_count) or default_count
        page_no = max(1, q_int(params.get("page_no"), 1) or 1)
        real = max(1, min(size, page_cap))
        start = (page_no - 1) * real
        return rows[start : start + real], {"page_no": page_no, "page_size": size}
    if not res.counted:
        return rows, {}
    count = q_int(params.get("count"))
    if count is None:
        if res.name == "actions":
            return rows, {}
        count = default_count
    return rows[: max(0, count)], {}


def parse_window(params: Params) -> tuple[datetime | None, datetime | None]:
    return parse_dt(params.get("startdate")), _end_of(params.get("enddate"))

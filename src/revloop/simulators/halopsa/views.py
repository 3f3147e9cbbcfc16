"""How a stored record looks on the wire: the lean list item, the full single GET, the POST echo.

- Lists carry fewer fields than a single GET: /Client list items hold a short field set (n8n's recorded
  item; ``alastupdate`` is added when ``lastupdatefromdate`` is passed, ``notes`` with ``includenotes``;
  billing fields such as ``hourlyrate`` need ``GET /Client/{id}``), and nested collections
  (``lines``, ``billingplans``, ``periods``, ``customfields`` ...) appear
  only on single GETs or with their include flag (``includelines``, ``includeassetfields``,
  ``includenotes``, ``includechildids``).
- ``GET /Site`` writes ``client_id`` as a double (``21.0``), as PANO observed.
- POST /Tickets answers with ``lastupdate`` and ``category1..4`` where GET says ``last_update`` and
  ``category_1..4`` (DJPSA).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .resources import Resource
from .store import Store
from .wire import q_bool

Params = dict[str, str]

_INCLUDE_FLAGS = {
    "lines": "includelines",
    "fields": "includeassetfields",
    "customfields": "includecustomfields",
}


def _floats(res: Resource, rec: dict[str, Any], out: dict[str, Any] | None) -> dict[str, Any]:
    if not res.float_id_fields:
        return out if out is not None else rec
    out = dict(rec) if out is None else out
    for name in res.float_id_fields:
        value = out.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = Decimal(value)
    return out


def list_item(res: Resource, rec: dict[str, Any], params: Params, store: Store) -> dict[str, Any]:
    if q_bool(params.get("idonly")):
        return {"id": rec["id"], "name": rec.get("name", "")}
    if res.list_fields is not None:
        out = {k: rec[k] for k in res.list_fields if k in rec}
        if q_bool(params.get("includenotes")) and "notes" in rec:
            out["notes"] = rec["notes"]
        if res.stamp and ("lastupdatefromdate" in params or "lastupdatetodate" in params):
            out[res.stamp] = rec[res.stamp]  # SPEC: "(bool) Include the field lastupdatefromdate"
        return _floats(res, rec, out)
    shaped: dict[str, Any] | None = None
    if res.detail_only and not res.detail_only.isdisjoint(rec):
        keep = {k for k, flag in _INCLUDE_FLAGS.items() if q_bool(params.get(flag))}
        shaped = {k: v for k, v in rec.items() if k not in res.detail_only or k in keep}
    if res.name == "tickets" and q_bool(params.get("includechildids")):
        shaped = dict(rec) if shaped is None else shaped
        shaped["child_ticket_ids"] = child_ids(store, rec["id"])
    return _floats(res, rec, shaped)


def full(res: Resource, rec: dict[str, Any], params: Params, store: Store) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    if res.name == "tickets" and q_bool(params.get("includechildids")):
        out = dict(rec)
        out["child_ticket_ids"] = child_ids(store, rec["id"])
    if res.name == "workday" and q_bool(params.get("showholidays")):
        out = dict(rec)
        out["holidays"] = [h for h in store.tables["holiday"].all() if h.get("workday_id") == rec["id"]]
    return _floats(res, rec, out)


def post_echo(res: Resource, rec: dict[str, Any]) -> dict[str, Any]:
    if res.name != "tickets":
        return _floats(res, rec, None)
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if key == "last_update":
            out["lastupdate"] = value
        elif key.startswith("category_") and key[9:].isdigit():
            out["category" + key[9:]] = value
        else:
            out[key] = value
    return out


def child_ids(store: Store, ticket_id: int) -> list[int]:
    return sorted(t["id"] for t in store.tables["tickets"].all() if t.get("parent_id") == ticket_id)

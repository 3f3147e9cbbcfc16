"""Reading HaloPSA: each record mapped by the connector's mapping, with its wire form kept for the
fields the mapping does not carry; unreadable records become issues naming them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from revloop.adapters.halopsa import mapping, wire
from revloop.adapters.halopsa.client import HaloClient
from revloop.domain.findings import Finding
from revloop.domain.issues import Issue
from revloop.exactjson import read_decimal

from .common import issue

R = TypeVar("R")
W = TypeVar("W", bound=wire.Wire)

MALFORMED = "halopsa.malformed"
UNKNOWN_REFERENCE = "halopsa.unknown_reference"
VANISHED = "halopsa.vanished"

#: the resource name used in subjects (``halopsa:<resource>:<id>``)
SUBJECT_NAMES = {
    "Client": "client",
    "Site": "site",
    "Agent": "agent",
    "Tickets": "ticket",
    "Actions": "action",
    "ClientContract": "contract",
    "ChargeRate": "chargerate",
    "Lookup": "chargetype",
    "Invoice": "invoice",
    "RecurringInvoice": "recurringinvoice",
    "Item": "item",
    "Asset": "asset",
    "Quotation": "quote",
    "Expense": "expense",
    "ClientPrepay": "prepay",
}


def subject(resource: str, record_id: Any) -> str:
    return f"halopsa:{SUBJECT_NAMES.get(resource, resource.lower())}:{record_id}"


def raw_subject(resource: str, raw: Any) -> str:
    if not isinstance(raw, dict):
        return subject(resource, "?")
    if resource == "Actions":
        return subject(resource, f"{raw.get('ticket_id', '?')}/{raw.get('id', '?')}")
    return subject(resource, raw.get("id", "?"))


def malformed(resource: str, raw: Any, found: Issue) -> Finding:
    return issue(
        MALFORMED,
        raw_subject(resource, raw),
        found.message,
        found.action or "fix the record in HaloPSA, then sync again",
    )


def unknown_reference(resource: str, record_id: Any, what: str, ref: Any) -> Finding:
    return issue(
        UNKNOWN_REFERENCE,
        subject(resource, record_id),
        f"HaloPSA {SUBJECT_NAMES.get(resource, resource)} {record_id} refers to {what} {ref}, "
        "which revloop does not know; the record was held back",
        f"check {what} {ref} exists in HaloPSA (and is not excluded from the API), then sync again",
    )


@dataclass
class Pairs(Generic[R]):
    """Records read: (wire dict, mapped record), and an issue for each unreadable one."""

    rows: list[tuple[dict[str, Any], R]] = field(default_factory=list)
    issues: list[Finding] = field(default_factory=list)
    count: int = 0


def read_pairs(
    client: HaloClient, kind: mapping.Kind[W, R], params: dict[str, Any], raws: Iterable[Any] | None = None
) -> Pairs[R]:
    out: Pairs[R] = Pairs()
    source = raws if raws is not None else client.iter_pages(kind.resource, params)
    for raw in source:
        out.count += 1
        result = kind.one(raw)
        if isinstance(result, Issue):
            out.issues.append(malformed(kind.resource, raw, result))
        else:
            out.rows.append((raw, result))
    return out


def read_raw(
    client: HaloClient, resource: str, params: dict[str, Any], required: tuple[str, ...] = ("id",)
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Records of a resource the connector has no typed reader for; checks the ids at least."""
    rows: list[dict[str, Any]] = []
    problems: list[Finding] = []
    for raw in client.iter_pages(resource, params):
        if not isinstance(raw, dict):
            problems.append(
                issue(
                    MALFORMED,
                    subject(resource, "?"),
                    "HaloPSA sent a record that is not an object",
                    "check the HaloPSA API answer, then sync again",
                )
            )
            continue
        try:
            for name in required:
                wire.read_int(raw.get(name))
        except ValueError as exc:
            problems.append(
                issue(
                    MALFORMED,
                    raw_subject(resource, raw),
                    f"HaloPSA sent a record revloop cannot read: {exc}",
                    "fix the record in HaloPSA, then sync again",
                )
            )
            continue
        rows.append(raw)
    return rows, problems


# --- readers for wire fields the mapping leaves out ---------------------------------------------------


def num(raw: dict[str, Any], name: str) -> Decimal | None:
    return read_decimal(raw.get(name))


def ref(raw: dict[str, Any], name: str) -> int | None:
    return wire.read_ref(raw.get(name))


def text(raw: dict[str, Any], name: str) -> str | None:
    return wire.read_text(raw.get(name))


def flag(raw: dict[str, Any], name: str) -> bool:
    return bool(wire.read_bool(raw.get(name)))


def when(raw: dict[str, Any], name: str) -> datetime | None:
    return wire.parse_dt(raw.get(name))


def day(value: datetime | None) -> date | None:
    """A Halo date (midnight, naive UTC on the wire) as the calendar date it names."""
    return value.date() if value is not None else None


def local_day(value: datetime, zone: ZoneInfo) -> date:
    return value.astimezone(zone).date()

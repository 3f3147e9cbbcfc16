"""The state one HaloPSA sync carries from resource to resource: the client, the store, id maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import repository
from revloop.adapters.db.tables import customers
from revloop.adapters.halopsa.client import HaloClient
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity

from .common import Runner, issue
from .halo_read import VANISHED, subject

SYSTEM = "halopsa"
CENT = Decimal("0.01")
BASIS = Decimal("0.0001")
#: a resource read incrementally is read in full again when its last full read is older than this
FULL_EVERY = timedelta(days=7)


class BadFigure(ValueError):
    """A figure with more digits than the store keeps (it refuses to round)."""


def money(value: Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    if value != value.quantize(CENT):
        raise BadFigure(f"{name} {value} has more than 2 decimal places")
    return value


def qty(value: Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    if value != value.quantize(BASIS):
        raise BadFigure(f"{name} {value} has more than 4 decimal places")
    return value


@dataclass
class HaloContext:
    runner: Runner
    client: HaloClient
    currency: str
    zone: ZoneInfo
    maps: dict[str, dict[str, int]] = field(default_factory=dict)
    #: customer id → currency, for records that carry none
    currencies: dict[int, str] = field(default_factory=dict)
    service_lines: dict[str, str | None] = field(default_factory=dict)  # charge type id → line
    contract_units: dict[str, str | None] = field(default_factory=dict)  # contract id → prepay unit
    ticket_customers: dict[str, int | None] = field(default_factory=dict)  # ticket id → customer id

    @property
    def now(self) -> datetime:
        return self.runner.now

    def since(self, resource: str) -> datetime | None:
        """Where this resource's read starts; None = read it all (a full sync, a first sync, or the
        last full read of it is older than ``FULL_EVERY``)."""
        if self.runner.full:
            return None
        mark = self.runner.watermark(resource)
        if mark is None or mark.last_full_at is None or self.now - mark.last_full_at > FULL_EVERY:
            return None
        return self.runner.since(resource)

    def id_map(self, conn: Connection, name: str, table: sa.Table, key: str = "halopsa_id") -> dict[str, int]:
        found = repository.id_map(conn, table, key)
        self.maps[name] = found
        return found

    def customer_map(self, conn: Connection) -> dict[str, int]:
        found = repository.id_map(conn, customers, "code")
        self.maps["customer"] = found
        self.currencies = {
            r.id: r.currency for r in conn.execute(sa.select(customers.c.id, customers.c.currency))
        }
        return found

    def customer_id(self, halo_client_id: int | None) -> int | None:
        if halo_client_id is None:
            return None
        return self.maps.get("customer", {}).get(f"c{halo_client_id}")

    def vanished(self, resource: str, ids: list[str], what: str) -> list[Finding]:
        return [
            issue(
                VANISHED,
                subject(resource, rid),
                f"HaloPSA no longer returns {what} {rid}; revloop keeps what it stored",
                f"if {what} {rid} was deleted in HaloPSA on purpose, nothing to do; otherwise restore it",
                Severity.WARNING,
            )
            for rid in sorted(ids)
        ]


def stamp_params(
    since: datetime | None, base: dict[str, Any], *, include_flag: bool = False
) -> dict[str, Any]:
    """A list read filtered on the record's last-updated stamp (NOTES §3.4) when incremental."""
    if since is not None:
        return {**base, "lastupdatefromdate": since}
    if include_flag:
        return {**base, "lastupdatefromdate": True}  # "(bool) include the stamp" on Client/Site/Asset
    return dict(base)


def end_of(value: datetime | None) -> date | None:
    """Halo's end dates name the last day; the store's are exclusive."""
    return value.date() + timedelta(days=1) if value is not None else None

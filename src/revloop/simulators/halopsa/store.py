"""In-memory state: one table of plain wire-shaped dicts per resource, indexed by id.

Actions are keyed by ``(ticket_id, id)`` (an action id is its number within the ticket) and indexed by
ticket. Records are stored as they go out on the wire (date strings, ``Decimal`` doubles); list values
inside a record are never changed in place, so seeded records may share default lists safely.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from .resources import RESOURCES, Resource
from .wire import dumps, loads

SNAPSHOT_FORMAT = "revloop-halopsa-sim/1"


def uuid_for(number: int) -> str:
    """A deterministic uuid-shaped id (Holiday and Priority ids are strings)."""
    return f"00000000-0000-4000-8000-{number:012d}"


class Table:
    def __init__(self, res: Resource) -> None:
        self.res = res
        self.rows: dict[Any, dict[str, Any]] = {}
        self.next_id = 1
        self.changes = 0  # bumped on every write, so list reads can tell a cached result is stale

    def __len__(self) -> int:
        return len(self.rows)

    def all(self) -> Iterable[dict[str, Any]]:
        return self.rows.values()

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.rows.get(key)

    def put(self, rec: dict[str, Any]) -> None:
        self.changes += 1
        rid = rec["id"]
        self.rows[rid] = rec
        if isinstance(rid, int) and rid >= self.next_id:
            self.next_id = rid + 1

    def remove(self, key: Any) -> dict[str, Any] | None:
        self.changes += 1
        return self.rows.pop(key, None)

    def allocate(self) -> int:
        rid = self.next_id
        self.next_id += 1
        return rid

    def seed(self, records: Iterable[dict[str, Any]], stamp: str | None) -> int:
        self.changes += 1
        defaults = self.res.defaults
        stamp_field = self.res.stamp
        rows = self.rows
        top = self.next_id - 1
        count = 0
        for raw in records:
            rec = defaults.copy()
            rec.update(raw)
            if stamp_field and stamp and rec.get(stamp_field) == defaults.get(stamp_field):
                rec[stamp_field] = stamp
            rid = raw.get("id")
            if rid is None or rid == "":
                rid = uuid_for(top + 1) if self.res.id_is_uuid else top + 1
                if self.res.id_is_uuid:
                    top += 1
                rec["id"] = rid
            rows[rid] = rec
            if isinstance(rid, int) and rid > top:
                top = rid
            for number_field in ("holid", "priorityid"):
                number = rec.get(number_field)
                if isinstance(number, int) and number > top:
                    top = number
            count += 1
        self.next_id = top + 1
        return count

    def dump(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "rows": dumps([self.res.sparse(rec) for rec in self.rows.values()])}

    def load(self, data: dict[str, Any]) -> None:
        self.changes += 1
        self.rows = {}
        defaults = self.res.defaults
        for sparse in loads(data["rows"]):
            rec = defaults.copy()
            rec.update(sparse)
            self.rows[rec["id"]] = rec
        self.next_id = int(data["next_id"])


class ActionTable(Table):
    """Actions keyed by (ticket_id, id), with per-ticket sequential ids."""

    def __init__(self, res: Resource) -> None:
        super().__init__(res)
        self.by_ticket: dict[int, dict[int, dict[str, Any]]] = {}

    def __len__(self) -> int:
        return sum(len(group) for group in self.by_ticket.values())

    def all(self) -> Iterator[dict[str, Any]]:
        for group in self.by_ticket.values():
            yield from group.values()

    def get(self, key: Any) -> dict[str, Any] | None:
        ticket_id, action_id = key
        group = self.by_ticket.get(ticket_id)
        return None if group is None else group.get(action_id)

    def for_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        group = self.by_ticket.get(ticket_id)
        return [] if group is None else list(group.values())

    def put(self, rec: dict[str, Any]) -> None:
        self.changes += 1
        self.by_ticket.setdefault(rec["ticket_id"], {})[rec["id"]] = rec

    def remove(self, key: Any) -> dict[str, Any] | None:
        self.changes += 1
        ticket_id, action_id = key
        group = self.by_ticket.get(ticket_id)
        if group is None:
            return None
        rec = group.pop(action_id, None)
        if not group:
            del self.by_ticket[ticket_id]
        return rec

    def remove_ticket(self, ticket_id: int) -> None:
        self.changes += 1
        self.by_ticket.pop(ticket_id, None)

    def allocate_for(self, ticket_id: int) -> int:
        group = self.by_ticket.get(ticket_id)
        return (max(group) + 1) if group else 1

    def seed(self, records: Iterable[dict[str, Any]], stamp: str | None) -> int:
        self.changes += 1
        defaults = self.res.defaults
        by_ticket = self.by_ticket
        count = 0
        for raw in records:
            rec = defaults.copy()
            rec.update(raw)
            if stamp and rec["last_updated"] == defaults["last_updated"]:
                rec["last_updated"] = stamp
            group = by_ticket.get(rec["ticket_id"])
            if group is None:
                group = by_ticket[rec["ticket_id"]] = {}
            if not rec["id"]:  # action numbers start at 1 within a ticket
                rec["id"] = (max(group) + 1) if group else 1
            group[rec["id"]] = rec
            count += 1
        return count

    def dump(self) -> dict[str, Any]:
        return {"next_id": 0, "rows": dumps([self.res.sparse(rec) for rec in self.all()])}

    def load(self, data: dict[str, Any]) -> None:
        self.changes += 1
        self.by_ticket = {}
        defaults = self.res.defaults
        for sparse in loads(data["rows"]):
            rec = defaults.copy()
            rec.update(sparse)
            self.put(rec)


class Store:
    """All tables plus counters; ``lock`` guards every read and write (re-entrant)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {
            name: (ActionTable(res) if name == "actions" else Table(res)) for name, res in RESOURCES.items()
        }
        self.next_line_id = 1

    @property
    def actions(self) -> ActionTable:
        table = self.tables["actions"]
        assert isinstance(table, ActionTable)
        return table

    def version(self) -> int:
        """Grows with every write to any table (records are replaced, never changed in place)."""
        return sum(table.changes for table in self.tables.values())

    def allocate_line_id(self) -> int:
        line_id = self.next_line_id
        self.next_line_id += 1
        return line_id

    def note_line_ids(self, lines: Iterable[dict[str, Any]]) -> None:
        for line in lines:
            line_id = line.get("id")
            if isinstance(line_id, int) and line_id >= self.next_line_id:
                self.next_line_id = line_id + 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": SNAPSHOT_FORMAT,
                "tables": {name: table.dump() for name, table in self.tables.items()},
                "next_line_id": self.next_line_id,
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a HaloPSA simulator snapshot: {snapshot.get('format')!r}")
        with self.lock:
            for name, table in self.tables.items():
                data = snapshot["tables"].get(name)
                if data is None:
                    table.load({"next_id": 1, "rows": "[]"})
                else:
                    table.load(data)
            self.next_line_id = int(snapshot["next_line_id"])

"""Writing and reading the store in bulk: upserts by natural key on both databases, sync
watermarks, the mapping ledger, and findings with their lifecycle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from revloop.adapters.db import audit
from revloop.adapters.db.tables import external_ids, findings, sync_watermarks
from revloop.domain.findings import Finding
from revloop.domain.issues import IssueState, NotFound

CHUNK = 500


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert rows, or update the existing row with the same ``key``; returns the rows sent.

    ``update`` names the columns an existing row takes from the new one (default: every column
    given except the key). One statement per chunk of rows, on SQLite and PostgreSQL alike.
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = update if update is not None else [c for c in rows[0] if c not in key]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        statement = insert_fn(table).values(list(chunk))
        if columns:
            statement = statement.on_conflict_do_update(
                index_elements=list(key), set_={c: statement.excluded[c] for c in columns}
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(key))
        conn.execute(statement)
    return len(rows)


def id_map(
    conn: Connection, table: sa.Table, key: str, values: Iterable[str] | None = None
) -> dict[str, int]:
    """Natural key → surrogate id, for resolving references in bulk."""
    query = sa.select(table.c[key], table.c.id)
    if values is not None:
        wanted = list(set(values))
        result: dict[str, int] = {}
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            result.update({k: i for k, i in conn.execute(query.where(table.c[key].in_(part)))})
        return result
    return {k: i for k, i in conn.execute(query) if k is not None}


# -- sync watermarks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Watermark:
    system: str
    resource: str
    watermark: str | None
    last_run_at: datetime | None
    last_full_at: datetime | None
    records: int


def get_watermark(conn: Connection, system: str, resource: str) -> Watermark | None:
    row = conn.execute(
        sa.select(sync_watermarks).where(
            sync_watermarks.c.system == system, sync_watermarks.c.resource == resource
        )
    ).one_or_none()
    if row is None:
        return None
    return Watermark(row.system, row.resource, row.watermark, row.last_run_at, row.last_full_at, row.records)


def set_watermark(
    conn: Connection,
    system: str,
    resource: str,
    watermark: str | None,
    *,
    at: datetime,
    records: int,
    full: bool,
) -> None:
    values: dict[str, Any] = {"watermark": watermark, "last_run_at": at, "records": records}
    if full:
        values["last_full_at"] = at
    upsert(
        conn,
        sync_watermarks,
        [{"system": system, "resource": resource, **values}],
        key=("system", "resource"),
    )


# -- the mapping ledger ------------------------------------------------------------------------


def link(
    conn: Connection,
    *,
    entity: str,
    local_id: str,
    system: str,
    external_id: str,
    at: datetime,
    method: str = "manual",
    status: str = "confirmed",
    by: str | None = None,
) -> None:
    """Record that a local record is ``external_id`` in ``system``. A confirmed link replaces
    any other confirmed link of the same local record in that system."""
    if status == "confirmed":
        conn.execute(
            external_ids.delete().where(
                external_ids.c.entity == entity,
                external_ids.c.local_id == local_id,
                external_ids.c.system == system,
                external_ids.c.external_id != external_id,
                external_ids.c.status == "confirmed",
            )
        )
    upsert(
        conn,
        external_ids,
        [
            {
                "entity": entity,
                "local_id": local_id,
                "system": system,
                "external_id": external_id,
                "status": status,
                "method": method,
                "confirmed_by": by,
                "created_at": at,
            }
        ],
        key=("system", "entity", "external_id", "local_id"),
        update=("status", "method", "confirmed_by"),
    )


def external_id_for(conn: Connection, entity: str, local_id: str, system: str) -> str | None:
    return conn.execute(
        sa.select(external_ids.c.external_id).where(
            external_ids.c.entity == entity,
            external_ids.c.local_id == local_id,
            external_ids.c.system == system,
            external_ids.c.status == "confirmed",
        )
    ).scalar_one_or_none()


def local_id_for(conn: Connection, entity: str, system: str, external_id: str) -> str | None:
    return conn.execute(
        sa.select(external_ids.c.local_id).where(
            external_ids.c.entity == entity,
            external_ids.c.system == system,
            external_ids.c.external_id == external_id,
            external_ids.c.status == "confirmed",
        )
    ).scalar_one_or_none()


def suggestions(conn: Connection, entity: str) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(external_ids)
            .where(external_ids.c.entity == entity, external_ids.c.status == "suggested")
            .order_by(external_ids.c.local_id)
        )
    )


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingsRecorded:
    new: int
    seen_again: int
    reopened: int
    resolved: int


def record_findings(
    conn: Connection, detected: Iterable[Finding], *, at: datetime, checked_codes: Iterable[str] = ()
) -> FindingsRecorded:
    """Store what a run detected, idempotently.

    A finding seen before (same fingerprint) is updated, not duplicated; one that a person
    resolved and that is detected again reopens; an acknowledged one stays acknowledged. Open or
    acknowledged findings of the ``checked_codes`` that this run no longer detects are resolved
    ("no longer detected").
    """
    by_print = {f.fingerprint: f for f in detected}
    existing = {
        row.fingerprint: row
        for row in conn.execute(
            sa.select(findings.c.id, findings.c.fingerprint, findings.c.state).where(
                findings.c.fingerprint.in_(list(by_print))
            )
        )
    }
    new = seen = reopened = 0
    for print_, finding in by_print.items():
        values = {
            "severity": finding.severity.value,
            "message": finding.message,
            "action": finding.action,
            "amount": finding.amount,
            "currency": finding.currency,
            "last_seen": at,
        }
        row = existing.get(print_)
        if row is None:
            conn.execute(
                findings.insert().values(
                    fingerprint=print_,
                    kind="finding",
                    code=finding.code,
                    subjects=list(finding.subjects),
                    state=IssueState.OPEN.value,
                    first_seen=at,
                    **values,
                )
            )
            new += 1
            continue
        if row.state == IssueState.RESOLVED.value:
            values.update(state=IssueState.OPEN.value, resolved_at=None, state_reason="detected again")
            reopened += 1
        else:
            seen += 1
        conn.execute(findings.update().where(findings.c.id == row.id).values(**values))
    resolved = 0
    codes = list(checked_codes)
    if codes:
        stale = conn.execute(
            sa.select(findings.c.id).where(
                findings.c.code.in_(codes),
                findings.c.state != IssueState.RESOLVED.value,
                findings.c.fingerprint.not_in(list(by_print)) if by_print else sa.true(),
            )
        ).scalars()
        ids = list(stale)
        if ids:
            conn.execute(
                findings.update()
                .where(findings.c.id.in_(ids))
                .values(
                    state=IssueState.RESOLVED.value,
                    resolved_at=at,
                    state_reason="no longer detected",
                    state_by="revloop",
                )
            )
            resolved = len(ids)
    return FindingsRecorded(new, seen, reopened, resolved)


def change_finding_state(
    conn: Connection, finding_id: int, state: IssueState, *, reason: str, by: str, at: datetime
) -> None:
    """Acknowledge (with a reason) or resolve a finding, and journal who did it."""
    row = conn.execute(
        sa.select(findings.c.code, findings.c.state).where(findings.c.id == finding_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no finding with id {finding_id}")
    values: dict[str, Any] = {"state": state.value, "state_reason": reason, "state_by": by}
    values["resolved_at"] = at if state is IssueState.RESOLVED else None
    conn.execute(findings.update().where(findings.c.id == finding_id).values(**values))
    audit.record(
        conn,
        at=at,
        actor=by,
        action=f"finding.{state.value}",
        entity="finding",
        entity_id=str(finding_id),
        details={"code": row.code, "from": row.state, "reason": reason},
    )

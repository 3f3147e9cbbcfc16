"""Job leases in the store: which process runs a job now, and how the job last went.

A lease is claimed atomically: an UPDATE that matches only when the lease is free, expired or
already ours (checked by its row count), or, for a job never seen, an INSERT that yields to a
concurrent one (ON CONFLICT DO NOTHING). Both hold on SQLite (one writer at a time) and on
PostgreSQL (a second UPDATE waits for the first and re-checks its condition on the new row).
A lease expires after ``ttl`` unless renewed, so a crashed holder's job is taken over.

``failures`` counts failures in a row (back to 0 after a success); ``runs`` counts every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import job_leases

Outcome = Literal["ok", "skipped", "unavailable", "failed"]


@dataclass(frozen=True)
class JobState:
    name: str
    holder: str | None = None
    lease_until: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0

    def held_by_other(self, holder: str, now: datetime) -> bool:
        return (
            self.holder is not None
            and self.holder != holder
            and self.lease_until is not None
            and self.lease_until >= now
        )


class Leases:
    def __init__(self, engine: Engine, holder: str, ttl: timedelta) -> None:
        self.engine = engine
        self.holder = holder[:128]
        self.ttl = ttl

    def claim(self, name: str, now: datetime) -> bool:
        """Take the job's lease if it is free, expired or already ours; True when we hold it."""
        row = job_leases.c
        with self.engine.begin() as conn:
            taken = conn.execute(
                job_leases.update()
                .where(
                    row.name == name,
                    sa.or_(
                        row.holder.is_(None),
                        row.lease_until.is_(None),
                        row.lease_until < now,
                        row.holder == self.holder,
                    ),
                )
                .values(holder=self.holder, lease_until=now + self.ttl)
            )
            if taken.rowcount == 1:
                return True
            insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            created = conn.execute(
                insert_fn(job_leases)
                .values(name=name, holder=self.holder, lease_until=now + self.ttl, runs=0, failures=0)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(job_leases.c.name)
            ).scalar_one_or_none()
            return created is not None

    def renew(self, name: str, now: datetime) -> bool:
        """Push our lease on; False when it is no longer ours (it expired and was taken over)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                job_leases.update()
                .where(job_leases.c.name == name, job_leases.c.holder == self.holder)
                .values(lease_until=now + self.ttl)
            )
        return result.rowcount == 1

    def started(self, name: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                job_leases.update()
                .where(job_leases.c.name == name, job_leases.c.holder == self.holder)
                .values(last_started_at=now, lease_until=now + self.ttl)
            )
        return result.rowcount == 1

    def release(self, name: str) -> bool:
        """Give the lease back without recording a run."""
        with self.engine.begin() as conn:
            result = conn.execute(
                job_leases.update()
                .where(job_leases.c.name == name, job_leases.c.holder == self.holder)
                .values(holder=None, lease_until=None)
            )
        return result.rowcount == 1

    def finish(self, name: str, now: datetime, outcome: Outcome, note: str | None = None) -> bool:
        """Record how the run went and give the lease back; False when the lease was lost."""
        row = job_leases.c
        values: dict[str, object] = {
            "holder": None,
            "lease_until": None,
            "last_finished_at": now,
            "runs": row.runs + 1,
        }
        if outcome == "failed":
            values.update(last_error=(note or "failed")[:4000], failures=row.failures + 1)
        elif outcome == "unavailable":
            values.update(last_error=(note or "unavailable")[:4000], failures=0)
        else:
            values.update(last_ok_at=now, last_error=None, failures=0)
        with self.engine.begin() as conn:
            result = conn.execute(
                job_leases.update().where(row.name == name, row.holder == self.holder).values(**values)
            )
        return result.rowcount == 1

    def states(self) -> dict[str, JobState]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(job_leases)).mappings().all()
        return {r["name"]: JobState(**dict(r)) for r in rows}

    def state(self, name: str) -> JobState | None:
        return self.states().get(name)


__all__ = ["JobState", "Leases", "Outcome"]

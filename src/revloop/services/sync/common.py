"""What both syncs share: the store, watermarks, issues as stored findings, one resource at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from revloop.adapters.db import repository
from revloop.adapters.db.tables import findings
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity

from .report import IssueLine, Progress, ResourceReport, Stopwatch, SyncReport, WaitTally

#: re-read this much before a watermark: clocks differ and records commit late
OVERLAP = timedelta(minutes=10)


def clip(value: Any, length: int) -> Any:
    """Text cut to a column's length (names and references are free text at the vendors)."""
    return value[:length] if isinstance(value, str) else value


def engine_of(app_or_engine: Any) -> Engine:
    if isinstance(app_or_engine, Engine):
        return app_or_engine
    engine = getattr(app_or_engine, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("sync needs an App or an SQLAlchemy Engine")
    return engine


def parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    stamp = datetime.fromisoformat(text)
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def latest(
    stamps: Iterator[datetime | None] | list[datetime | None], default: datetime | None
) -> datetime | None:
    found = [s for s in stamps if s is not None]
    best = max(found) if found else None
    if default is not None and (best is None or default > best):
        return default
    return best


def issue(code: str, subject: str, message: str, action: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code=code, severity=severity, subjects=(subject,), message=message, action=action)


def store_issues(conn: Connection, found: list[Finding], at: datetime) -> None:
    """Store a run's issues (kind ``issue``): idempotent, a second detection updates the first."""
    if not found:
        return
    repository.record_findings(conn, found, at=at)
    prints = list({f.fingerprint for f in found})
    for start in range(0, len(prints), 500):
        part = prints[start : start + 500]
        conn.execute(findings.update().where(findings.c.fingerprint.in_(part)).values(kind="issue"))


def resolve_issues(conn: Connection, prefix: str, keep: set[str], at: datetime) -> int:
    """After a full read of a resource: its open issues (subjects starting with ``prefix``) that this
    read did not raise again are resolved, "no longer detected"."""
    rows = conn.execute(
        sa.select(findings.c.id, findings.c.subjects, findings.c.fingerprint).where(
            findings.c.state != "resolved", findings.c.kind == "issue"
        )
    ).all()
    ids = [
        r.id
        for r in rows
        if r.subjects and str(r.subjects[0]).startswith(prefix) and r.fingerprint not in keep
    ]
    if ids:
        conn.execute(
            findings.update()
            .where(findings.c.id.in_(ids))
            .values(state="resolved", resolved_at=at, state_reason="no longer detected", state_by="revloop")
        )
    return len(ids)


@dataclass
class Step:
    """One resource being synced: its report, the issues found, the watermark to keep."""

    report: ResourceReport
    issues: list[Finding] = field(default_factory=list)
    watermark: datetime | None = None
    keep_watermark: bool = True

    def add(self, found: Finding) -> None:
        self.issues.append(found)


class Runner:
    """Runs resources one at a time: counts calls and waits, times, stores issues and watermarks."""

    def __init__(
        self,
        system: str,
        engine: Engine,
        *,
        full: bool,
        now: datetime,
        calls: Callable[[], int],
        progress: Progress | None,
        waits: WaitTally | None,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.system = system
        self.engine = engine
        self.full = full
        self.now = now.astimezone(UTC)
        self.calls = calls
        self.progress = progress
        self.waits = waits
        self.report = SyncReport(system, full)
        if waits is not None and progress is not None:
            waits.listen(progress, lambda r, reason, s: progress.waited(r.system, r.resource, reason, s))

    def watermark(self, resource: str) -> repository.Watermark | None:
        with self.engine.connect() as conn:
            return repository.get_watermark(conn, self.system, resource)

    def since(self, resource: str) -> datetime | None:
        """Where an incremental read starts (watermark minus the overlap); None = read everything."""
        if self.full:
            return None
        mark = self.watermark(resource)
        stamp = parse_stamp(mark.watermark) if mark else None
        return stamp - OVERLAP if stamp is not None else None

    @contextmanager
    def step(
        self, resource: str, *, incremental: bool | None = None, subjects: str | None = None
    ) -> Iterator[Step]:
        """Run one resource. ``subjects`` (e.g. ``halopsa:action:``) names the issues a full read
        of it settles: those not raised again are resolved."""
        mode = "incremental" if (incremental if incremental is not None else not self.full) else "full"
        report = ResourceReport(self.system, resource, mode=mode)
        self.report.resources.append(report)
        step = Step(report)
        if self.waits is not None:
            self.waits.current = report
        if self.progress is not None:
            self.progress.started(self.system, resource)
        watch = Stopwatch()
        before = self.calls()
        try:
            yield step
        finally:
            report.calls = self.calls() - before
            report.seconds = watch.seconds()
            if self.waits is not None:
                self.waits.current = None
        report.issues = len(step.issues)
        with self.engine.begin() as conn:
            store_issues(conn, step.issues, self.now)
            if mode == "full" and subjects is not None:
                resolve_issues(conn, subjects, {f.fingerprint for f in step.issues}, self.now)
            if step.keep_watermark:
                mark = step.watermark or self.now
                repository.set_watermark(
                    conn,
                    self.system,
                    resource,
                    mark.isoformat(),
                    at=self.now,
                    records=report.read,
                    full=mode == "full",
                )
        for found in step.issues:
            self.report.issues.append(
                IssueLine(found.code, ", ".join(found.subjects), found.message, found.action)
            )
        if self.progress is not None:
            self.progress.finished(report)

    def advanced(self, step: Step, records: int) -> None:
        step.report.read += records
        if self.progress is not None:
            self.progress.advanced(self.system, step.report.resource, records)

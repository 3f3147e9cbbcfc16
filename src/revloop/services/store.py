"""Use cases on the store itself: initialise, upgrade, report its state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from revloop.adapters.db import audit, migrations
from revloop.adapters.db.engine import check_connection
from revloop.adapters.db.tables import REPORTED, findings, sync_watermarks
from revloop.bootstrap import App


@dataclass(frozen=True)
class StoreState:
    url: str
    dialect: str
    revision: str | None
    head: str
    counts: dict[str, int]
    open_findings: dict[str, int]
    last_syncs: list[tuple[str, str, datetime | None, int]]
    journal_intact: bool
    journal_entries: int
    journal_problem: str

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


def upgrade(app: App, revision: str = "head", actor: str = "cli") -> tuple[str | None, str | None]:
    engine = app.engine
    check_connection(engine)
    before = migrations.current_revision(engine)
    migrations.upgrade(engine, revision)
    after = migrations.current_revision(engine)
    if after != before and after is not None:
        with engine.begin() as conn:
            audit.record(
                conn,
                at=datetime.now(UTC),
                actor=actor,
                action="db.upgrade",
                entity="store",
                entity_id=after,
                details={"from": before, "to": after},
            )
    return before, after


def downgrade(app: App, revision: str) -> tuple[str | None, str | None]:
    engine = app.engine
    check_connection(engine)
    before = migrations.current_revision(engine)
    migrations.downgrade(engine, revision)
    return before, migrations.current_revision(engine)


def state(app: App) -> StoreState:
    engine = app.engine
    check_connection(engine)
    url = engine.url.render_as_string(hide_password=True)
    revision = migrations.current_revision(engine)
    head = migrations.head_revision()
    if revision is None:
        return StoreState(url, engine.dialect.name, None, head, {}, {}, [], True, 0, "")
    migrations.require_current(engine)
    counts = migrations.table_counts(engine, REPORTED)
    with engine.connect() as conn:
        open_by_severity: dict[str, int] = dict(
            conn.execute(
                sa.select(findings.c.severity, sa.func.count())
                .where(findings.c.state == "open")
                .group_by(findings.c.severity)
            ).all()
        )
        syncs = [
            (r.system, r.resource, r.last_run_at, r.records)
            for r in conn.execute(sa.select(sync_watermarks).order_by(sync_watermarks.c.system))
        ]
        intact, entries, problem = audit.verify(conn)
    return StoreState(
        url,
        engine.dialect.name,
        revision,
        head,
        counts,
        open_by_severity,
        syncs,
        intact,
        entries,
        problem,
    )

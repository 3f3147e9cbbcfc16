"""The real jobs against a store: `revloop watch --once`, the billing preview ahead of a month end,
and the sync job saying once that a connector is not configured."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db import migrations
from revloop.adapters.db.tables import audit_journal, findings, job_leases
from revloop.bootstrap import App
from revloop.cli.main import main
from revloop.config import Settings, load_settings
from revloop.services import scenario
from revloop.services.watch import JobContext, Watcher, build_jobs
from revloop.services.watch.jobs import as_result
from revloop.services.watch.tasks import preview_job, preview_period, sync_job

from ..billing.book_store import settings_overrides, write_book

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def _ctx(now: datetime) -> JobContext:
    return JobContext("job", now, lambda: now, lambda: True, logging.getLogger("revloop.watch"))


def test_watch_once_runs_due_jobs_then_nothing(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REVLOOP_DATABASE_URL", migrated_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["watch", "--once", "--jobs", "notify,sync,preview"]) == 0
    out = capsys.readouterr().out
    assert "3 job(s) ran: 3 fine, 0 failed." in out
    assert "neither HaloPSA nor Xero is configured" in out and "Traceback" not in out
    with migrated_engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(job_leases))}
    assert set(rows) == {"sync", "preview", "notify"}
    assert all(r.runs == 1 and r.holder is None and r.last_ok_at is not None for r in rows.values())
    assert main(["watch", "--once", "--jobs", "sync,preview,notify"]) == 0
    assert "Nothing was due." in capsys.readouterr().out


def test_watch_refuses_an_unknown_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "--once", "--jobs", "sync,payroll"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error [watch.unknown_job]: unknown job 'payroll' "
        "(jobs: sync, reconcile, preview, bill-ahead, notify)"
    ]


def test_preview_ahead_of_the_month_end_records_issues_as_findings(tmp_path: Path) -> None:
    loaded = scenario.load(GOLDEN / "13-missing-rate.yaml")
    app = App(
        Settings(
            home=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'store.db'}",
            watch_preview_days_before=3,
            **settings_overrides(loaded.book),
        )
    )
    migrations.upgrade(app.engine)
    with app.engine.begin() as conn:
        write_book(conn, loaded.book, loaded.period)
    run = preview_job(app)
    early = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    result = as_result(run(_ctx(early)))
    assert result.status == "skipped" and "2026-10-29" in result.summary
    inside = datetime(2026, 10, 29, 9, 0, tzinfo=UTC)
    assert preview_period(inside, "Europe/London", 3)[1]
    result = as_result(run(_ctx(inside)))
    assert result.status == "ok" and result.summary.startswith("October 2026: ")
    assert "issue(s)" in result.summary
    with app.engine.connect() as conn:
        codes = set(conn.execute(sa.select(findings.c.code)).scalars())
        entry = conn.execute(sa.select(audit_journal).where(audit_journal.c.action == "bill.preview")).one()
        invoices = conn.execute(sa.text("select count(*) from invoices")).scalar_one()
    assert "rate.missing" in codes
    assert entry.actor == "watch" and entry.entity_id == "2026-10-01" and entry.details["issues"] >= 1
    assert invoices == 0  # a preview stores no drafts
    app.close()


def test_sync_says_once_that_nothing_is_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="revloop.watch")
    app = App(load_settings(database_url=f"sqlite:///{tmp_path / 'store.db'}"))
    migrations.upgrade(app.engine)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    clock = [now]
    jobs = build_jobs(app, ["sync"], runs={"sync": sync_job(app)})
    watcher = Watcher(app.engine, jobs, holder="me", clock=lambda: clock[0])
    [first] = watcher.run_due()
    clock[0] = now + timedelta(minutes=15)
    [second] = watcher.run_due()
    assert first.outcome == second.outcome == "skipped"
    said = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert said == [
        "sync: HaloPSA is not configured: skipped (set [halopsa] and REVLOOP_HALOPSA_CLIENT_SECRET)"
    ]
    assert json.dumps(first.summary)  # plain text
    app.close()

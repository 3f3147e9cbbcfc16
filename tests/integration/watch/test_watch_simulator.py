"""`revloop watch --once` as a person runs it from cron, over real HTTP against `revloop simulate`:
the first run syncs both systems; a Xero webhook mark makes the next run sync again at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.services.sync.marks import Mark, record_marks
from tests.simulator_process import small_simulator


def revloop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    full.update({"COLUMNS": "200", "NO_COLOR": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "revloop", *args], capture_output=True, text=True, env=full, timeout=300
    )


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with small_simulator(tmp_path_factory.mktemp("sim")) as info:
        yield info


def test_watch_once_syncs_and_a_webhook_mark_syncs_again(simulator: dict[str, Any], tmp_path: Path) -> None:
    env = {"REVLOOP_HOME": str(tmp_path / "home")}
    init = revloop("init", "--simulator", simulator["admin_url"], env=env)
    assert init.returncode == 0, init.stderr
    first = revloop("watch", "--once", "--jobs", "sync,preview,notify", env=env)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "Traceback" not in first.stdout + first.stderr
    assert "▶ sync (first run)" in first.stdout
    assert "✓ sync: halopsa " in first.stdout and "; xero " in first.stdout, first.stdout
    store = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'revloop.db'}")
    with store.connect() as conn:
        entries = conn.execute(sa.text("select count(*) from time_entries")).scalar_one()
        runs = conn.execute(sa.text("select runs from job_leases where name = 'sync'")).scalar_one()
    assert entries > 0 and runs == 1

    quiet = revloop("watch", "--once", "--jobs", "sync", env=env)
    assert quiet.returncode == 0 and "Nothing was due." in quiet.stdout, quiet.stdout

    now = datetime.now(UTC)
    with store.begin() as conn:
        tenant = simulator["xero"].get("tenant_id", "")
        record_marks(conn, [Mark("invoices", "00000000-0000-0000-0000-00000000abcd", tenant, now, now)])
    marked = revloop("watch", "--once", "--jobs", "sync", env=env)
    assert marked.returncode == 0, marked.stderr + marked.stdout
    assert "▶ sync (1 Xero webhook mark)" in marked.stdout, marked.stdout
    with store.connect() as conn:
        left = conn.execute(sa.text("select count(*) from sync_marks")).scalar_one()
        runs = conn.execute(sa.text("select runs from job_leases where name = 'sync'")).scalar_one()
    store.dispose()
    assert left == 0 and runs == 2  # the sync read the marked record and cleared its mark

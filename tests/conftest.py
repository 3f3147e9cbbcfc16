"""Shared fixtures: an isolated REVLOOP_HOME per test, SQLite and PostgreSQL stores.

PostgreSQL tests use the server at REVLOOP_TEST_POSTGRES_URL (default: the local server on
127.0.0.1:5432 as user postgres), each run in a database of its own that is dropped afterwards.
When no server answers they are skipped with the reason, except under CI=true, where that fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

# The command line's tables take the terminal's width; the tests read whole tables whatever the
# terminal (or its absence, as in a test worker) is.
os.environ["COLUMNS"] = "200"

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for name in list(os.environ):
        if name.startswith("REVLOOP_") and name != "REVLOOP_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("REVLOOP_HOME", str(home))
    return home


def _admin_url() -> sa.URL:
    url = make_url(os.environ.get("REVLOOP_TEST_POSTGRES_URL", DEFAULT_PG))
    return url.set(drivername="postgresql+psycopg")


@pytest.fixture(scope="session")
def postgres_server() -> sa.URL:
    """The admin URL of a reachable PostgreSQL server (skip, or fail under CI, when none)."""
    url = _admin_url()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        where = url.render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {where}: {exc.__class__.__name__}"
        if IN_CI:
            pytest.fail(reason + " (CI=true requires it)")
        pytest.skip(reason + " (set REVLOOP_TEST_POSTGRES_URL)")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_url(postgres_server: sa.URL) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"revloop_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield postgres_server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def migrated_engine(store_url: str) -> Iterator[Engine]:
    from revloop.adapters.db import migrations
    from revloop.adapters.db.engine import make_engine

    engine = make_engine(store_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly whether the PostgreSQL tests ran, so a green run cannot hide their skipping."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            is_pg = "postgres" in getattr(report, "keywords", {})
            if is_pg and (report.when == "call" or (outcome == "skipped" and report.when == "setup")):
                counts[outcome] += 1
    total = sum(counts.values())
    if total:
        passed, failed, skipped = counts["passed"], counts["failed"], counts["skipped"]
        terminalreporter.write_line(f"PostgreSQL tests: {passed} passed, {failed} failed, {skipped} skipped")

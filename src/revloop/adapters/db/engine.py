"""Opening the store: URL checks, engine options per dialect, readable connection errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from revloop.domain.issues import DatabaseUrlError, StoreUnreachable

SUPPORTED = ("sqlite", "postgresql")


def normalise_url(url: str) -> sa.URL:
    """Parse a database URL; plain ``postgresql://`` means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"not a database URL: {url!r}",
            hint="use sqlite:///path/to/revloop.db or postgresql+psycopg://user@host:5432/dbname",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise DatabaseUrlError(
            f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}",
            hint="revloop stores its data in SQLite or PostgreSQL",
        )
    if backend == "postgresql" and parsed.get_driver_name() in ("psycopg2", "", None):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseUrlError(
            f"unsupported PostgreSQL driver {parsed.get_driver_name()!r}", hint="use psycopg"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, create_dir: bool = True) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().parent
            if not folder.exists():
                if not create_dir:
                    raise StoreUnreachable(f"the folder {folder} does not exist")
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnreachable(f"cannot create {folder}: {exc.strerror or exc}") from None
        engine = sa.create_engine(parsed, future=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(parsed, future=True, pool_pre_ping=True)
    except NoSuchModuleError as exc:  # pragma: no cover - psycopg is a dependency
        raise DatabaseUrlError(str(exc)) from None


def check_connection(engine: Engine) -> None:
    """Connect once; turn driver errors into a one-line ``StoreUnreachable``."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = engine.url.render_as_string(hide_password=True)
        raise StoreUnreachable(f"cannot open the store at {where}: {reason}") from None

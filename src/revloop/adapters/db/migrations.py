"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from revloop.domain.issues import MigrationError, StoreNotInitialised, StoreOutOfDate, StoreUnreachable

SCRIPT_LOCATION = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(SCRIPT_LOCATION))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreUnreachable(f"cannot open the store: {str(exc.orig).splitlines()[0]}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    try:
        command.upgrade(alembic_config(engine), revision)
    except (OperationalError, ProgrammingError) as exc:
        raise MigrationError(f"upgrade to {revision} failed: {str(exc.orig).splitlines()[0]}") from None
    except Exception as exc:  # alembic's CommandError for an unknown revision
        if exc.__class__.__name__ in ("CommandError", "ResolutionError"):
            raise MigrationError(str(exc)) from None
        raise


def downgrade(engine: Engine, revision: str) -> None:
    try:
        command.downgrade(alembic_config(engine), revision)
    except (OperationalError, ProgrammingError) as exc:
        raise MigrationError(f"downgrade to {revision} failed: {str(exc.orig).splitlines()[0]}") from None
    except Exception as exc:
        if exc.__class__.__name__ in ("CommandError", "ResolutionError"):
            raise MigrationError(str(exc)) from None
        raise


def require_current(engine: Engine) -> None:
    """Refuse to work on a store that is missing or behind the code."""
    current = current_revision(engine)
    if current is None:
        raise StoreNotInitialised("the store has no tables yet", hint="run `revloop db upgrade`")
    if current != head_revision():
        raise StoreOutOfDate(
            f"the store is at revision {current}, this revloop needs {head_revision()}",
            hint="run `revloop db upgrade`",
        )


def table_counts(engine: Engine, names: tuple[str, ...]) -> dict[str, int]:
    out = {}
    with engine.connect() as conn:
        for name in names:
            out[name] = int(conn.execute(sa.text(f'select count(*) from "{name}"')).scalar_one())
    return out

"""``revloop db``: schema migrations of the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import check_connection
from revloop.bootstrap import build
from revloop.services import store as store_service

app = typer.Typer(help="Create and migrate the store (SQLite or PostgreSQL).", no_args_is_help=True)
out = Console()


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create the store or bring it up to the latest schema."""
    application = build()
    try:
        before, after = store_service.upgrade(application, revision)
        url = application.engine.url.render_as_string(hide_password=True)
    finally:
        application.close()
    if before == after:
        out.print(f"Store {url} already at revision {after}.")
    else:
        out.print(f"Store {url} upgraded from {before or 'empty'} to {after}.")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for empty.")]) -> None:
    """Step the schema back (``base`` removes every table)."""
    application = build()
    try:
        before, after = store_service.downgrade(application, revision)
    finally:
        application.close()
    out.print(f"Store downgraded from {before or 'empty'} to {after or 'empty'}.")


@app.command()
def current() -> None:
    """Print the store's schema revision and the latest one."""
    application = build()
    try:
        check_connection(application.engine)
        revision = migrations.current_revision(application.engine)
    finally:
        application.close()
    out.print(f"current: {revision or 'empty'}  latest: {migrations.head_revision()}")

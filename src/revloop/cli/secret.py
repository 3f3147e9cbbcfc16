"""``revloop secret``: client secrets and tokens, encrypted in the store."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from cryptography.fernet import Fernet
from rich.console import Console

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.domain.issues import InputError, NotFound

app = typer.Typer(help="Store API secrets encrypted (never in the settings file).", no_args_is_help=True)
out = Console()


@app.command("set")
def set_secret(name: Annotated[str, typer.Argument(help="e.g. halopsa_client_secret")]) -> None:
    """Store a secret read from standard input (one line)."""
    value = sys.stdin.readline().strip()
    if not value:
        raise InputError(
            f"no value for {name} on standard input", hint=f"echo VALUE | revloop secret set {name}"
        )
    application = build()
    try:
        require_current(application.engine)
        application.secrets.put(name, value)
    finally:
        application.close()
    out.print(f"Stored {name} (encrypted).")


@app.command("list")
def list_secrets() -> None:
    """List stored secrets by name (values are never shown)."""
    application = build()
    try:
        require_current(application.engine)
        rows = application.secrets.names()
    finally:
        application.close()
    if not rows:
        out.print("No secrets stored.")
    for name, updated, expires in rows:
        tail = f", expires {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
        out.print(f"{name}: stored {updated:%Y-%m-%d %H:%M} UTC{tail}")


@app.command("delete")
def delete_secret(name: str) -> None:
    """Remove a stored secret."""
    application = build()
    try:
        require_current(application.engine)
        if not application.secrets.delete(name):
            raise NotFound(f"no stored secret named {name!r}")
    finally:
        application.close()
    out.print(f"Deleted {name}.")


@app.command("new-key")
def new_key() -> None:
    """Print a fresh key for REVLOOP_SECRET_KEY."""
    print(Fernet.generate_key().decode())

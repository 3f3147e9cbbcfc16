"""``revloop connect xero`` and ``revloop connections``."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.services import connections as service

connect_app = typer.Typer(help="Connect revloop to Xero.", no_args_is_help=True)
out = Console()


@connect_app.command("xero")
def connect_xero(
    name: Annotated[str, typer.Option(help="A name for this connection.")] = "default",
    custom: Annotated[
        bool, typer.Option("--custom", help="A Custom Connection (client credentials).")
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the consent URL; open nothing.")
    ] = False,
) -> None:
    """Authorise revloop in Xero (consent page, PKCE) and store the tokens encrypted."""
    application = build()
    try:
        require_current(application.engine)
        if custom:
            result = service.connect_xero_custom(application, name=name)
        else:

            def show(url: str) -> None:
                out.print("Open this address to let revloop use your Xero organisation:")
                print(url, flush=True)
                if not no_browser:
                    webbrowser.open(url)
                out.print(f"Waiting for Xero's answer on {application.settings.xero_redirect_uri} ...")

            result = service.connect_xero_code(application, name=name, open_url=show)
    finally:
        application.close()
    organisations = ", ".join(f"{n or '?'} ({t})" for t, n in result.organisations)
    out.print(f"Connected '{result.name}' ({result.mode}). Organisations: {organisations}")
    out.print(f"Invoices will be posted to {result.tenant_id}.")


def connections() -> None:
    """Show what revloop is connected to and when tokens expire (never the tokens)."""
    application = build()
    try:
        require_current(application.engine)
        rows = service.status(application)
    finally:
        application.close()
    table = Table(title="Connections")
    for column in (
        "system",
        "name",
        "detail",
        "tenant",
        "access token expires",
        "re-consent needed by",
        "last sync",
    ):
        table.add_column(column)
    now = datetime.now(UTC)

    def when(at: datetime | None) -> str:
        if at is None:
            return "—"
        text = at.strftime("%Y-%m-%d %H:%M UTC")
        return f"{text} (expired)" if at < now else text

    for row in rows:
        table.add_row(
            row.system,
            row.name,
            row.detail,
            row.tenant or "—",
            when(row.access_expires_at),
            when(row.refresh_expires_at),
            when(row.last_sync_at),
        )
    out.print(table)

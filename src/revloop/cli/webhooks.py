"""``revloop webhooks``: receive Xero's webhooks, and see the records they marked.

``serve`` runs the receiver (``POST /webhooks/xero``, see docs/webhooks.md) with uvicorn; each
event marks its invoice or contact, and the next incremental ``revloop sync xero`` reads the marked
records by id. ``pending`` lists the marks still waiting for that sync.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import App, build
from revloop.domain.issues import SecretError
from revloop.services.connections import connection_store
from revloop.services.sync.marks import pending_marks

webhooks_app = typer.Typer(help="Receive Xero webhooks; list the records they marked.", no_args_is_help=True)
out = Console()


def webhook_key(application: App) -> str:
    """The signing key from the environment or the encrypted store; a one-line error without it."""
    key = application.connector_settings().xero_webhook_key
    value = key.get_secret_value().strip() if key is not None else ""
    if not value:
        raise SecretError(
            "no Xero webhook key",
            hint="set REVLOOP_XERO_WEBHOOK_KEY, or `echo KEY | revloop secret set xero_webhook_key` "
            "(the key is on your app's Webhooks page in the Xero developer portal)",
        )
    return value


def receiving_tenant(application: App) -> str | None:
    """The organisation whose events are kept: the one the sync reads (the stored connection's,
    else the ``xero_tenant_id`` setting); None keeps every organisation's events."""
    stored = connection_store(application).load("default")
    tenant = (stored.tenant_id if stored is not None else None) or application.settings.xero_tenant_id
    if not tenant or not tenant.strip():
        return None
    return tenant.strip().lower()


@webhooks_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8010,
) -> None:
    """Run the receiver: POST /webhooks/xero (put HTTPS in front of it for Xero)."""
    import uvicorn

    from revloop.web.webhooks import PATH, create_app

    application = build()
    try:
        require_current(application.engine)
        key = webhook_key(application)
        tenant = receiving_tenant(application)
        receiver = create_app(application.engine, key, tenant_id=tenant)
        shown = f"[{host}]" if ":" in host else host
        scope = f"organisation {tenant}" if tenant else "every organisation"
        print(f"revloop webhooks: listening on http://{shown}:{port}{PATH} ({scope})", file=sys.stderr)
        level = application.settings.log_level
        uvicorn.run(receiver, host=host, port=port, log_level=level, access_log=False, lifespan="off")
    finally:
        application.close()


@webhooks_app.command("pending")
def pending() -> None:
    """List the records marked by webhooks that the next sync will read by id."""
    application = build()
    try:
        require_current(application.engine)
        with application.engine.connect() as conn:
            marks = pending_marks(conn)
    finally:
        application.close()
    if not marks:
        out.print("No records waiting: every webhook event has been synced.")
        return
    table = Table(title=f"{len(marks)} record(s) waiting for `revloop sync xero`")
    for column in ("resource", "record id", "organisation", "event (UTC)", "received (UTC)"):
        table.add_column(column)
    for mark in marks:
        table.add_row(
            mark.resource,
            mark.record_id,
            mark.tenant_id,
            f"{mark.event_at:%Y-%m-%d %H:%M:%S}",
            f"{mark.received_at:%Y-%m-%d %H:%M:%S}",
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``webhooks serve`` and ``webhooks pending`` to the revloop command line."""
    app.add_typer(webhooks_app, name="webhooks")


__all__ = ["receiving_tenant", "register", "webhook_key", "webhooks_app"]

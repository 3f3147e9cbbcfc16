"""``revloop notify test [--recipient R]`` and ``revloop notify pending``: check the channels, and
see what the next notification run would send."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.adapters.notify.errors import NotifyError
from revloop.bootstrap import build
from revloop.services.notify import Notifier, pick, recipients
from revloop.services.notify.pending import pending

app = typer.Typer(help="E-mail and webhook notifications of findings.", no_args_is_help=True)
out = Console()


@app.command("test")
def test_command(
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Only this recipient (its address or webhook name).")
    ] = None,
) -> None:
    """Send a test message to every recipient (or one), to check the channel settings."""
    application = build()
    try:
        require_current(application.engine)
        chosen = pick(recipients(application.settings), recipient)
        if not chosen:
            out.print("No recipients: add [notify] recipients to the settings file.")
            return
        results = Notifier(application).send_test(datetime.now(UTC), only=chosen)
    finally:
        application.close()
    for result in results:
        if result.ok:
            out.print(f"sent to {result.recipient.label}", markup=False)
        else:
            out.print(f"NOT sent to {result.recipient.label}: {result.error}", markup=False)
    failed = [r for r in results if not r.ok]
    if failed:
        raise NotifyError(
            f"{len(failed)} of {len(results)} test message(s) not sent",
            hint="see the lines above; fix the settings or secrets and try again",
        )


@app.command("pending")
def pending_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what the next notification runs would send, to whom, and when."""
    application = build()
    try:
        require_current(application.engine)
        now = datetime.now(UTC)
        rows = pending(application, now)
        zone = ZoneInfo(application.settings.timezone)
    finally:
        application.close()
    if as_json:
        print(json.dumps({"pending": [r.as_dict() for r in rows]}, indent=2))
        return
    if not rows:
        out.print("Nothing to send.")
        return
    table = Table(title=f"{len(rows)} notification(s) to send")
    for column in ("recipient", "mode", "status", "when", "code", "severity", "amount", "finding"):
        table.add_column(column, overflow="fold", justify="right" if column == "amount" else "left")
    for r in rows:
        when = "next run" if r.when is None else r.when.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        amount = "" if r.item.amount is None else f"{r.item.currency or ''} {r.item.amount:,.2f}".strip()
        status = r.status if not r.error else f"{r.status} ({r.attempts}): {r.error}"
        table.add_row(
            r.recipient.label,
            r.recipient.mode,
            status,
            when,
            r.item.code,
            r.item.severity,
            amount,
            r.item.message,
        )
    out.print(table)


def register(root: typer.Typer) -> None:
    """Add ``notify`` to the revloop command line."""
    root.add_typer(app, name="notify")


__all__ = ["app", "register"]

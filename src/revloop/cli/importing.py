"""``revloop import xero-contacts|xero-items [--into-halopsa] [--dry-run]``.

Brings Xero's customers or sold items into the store (Xero is only read) and, with ``--into-halopsa``,
creates the HaloPSA clients or items that are missing, carrying the Xero ids, so both systems share one
list. ``--dry-run`` reads both systems and shows what would be created, writing nowhere. Prints a
summary (created, linked, suggested, skipped) and the records created, to create, or suggested.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.services.importing import (
    CREATED,
    LINKED,
    MISSING,
    SKIPPED,
    SUGGESTED,
    WOULD_CREATE,
    ImportReport,
    import_xero_contacts,
    import_xero_items,
)
from revloop.services.sync import WaitTally

from .sync import make_halo_client, make_xero_client

out = Console()

IntoHalo = Annotated[
    bool, typer.Option("--into-halopsa", help="Create in HaloPSA what it lacks, with the Xero ids.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be created; write nothing.")]


def summary_table(report: ImportReport) -> Table:
    table = Table(title=f"Import of Xero {report.what}" + (" (dry run)" if report.dry_run else ""))
    columns = [CREATED, LINKED, SUGGESTED, SKIPPED]
    if report.count(WOULD_CREATE) or report.dry_run:
        columns.insert(1, WOULD_CREATE)
    if report.count(MISSING) or not report.into_halopsa:
        columns.insert(1, "missing in HaloPSA")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(*(str(report.count(MISSING if c == "missing in HaloPSA" else c)) for c in columns))
    return table


def detail_table(report: ImportReport) -> Table | None:
    shown = [o for o in report.outcomes if o.result in (CREATED, WOULD_CREATE, MISSING, SUGGESTED)]
    if not shown:
        return None
    table = Table(title="Records")
    for column in ("result", "name", "xero id", "halopsa id", "note"):
        table.add_column(column, overflow="fold")
    for o in sorted(shown, key=lambda o: (o.result, o.name.lower())):
        table.add_row(o.result, o.name, o.xero_id, o.halopsa_id or "", o.detail)
    return table


def run_import(what: str, into_halopsa: bool, dry_run: bool) -> int:
    action: Callable[..., ImportReport] = import_xero_contacts if what == "contacts" else import_xero_items
    application = build()
    try:
        require_current(application.engine)
        waits = WaitTally()
        with ExitStack() as stack:
            xero, tenant = make_xero_client(application, waits)
            stack.enter_context(xero)
            halo: Any = None
            if into_halopsa:
                halo = stack.enter_context(make_halo_client(application, waits))
            report = action(
                application,
                xero,
                tenant_id=tenant,
                halo=halo,
                settings=application.settings,
                now=datetime.now(UTC),
                dry_run=dry_run,
                waits=waits,
            )
    finally:
        application.close()
    out.print(summary_table(report))
    details = detail_table(report)
    if details is not None:
        out.print(details)
    if report.count(SUGGESTED):
        out.print(
            "Same-named records are not linked: confirm a customer with `revloop map CUSTOMER CONTACT_ID`."
        )
    if report.count(MISSING):
        out.print(
            "Without --into-halopsa the records are compared with the store (sync HaloPSA first); "
            "run again with --into-halopsa to compare with HaloPSA itself and create what is missing."
        )
    return 0


def register(app: typer.Typer) -> None:
    """Add ``import`` (``xero-contacts``, ``xero-items``) to the revloop command line."""
    sub = typer.Typer(help="Bring Xero's customers and items in (Xero is only read).", no_args_is_help=True)

    @sub.command("xero-contacts")
    def xero_contacts(into_halopsa: IntoHalo = False, dry_run: DryRun = False) -> None:
        """Import Xero's customers; with --into-halopsa, create the missing HaloPSA clients."""
        code = run_import("contacts", into_halopsa, dry_run)
        if code:
            raise typer.Exit(code)

    @sub.command("xero-items")
    def xero_items(into_halopsa: IntoHalo = False, dry_run: DryRun = False) -> None:
        """Import Xero's sold items; with --into-halopsa, create the missing HaloPSA items."""
        code = run_import("items", into_halopsa, dry_run)
        if code:
            raise typer.Exit(code)

    app.add_typer(sub, name="import")


__all__ = ["detail_table", "register", "run_import", "summary_table"]

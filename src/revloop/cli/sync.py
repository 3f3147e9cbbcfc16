"""``revloop sync [halopsa|xero|all] [--full]`` and ``revloop map``.

Sync draws a progress bar per resource (records read; rate-limit waits appear as they happen),
then a summary table and the issues found with what to do about each. Issues are not failures:
the exit code is 0 when the run landed. ``map`` lists the customer ↔ Xero contact suggestions and
the customers with no contact, and ``map CUSTOMER XERO_CONTACT_ID`` confirms a link.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from revloop.adapters.db import repository
from revloop.adapters.db.migrations import require_current
from revloop.adapters.db.tables import customers, external_ids
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.factory import custom_connection_client, stored_connection_client
from revloop.bootstrap import App, build
from revloop.domain.issues import ConnectorError, InputError
from revloop.services.connections import connection_store
from revloop.services.sync import ResourceReport, SyncReport, WaitTally, sync_halopsa, sync_xero

out = Console()


class Which(StrEnum):
    halopsa = "halopsa"
    xero = "xero"
    all = "all"


def make_halo_client(application: App, waits: WaitTally) -> HaloClient:
    return HaloClient.from_settings(application.connector_settings(), on_wait=waits)


def make_xero_client(application: App, waits: WaitTally) -> tuple[XeroClient, str | None]:
    """The stored connection (code flow or custom), else a Custom Connection from the settings."""
    settings = application.connector_settings()
    store = connection_store(application)
    stored = store.load("default")
    if stored is not None and stored.mode == "code":
        client = stored_connection_client(settings, store, "default", on_wait=waits)
    elif stored is not None or settings.xero_client_secret:
        client = custom_connection_client(settings, on_wait=waits)
    else:
        raise ConnectorError("Xero is not connected", hint="run `revloop connect xero` first")
    tenant = (stored.tenant_id if stored is not None else None) or settings.xero_tenant_id or None
    return client, tenant


class Bars:
    """Rich progress bars, one per resource, fed by the sync's progress callbacks."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def started(self, system: str, resource: str) -> None:
        self.tasks[(system, resource)] = self.progress.add_task(f"{system} {resource}", total=None, note="")

    def advanced(self, system: str, resource: str, records: int) -> None:
        self.progress.update(self.tasks[(system, resource)], advance=records)

    def waited(self, system: str, resource: str, reason: str, seconds: float) -> None:
        task = self.tasks.get((system, resource))
        if task is not None:
            self.progress.update(task, note=f"waiting {seconds:.1f}s ({reason.replace('_', ' ')})")

    def finished(self, report: ResourceReport) -> None:
        task = self.tasks[(report.system, report.resource)]
        self.progress.update(
            task,
            total=max(report.read, 1),
            completed=max(report.read, 1),
            note=f"{report.read:,} read, {report.calls:,} calls",
        )


def _summary(reports: list[SyncReport]) -> Table:
    table = Table(title="Sync")
    for column in (
        "system",
        "resource",
        "mode",
        "read",
        "landed",
        "issues",
        "calls",
        "rate-limit waits",
        "seconds",
    ):
        table.add_column(column, justify="right" if column not in ("system", "resource", "mode") else "left")
    for report in reports:
        for r in report.resources:
            waits = f"{r.rate_limit_waits} ({r.rate_limit_seconds:.1f}s)" if r.rate_limit_waits else "0"
            table.add_row(
                r.system,
                r.resource,
                r.mode,
                f"{r.read:,}",
                f"{r.upserted:,}",
                str(r.issues),
                f"{r.calls:,}",
                waits,
                f"{r.seconds:.1f}",
            )
    return table


def run_sync(which: Which, full: bool) -> int:
    application = build()
    reports: list[SyncReport] = []
    try:
        require_current(application.engine)
        waits = WaitTally()
        columns = (
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.completed:>8,.0f}"),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=out, transient=False) as progress:
            bars = Bars(progress)
            now = datetime.now(UTC)
            if which in (Which.halopsa, Which.all):
                with make_halo_client(application, waits) as halo:
                    reports.append(
                        sync_halopsa(
                            application,
                            halo,
                            full=full,
                            settings=application.settings,
                            now=now,
                            progress=bars,
                            waits=waits,
                        )
                    )
            if which in (Which.xero, Which.all):
                xero, tenant = make_xero_client(application, waits)
                with xero:
                    reports.append(
                        sync_xero(
                            application,
                            xero,
                            tenant_id=tenant,
                            full=full,
                            settings=application.settings,
                            now=now,
                            progress=bars,
                            waits=waits,
                        )
                    )
    finally:
        application.close()
    out.print(_summary(reports))
    issues = [i for r in reports for i in r.issues]
    if issues:
        table = Table(title=f"{len(issues)} issue(s): the rest landed")
        for column in ("code", "record", "problem", "what to do"):
            table.add_column(column, overflow="fold")
        for found in issues:
            table.add_row(found.code, found.subject, found.message, found.action)
        out.print(table)
    else:
        out.print("No issues.")
    return 0


def sync_command(
    which: Annotated[Which, typer.Argument(help="What to sync.")] = Which.all,
    full: Annotated[bool, typer.Option("--full", help="Read everything (and notice deletions).")] = False,
) -> None:
    """Bring HaloPSA and/or Xero into the store (incremental unless --full)."""
    code = run_sync(which, full)
    if code:
        raise typer.Exit(code)


def _map_table(application: App) -> tuple[Table, Table]:
    with application.engine.connect() as conn:
        names = {r.code: r.name for r in conn.execute(sa.select(customers.c.code, customers.c.name))}
        suggested = repository.suggestions(conn, "customer")
        linked = set(
            conn.execute(
                sa.select(external_ids.c.local_id).where(
                    external_ids.c.entity == "customer",
                    external_ids.c.system == "xero",
                    external_ids.c.status == "confirmed",
                )
            ).scalars()
        )
    hints = Table(title="Suggested links (confirm with: revloop map CUSTOMER XERO_CONTACT_ID)")
    for column in ("customer", "name", "xero contact", "matched on"):
        hints.add_column(column)
    for row in suggested:
        if row.system == "xero":
            hints.add_row(row.local_id, names.get(row.local_id, "?"), row.external_id, row.method)
    missing = Table(title="Customers with no Xero contact")
    missing.add_column("customer")
    missing.add_column("name")
    for code in sorted(set(names) - linked):
        missing.add_row(code, names[code])
    return hints, missing


def map_command(
    customer: Annotated[str | None, typer.Argument(help="Customer code (e.g. c100).")] = None,
    contact: Annotated[str | None, typer.Argument(help="Xero ContactID to link it to.")] = None,
) -> None:
    """List customer ↔ Xero contact suggestions and unmapped customers; or confirm one link."""
    application = build()
    try:
        require_current(application.engine)
        if customer is None:
            hints, missing = _map_table(application)
            out.print(hints)
            out.print(missing)
            return
        if contact is None:
            raise InputError(
                "give the Xero contact id to link the customer to", hint="revloop map c100 <ContactID>"
            )
        confirm_link(application, customer, contact)
    finally:
        application.close()
    out.print(f"Linked {customer} to Xero contact {contact.lower()}.")


def confirm_link(application: App, customer: str, contact: str, *, by: str = "cli") -> None:
    now = datetime.now(UTC)
    with application.engine.begin() as conn:
        exists = conn.execute(sa.select(customers.c.id).where(customers.c.code == customer)).one_or_none()
        if exists is None:
            raise InputError(f"no customer {customer}", hint="see the codes with `revloop map`")
        repository.link(
            conn,
            entity="customer",
            local_id=customer,
            system="xero",
            external_id=contact.lower(),
            at=now,
            method="manual",
            status="confirmed",
            by=by,
        )
        conn.execute(
            external_ids.delete().where(
                external_ids.c.entity == "customer",
                external_ids.c.local_id == customer,
                external_ids.c.system == "xero",
                external_ids.c.status == "suggested",
            )
        )


def register(app: typer.Typer) -> None:
    """Add ``sync`` and ``map`` to the revloop command line."""
    app.command("sync")(sync_command)
    app.command("map")(map_command)


__all__ = ["confirm_link", "make_halo_client", "make_xero_client", "register", "run_sync"]

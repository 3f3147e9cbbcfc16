"""``revloop bill``, ``revloop approve`` and ``revloop invoices``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.domain.issues import PeriodError
from revloop.domain.periods import Period
from revloop.services.billing import run

out = Console()


def _period(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise PeriodError(str(exc), hint="use YYYY-MM, e.g. --period 2026-10") from None


def bill(
    period: Annotated[str, typer.Option("--period", help="The month to bill, YYYY-MM.")],
    customer: Annotated[str | None, typer.Option("--customer", help="Bill one customer only.")] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show the drafts and Xero's side; change nothing.")
    ] = False,
    rebill: Annotated[
        bool,
        typer.Option(
            "--rebill",
            help="Bill a closed or posted period again: posted invoices whose work now rates differently "
            "get a credit note and a replacement invoice (drafts, to approve and post).",
        ),
    ] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show every line with its explanation.")] = False,
) -> None:
    """Rate a period's work into draft invoices (or preview them)."""
    target = _period(period)
    assert target is not None
    application = build()
    try:
        require_current(application.engine)
        result = run.bill(
            application, target, now=datetime.now(UTC), customer=customer, preview=preview, rebill=rebill
        )
        comparison = {c.key: c for c in run.compare_with_xero(application, result.drafts)} if preview else {}
    finally:
        application.close()
    table = Table(title=f"{'Preview of ' if preview else ''}{target.label()}: {len(result.drafts)} invoices")
    for column in ("invoice key", "customer", "lines", "subtotal", "tax", "total", "currency"):
        table.add_column(
            column, justify="right" if column in ("lines", "subtotal", "tax", "total") else "left"
        )
    if preview:
        table.add_column("in Xero")
    for draft in result.drafts:
        cells = [
            draft.key,
            result.names.get(draft.customer, draft.customer),
            str(len(draft.lines)),
            f"{draft.subtotal:,}",
            f"{draft.tax:,}",
            f"{draft.total:,}",
            draft.currency,
        ]
        if preview:
            c = comparison[draft.key]
            cells.append(
                {
                    "new": "not yet",
                    "same": f"{c.xero_number}: same total",
                    "differs": f"{c.xero_number}: {c.xero} differs",
                }[c.state]
            )
        table.add_row(*cells)
    out.print(table)
    if explain:
        for draft in result.drafts:
            out.print(f"[bold]{draft.key}[/]")
            for line in draft.lines:
                out.print(
                    f"  {line.kind} {line.description}: {line.quantity} x {line.unit_amount} = {line.amount}",
                    markup=False,
                    highlight=False,
                )
                out.print(f"      {line.explanation}", markup=False, highlight=False, style="dim")
    for currency, total in sorted(result.total.items()):
        out.print(f"Total {currency} {total:,}")
    if not preview:
        out.print(
            f"Drafts: {len(result.created)} new, {len(result.updated)} changed, "
            f"{len(result.unchanged)} unchanged, {len(result.removed)} removed, "
            f"{len(result.locked)} already posted."
        )
        if result.rebilled or result.credited:
            out.print(
                f"Re-billing: {len(result.credited)} credit note(s) and {len(result.rebilled)} replacement "
                "invoice(s) drafted for posted invoices whose work rates differently; approve and post them."
            )
    for issue in result.issues:
        out.print(
            f"[yellow]issue[/] {issue.code} {issue.subject}: {issue.message}"
            + (f" — {issue.action}" if issue.action else ""),
            markup=True,
            highlight=False,
        )
    for finding in result.findings:
        out.print(f"[cyan]finding[/] {finding.code} {finding.subject}: {finding.message}", highlight=False)
    if preview:
        out.print("Preview only: nothing was stored.")


def approve(
    keys: Annotated[list[str] | None, typer.Argument(help="Invoice keys to approve.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Approve every draft (of --period, if given).")
    ] = False,
    customer: Annotated[str | None, typer.Option("--customer", help="Approve one customer's drafts.")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only drafts of this month.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded in the audit journal).")] = "cli",
) -> None:
    """Approve draft invoices for posting."""
    application = build()
    try:
        require_current(application.engine)
        result = run.approve(
            application,
            now=datetime.now(UTC),
            by=by,
            keys=keys or (),
            period=_period(period),
            customer=customer,
            everything=everything,
        )
    finally:
        application.close()
    out.print(f"Approved {len(result.approved)} draft(s).")
    if result.already:
        out.print(
            f"{len(result.already)} were not drafts (already approved or posted) and were left as they are."
        )


def invoices(
    period: Annotated[str | None, typer.Option("--period", help="Only this month.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List revloop's invoices: key, state, Xero id and number, and both sides' totals."""
    application = build()
    try:
        require_current(application.engine)
        rows = run.invoice_rows(application, _period(period))
    finally:
        application.close()

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        return value.isoformat() if hasattr(value, "isoformat") else value

    if as_json:
        print(json.dumps({"invoices": [{k: plain(v) for k, v in row.items()} for row in rows]}, indent=2))
        return
    table = Table(title=f"{len(rows)} invoices")
    for column in ("key", "status", "number", "total", "xero total", "currency"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["key"],
            row["status"],
            row["number"] or "—",
            f"{row['total']:,}",
            f"{row['xero_total']:,}" if row["xero_total"] is not None else "—",
            row["currency"],
        )
    out.print(table)


def documents(
    period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("revloop-documents"),
    excel: Annotated[
        bool, typer.Option("--excel", help="Also write each invoice as an Excel workbook.")
    ] = False,
) -> None:
    """Write the period's invoices as PDFs (and Excel) and the billing report (PDF, XLSX, CSV)."""
    from revloop.services import documents as service

    target = _period(period)
    assert target is not None
    application = build()
    try:
        require_current(application.engine)
        written = service.write(application, target, out_dir, today=datetime.now(UTC).date(), excel=excel)
    finally:
        application.close()
    out.print(f"{len(written.invoices)} invoice documents in {out_dir / 'invoices'}")
    for path in written.report:
        out.print(f"report: {path}")


def close(
    period: Annotated[str, typer.Option("--period", help="The month to close, YYYY-MM.")],
    by: Annotated[str, typer.Option("--by", help="Who closes it (recorded in the audit journal).")] = "cli",
) -> None:
    """Close a billing period once all its invoices are posted (periods close in order)."""
    target = _period(period)
    assert target is not None
    application = build()
    try:
        require_current(application.engine)
        count = run.close_period(application, target, now=datetime.now(UTC), by=by)
    finally:
        application.close()
    out.print(f"{target.label()} closed ({count} invoices). Billing it again now needs --rebill.")


def periodic(
    period: Annotated[
        str | None,
        typer.Option(
            "--period", help="Make this month's periodic invoices now (default: the month now due)."
        ),
    ] = None,
) -> None:
    """Draft the next period's periodic invoices (fees, recurring charges) ahead of their due date."""
    from revloop.services.billing import ahead

    target = _period(period) if period else None
    application = build()
    try:
        require_current(application.engine)
        result = ahead.bill_ahead(application, now=datetime.now(UTC), period=target, actor="cli")
        days = application.settings.billing_invoice_days_ahead
    finally:
        application.close()
    if result.period is None:
        out.print(
            "No periodic invoices are due: "
            + (
                f"the next period starts more than {days} days from today."
                if days
                else "[billing] invoice_days_ahead is 0 (off); give --period to make them anyway."
            )
        )
        return
    out.print(
        f"Periodic invoices for {result.period.label()}: {len(result.created)} new, {len(result.updated)} "
        f"changed, {len(result.unchanged)} unchanged, {len(result.locked)} already approved or posted."
    )
    for key in result.created + result.updated:
        out.print(f"  {key}", highlight=False)
    if result.created or result.updated:
        out.print(
            "Approve them (`revloop approve`) and post (`revloop post`); "
            "they fall due on the period's first day."
        )


def register(app: typer.Typer) -> None:
    app.command("close")(close)
    app.command("periodic")(periodic)
    app.command("documents")(documents)
    app.command("bill")(bill)
    app.command("approve")(approve)
    app.command("invoices")(invoices)
    app.command("post")(post_command)


def post_command(
    batch: Annotated[int, typer.Option("--batch", min=1, max=50, help="Invoices per Xero call.")] = 50,
    connection: Annotated[str, typer.Option("--connection", help="The Xero connection to use.")] = "default",
    no_writeback: Annotated[
        bool, typer.Option("--no-writeback", help="Do not write invoice numbers back to HaloPSA.")
    ] = False,
) -> None:
    """Post approved invoices to Xero exactly once; resumes safely after any interruption."""
    from rich.progress import Progress

    from revloop.services.billing import post as posting
    from revloop.services.billing.clients import halo_client, xero_client

    application = build()
    try:
        require_current(application.engine)
        xero, tenant = xero_client(application, connection)
        halo = None if no_writeback else halo_client(application)
        with Progress(console=out, transient=True) as bar:
            task = bar.add_task("Posting to Xero", total=None)
            result = posting.post(
                application,
                xero,
                tenant,
                now=datetime.now(UTC),
                halo=halo,
                batch=batch,
                progress=lambda n: bar.advance(task, n),
            )
        xero.close()
        if halo is not None:
            halo.close()
    finally:
        application.close()
    for key, number in result.posted:
        out.print(f"posted {key} as {number}", highlight=False)
    for key, number in result.recovered:
        out.print(
            f"{key} was already in Xero as {number} (an earlier run was interrupted); recorded",
            highlight=False,
        )
    for key, why in result.rejected:
        out.print(f"[red]rejected[/] {key}: {why}", highlight=False)
    for key, amount in result.allocated:
        out.print(f"credit note {key}: {amount} allocated to the invoice it corrects", highlight=False)
    for key in result.unmapped:
        out.print(
            f"[yellow]not posted[/] {key}: the customer has no Xero contact (`revloop map`)", highlight=False
        )
    out.print(
        f"{len(result.posted)} posted, {len(result.recovered)} recovered, {len(result.rejected)} rejected, "
        f"{len(result.unmapped)} unmapped; {result.xero_calls} Xero calls; "
        f"{result.written_back} HaloPSA actions stamped with their invoice number."
    )
    if result.mismatches:
        out.print(
            f"[red]{len(result.mismatches)} invoice(s) differ from Xero's read-back:[/] `revloop findings`"
        )

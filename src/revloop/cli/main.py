"""``revloop``: the command line. Thin: each command calls a service and prints its result."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop import __version__
from revloop.bootstrap import build
from revloop.cli import billing as billing_cli
from revloop.cli import connect as connect_cli
from revloop.cli import db as db_cli
from revloop.cli import findings as findings_cli
from revloop.cli import importing as importing_cli
from revloop.cli import notify as notify_cli
from revloop.cli import overrides as overrides_cli
from revloop.cli import profit as profit_cli
from revloop.cli import reconcile as reconcile_cli
from revloop.cli import scenario as scenario_cli
from revloop.cli import secret as secret_cli
from revloop.cli import serve as serve_cli
from revloop.cli import simulate as simulate_cli
from revloop.cli import sync as sync_cli
from revloop.cli import user as user_cli
from revloop.cli import watch as watch_cli
from revloop.cli import webhooks as webhooks_cli
from revloop.cli.errors import guarded
from revloop.cli.init import init_command
from revloop.config import SECRET_FIELDS, load_settings
from revloop.services import store as store_service

app = typer.Typer(
    name="revloop",
    help="Close the revenue loop of a managed service provider: HaloPSA work rated into Xero invoices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(secret_cli.app, name="secret")
app.add_typer(connect_cli.connect_app, name="connect")
app.add_typer(scenario_cli.app, name="scenario")
simulate_cli.register(app)
billing_cli.register(app)
sync_cli.register(app)
webhooks_cli.register(app)
importing_cli.register(app)
overrides_cli.register(app)
reconcile_cli.register(app)
profit_cli.register(app)
watch_cli.register(app)
notify_cli.register(app)
user_cli.register(app)
serve_cli.register(app)
app.add_typer(findings_cli.app, name="findings")
app.command("connections")(connect_cli.connections)
app.command("init")(init_command)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")

out = Console()


@app.command()
def version() -> None:
    """Print revloop's version."""
    out.print(f"revloop {__version__}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Report the store's state: where it is, its schema revision, what it holds."""
    application = build()
    try:
        state = store_service.state(application)
    finally:
        application.close()
    if as_json:
        print(
            json.dumps(
                {
                    "database": state.url,
                    "dialect": state.dialect,
                    "revision": state.revision,
                    "head": state.head,
                    "up_to_date": state.up_to_date,
                    "counts": state.counts,
                    "open_findings": state.open_findings,
                    "journal": {"intact": state.journal_intact, "entries": state.journal_entries},
                },
                indent=2,
            )
        )
        return
    out.print(f"[bold]Store[/] {state.url} ({state.dialect})")
    if state.revision is None:
        out.print("[yellow]Not initialised.[/] Run [bold]revloop db upgrade[/] (or [bold]revloop init[/]).")
        return
    out.print(f"Schema revision {state.revision} (latest {state.head}): up to date")
    table = Table(title="Records", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in state.counts.items():
        table.add_row(name.replace("_", " "), f"{count:,}")
    out.print(table)
    findings = ", ".join(f"{n} {sev}" for sev, n in sorted(state.open_findings.items())) or "none"
    out.print(f"Open findings: {findings}")
    if state.last_syncs:
        for system, resource, at, records in state.last_syncs:
            when = at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"
            out.print(f"Last sync {system}/{resource}: {when}, {records:,} records")
    else:
        out.print("Last sync: never")
    if state.journal_intact:
        out.print(f"Audit journal: {state.journal_entries:,} entries, chain intact")
    else:
        out.print(f"[red]Audit journal broken:[/] {state.journal_problem}")


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings (secrets shown only as set / not set)."""
    settings = load_settings()
    out.print(f"# settings file: {settings.settings_file}")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        secret = "(set)" if value else "(not set)"
        text = secret if name in SECRET_FIELDS else str(value)
        out.print(f"{name} = {text}", markup=False, highlight=False)
    out.print(f"# store: {settings.effective_database_url}", markup=False)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return guarded(lambda: app(args=args, prog_name="revloop", standalone_mode=False))


def run() -> None:
    sys.exit(main())

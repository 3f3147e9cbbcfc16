"""``revloop scenario``: run a billing scenario file, or check it against its expected figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop.domain.issues import ScenarioError, ScenarioMismatch
from revloop.services import scenario as scenario_service

app = typer.Typer(
    help="Run billing scenario files and check them against their expected invoices.",
    no_args_is_help=True,
)
out = Console()


@app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rate a scenario and print its invoices, balances, issues and findings."""
    result = scenario_service.run_file(file)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for inv in result["invoices"]:
        table = Table(title=f"{inv['key']} ({inv['currency']}, {inv['line_amount_types']})")
        for name, justify in (
            ("kind", "left"),
            ("item", "left"),
            ("description", "left"),
            ("class", "left"),
            ("qty", "right"),
            ("unit", "right"),
            ("amount", "right"),
            ("tax code", "left"),
            ("tax", "right"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for line in inv["lines"]:
            table.add_row(
                line["kind"],
                line["item_code"],
                line["description"],
                line["class"] or "",
                line["quantity"],
                line["unit_amount"],
                line["amount"],
                line["tax_code"] or "",
                line["tax"],
            )
        table.caption = f"subtotal {inv['subtotal']}  tax {inv['tax']}  total {inv['total']}"
        out.print(table)
    if not result["invoices"]:
        out.print("No invoices.")
    for cid, value in result["balances"].items():
        out.print(f"balance {cid}: {value}")
    for issue in result["issues"]:
        out.print(f"[red]issue[/] {issue['severity']} {issue['code']} {issue['subject']}: {issue['message']}")
    for finding in result["findings"]:
        out.print(f"[yellow]finding[/] {finding['code']} {finding['subject']}: {finding['message']}")


@app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files with an expect block.")],
) -> None:
    """Check scenarios against their expected figures; exit 1 on any mismatch."""
    failed = 0
    invalid = 0
    for file in files:
        try:
            result = scenario_service.check(file)
        except ScenarioError as exc:
            invalid += 1
            out.print(f"[red]FAIL[/] {file}", highlight=False)
            out.print(f"  {exc.message}", highlight=False, markup=False, soft_wrap=True)
            continue
        if result.ok:
            out.print(f"[green]OK[/]   {file}", highlight=False)
            continue
        failed += 1
        out.print(f"[red]FAIL[/] {file}", highlight=False)
        for line in result.diff:
            out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if invalid:
        raise ScenarioError(f"{invalid} of {len(files)} scenario files could not be read", hint="see above")
    if failed:
        raise ScenarioMismatch(f"{failed} of {len(files)} scenarios do not match their expected figures")

"""``revloop costs``: agents' costs (set, import, show) and Xero's Profit and Loss (pnl)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.cli.sync import make_xero_client
from revloop.domain.costing import CostInputError
from revloop.domain.money import to_decimal
from revloop.domain.periods import add_months
from revloop.services.profit import costs
from revloop.services.profit.loading import months_of
from revloop.services.sync import WaitTally

app = typer.Typer(
    help="Agents' costs and the books' costs: the profitability cost model.", no_args_is_help=True
)
out = Console()


def _decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return to_decimal(text)
    except ValueError:
        raise CostInputError(f"{option} {text!r} is not a number") from None


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CostInputError(f"{option} {text!r} is not a date", hint="use YYYY-MM-DD") from None


@app.command("set")
def set_command(
    agent: Annotated[str, typer.Argument(help="HaloPSA agent id or the agent's name.")],
    start: Annotated[str, typer.Option("--from", help="Date the cost applies from, YYYY-MM-DD.")],
    salary: Annotated[str | None, typer.Option("--salary", help="Annual salary.")] = None,
    oncost: Annotated[
        str | None, typer.Option("--oncost-percent", help="On-costs in % of salary (default: costs setting).")
    ] = None,
    hours: Annotated[
        str | None,
        typer.Option("--productive-hours", help="Productive hours a year (default: costs setting)."),
    ] = None,
    hourly: Annotated[
        str | None, typer.Option("--hourly-cost", help="An hourly cost used as it is, instead of the salary.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who (recorded in the audit journal).")] = "cli",
) -> None:
    """Set an agent's cost from a date (the same date again replaces it)."""
    given = costs.CostInput(
        agent,
        _date(start, "--from"),
        salary=_decimal(salary, "--salary"),
        oncost_percent=_decimal(oncost, "--oncost-percent"),
        productive_hours=_decimal(hours, "--productive-hours"),
        hourly_cost=_decimal(hourly, "--hourly-cost"),
    )
    application = build()
    try:
        require_current(application.engine)
        costs.set_costs(application, [given], now=datetime.now(UTC), actor=by)
        view = costs.show(application, on=max(given.effective_from, datetime.now(UTC).date()))
    finally:
        application.close()
    shown = [
        a for a in view.agents if a.salary is not None and a.salary.effective_from <= given.effective_from
    ]
    for a in view.agents:
        if a.name.lower() == agent.lower() or a.agent == agent:
            shown = [a]
    for a in shown[:1]:
        if a.salary is not None:
            out.print(f"{a.name}: {a.salary.explanation}", highlight=False)
    out.print(f"Cost of {agent} set from {given.effective_from}.")


@app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="CSV: agent,from,salary,oncost_percent,productive_hours,hourly_cost")
    ],
    by: Annotated[str, typer.Option("--by", help="Who (recorded in the audit journal).")] = "cli",
) -> None:
    """Import agents' costs from a CSV file (every row is checked before any is kept)."""
    application = build()
    try:
        require_current(application.engine)
        count = costs.import_csv(application, path, now=datetime.now(UTC), actor=by)
    finally:
        application.close()
    out.print(f"Imported {count} agent cost rows from {path}.")


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,}"


@app.command("show")
def show_command(
    on: Annotated[
        str | None, typer.Option("--on", help="Costs in force on this date (default today).")
    ] = None,
    months: Annotated[int, typer.Option("--months", min=1, max=60, help="Months of books to average.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each agent's loaded hourly cost by the salary method and by the books, side by side."""
    day = _date(on, "--on") if on else datetime.now(UTC).date()
    application = build()
    try:
        require_current(application.engine)
        view = costs.show(application, on=day, months=months)
        currency = application.settings.currency
    finally:
        application.close()
    if as_json:
        print(
            json.dumps(
                {
                    "on": view.on.isoformat(),
                    "currency": currency,
                    "books_rate": None if view.books is None else str(view.books),
                    "agents": [
                        {
                            "agent": a.agent,
                            "name": a.name,
                            "salary_rate": None if a.salary is None else str(a.salary.hourly),
                            "from": None if a.salary is None else a.salary.effective_from.isoformat(),
                            "explanation": None if a.salary is None else a.salary.explanation,
                            "books_rate": None if a.books is None else str(a.books),
                            "difference": None if a.difference is None else str(a.difference),
                        }
                        for a in view.agents
                    ],
                    "months": [
                        {
                            "month": f"{m.month:%Y-%m}",
                            "payroll": None if m.books is None else str(m.books.payroll),
                            "overhead": None if m.books is None else str(m.books.overhead),
                            "hours": str(m.hours),
                            "books_rate": None
                            if m.books is None or m.books.rate is None
                            else str(m.books.rate),
                            "salary_rate": None if m.salary_rate is None else str(m.salary_rate),
                            "difference": None if m.difference is None else str(m.difference),
                        }
                        for m in view.by_month
                    ],
                    "issues": [i.as_dict() for i in view.issues],
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"Loaded hourly cost on {view.on} ({currency})")
    for column in ("agent", "salary method", "from", "books", "difference", "how"):
        table.add_column(
            column, justify="right" if column in ("salary method", "books", "difference") else "left"
        )
    for a in view.agents:
        table.add_row(
            a.name,
            _fmt(a.salary.hourly if a.salary else None),
            str(a.salary.effective_from) if a.salary else "no cost",
            _fmt(a.books),
            _fmt(a.difference),
            a.salary.explanation if a.salary else "",
        )
    out.print(table)
    months_table = Table(title="By month: the books against the salary method")
    for column in ("month", "payroll", "overhead", "hours logged", "books /h", "salary /h", "difference"):
        months_table.add_column(column, justify="left" if column == "month" else "right")
    for m in view.by_month:
        months_table.add_row(
            f"{m.month:%Y-%m}",
            _fmt(m.books.payroll if m.books else None),
            _fmt(m.books.overhead if m.books else None),
            f"{m.hours:,.1f}",
            _fmt(m.books.rate if m.books else None),
            _fmt(m.salary_rate),
            _fmt(m.difference),
        )
    out.print(months_table)
    for issue in view.issues:
        out.print(
            f"[yellow]issue[/] {issue.code} {issue.subject}: {issue.message} — {issue.action}",
            highlight=False,
        )


@app.command("pnl")
def pnl_command(
    start: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM (included).")] = None,
) -> None:
    """Read Xero's Profit and Loss month by month into the store (default: the last 12 closed months)."""
    from revloop.cli.profit import resolve_period

    application = build()
    try:
        require_current(application.engine)
        period = resolve_period(None, start, end, application.settings)
        client, tenant = make_xero_client(application, WaitTally())
        try:
            result = costs.sync_pnl(
                application.engine,
                client,
                tenant,
                months_of(period),
                currency=application.settings.currency,
                now=datetime.now(UTC),
            )
        finally:
            client.close()
    finally:
        application.close()
    last = add_months(result.months[-1], 1)
    out.print(
        f"Profit and Loss {result.months[0]:%Y-%m} to {last:%Y-%m} (exclusive): {result.rows} account rows."
    )

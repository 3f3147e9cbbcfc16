"""``revloop profit`` and ``revloop whatif`` (and the ``revloop costs`` group, from cli/costs.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.cli.costs import app as costs_app
from revloop.config import Settings
from revloop.domain.issues import Issue, PeriodError
from revloop.domain.periods import Period, add_months
from revloop.domain.profitability import Dimension, ProfitRow
from revloop.services.profit import export, whatif
from revloop.services.profit.report import ProfitReport, closed_months, report

out = Console()
BY: dict[str, Dimension] = {
    "client": "customer",
    "customer": "customer",
    "service-line": "service_line",
    "contract": "contract",
    "agent": "agent",
    "month": "month",
}
HEADINGS = {"customer": "client", "service_line": "service line", "contract": "contract", "agent": "agent"}


def _month(text: str, option: str) -> date:
    try:
        return Period.parse(text).start
    except ValueError:
        raise PeriodError(f"{option} {text!r} is not a month", hint="use YYYY-MM, e.g. 2026-10") from None


def resolve_period(period: str | None, start: str | None, end: str | None, settings: Settings) -> Period:
    """``--period YYYY-MM`` (or ``A..B``), ``--from YYYY-MM --to YYYY-MM`` (both months included), or by
    default the last 12 closed months."""
    if period is not None and (start or end):
        raise PeriodError("give --period or --from/--to, not both")
    if period is not None:
        try:
            return Period.parse(period)
        except ValueError as exc:
            raise PeriodError(str(exc), hint="use YYYY-MM, e.g. --period 2026-10") from None
    if start or end:
        if not (start and end):
            raise PeriodError("--from and --to go together", hint="e.g. --from 2026-01 --to 2026-06")
        first, last = _month(start, "--from"), _month(end, "--to")
        if last < first:
            raise PeriodError(f"--to {end} is before --from {start}")
        return Period(first, add_months(last, 1))
    return closed_months(settings, datetime.now(UTC))


def _dimensions(text: str) -> tuple[Dimension, ...]:
    dims = []
    for part in (p.strip().lower() for p in text.split(",")):
        if part not in BY:
            raise PeriodError(f"--by {part!r} is not known", hint="client, service-line, contract or agent")
        dims.append(BY[part])
    return tuple(dims)


def print_issues(issues: list[Issue] | tuple[Issue, ...]) -> None:
    for issue in issues:
        out.print(
            f"[yellow]issue[/] {issue.code} {issue.subject}: {issue.message}"
            + (f" — {issue.action}" if issue.action else ""),
            highlight=False,
        )


def _table(result: ProfitReport, rows: list[ProfitRow], title: str) -> Table:
    table = Table(title=title)
    dims = [d for d, _ in rows[0].key] if rows else list(result.by)
    for d in dims:
        table.add_column(HEADINGS.get(d, d))
    rate = f"{result.currency}/hour"
    for column in ("revenue", "cost", "margin", "margin %", "hours", rate, "utilisation %"):
        table.add_column(column, justify="right")

    def fmt(value: object) -> str:
        return "" if value is None else f"{value:,}"

    for r in rows:
        labels = [result.label(d, v) or "(none)" for d, v in r.key]
        style = "red" if r.margin < 0 else None
        table.add_row(
            *labels,
            fmt(r.revenue),
            fmt(r.cost),
            fmt(r.margin),
            fmt(r.margin_percent),
            f"{r.hours:,.1f}",
            fmt(r.effective_rate),
            fmt(r.utilisation),
            style=style,
        )
    t = result.total
    table.add_row(
        *(["total"] + [""] * (len(dims) - 1)),
        fmt(t.revenue),
        fmt(t.cost),
        fmt(t.margin),
        fmt(t.margin_percent),
        f"{t.hours:,.1f}",
        fmt(t.effective_rate),
        fmt(t.utilisation),
        style="bold",
    )
    return table


def profit(
    period: Annotated[str | None, typer.Option("--period", help="One month, YYYY-MM.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM (included).")] = None,
    by: Annotated[
        str,
        typer.Option("--by", help="client, service-line, contract or agent (or several, comma-separated)."),
    ] = "client,service-line",
    method: Annotated[
        str | None, typer.Option("--method", help="salary or books (default: costs.method).")
    ] = None,
    trend: Annotated[bool, typer.Option("--trend", help="Also show the month-by-month trend.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write an Excel workbook.")] = None,
    charts_dir: Annotated[
        Path | None, typer.Option("--charts", help="Write PNG and SVG charts here.")
    ] = None,
) -> None:
    """Revenue, fully loaded cost and margin per client, service line, contract or agent."""
    if method is not None and method not in ("salary", "books"):
        raise PeriodError(f"--method {method!r} is not known", hint="salary or books")
    dims = _dimensions(by)
    application = build()
    try:
        require_current(application.engine)
        target = resolve_period(period, start, end, application.settings)
        result = report(application, target, dims, method)
    finally:
        application.close()
    if xlsx is not None:
        export.write_xlsx(result, xlsx)
    written = export.write_charts(result, charts_dir) if charts_dir is not None else []
    if as_json:
        print(json.dumps(export.as_json(result), indent=2))
        return
    if as_csv:
        print(export.as_csv(result), end="")
        return
    span = target.label() if len(result.months) == 1 else _span(result)
    title = f"Profit {span} ({result.method} costs, {result.currency})"
    out.print(_table(result, result.rows, title))
    if trend:
        out.print(_table(result, result.trend, "Month by month"))
    for path in ([xlsx] if xlsx else []) + written:
        out.print(f"Wrote {path}")
    print_issues(result.issues)


def _span(result: ProfitReport) -> str:
    return f"{result.months[0]:%Y-%m} to {result.months[-1]:%Y-%m}" if result.months else ""


def whatif_command(
    period: Annotated[str | None, typer.Option("--period", help="One month, YYYY-MM.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM (included).")] = None,
    rate: Annotated[
        list[str] | None, typer.Option("--rate", help='Scale a charge type\'s rates, e.g. "remote=+8%".')
    ] = None,
    move: Annotated[
        list[str] | None,
        typer.Option("--move", help="Move a client: CUSTOMER=allowance:HOURS:FEE, =fixed:FEE or =payg."),
    ] = None,
    price: Annotated[
        list[str] | None, typer.Option("--price", help="A client's fixed or allowance fee: CUSTOMER=FEE.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-rate history with changed rates or contracts (in memory; nothing is written) and compare."""
    changes: list[whatif.Change] = [whatif.parse_rate(r) for r in rate or []]
    changes += [whatif.parse_move(m) for m in move or []]
    changes += [whatif.parse_price(p) for p in price or []]
    if not changes:
        raise whatif.WhatIfError("no change given", hint='use --rate "remote=+8%", --move or --price')
    application = build()
    try:
        require_current(application.engine)
        target = resolve_period(period, start, end, application.settings)
        result = whatif.what_if(application, target, changes)
    finally:
        application.close()
    if as_json:
        print(
            json.dumps(
                {
                    "period": {"from": target.start.isoformat(), "to": target.end.isoformat()},
                    "currency": result.currency,
                    "changes": [whatif.describe(c) for c in result.changes],
                    "rows": [r.as_dict() for r in result.rows],
                    "total": result.total().as_dict(),
                    "issues": [i.as_dict() for i in result.issues],
                },
                indent=2,
            )
        )
        return
    described = "; ".join(whatif.describe(c) for c in result.changes)
    table = Table(title=f"What if: {described} ({result.currency})")
    table.add_column("client")
    for column in ("revenue", "what if", "Δ revenue", "cost", "Δ cost", "margin", "what if", "Δ margin"):
        table.add_column(column, justify="right")
    for r in (*result.rows, result.total()):
        table.add_row(
            r.name,
            f"{r.revenue:,}",
            f"{r.revenue_whatif:,}",
            f"{r.revenue_delta:+,}",
            f"{r.cost:,}",
            f"{r.cost_delta:+,}",
            f"{r.margin:,}",
            f"{r.margin_whatif:,}",
            f"{r.margin_delta:+,}",
            style="bold" if not r.customer else None,
        )
    out.print(table)
    out.print("Nothing was written: history re-rated in memory.")
    print_issues(result.issues)


def register(app: typer.Typer) -> None:
    """``profit``, ``whatif`` and the ``costs`` group."""
    app.command("profit")(profit)
    app.command("whatif")(whatif_command)
    app.add_typer(costs_app, name="costs")

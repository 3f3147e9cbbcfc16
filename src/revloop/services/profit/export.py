"""A profit report as JSON, CSV, XLSX and charts."""

from __future__ import annotations

import csv
import io
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from revloop.adapters.render import charts
from revloop.domain.issues import InputError
from revloop.domain.profitability import ProfitRow, summarise
from revloop.services.profit.report import Model, ProfitReport

MONEY_FORMAT = "#,##0.00"
COLUMNS = (
    "revenue",
    "cost",
    "margin",
    "margin_percent",
    "hours",
    "effective_rate",
    "utilisation_percent",
)


def row_dict(report: ProfitReport, row: ProfitRow) -> dict[str, Any]:
    out = row.as_dict()
    for dimension, value in row.key:
        if dimension in report.names:
            out[f"{dimension}_name"] = report.label(dimension, value)
    return out


def as_json(report: ProfitReport) -> dict[str, Any]:
    return {
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "currency": report.currency,
        "method": report.method,
        "by": list(report.by),
        "rows": [row_dict(report, r) for r in report.rows],
        "trend": [row_dict(report, r) for r in report.trend],
        "total": report.total.as_dict(),
        "issues": [i.as_dict() for i in report.issues],
    }


def _header(report: ProfitReport, trend: bool = False) -> list[str]:
    dims = list(report.by) + (["month"] if trend and "month" not in report.by else [])
    names = [f"{d}_name" for d in dims if d in report.names]
    return dims + names + list(COLUMNS)


def as_csv(report: ProfitReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_header(report), lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(row_dict(report, row))
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value) if value and value.lstrip("-").replace(".", "", 1).isdigit() else value
        except ArithmeticError:
            return value
    return value


def write_xlsx(report: ProfitReport, path: Path) -> Path:
    """Sheets: Profit (the rows asked for), Trend (the same by month), Issues."""
    from openpyxl import Workbook

    book = Workbook()
    sheets = [("Profit", report.rows, False), ("Trend", report.trend, True)]
    first = True
    for title, rows, trend in sheets:
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = title
        header = _header(report, trend)
        sheet.append(header)
        for row in rows:
            data = row_dict(report, row)
            sheet.append([_cell(data.get(h)) for h in header])
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, Decimal):
                    cell.number_format = MONEY_FORMAT
    issues = book.create_sheet("Issues")
    issues.append(["code", "severity", "subject", "message", "action"])
    for issue in report.issues:
        issues.append([issue.code, issue.severity.value, issue.subject, issue.message, issue.action])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        book.save(path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


@dataclass(frozen=True)
class ChartData:
    """What the profit charts show, in the base currency."""

    clients: list[str]  # by margin, lowest first
    margins: list[Decimal]
    currency: str
    months: list[str]  # YYYY-MM
    margin_percent: list[Decimal | None]  # per month
    mix: dict[str, list[Decimal]]  # service line -> revenue per month
    client_count: int = 0  # clients in all (the chart shows the ends of the list when there are many)


#: the margin per client chart shows every client up to this many, else the least and the most
#: profitable half of this each (a bar per client stops being readable past a few dozen)
CHART_CLIENTS = 30


def ends(rows: list[Any], keep: int) -> list[Any]:
    """The first and last ``keep // 2`` of ``rows`` (all of them when there are no more than ``keep``)."""
    if len(rows) <= keep:
        return rows
    half = keep // 2
    return rows[:half] + rows[-half:]


def chart_data(model: Model, currency: str) -> ChartData:
    months = [f"{m:%Y-%m}" for m in model.months]
    by_client = summarise(model.facts, ("customer",), months=model.months, capacity=model.capacity)
    count = len(by_client)
    by_client = ends(sorted(by_client, key=lambda r: r.margin), CHART_CLIENTS)
    names = model.store.customers
    per_month = {
        r.value("month"): r
        for r in summarise(model.facts, ("month",), months=model.months, capacity=model.capacity)
    }
    return ChartData(
        [names.get(r.value("customer"), r.value("customer")) or "(none)" for r in by_client],
        [r.margin for r in by_client],
        currency,
        months,
        [per_month[m].margin_percent if m in per_month else None for m in months],
        revenue_mix(model),
        count,
    )


def revenue_mix(model: Model) -> dict[str, list[Decimal]]:
    """Service line -> revenue per month of the model."""
    months = [f"{m:%Y-%m}" for m in model.months]
    mix: dict[str, list[Decimal]] = {}
    for r in summarise(model.facts, ("service_line", "month"), months=model.months, capacity=model.capacity):
        values = mix.setdefault(r.value("service_line"), [Decimal(0)] * len(months))
        values[months.index(r.value("month"))] = r.revenue
    return mix


def _span(months: Sequence[str]) -> str:
    return f"{months[0]} to {months[-1]}" if months else ""


def draw(data: ChartData, directory: Path, formats: Sequence[str] = charts.FORMATS) -> list[Path]:
    """The profit charts (per client, margin trend, service line mix) in ``formats``."""
    span = _span(data.months)
    title = f"Margin per client, {span}"
    if data.client_count > len(data.clients):
        half = len(data.clients) // 2
        title = f"Margin: the {half} least and {half} most profitable of {data.client_count} clients, {span}"
    written = charts.profit_per_client(data.clients, data.margins, data.currency, directory, title, formats)
    written += charts.margin_trend(
        data.months,
        [charts.Series("all clients", data.margin_percent)],
        directory,
        f"Margin %, {span}",
        formats,
    )
    written += charts.service_line_mix(
        data.months, data.mix, data.currency, directory, f"Revenue by service line, {span}", formats=formats
    )
    return written


def draw_hours(
    months: list[str], mix: dict[str, list[Decimal]], directory: Path, formats: Sequence[str] = charts.FORMATS
) -> list[Path]:
    """The service line mix in hours per month (for those who may not see money)."""
    title = f"Hours by service line, {_span(months)}"
    return charts.service_line_mix(months, mix, "", directory, title, ylabel="hours", formats=formats)


def write_charts(
    report: ProfitReport, directory: Path, formats: Sequence[str] = charts.FORMATS
) -> list[Path]:
    """The profit charts (per client, margin trend, service line mix) in ``formats`` (PNG and SVG)."""
    return draw(chart_data(report.model, report.currency), directory, formats)


#: the charts ``main`` draws, by name
DRAWINGS: dict[str, Callable[..., list[Path]]] = {"draw": draw, "draw_hours": draw_hours}


def main() -> int:
    """``python -m revloop.services.profit.export``: draws SVG charts apart from a server (matplotlib
    holds the interpreter while it draws). Reads a pickled ``(name, arguments)`` from its standard
    input (``DRAWINGS[name](*arguments, directory, formats)``) and writes the pickled SVGs by name
    to its standard output."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the answer
    name, arguments = pickle.load(sys.stdin.buffer)
    with tempfile.TemporaryDirectory(prefix="revloop-charts-") as folder:
        written = DRAWINGS[name](*arguments, Path(folder), ("svg",))
        pickle.dump({p.stem: p.read_bytes() for p in written}, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

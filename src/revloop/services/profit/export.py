"""A profit report as JSON, CSV, XLSX and charts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from revloop.adapters.render import charts
from revloop.domain.issues import InputError
from revloop.domain.profitability import ProfitRow, summarise
from revloop.services.profit.report import ProfitReport

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


def write_charts(report: ProfitReport, directory: Path) -> list[Path]:
    model = report.model
    months = [f"{m:%Y-%m}" for m in model.months]
    by_client = summarise(model.facts, ("customer",), months=model.months, capacity=model.capacity)
    by_client = sorted(by_client, key=lambda r: r.margin)
    span = f"{months[0]} to {months[-1]}" if months else ""
    written = charts.profit_per_client(
        [report.label("customer", r.value("customer")) or "(none)" for r in by_client],
        [r.margin for r in by_client],
        report.currency,
        directory,
        f"Margin per client, {span}",
    )
    per_month = {
        r.value("month"): r
        for r in summarise(model.facts, ("month",), months=model.months, capacity=model.capacity)
    }
    written += charts.margin_trend(
        months,
        [
            charts.Series(
                "all clients", [per_month[m].margin_percent if m in per_month else None for m in months]
            )
        ],
        directory,
        f"Margin %, {span}",
    )
    mix: dict[str, list[Decimal]] = {}
    for r in summarise(model.facts, ("service_line", "month"), months=model.months, capacity=model.capacity):
        values = mix.setdefault(r.value("service_line"), [Decimal(0)] * len(months))
        values[months.index(r.value("month"))] = r.revenue
    written += charts.service_line_mix(
        months, mix, report.currency, directory, f"Revenue by service line, {span}"
    )
    return written

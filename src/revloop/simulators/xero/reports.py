"""/Reports/ProfitAndLoss computed from approved invoices and credit notes per account, plus seeded
rows for costs that do not come from documents (payroll, overheads)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from .money import ZERO, q2
from .state import Ctx, OrgState
from .wire import WireError, bad_request, envelope, json_response, ms_timestamp, parse_date

POSTED = ("AUTHORISED", "PAID")
INCOME_TYPES = ("REVENUE", "SALES")
COST_OF_SALES_TYPES = ("DIRECTCOSTS",)
OTHER_INCOME_TYPES = ("OTHERINCOME",)
EXPENSE_TYPES = ("EXPENSE", "OVERHEADS", "DEPRECIATN")
CREDIT_SIDE = {"ACCREC": 1, "ACCPAYCREDIT": 1, "ACCPAY": -1, "ACCRECCREDIT": -1}


def _long_date(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _net(line: dict[str, Any], line_amount_types: str) -> Decimal:
    amount = Decimal(line.get("LineAmount", ZERO))
    if line_amount_types == "Inclusive":
        amount -= Decimal(line.get("TaxAmount", ZERO))
    return amount


def _tracked(line: dict[str, Any], option_ids: set[str]) -> bool:
    if not option_ids:
        return True
    return any(t.get("TrackingOptionID") in option_ids for t in line.get("Tracking", []))


def credits_by_account(org: OrgState, start: str, end: str, option_ids: set[str]) -> dict[str, Decimal]:
    """Net credit (income positive, cost negative) per AccountCode for the period, in base currency."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    documents: Iterable[dict[str, Any]] = list(org.invoices.values()) + list(org.credit_notes.values())
    for doc in documents:
        if doc.get("Status") not in POSTED or not (start <= doc.get("Date", "") <= end):
            continue
        sign = CREDIT_SIDE.get(doc.get("Type", ""), 0)
        rate = Decimal(doc.get("CurrencyRate") or 1) or Decimal(1)
        for line in doc.get("LineItems", []):
            code = line.get("AccountCode")
            if not code or not _tracked(line, option_ids):
                continue
            totals[code] += q2(_net(line, doc.get("LineAmountTypes", "Exclusive")) / rate) * sign
    for row in org.pl_rows:
        if not (start <= row["Date"] <= end):
            continue
        if option_ids and row.get("TrackingOptionID") not in option_ids:
            continue
        account = org.account_by_code(row["AccountCode"])
        if account is None:
            continue
        sign = 1 if account.get("Type") in INCOME_TYPES + OTHER_INCOME_TYPES else -1
        totals[row["AccountCode"]] += Decimal(row["Amount"]) * sign
    return totals


def _shift(day: date, months: int, *, month_end: bool) -> date:
    """``day`` moved by whole months (the last day of the month stays the last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, last if month_end else min(day.day, last))


def _columns(start: str, end: str, periods: int, timeframe: str) -> list[tuple[str, str]]:
    """The report's date ranges: the one asked for, then ``periods`` earlier ones of ``timeframe``."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    step = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[timeframe]
    first_is_start = first.day == 1
    last_is_end = last.day == calendar.monthrange(last.year, last.month)[1]
    columns = [(start, end)]
    for n in range(1, periods + 1):
        a = _shift(first, -n * step, month_end=False)
        if first_is_start:
            a = a.replace(day=1)
        b = _shift(last, -n * step, month_end=last_is_end)
        columns.append((a.isoformat(), b.isoformat()))
    return columns


def _section(
    org: OrgState,
    title: str,
    summary: str,
    types: tuple[str, ...],
    credits: list[dict[str, Decimal]],
    income: bool,
) -> tuple[dict[str, Any] | None, list[Decimal]]:
    rows: list[dict[str, Any]] = []
    totals = [ZERO for _ in credits]
    codes = set().union(*(c.keys() for c in credits))
    accounts = sorted(
        (a for a in org.accounts.values() if a.get("Type") in types and a.get("Code") in codes),
        key=lambda a: str(a.get("Code")),
    )
    for account in accounts:
        attributes = [{"Value": account["AccountID"], "Id": "account"}]
        cells: list[dict[str, Any]] = [
            {"Value": account.get("Name", account["Code"]), "Attributes": attributes}
        ]
        for n, column in enumerate(credits):
            amount = column.get(account["Code"], ZERO)
            value = amount if income else -amount
            totals[n] += value
            cells.append({"Value": str(q2(value)), "Attributes": attributes})
        rows.append({"RowType": "Row", "Cells": cells})
    if not rows:
        return None, totals
    summary_cells = [{"Value": summary}] + [{"Value": str(q2(t))} for t in totals]
    rows.append({"RowType": "SummaryRow", "Cells": summary_cells})
    return {"RowType": "Section", "Title": title, "Rows": rows}, totals


def _line(title: str, values: list[Decimal]) -> dict[str, Any]:
    cells = [{"Value": title}] + [{"Value": str(q2(v))} for v in values]
    return {"RowType": "Section", "Title": "", "Rows": [{"RowType": "Row", "Cells": cells}]}


def profit_and_loss(ctx: Ctx) -> httpx.Response:
    org = ctx.org
    today = ctx.now.date()
    try:
        start = parse_date(ctx.params.get("fromDate")) or today.replace(day=1).isoformat()
        default_end = today.replace(day=calendar.monthrange(today.year, today.month)[1]).isoformat()
        end = parse_date(ctx.params.get("toDate")) or default_end
    except WireError as exc:
        return bad_request(str(exc))
    if end < start:
        return bad_request("The toDate must be on or after the fromDate")
    timeframe = (ctx.params.get("timeframe") or "MONTH").upper()
    try:
        periods = int(ctx.params.get("periods") or 0)
    except ValueError:
        periods = -1
    if not 0 <= periods <= 12 or timeframe not in ("MONTH", "QUARTER", "YEAR"):
        return bad_request("periods must be between 1 and 12 and timeframe one of MONTH, QUARTER, YEAR")
    option_ids = {
        ctx.params[name].lower() for name in ("trackingOptionID", "trackingOptionID2") if ctx.params.get(name)
    }
    columns = _columns(start, end, periods, timeframe)
    credits = [credits_by_account(org, a, b, option_ids) for a, b in columns]
    header = [{"Value": ""}] + [{"Value": date.fromisoformat(b).strftime("%d %b %y")} for _a, b in columns]
    rows: list[dict[str, Any]] = [{"RowType": "Header", "Cells": header}]
    income, income_t = _section(org, "Income", "Total Income", INCOME_TYPES, credits, True)
    cogs, cogs_t = _section(
        org, "Less Cost of Sales", "Total Cost of Sales", COST_OF_SALES_TYPES, credits, False
    )
    other, other_t = _section(
        org, "Plus Other Income", "Total Other Income", OTHER_INCOME_TYPES, credits, True
    )
    expenses, expense_t = _section(
        org, "Less Operating Expenses", "Total Operating Expenses", EXPENSE_TYPES, credits, False
    )
    rows.append(income or {"RowType": "Section", "Title": "Income", "Rows": []})
    if cogs is not None:
        rows.append(cogs)
        rows.append(_line("Gross Profit", [i - c for i, c in zip(income_t, cogs_t, strict=True)]))
    if other is not None:
        rows.append(other)
    rows.append(expenses or {"RowType": "Section", "Title": "Less Operating Expenses", "Rows": []})
    net = [i - c + o - e for i, c, o, e in zip(income_t, cogs_t, other_t, expense_t, strict=True)]
    rows.append(_line("Net Profit", net))
    end_day = date.fromisoformat(end)
    report = {
        "ReportID": "ProfitAndLoss",
        "ReportName": "Profit and Loss",
        "ReportType": "ProfitAndLoss",
        "ReportTitles": [
            "Profit & Loss",
            str(org.organisation.get("Name", "")),
            f"{_long_date(date.fromisoformat(start))} to {_long_date(end_day)}",
        ],
        "ReportDate": _long_date(today),
        "UpdatedDateUTC": ms_timestamp(ctx.stamp),
        "Fields": [],
        "Rows": rows,
    }
    return json_response(200, envelope(ctx.ids, ctx.now, Reports=[report]))

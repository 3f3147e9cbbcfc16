"""Excel: a customer's own invoice workbook filled in, and the monthly billing report.

A customer template is an ordinary .xlsx with **defined names** for single values and a **table
named ``Lines``** for the invoice lines. Names revloop fills (any subset): ``InvoiceNumber``,
``InvoiceDate``, ``DueDate``, ``Customer``, ``Reference``, ``Period``, ``Currency``, ``Subtotal``,
``Tax``, ``Total``. The ``Lines`` table's header row decides which columns are filled; known
headers (case and spaces ignored): Description, Detail, Quantity, Unit price / Unit amount, Amount,
Tax code, Tax, Kind. The table grows to fit the lines; anything else on the sheet is left alone.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from revloop.adapters.render.documents import BillingReport, DocumentLine, InvoiceDocument
from revloop.domain.issues import InputError

MONEY_FORMAT = "#,##0.00"
QTY_FORMAT = "#,##0.00##"

_LINE_FIELDS: dict[str, tuple[str, str | None]] = {
    "description": ("description", None),
    "detail": ("detail", None),
    "quantity": ("quantity", QTY_FORMAT),
    "unitprice": ("unit_amount", QTY_FORMAT),
    "unitamount": ("unit_amount", QTY_FORMAT),
    "amount": ("amount", MONEY_FORMAT),
    "taxcode": ("tax_code", None),
    "tax": ("tax", MONEY_FORMAT),
    "kind": ("kind", None),
}


def _values(doc: InvoiceDocument) -> dict[str, tuple[Any, str | None]]:
    return {
        "invoicenumber": (doc.number, None),
        "invoicedate": (doc.issue_date, "yyyy-mm-dd"),
        "duedate": (doc.due_date, "yyyy-mm-dd"),
        "customer": (doc.customer_name, None),
        "reference": (doc.reference, None),
        "period": (doc.period_label, None),
        "currency": (doc.currency, None),
        "subtotal": (doc.subtotal, MONEY_FORMAT),
        "tax": (doc.tax, MONEY_FORMAT),
        "total": (doc.total, MONEY_FORMAT),
    }


def _norm(text: object) -> str:
    return "".join(str(text or "").lower().split()).replace("_", "")


def fill_invoice_template(template: Path, doc: InvoiceDocument, target: Path) -> Path:
    """Fill ``template`` with ``doc`` and save the result as ``target``."""
    try:
        workbook = load_workbook(template)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot open the Excel template {template}: {exc}") from None
    values = _values(doc)
    for name, defined in workbook.defined_names.items():
        key = _norm(name)
        if key not in values:
            continue
        value, number_format = values[key]
        for sheet_title, coordinate in defined.destinations:
            cell = workbook[sheet_title][coordinate.replace("$", "").split(":")[0]]
            cell.value = value
            if number_format:
                cell.number_format = number_format
    located = [(ws, ws.tables[t]) for ws in workbook.worksheets for t in ws.tables if t.lower() == "lines"]
    if not located:
        raise InputError(
            f"the Excel template {template} has no table named 'Lines'",
            hint="insert a table (Insert > Table) with a header row such as Description, Quantity, Amount",
        )
    sheet, table = located[0]
    _fill_lines(sheet, table, doc.lines)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def _fill_lines(sheet: Any, table: Table, lines: tuple[DocumentLine, ...]) -> None:
    first, last = table.ref.split(":")
    first_col_letter, header_row = coordinate_from_string(first)
    last_col_letter, last_row = coordinate_from_string(last)
    first_col = column_index_from_string(first_col_letter)
    last_col = column_index_from_string(last_col_letter)
    headers = [_norm(sheet.cell(header_row, c).value) for c in range(first_col, last_col + 1)]
    for row in range(header_row + 1, max(last_row, header_row + len(lines)) + 1):
        for col in range(first_col, last_col + 1):
            sheet.cell(row, col).value = None
    for offset, line in enumerate(lines, start=1):
        for index, header in enumerate(headers):
            spec = _LINE_FIELDS.get(header)
            if spec is None:
                continue
            cell = sheet.cell(header_row + offset, first_col + index)
            cell.value = getattr(line, spec[0])
            if spec[1]:
                cell.number_format = spec[1]
    end_row = header_row + max(len(lines), 1)
    table.ref = f"{first_col_letter}{header_row}:{last_col_letter}{end_row}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def default_invoice_workbook(doc: InvoiceDocument, target: Path) -> Path:
    """An invoice workbook for customers without a template of their own."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Invoice"
    rows: list[tuple[str, Any]] = [
        ("Invoice number", doc.number),
        ("Invoice date", doc.issue_date),
        ("Due date", doc.due_date),
        ("Customer", doc.customer_name),
        ("Reference", doc.reference),
        ("Period", doc.period_label),
        ("Currency", doc.currency),
    ]
    for index, (label, value) in enumerate(rows, start=1):
        sheet.cell(index, 1, label)
        sheet.cell(index, 2, value)
    header = len(rows) + 2
    columns = ("Description", "Quantity", "Unit price", "Tax code", "Tax", "Amount")
    for col, title in enumerate(columns, start=1):
        sheet.cell(header, col, title)
    for offset, line in enumerate(doc.lines, start=1):
        cells = (line.description, line.quantity, line.unit_amount, line.tax_code, line.tax, line.amount)
        for col, value in enumerate(cells, start=1):
            cell = sheet.cell(header + offset, col, value)
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT if col in (5, 6) else QTY_FORMAT
    end = header + max(len(doc.lines), 1)
    table = Table(displayName="Lines", ref=f"A{header}:{get_column_letter(len(columns))}{end}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    sheet.add_table(table)
    for offset, (label, value) in enumerate(
        (("Subtotal", doc.subtotal), ("Tax", doc.tax), ("Total", doc.total)), start=2
    ):
        sheet.cell(end + offset, 5, label)
        sheet.cell(end + offset, 6, value).number_format = MONEY_FORMAT
    sheet.column_dimensions["A"].width = 60
    for letter in "BCDEF":
        sheet.column_dimensions[letter].width = 14
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def report_xlsx(report: BillingReport, target: Path) -> Path:
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Totals"
    summary.append(["Billing report", report.period_label])
    summary.append(["Invoices", report.invoices])
    summary.append([])
    summary.append(["Currency", "Amount", "Tax", "Total"])
    for currency, amount, tax in report.grand_totals():
        summary.append([currency, amount, tax, amount + tax])
    for title, attribute in (
        ("By customer", "customer"),
        ("By contract", "contract"),
        ("By charge type", "charge_type"),
    ):
        sheet = workbook.create_sheet(title)
        sheet.append([attribute.replace("_", " ").capitalize(), "Currency", "Amount", "Tax"])
        for group, currency, amount, tax in report.totals_by(attribute):
            sheet.append([group, currency, amount, tax])
        sheet.column_dimensions["A"].width = 40
    lines = workbook.create_sheet("Lines")
    lines.append(["Invoice key", "Customer", "Contract", "Charge type", "Kind", "Currency", "Amount", "Tax"])
    for row in report.rows:
        lines.append(
            [
                row.invoice_key,
                row.customer_name,
                row.contract,
                row.charge_type,
                row.kind,
                row.currency,
                row.amount,
                row.tax,
            ]
        )
    for sheet in workbook.worksheets:
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, Decimal):
                    cell.number_format = MONEY_FORMAT
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def report_csv(report: BillingReport, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "invoice_key",
                "customer",
                "customer_name",
                "contract",
                "charge_type",
                "kind",
                "currency",
                "amount",
                "tax",
            ]
        )
        for row in report.rows:
            writer.writerow(
                [
                    row.invoice_key,
                    row.customer,
                    row.customer_name,
                    row.contract,
                    row.charge_type,
                    row.kind,
                    row.currency,
                    f"{row.amount:.2f}",
                    f"{row.tax:.2f}",
                ]
            )
    return target

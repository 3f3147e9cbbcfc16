"""Invoices and the monthly report rendered for real: PDF (checked as text and as a picture),
a customer's Excel template filled and read back, CSV."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table

from revloop.adapters.render.documents import Branding, document_from_draft, report_from_drafts
from revloop.adapters.render.pdf import PdfRenderer
from revloop.adapters.render.xlsx import (
    default_invoice_workbook,
    fill_invoice_template,
    report_csv,
    report_xlsx,
)
from revloop.domain.invoicing import DraftInvoice, InvoiceLine
from revloop.domain.periods import Period

OCTOBER = Period.month(2026, 10)
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def _line(description: str, qty: str, unit: str, amount: str, tax: str, kind: str = "labour") -> InvoiceLine:
    return InvoiceLine(
        kind=kind,
        item_code="LAB-REMOTE",
        account_code="200",
        description=description,
        cls="normal",  # type: ignore[arg-type]
        quantity=Decimal(qty),
        unit_amount=Decimal(unit),
        amount=Decimal(amount),
        tax_code="OUTPUT2",
        tax_rate=Decimal("0.2"),
        tax=Decimal(tax),
        sources=("T100/1",),
        why=("global rate",),
        contract="acme-prepay",
        charge_type="remote",
    )


def _draft(customer: str = "acme", currency: str = "GBP") -> DraftInvoice:
    lines = (
        _line("Remote support: T100 Printer offline (alice, 5 Oct)", "0.5000", "95.0000", "47.50", "9.50"),
        _line(
            "Remote support: T101 Server patching — Ärger über Öl (bob)",
            "1.2500",
            "142.5000",
            "178.13",
            "35.63",
        ),
        _line("Cloud backup × 3", "3.0000", "12.5000", "37.50", "7.50", kind="recurring"),
    )
    return DraftInvoice(
        key=f"revloop:{customer}:all:2026-10-01",
        customer=customer,
        contract=None,
        period=OCTOBER,
        currency=currency,
        line_amount_types="Exclusive",
        lines=lines,
        subtotal=Decimal("263.13"),
        tax=Decimal("52.63"),
        total=Decimal("315.76"),
    )


def _doc(number: str | None = "INV-0042", branding: Branding | None = None):  # type: ignore[no-untyped-def]
    return document_from_draft(
        _draft(),
        customer_name="Acme Ltd",
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        number=number,
        customer_address=("1 High Street", "Leeds LS1 1AA"),
        branding=branding,
    )


@needs_poppler
def test_invoice_pdf_text_and_picture(tmp_path: Path) -> None:
    renderer = PdfRenderer()
    pdf = renderer.invoice_pdf(
        _doc(branding=Branding(company="Northwind IT", footer="Northwind IT · VAT 123")),
        tmp_path / "INV-0042.pdf",
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "TAX INVOICE",
        "INV-0042",
        "Acme Ltd",
        "Northwind IT",
        "£315.76",
        "£47.50",
        "£142.50",
        "Ärger über",
        "Öl (bob)",
        "October 2026",
        "01 December 2026",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-singlefile", str(pdf), str(tmp_path / "page")], check=True
    )
    png = tmp_path / "page.png"
    assert png.exists() and png.stat().st_size > 5_000


@needs_poppler
def test_draft_watermark_and_customer_template_override(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "acme").mkdir(parents=True)
    (templates / "branding.toml").write_text('company = "Northwind IT"\naccent = "#aa0000"\n')
    (templates / "acme" / "branding.toml").write_text('payment_terms = "Acme pays in 14 days."\n')
    (templates / "acme" / "style.css").write_text("h1 { letter-spacing: 2pt; }\n")
    renderer = PdfRenderer(templates)
    branding = renderer.branding("acme")
    assert (branding.company, branding.payment_terms) == ("Northwind IT", "Acme pays in 14 days.")
    html = renderer.invoice_html(_doc(number=None, branding=branding))
    assert "DRAFT INVOICE" in html and "letter-spacing: 2pt" in html and "#aa0000" in html
    (templates / "acme" / "invoice.html").write_text(
        "<html><body><p>Acme layout {{ doc.number }}</p></body></html>"
    )
    pdf = renderer.invoice_pdf(_doc(branding=branding), tmp_path / "acme.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Acme layout INV-0042" in text


def test_customer_excel_template_filled_and_read_back(tmp_path: Path) -> None:
    template = tmp_path / "acme-template.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Bill"
    sheet["A1"], sheet["A2"], sheet["A3"] = "Our ref", "Total due", "Untouched note"
    workbook.defined_names["InvoiceNumber"] = DefinedName("InvoiceNumber", attr_text="Bill!$B$1")
    workbook.defined_names["Total"] = DefinedName("Total", attr_text="Bill!$B$2")
    for col, title in enumerate(("Description", "Unit Price", "Quantity", "Amount", "Cost centre"), start=1):
        sheet.cell(5, col, title)
    sheet.add_table(Table(displayName="Lines", ref="A5:E6"))
    workbook.save(template)

    out = fill_invoice_template(template, _doc(), tmp_path / "out.xlsx")
    filled = load_workbook(out)["Bill"]
    assert filled["B1"].value == "INV-0042"
    assert Decimal(str(filled["B2"].value)) == Decimal("315.76")
    assert filled["A3"].value == "Untouched note"
    rows = [[filled.cell(r, c).value for c in range(1, 6)] for r in range(6, 9)]
    assert rows[0][0].startswith("Remote support: T100")
    assert [Decimal(str(r[3])) for r in rows] == [Decimal("47.50"), Decimal("178.13"), Decimal("37.50")]
    assert rows[1][1] == 142.5 and rows[2][4] is None
    assert filled.tables["Lines"].ref == "A5:E8"


def test_template_without_lines_table_is_a_named_error(tmp_path: Path) -> None:
    from revloop.domain.issues import InputError

    template = tmp_path / "bad.xlsx"
    Workbook().save(template)
    with pytest.raises(InputError, match="no table named 'Lines'"):
        fill_invoice_template(template, _doc(), tmp_path / "x.xlsx")


def test_default_workbook_and_monthly_report(tmp_path: Path) -> None:
    default = load_workbook(default_invoice_workbook(_doc(), tmp_path / "inv.xlsx"))["Invoice"]
    assert default["B1"].value == "INV-0042"
    report = report_from_drafts("October 2026", [_draft(), _draft("globex", "AUD")], {"acme": "Acme Ltd"})
    assert report.grand_totals() == [
        ("AUD", Decimal("263.13"), Decimal("52.63")),
        ("GBP", Decimal("263.13"), Decimal("52.63")),
    ]
    by_type = {(g, c): a for g, c, a, _ in report.totals_by("charge_type")}
    assert by_type[("remote", "GBP")] == Decimal("263.13")
    book = load_workbook(report_xlsx(report, tmp_path / "report.xlsx"))
    assert book.sheetnames == ["Totals", "By customer", "By contract", "By charge type", "Lines"]
    assert book["Lines"].max_row == 7
    with report_csv(report, tmp_path / "report.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and rows[0]["amount"] == "47.50" and rows[3]["currency"] == "AUD"


@needs_poppler
def test_report_pdf(tmp_path: Path) -> None:
    report = report_from_drafts("October 2026", [_draft()], {"acme": "Acme Ltd"})
    pdf = PdfRenderer().report_pdf(report, tmp_path / "report.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Billing report" in text and "Acme Ltd (acme)" in text and "£263.13" in text
    assert "Profitability" not in text  # no charts given: no section


@needs_poppler
def test_report_pdf_shows_the_profitability_charts(tmp_path: Path) -> None:
    from dataclasses import replace

    from revloop.adapters.render import charts
    from revloop.adapters.render.charts import Series

    written = charts.margin_trend(
        ["2026-09", "2026-10"],
        [Series("all clients", [Decimal("31.5"), Decimal("28.25")])],
        tmp_path,
        "Margin %",
    )
    svg = tuple(p for p in written if p.suffix == ".svg")
    report = replace(report_from_drafts("October 2026", [_draft()], {"acme": "Acme Ltd"}), charts=svg)
    pdf = PdfRenderer().report_pdf(report, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Profitability, the year to" in text and "October 2026" in text
    subprocess.run(
        ["pdftoppm", "-f", "2", "-l", "2", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True
    )
    from PIL import Image

    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    inked = sum(page.histogram()[:200])  # pixels darker than light grey
    assert inked > 500  # the chart is drawn on the page, not just its heading


@needs_poppler
def test_hostile_branding_text_cannot_break_the_stylesheet(tmp_path: Path) -> None:
    branding = Branding(
        company="Acme", footer='Evil "quote" </style><h1>x</h1>', accent="red; } body { color: red"
    )
    pdf = PdfRenderer().invoice_pdf(_doc(branding=branding), tmp_path / "x.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert 'Evil "quote" </style><h1>x</h1>' in text and "Page 1 of 1" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "DejaVu-Sans" in fonts and "Serif" not in fonts


def test_unit_prices_keep_four_decimals() -> None:
    doc = _doc()
    assert doc.unit_money(Decimal("12.3456")) == "£12.3456"
    assert doc.unit_money(Decimal("95.0000")) == "£95.00"
    assert doc.money(Decimal("1234.5")) == "£1,234.50"

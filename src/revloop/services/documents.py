"""Invoice PDFs (or Excel workbooks) and the monthly billing report, from the stored invoices."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.adapters.render.documents import (
    CLASS_LABELS,
    BillingReport,
    Branding,
    DocumentLine,
    InvoiceDocument,
    ReportRow,
)
from revloop.adapters.render.pdf import PdfRenderer
from revloop.adapters.render.xlsx import (
    default_invoice_workbook,
    fill_invoice_template,
    report_csv,
    report_xlsx,
)
from revloop.bootstrap import App
from revloop.domain.issues import RevloopError, Severity
from revloop.domain.periods import Period, add_months


@dataclass
class Written:
    invoices: list[Path] = field(default_factory=list)
    report: list[Path] = field(default_factory=list)


def _documents(
    app: App, period: Period, renderer: PdfRenderer, today: date, key: str | None = None
) -> list[InvoiceDocument]:
    """The period's invoices as documents (only the one with ``key`` when given)."""
    query = (
        sa.select(t.invoices, t.customers.c.code.label("customer_code"), t.customers.c.name.label("name"))
        .join(t.customers, t.customers.c.id == t.invoices.c.customer_id)
        .where(t.invoices.c.origin == "revloop", t.invoices.c.period_start == period.start)
        .order_by(t.invoices.c.key)
    )
    if key is not None:
        query = query.where(t.invoices.c.key == key)
    with app.engine.connect() as conn:
        invoices = list(conn.execute(query))
        lines: dict[int, list[DocumentLine]] = {}
        ids = [i.id for i in invoices]
        for row in conn.execute(
            sa.select(t.invoice_lines)
            .where(t.invoice_lines.c.invoice_id.in_(ids))
            .order_by(t.invoice_lines.c.position)
        ):
            label = CLASS_LABELS.get(row.line_class or "", "")
            lines.setdefault(row.invoice_id, []).append(
                DocumentLine(
                    row.description,
                    f"{row.kind}{' · ' + label if label else ''}",
                    row.quantity,
                    row.unit_amount,
                    row.amount,
                    row.tax_code or "",
                    row.tax,
                    row.kind,
                )
            )
        numbers = {inv.id: inv.number for inv in invoices}
        corrected = {inv.corrects_invoice_id for inv in invoices} - set(numbers) - {None}
        if corrected:  # invoices a credit note of this selection corrects
            numbers.update(
                conn.execute(
                    sa.select(t.invoices.c.id, t.invoices.c.number).where(t.invoices.c.id.in_(corrected))
                )
            )
    documents = []
    for inv in invoices:
        posted = inv.status in ("posted", "credited")
        documents.append(
            InvoiceDocument(
                key=inv.key,
                number=inv.number if posted and inv.number else "DRAFT",
                status="posted" if posted else "draft",
                customer_id=inv.customer_code,
                customer_name=inv.name,
                customer_address=(),
                reference=inv.key,
                issue_date=inv.date or today,
                due_date=inv.due_date,
                period_label=period.label(),
                currency=inv.currency,
                amounts_are=inv.line_amount_types,
                lines=tuple(lines.get(inv.id, ())),
                subtotal=inv.subtotal,
                tax=inv.tax,
                total=inv.total,
                branding=renderer.branding(inv.customer_code, _msp_branding(app)),
                doc_type=inv.doc_type,
                corrects=numbers.get(inv.corrects_invoice_id) or "",
            )
        )
    return documents


def _msp_branding(app: App) -> Branding:
    return Branding(company=app.settings.company_name or Branding().company)


def _report(app: App, period: Period, documents: list[InvoiceDocument]) -> BillingReport:
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(
                    t.invoices.c.key,
                    t.invoices.c.currency,
                    t.customers.c.code,
                    t.customers.c.name,
                    t.contracts.c.code.label("contract"),
                    t.invoice_lines.c.kind,
                    t.invoice_lines.c.item_code,
                    t.invoice_lines.c.amount,
                    t.invoice_lines.c.tax,
                    t.invoices.c.doc_type,
                )
                .join(t.invoices, t.invoices.c.id == t.invoice_lines.c.invoice_id)
                .join(t.customers, t.customers.c.id == t.invoices.c.customer_id)
                .join(t.contracts, t.contracts.c.id == t.invoice_lines.c.contract_id, isouter=True)
                .where(t.invoices.c.origin == "revloop", t.invoices.c.period_start == period.start)
            )
        )
    report_rows = tuple(
        ReportRow(
            r.code,
            r.name,
            r.contract or "(none)",
            r.item_code or r.kind,
            r.kind,
            r.currency,
            -r.amount if r.doc_type == "credit_note" else r.amount,  # a credit note takes its lines back
            -r.tax if r.doc_type == "credit_note" else r.tax,
            r.key,
        )
        for r in rows
    )
    return BillingReport(period.label(), report_rows, len(documents), _msp_branding(app))


def _profit_charts(app: App, period: Period, folder: Path) -> tuple[Path, ...]:
    """Margin per client, margin trend and service line mix over the year to the period's end, for the
    report (SVG). None when the cost model is incomplete (an agent without a cost, say): a chart of
    margins without their costs would mislead."""
    from revloop.services.profit import report as profit_report
    from revloop.services.profit.export import write_charts

    year = Period(add_months(period.start, -11), period.end)
    try:
        result = profit_report(app, year, ("customer",))
    except RevloopError:
        return ()
    if not result.rows or any(i.severity is Severity.ERROR for i in result.issues):
        return ()
    return tuple(p for p in write_charts(result, folder) if p.suffix == ".svg")


def write(app: App, period: Period, folder: Path, *, today: date, excel: bool = False) -> Written:
    """Write each invoice of the period (PDF, and Excel when asked or when the customer has a template)
    and the billing report (PDF, XLSX, CSV) into ``folder``."""
    templates = app.settings.home / "templates"
    renderer = PdfRenderer(templates if templates.exists() else None)
    documents = _documents(app, period, renderer, today)
    written = Written()
    invoices_dir = folder / "invoices"
    for doc in documents:
        name = (doc.number if doc.status == "posted" else doc.key.replace(":", "_")).replace("/", "-")
        written.invoices.append(renderer.invoice_pdf(doc, invoices_dir / f"{name}.pdf"))
        customer_template = templates / doc.customer_id / "invoice.xlsx"
        if customer_template.exists():
            written.invoices.append(
                fill_invoice_template(customer_template, doc, invoices_dir / f"{name}.xlsx")
            )
        elif excel:
            written.invoices.append(default_invoice_workbook(doc, invoices_dir / f"{name}.xlsx"))
    report = replace(_report(app, period, documents), charts=_profit_charts(app, period, folder / "charts"))
    stem = f"billing-report-{period.start:%Y-%m}"
    written.report = [
        renderer.report_pdf(report, folder / f"{stem}.pdf"),
        report_xlsx(report, folder / f"{stem}.xlsx"),
        report_csv(report, folder / f"{stem}.csv"),
    ]
    return written

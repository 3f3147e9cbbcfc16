"""PDF documents from HTML/CSS templates (WeasyPrint).

Templates are looked up per customer first: ``<templates>/<customer id>/invoice.html``, then
``<templates>/invoice.html``, then revloop's default. A customer folder may also hold
``branding.toml`` (merged over the MSP's ``<templates>/branding.toml``) and its own CSS
(``style.css``, added after the default stylesheet).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from babel.numbers import format_currency
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from revloop.adapters.render.documents import BillingReport, Branding, InvoiceDocument

PACKAGE_TEMPLATES = Path(__file__).with_name("templates")
REPORT_SECTIONS = (("customer", "customer"), ("contract", "contract"), ("charge type", "charge_type"))


def css_string(value: object) -> Markup:
    """A quoted CSS string for use inside <style>: CSS escapes, and nothing that could end the
    style element."""
    text = str(value)
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;·-_()/@&+" else f"\\{ord(ch):x} " for ch in text)
    return Markup(f'"{escaped}"')


def css_color(value: object) -> Markup:
    """A colour from branding: a #hex value or a plain colour name, else the default accent."""
    text = str(value).strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}", text):
        return Markup(text)
    return Markup("#1f4e79")


class PdfRenderer:
    def __init__(self, template_dir: Path | None = None) -> None:
        self.template_dir = template_dir
        # WeasyPrint reports layout trivia through logging; keep real errors only.
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)

    def _env(self, customer: str | None) -> Environment:
        loaders: list[FileSystemLoader] = []
        if self.template_dir is not None:
            if customer:
                loaders.append(FileSystemLoader(str(self.template_dir / customer)))
            loaders.append(FileSystemLoader(str(self.template_dir)))
        loaders.append(FileSystemLoader(str(PACKAGE_TEMPLATES)))
        env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html"]))
        env.filters["css_string"] = css_string
        env.filters["css_color"] = css_color
        return env

    def _css(self, customer: str | None) -> str:
        css = (PACKAGE_TEMPLATES / "base.css").read_text(encoding="utf-8")
        for folder in self._folders(customer):
            extra = folder / "style.css"
            if extra.exists():
                css += "\n" + extra.read_text(encoding="utf-8")
        return css

    def _folders(self, customer: str | None) -> list[Path]:
        if self.template_dir is None:
            return []
        folders = [self.template_dir]
        if customer:
            folders.append(self.template_dir / customer)
        return folders

    def branding(self, customer: str | None, base: Branding | None = None) -> Branding:
        """The MSP's branding, with the customer's own file merged over it."""
        branding = base or Branding()
        for folder in self._folders(customer):
            for name in ("branding.toml", "branding.json"):
                if (folder / name).exists():
                    branding = Branding.load(folder / name, branding)
        return branding

    def invoice_html(self, doc: InvoiceDocument) -> str:
        template = self._env(doc.customer_id).get_template("invoice.html")
        return template.render(doc=doc, css=self._css(doc.customer_id))

    def invoice_pdf(self, doc: InvoiceDocument, target: Path) -> Path:
        return self._write(self.invoice_html(doc), target)

    def html_pdf(self, html: str, target: Path) -> Path:
        """``html`` (from ``invoice_html``) as a PDF at ``target``."""
        return self._write(html, target)

    def report_pdf(self, report: BillingReport, target: Path) -> Path:
        env = self._env(None)
        html = env.get_template("report.html").render(
            report=report,
            css=self._css(None),
            sections=REPORT_SECTIONS,
            money=lambda value, currency: format_currency(value, currency, locale=report.branding.locale),
        )
        return self._write(html, target)

    def _write(self, html: str, target: Path) -> Path:
        from weasyprint import HTML  # imported late: it takes half a second

        target.parent.mkdir(parents=True, exist_ok=True)
        base = str(self.template_dir) if self.template_dir else str(PACKAGE_TEMPLATES)
        HTML(string=html, base_url=base).write_pdf(target)
        return target

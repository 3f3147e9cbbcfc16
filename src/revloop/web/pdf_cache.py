"""Invoice PDFs for the dashboard, kept by what they show.

Rendering a PDF takes WeasyPrint a few hundred milliseconds; building the invoice's HTML takes a
few. A PDF is kept under the SHA-256 of its HTML (the invoice's figures, lines, branding, template
and style sheet all end up in it), so an unchanged invoice is answered from the kept file and any
change to what it would show renders it afresh. Files are written whole (a temporary file renamed
into place), and only the newest ``KEEP`` are kept.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from revloop.adapters.render.documents import InvoiceDocument
from revloop.adapters.render.pdf import PdfRenderer

KEEP = 500


def folder_of(home: Path) -> Path:
    return home / "cache" / "pdf"


def invoice_pdf(renderer: PdfRenderer, doc: InvoiceDocument, folder: Path) -> bytes:
    """The PDF of ``doc``: the kept one when its HTML is unchanged, else rendered now and kept."""
    html = renderer.invoice_html(doc)
    digest = hashlib.sha256(html.encode()).hexdigest()
    path = folder / f"{digest}.pdf"
    try:
        body = path.read_bytes()
        os.utime(path)  # recently used: kept longest
        return body
    except OSError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".render-") as work:
        rendered = renderer.html_pdf(html, Path(work) / "invoice.pdf")
        body = rendered.read_bytes()
        os.replace(rendered, path)
    _prune(folder)
    return body


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.pdf"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)


__all__ = ["KEEP", "folder_of", "invoice_pdf"]

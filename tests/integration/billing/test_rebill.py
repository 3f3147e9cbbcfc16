"""Re-billing a posted period: a credit note for the posted invoice, a replacement invoice, both posted
once, the credit allocated to the invoice it corrects; never a silent edit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import PeriodClosed
from revloop.domain.periods import Period
from revloop.services.billing import post, run
from revloop.simulators.xero import XeroSimulator

from .conftest import NOW, TENANT, xero_client

OCTOBER = Period.month(2026, 10)
ACME = "revloop:acme:all:2026-10-01"


def _post(app: App, sim: XeroSimulator, xero: Any = None) -> post.PostResult:
    with xero_client(app, sim) as client:
        return post.post(app, xero(client) if xero else client, TENANT, now=NOW)


def _more_acme_work(app: App) -> None:
    """An acme entry turns out 45 minutes longer than was billed."""
    with app.engine.begin() as conn:
        entry = conn.execute(
            sa.select(t.time_entries.c.id, t.time_entries.c.minutes)
            .where(t.time_entries.c.invoice_key == ACME)
            .order_by(t.time_entries.c.id)
            .limit(1)
        ).one()
        conn.execute(
            t.time_entries.update()
            .where(t.time_entries.c.id == entry.id)
            .values(minutes=entry.minutes + Decimal(45))
        )


def _rows(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return {r.key: r for r in conn.execute(sa.select(t.invoices).where(t.invoices.c.origin == "revloop"))}


def _credit_notes(app: App, sim: XeroSimulator) -> list[Any]:
    with xero_client(app, sim) as client:
        return list(client.credit_notes(TENANT).records)


def test_changed_work_on_a_posted_invoice_is_a_finding_until_rebilled(app: App, sim: XeroSimulator) -> None:
    _post(app, sim)
    _more_acme_work(app)
    result = run.bill(app, OCTOBER, now=NOW)
    assert result.created == [] and ACME in result.locked
    assert [f.code for f in result.findings] == ["billing.posted_differs"]
    run.close_period(app, OCTOBER, now=NOW, by="finance")
    with pytest.raises(PeriodClosed):
        run.bill(app, OCTOBER, now=NOW)


def test_rebill_credits_and_replaces_once(app: App, sim: XeroSimulator) -> None:
    first = dict(_post(app, sim).posted)
    run.close_period(app, OCTOBER, now=NOW, by="finance")
    _more_acme_work(app)
    before = _rows(app)[ACME]

    result = run.bill(app, OCTOBER, now=NOW, rebill=True)
    assert sorted(result.created) == [f"{ACME}:c1", f"{ACME}:r1"]
    assert result.credited == [ACME] and result.rebilled == [ACME]
    assert "revloop:globex:all:2026-10-01" in result.locked  # unchanged work: left alone
    rows = _rows(app)
    note, replacement = rows[f"{ACME}:c1"], rows[f"{ACME}:r1"]
    assert note.doc_type == "credit_note" and note.corrects_invoice_id == before.id
    assert note.total == before.total and replacement.total > before.total
    assert replacement.corrects_invoice_id == before.id

    again = run.bill(app, OCTOBER, now=NOW, rebill=True)  # billing again changes nothing
    assert again.created == [] and f"{ACME}:r1" in again.unchanged

    run.approve(app, now=NOW, by="finance", everything=True)
    posted = _post(app, sim)
    assert sorted(k for k, _ in posted.posted) == [f"{ACME}:c1", f"{ACME}:r1"]
    assert posted.mismatches == []
    assert posted.allocated == [(f"{ACME}:c1", before.total)]
    notes = _credit_notes(app, sim)
    assert [(n.Reference, n.Total) for n in notes] == [(f"{ACME}:c1", before.total)]
    with xero_client(app, sim) as client:
        xero = {i.Reference: i for i in client.invoices(TENANT).records}
    assert xero[ACME].AmountDue == 0 and xero[ACME].AmountCredited == before.total
    assert xero[f"{ACME}:r1"].Total == replacement.total
    rows = _rows(app)
    assert rows[ACME].status == "credited" and rows[f"{ACME}:r1"].status == "posted"
    with app.engine.connect() as conn:
        keys = {k for (k,) in conn.execute(sa.select(t.time_entries.c.invoice_key))}
        numbers = {n for (n,) in conn.execute(sa.select(t.time_entries.c.invoice_number))}
    assert keys == {f"{ACME}:r1", "revloop:globex:all:2026-10-01"}
    assert first[ACME] not in numbers and xero[f"{ACME}:r1"].InvoiceNumber in numbers

    quiet = _post(app, sim)
    assert quiet.posted == quiet.recovered == [] and quiet.xero_calls == 0
    settled = run.bill(app, OCTOBER, now=NOW, rebill=True)
    assert settled.created == [] and settled.findings == () and f"{ACME}:r1" in settled.locked


def test_work_that_rates_to_nothing_is_credited_only(app: App, sim: XeroSimulator) -> None:
    _post(app, sim)
    with app.engine.begin() as conn:
        conn.execute(
            t.time_entries.update()
            .where(t.time_entries.c.invoice_key == "revloop:globex:all:2026-10-01")
            .values(work_date=OCTOBER.start - timedelta(days=40), start_utc=NOW - timedelta(days=100))
        )
    result = run.bill(app, OCTOBER, now=NOW, rebill=True)
    assert result.created == ["revloop:globex:all:2026-10-01:c1"]
    assert result.rebilled == []


class DiesAfterCreditNote:
    """Xero saves the credit note; the process dies before it hears the answer."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_credit_notes(self, tenant: str, notes: Any, *, idempotency_key: str) -> Any:
        self.real.create_credit_notes(tenant, notes, idempotency_key=idempotency_key)
        raise KeyboardInterrupt


def test_a_crash_after_xero_saved_the_credit_note_does_not_duplicate(app: App, sim: XeroSimulator) -> None:
    _post(app, sim)
    _more_acme_work(app)
    run.bill(app, OCTOBER, now=NOW, rebill=True)
    run.approve(app, now=NOW, by="finance", everything=True)
    with pytest.raises(KeyboardInterrupt):
        _post(app, sim, DiesAfterCreditNote)
    sim.clock.advance(3600)
    again = _post(app, sim)
    assert [k for k, _ in again.recovered] == [f"{ACME}:c1"]
    assert len(_credit_notes(app, sim)) == 1
    assert again.allocated and _rows(app)[ACME].status == "credited"


def test_documents_show_the_credit_note_and_the_replacement(
    app: App, sim: XeroSimulator, tmp_path: Any
) -> None:
    import shutil
    import subprocess

    from revloop.services import documents

    first = dict(_post(app, sim).posted)
    _more_acme_work(app)
    run.bill(app, OCTOBER, now=NOW, rebill=True)
    run.approve(app, now=NOW, by="finance", everything=True)
    numbers = dict(_post(app, sim).posted)
    written = documents.write(app, OCTOBER, tmp_path / "out", today=NOW.date())
    names = {p.name for p in written.invoices}
    assert {f"{numbers[f'{ACME}:c1']}.pdf", f"{numbers[f'{ACME}:r1']}.pdf", f"{first[ACME]}.pdf"} <= names
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "out" / "invoices" / f"{numbers[f'{ACME}:c1']}.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "TAX CREDIT NOTE" in text and first[ACME] in text
    csv = next(p for p in written.report if p.suffix == ".csv").read_text()
    assert f"{ACME}:c1" in csv and "-" in csv

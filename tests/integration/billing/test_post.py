"""Posting to the Xero simulator exactly once: read-back, re-runs, a crash after Xero committed,
rejected and unmapped invoices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.periods import Period
from revloop.services.billing import post, run
from revloop.simulators.xero import XeroSimulator

from .conftest import NOW, TENANT, xero_client


def _xero_invoices(sim: XeroSimulator, app: App) -> list[Any]:
    with xero_client(app, sim) as client:
        return list(client.invoices(TENANT).records)


def test_posts_once_and_reads_back(app: App, sim: XeroSimulator) -> None:
    with xero_client(app, sim) as client:
        first = post.post(app, client, TENANT, now=NOW)
    assert sorted(k for k, _ in first.posted) == [
        "revloop:acme:all:2026-10-01",
        "revloop:globex:all:2026-10-01",
    ]
    assert first.mismatches == [] and first.xero_calls == 1  # one batch for both
    invoices = {i.Reference: i for i in _xero_invoices(sim, app)}
    rows = {r["key"]: r for r in run.invoice_rows(app)}
    for key, row in rows.items():
        assert row["status"] == "posted" and row["number"] == invoices[key].InvoiceNumber
        assert row["total"] == row["xero_total"] == invoices[key].Total
    assert rows["revloop:acme:all:2026-10-01"]["total"] == __import__("decimal").Decimal("413.26")
    with app.engine.connect() as conn:
        states = {s for (s,) in conn.execute(sa.select(t.time_entries.c.billing_state))}
        numbers = {n for (n,) in conn.execute(sa.select(t.time_entries.c.invoice_number))}
    assert states == {"invoiced"} and numbers == {i.InvoiceNumber for i in invoices.values()}
    with xero_client(app, sim) as client:
        second = post.post(app, client, TENANT, now=NOW)
    assert second.posted == second.recovered == second.queued == [] and second.xero_calls == 0
    assert len(_xero_invoices(sim, app)) == 2


class Killed(Exception):
    pass


class DiesAfterXeroCommits:
    """Xero saves the batch; the process dies before it hears the answer."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def create_invoices(self, tenant: str, invoices: Any, *, idempotency_key: str) -> Any:
        self.real.create_invoices(tenant, invoices, idempotency_key=idempotency_key)
        raise Killed

    def invoices(self, tenant: str, **kw: Any) -> Any:
        return self.real.invoices(tenant, **kw)


def test_crash_after_xero_committed_does_not_duplicate(app: App, sim: XeroSimulator) -> None:
    with xero_client(app, sim) as client, pytest.raises(Killed):
        post.post(app, DiesAfterXeroCommits(client), TENANT, now=NOW)
    sim.clock.advance(3600)  # long past the Idempotency-Key's 6 minutes: only the lookup can save us
    with xero_client(app, sim) as client:
        again = post.post(app, client, TENANT, now=NOW)
    assert len(again.recovered) == 2 and again.posted == []
    assert len(_xero_invoices(sim, app)) == 2
    assert {r["status"] for r in run.invoice_rows(app)} == {"posted"}


def test_rejected_and_unmapped_invoices_become_findings(app: App, sim: XeroSimulator) -> None:
    with app.engine.begin() as conn:
        globex = conn.execute(
            sa.select(t.invoices.c.id).where(t.invoices.c.key.like("revloop:globex%"))
        ).scalar_one()
        conn.execute(
            t.invoice_lines.update().where(t.invoice_lines.c.invoice_id == globex).values(tax_code="NOPE")
        )
        conn.execute(t.external_ids.delete().where(t.external_ids.c.local_id == "acme"))
    with xero_client(app, sim) as client:
        result = post.post(app, client, TENANT, now=NOW)
    assert result.unmapped == ["revloop:acme:all:2026-10-01"]
    assert [k for k, _ in result.rejected] == ["revloop:globex:all:2026-10-01"]
    with app.engine.connect() as conn:
        codes = {c for (c,) in conn.execute(sa.select(t.findings.c.code))}
        statuses = {k: s for k, s in conn.execute(sa.select(t.invoices.c.key, t.invoices.c.status))}
    assert {"customer.unmapped", "posting.rejected"} <= codes
    assert statuses == {
        "revloop:acme:all:2026-10-01": "approved",
        "revloop:globex:all:2026-10-01": "approved",
    }
    assert _xero_invoices(sim, app) == []


def test_documents_for_the_period(app: App, sim: XeroSimulator, tmp_path: Path) -> None:
    import shutil
    import subprocess

    from revloop.services import documents

    with xero_client(app, sim) as client:
        posted = dict(post.post(app, client, TENANT, now=NOW).posted)
    written = documents.write(app, Period.month(2026, 10), tmp_path / "out", today=NOW.date(), excel=True)
    names = sorted(p.name for p in written.invoices)
    assert names == sorted([f"{n}.pdf" for n in posted.values()] + [f"{n}.xlsx" for n in posted.values()])
    assert sorted(p.suffix for p in written.report) == [".csv", ".pdf", ".xlsx"]
    if shutil.which("pdftotext"):
        number = posted["revloop:acme:all:2026-10-01"]
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "out" / "invoices" / f"{number}.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert number in text and "TAX INVOICE" in text and "£413.26" in text


def test_an_invoice_already_in_xero_is_adopted_not_posted_again(app: App, sim: XeroSimulator) -> None:
    with xero_client(app, sim) as client:
        post.post(app, client, TENANT, now=NOW)
    # A fresh store that has synced Xero's invoices (origin xero) but never billed October itself.
    with app.engine.begin() as conn:
        conn.execute(t.outbox.delete())
        conn.execute(t.invoices.delete().where(t.invoices.c.origin == "revloop"))
        conn.execute(
            t.time_entries.update().values(billing_state="unbilled", invoice_key=None, invoice_number=None)
        )
    result = run.bill(app, Period.month(2026, 10), now=NOW)
    assert sorted(result.locked) == ["revloop:acme:all:2026-10-01", "revloop:globex:all:2026-10-01"]
    assert result.created == []
    statuses = {r["key"]: r["status"] for r in run.invoice_rows(app)}
    assert set(statuses.values()) == {"posted"}
    with xero_client(app, sim) as client:
        again = post.post(app, client, TENANT, now=NOW)
    assert again.queued == [] and again.xero_calls == 0 and len(_xero_invoices(sim, app)) == 2

"""Reconciliation over a store synced from the small demo MSP: every planted problem is found with
its code, subjects and amount; the clean MSP has no findings; findings keep their lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import IssueState, NotFound, PeriodError
from revloop.domain.periods import Period
from revloop.services.reconcile import balance, reconcile

from .conftest import NOW, Template

#: the profitability module provides this check; it is asserted only when that module finds it
PROFIT = "profit.negative_margin"


def _stored(app: App) -> list[sa.Row[tuple[object, ...]]]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(t.findings).where(t.findings.c.kind == "finding")))


def test_every_planted_problem_is_found_with_its_subjects_and_amount(app: App, planted: Template) -> None:
    result = reconcile(app, now=NOW)
    codes = {f.code for f in result.findings}
    expected = [m for m in planted.msp.manifest if m["code"] != PROFIT or PROFIT in codes]
    for entry in expected:
        hits = [
            f
            for f in result.findings
            if f.code == entry["code"] and set(entry["subjects"]) == set(f.subjects)
        ]
        assert len(hits) == 1, (entry, [(f.code, f.subjects) for f in result.findings])
        assert hits[0].amount == Decimal(entry["amount"]), (entry, hits[0].amount)
    # nothing else: each planted problem is one finding
    assert len([f for f in result.findings if f.code != PROFIT]) == len(
        [m for m in planted.msp.manifest if m["code"] != PROFIT]
    )
    assert result.new == len(result.findings) == len(_stored(app))


def test_the_clean_msp_has_no_findings(clean_app: App) -> None:
    result = reconcile(clean_app, now=NOW)
    assert [(f.code, f.subjects, f.amount) for f in result.findings] == []
    assert _stored(clean_app) == []
    assert result.identity and all(row.holds for row in result.identity)


def test_running_again_duplicates_nothing(app: App) -> None:
    first = reconcile(app, now=NOW)
    again = reconcile(app, now=NOW.replace(hour=10))
    assert again.new == 0 and again.resolved == 0 and again.still == len(first.findings)
    rows = _stored(app)
    assert len(rows) == len(first.findings)
    assert len({r.fingerprint for r in rows}) == len(rows)


def test_an_acknowledged_finding_stays_acknowledged(app: App) -> None:
    reconcile(app, now=NOW)
    row = next(r for r in _stored(app) if r.code == "invoice.no_contract")
    with app.engine.begin() as conn:
        repository.change_finding_state(
            conn, row.id, IssueState.ACKNOWLEDGED, reason="consultancy sold directly", by="Ann", at=NOW
        )
    reconcile(app, now=NOW.replace(hour=10))
    after = next(r for r in _stored(app) if r.id == row.id)
    assert after.state == "acknowledged" and after.state_reason == "consultancy sold directly"


def test_a_fixed_problem_resolves(app: App) -> None:
    reconcile(app, now=NOW)
    with app.engine.begin() as conn:  # the missing work billed on the October invoice
        conn.execute(
            t.time_entries.update()
            .where(t.time_entries.c.source_key.in_(["1706/1", "1706/2", "1706/3"]))
            .values(billing_state="invoiced", invoice_number="INV-00095")
        )
    result = reconcile(app, now=NOW.replace(hour=10))
    assert result.resolved == 1
    assert "time.unbilled" not in {f.code for f in result.findings}
    row = next(r for r in _stored(app) if r.code == "time.unbilled")
    assert row.state == "resolved" and row.state_reason == "no longer detected"


def test_the_identity_holds_for_every_contract_once_exceptions_are_listed(app: App) -> None:
    result = reconcile(app, now=NOW)
    broken = {(r.code, r.period.start) for r in result.identity if not r.holds}
    assert broken == {("k1008", date(2026, 8, 1)), ("k1008", date(2026, 9, 1)), ("k1008", date(2026, 10, 1))}
    contracts = {r.code for r in result.identity}
    assert {"k1003", "k1004", "k1007", "k1008"} <= contracts
    # the fee on the HaloPSA invoice that never reached Xero is listed as such (and found on its own)
    kinds = {e.kind for r in result.identity for e in r.exceptions}
    assert kinds == {"not_in_xero"}
    with app.engine.begin() as conn:
        contract_id = conn.execute(
            sa.select(t.contracts.c.id).where(t.contracts.c.code == "k1008")
        ).scalar_one()
        for start in broken:
            conn.execute(
                t.contract_adjustments.insert().values(
                    contract_id=contract_id,
                    period_start=start[1],
                    kind="price_change",
                    amount=Decimal("280.00"),
                    currency="GBP",
                    reason="old fee kept until the November review",
                    created_by="Ann",
                    created_at=NOW,
                )
            )
    again = reconcile(app, now=NOW.replace(hour=10))
    assert all(row.holds for row in again.identity)
    assert "contract.billed_vs_contracted" not in {f.code for f in again.findings}
    assert again.resolved == 1


def test_one_period_checks_that_month_and_resolves_nothing_of_others(app: App) -> None:
    everything = reconcile(app, now=NOW)
    october = reconcile(app, now=NOW.replace(hour=10), period=Period.month(2026, 10))
    assert october.periods == (Period.month(2026, 10),)
    assert {"time.unbilled", "allowance.overrun", "prepay.negative"} <= {f.code for f in october.findings}
    assert october.resolved == 0
    assert len(_stored(app)) == len(everything.findings)
    with pytest.raises(PeriodError):
        reconcile(app, now=NOW, period=Period.month(2026, 11))  # still open


def test_balance_says_whether_new_work_is_covered(app: App) -> None:
    allowance = balance(app, "c102", now=NOW)
    assert allowance["contracts"][0]["kind"] == "allowance"
    assert allowance["contracts"][0]["expires"] == "2026-11-30"
    fixed = balance(app, "c101", now=NOW)
    assert fixed["covered"] and fixed["status"].startswith("covered until")
    prepay = balance(app, "106", now=NOW)  # HaloPSA id; on_exhausted negative
    assert prepay["contracts"][0]["unit"] == "money"
    assert Decimal(prepay["contracts"][0]["left"]) < 0
    assert "negative" in prepay["status"] or prepay["status"].startswith("covered")
    payg = balance(app, "c104", now=NOW)
    assert payg["status"] == "not covered: pay-as-you-go" and not payg["covered"]
    with pytest.raises(NotFound):
        balance(app, "nobody", now=NOW)


def test_reconcile_json_as_a_subprocess(app: App, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    env.update(
        {
            "REVLOOP_HOME": str(tmp_path / "cli-home"),
            "REVLOOP_DATABASE_URL": app.settings.database_url,
            "REVLOOP_BILLING_CONTRACT_ITEM_CODES": json.dumps(app.settings.billing_contract_item_codes),
            "NO_COLOR": "1",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "revloop", "reconcile", "--json", "--report", str(tmp_path / "report")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert payload["findings"]
    for finding in payload["findings"]:
        assert set(finding) >= {"code", "severity", "subjects", "amount", "message", "action"}
        assert finding["amount"] is None or Decimal(finding["amount"]).as_tuple().exponent == -2
    unbilled = next(f for f in payload["findings"] if f["code"] == "time.unbilled")
    assert unbilled["amount"] == "237.50"
    assert unbilled["subjects"] == ["halopsa:action:1706/1", "halopsa:action:1706/2", "halopsa:action:1706/3"]
    assert any(row["contract"] == "halopsa:contract:1008" and not row["holds"] for row in payload["identity"])
    report = tmp_path / "report"
    assert json.loads((report / "reconciliation.json").read_text())["findings"] == payload["findings"]
    lines = (report / "reconciliation.csv").read_text().splitlines()
    assert lines[0].startswith("code,severity,amount") and len(lines) == len(payload["findings"]) + 1
    assert len((report / "identity.csv").read_text().splitlines()) == len(payload["identity"]) + 1


def test_the_run_is_recorded_at_the_time_given(app: App) -> None:
    reconcile(app, now=NOW)
    assert {r.first_seen for r in _stored(app)} == {NOW}
    assert all(isinstance(r.first_seen, datetime) for r in _stored(app))

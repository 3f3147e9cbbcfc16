from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from revloop.adapters.db import audit, repository
from revloop.adapters.db.tables import customers, findings, time_entries
from revloop.domain.findings import Finding
from revloop.domain.issues import IssueState, NotFound, Severity

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _customers(n: int, name: str = "Client") -> list[dict[str, object]]:
    return [
        {"code": f"c{i}", "name": f"{name} {i}", "currency": "GBP", "created_at": T0, "updated_at": T0}
        for i in range(n)
    ]


def test_upsert_inserts_then_updates_in_chunks(migrated_engine: sa.Engine) -> None:
    with migrated_engine.begin() as conn:
        assert repository.upsert(conn, customers, _customers(1200), key=("code",)) == 1200
    with migrated_engine.begin() as conn:
        repository.upsert(conn, customers, _customers(3, "Renamed"), key=("code",), update=("name",))
        ids = repository.id_map(conn, customers, "code", ["c0", "c1", "c999", "missing"])
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one() == 1200
        query = sa.select(customers.c.code, customers.c.name).where(customers.c.code < "c1")
        names = {code: name for code, name in conn.execute(query)}
    assert names["c0"] == "Renamed 0"
    assert set(ids) == {"c0", "c1", "c999"}


def test_upsert_keeps_exact_numbers(migrated_engine: sa.Engine) -> None:
    row = {
        "source_key": "T100/1",
        "start_utc": T0,
        "work_date": date(2026, 11, 1),
        "minutes": Decimal("37.5"),
        "non_billable_minutes": Decimal("0"),
        "travel_minutes": Decimal("0"),
        "mileage": Decimal("12.3456"),
    }
    with migrated_engine.begin() as conn:
        repository.upsert(conn, time_entries, [row], key=("source_key",))
        repository.upsert(conn, time_entries, [{**row, "minutes": Decimal("45.0001")}], key=("source_key",))
    with migrated_engine.connect() as conn:
        got = conn.execute(sa.select(time_entries.c.minutes, time_entries.c.mileage)).one()
    assert got == (Decimal("45.0001"), Decimal("12.3456"))


def test_watermarks(migrated_engine: sa.Engine) -> None:
    with migrated_engine.begin() as conn:
        assert repository.get_watermark(conn, "halopsa", "actions") is None
        repository.set_watermark(
            conn, "halopsa", "actions", "2026-11-01T09:00:00", at=T0, records=10, full=True
        )
        later = T0 + timedelta(hours=1)
        repository.set_watermark(
            conn, "halopsa", "actions", "2026-11-01T10:00:00", at=later, records=2, full=False
        )
        mark = repository.get_watermark(conn, "halopsa", "actions")
    assert mark is not None
    assert mark.watermark == "2026-11-01T10:00:00" and mark.records == 2
    assert mark.last_full_at == T0 and mark.last_run_at == T0 + timedelta(hours=1)


def test_mapping_ledger(migrated_engine: sa.Engine) -> None:
    with migrated_engine.begin() as conn:
        repository.link(
            conn,
            entity="customer",
            local_id="acme",
            system="xero",
            external_id="X1",
            at=T0,
            method="contact_number",
        )
        repository.link(
            conn,
            entity="customer",
            local_id="globex",
            system="xero",
            external_id="X9",
            at=T0,
            method="name",
            status="suggested",
        )
        assert repository.external_id_for(conn, "customer", "acme", "xero") == "X1"
        assert repository.local_id_for(conn, "customer", "xero", "X1") == "acme"
        assert repository.external_id_for(conn, "customer", "globex", "xero") is None
        assert [r.local_id for r in repository.suggestions(conn, "customer")] == ["globex"]
        # a person confirms the suggestion; re-linking acme elsewhere replaces its old link
        repository.link(
            conn, entity="customer", local_id="globex", system="xero", external_id="X9", at=T0, by="ann"
        )
        repository.link(
            conn, entity="customer", local_id="acme", system="xero", external_id="X2", at=T0, by="ann"
        )
        assert repository.external_id_for(conn, "customer", "globex", "xero") == "X9"
        assert repository.external_id_for(conn, "customer", "acme", "xero") == "X2"
        assert repository.suggestions(conn, "customer") == []


def _finding(subject: str, amount: str = "95.00") -> Finding:
    return Finding(
        "time.unbilled",
        Severity.WARNING,
        (subject,),
        "billable time never invoiced",
        action="bill it",
        amount=Decimal(amount),
        currency="GBP",
    )


def test_findings_lifecycle_is_idempotent(migrated_engine: sa.Engine) -> None:
    codes = ["time.unbilled"]
    a, b = _finding("halopsa:action:100/1"), _finding("halopsa:action:100/2")
    with migrated_engine.begin() as conn:
        first = repository.record_findings(conn, [a, b], at=T0, checked_codes=codes)
        again = repository.record_findings(conn, [a, b, a], at=T0 + timedelta(hours=1), checked_codes=codes)
    assert (first.new, again.new, again.seen_again) == (2, 0, 2)
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one() == 2
        a_id = conn.execute(
            sa.select(findings.c.id).where(findings.c.fingerprint == a.fingerprint)
        ).scalar_one()
    with migrated_engine.begin() as conn:
        repository.change_finding_state(
            conn, a_id, IssueState.ACKNOWLEDGED, reason="client disputes", by="ann", at=T0
        )
        # b is fixed at the source: the next run no longer detects it, so it resolves by itself
        result = repository.record_findings(conn, [a], at=T0 + timedelta(hours=2), checked_codes=codes)
    assert result.resolved == 1
    with migrated_engine.connect() as conn:
        states = {f: s for f, s in conn.execute(sa.select(findings.c.fingerprint, findings.c.state))}
        assert audit.verify(conn)[0]
    assert states == {a.fingerprint: "acknowledged", b.fingerprint: "resolved"}
    with migrated_engine.begin() as conn:
        reopened = repository.record_findings(conn, [a, b], at=T0 + timedelta(hours=3), checked_codes=codes)
    assert reopened.reopened == 1
    with migrated_engine.begin() as conn, pytest.raises(NotFound):
        repository.change_finding_state(conn, 99999, IssueState.RESOLVED, reason="x", by="ann", at=T0)


def test_finding_fingerprint_ignores_subject_order() -> None:
    one = Finding("x.y", Severity.INFO, ("a", "b"), "m")
    two = Finding("x.y", Severity.INFO, ("b", "a"), "m")
    assert one.fingerprint == two.fingerprint
    with pytest.raises(ValueError):
        Finding("x.y", Severity.INFO, (), "m")

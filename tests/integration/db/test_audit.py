from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from revloop.adapters.db import audit
from revloop.adapters.db.tables import audit_journal


def _append(engine: sa.Engine, n: int) -> None:
    with engine.begin() as conn:
        for i in range(n):
            audit.record(
                conn,
                at=datetime.now(UTC),
                actor="finance@msp",
                action="invoice.approve",
                entity="invoice",
                entity_id=f"revloop:acme:all:2026-10-0{i}",
                details={"total": "12.50"},
            )


def test_chain_verifies(migrated_engine: sa.Engine) -> None:
    _append(migrated_engine, 3)
    with migrated_engine.connect() as conn:
        assert audit.verify(conn) == (True, 3, "")


def test_journal_refuses_update_and_delete(migrated_engine: sa.Engine) -> None:
    _append(migrated_engine, 1)
    for statement in (
        audit_journal.update().values(actor="someone else"),
        audit_journal.delete(),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), migrated_engine.begin() as conn:
            conn.execute(statement)
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_journal)).scalar_one() == 1

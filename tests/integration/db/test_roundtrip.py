"""Money, quantities and rates come back from both databases exactly as they went in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloop.adapters.db.tables import agent_costs, agents, charge_types, customers, invoices, rate_rows

money = st.decimals(min_value=-(10**13), max_value=10**13, places=2, allow_nan=False, allow_infinity=False)
qty = st.decimals(min_value=-(10**11), max_value=10**11, places=4, allow_nan=False, allow_infinity=False)


@pytest.fixture
def conn(migrated_engine: sa.Engine) -> Iterator[sa.Connection]:
    with migrated_engine.connect() as connection:
        now = datetime.now(UTC)
        connection.execute(
            customers.insert().values(
                id=1, code="acme", name="Acme", currency="GBP", created_at=now, updated_at=now
            )
        )
        connection.execute(charge_types.insert().values(id=1, code="remote", name="Remote"))
        connection.execute(agents.insert().values(id=1, name="Alice"))
        connection.commit()
        yield connection


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=money, subtotal=money, rate=qty, percent=qty, minutes=qty)
def test_exact_round_trip(
    conn: sa.Connection, total: Decimal, subtotal: Decimal, rate: Decimal, percent: Decimal, minutes: Decimal
) -> None:
    now = datetime.now(UTC)
    invoice_id = conn.execute(
        invoices.insert()
        .values(
            origin="revloop",
            currency="GBP",
            status="draft",
            total=total,
            subtotal=subtotal,
            tax=0,
            created_at=now,
        )
        .returning(invoices.c.id)
    ).scalar_one()
    row_id = conn.execute(
        rate_rows.insert()
        .values(
            charge_type_id=1,
            scope="customer",
            customer_id=1,
            effective_from=date(2026, 1, 1),
            hourly_rate=rate,
            percent=percent,
            minimum_minutes=minutes,
        )
        .returning(rate_rows.c.id)
    ).scalar_one()
    got_inv = conn.execute(
        sa.select(invoices.c.total, invoices.c.subtotal).where(invoices.c.id == invoice_id)
    ).one()
    got_rate = conn.execute(
        sa.select(rate_rows.c.hourly_rate, rate_rows.c.percent, rate_rows.c.minimum_minutes).where(
            rate_rows.c.id == row_id
        )
    ).one()
    assert (got_inv.total, got_inv.subtotal) == (total, subtotal)
    assert (got_rate.hourly_rate, got_rate.percent, got_rate.minimum_minutes) == (rate, percent, minutes)
    assert all(isinstance(v, Decimal) for v in (*got_inv, *got_rate))
    # sums in SQL stay exact too (the column type carries through SUM)
    summed = conn.execute(
        sa.select(sa.func.sum(invoices.c.total)).where(invoices.c.id == invoice_id)
    ).scalar_one()
    assert summed == total
    conn.rollback()


def test_more_precision_than_stored_is_refused(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    with pytest.raises(sa.exc.StatementError, match="more precision"):
        conn.execute(
            invoices.insert().values(
                origin="revloop", currency="GBP", status="draft", total=Decimal("1.005"), created_at=now
            )
        )
    conn.rollback()


def test_float_is_refused(conn: sa.Connection) -> None:
    with pytest.raises(sa.exc.StatementError, match="float"):
        conn.execute(
            agent_costs.insert().values(
                agent_id=1,
                effective_from=date(2026, 1, 1),
                currency="GBP",
                annual_salary=45000.5,
                productive_hours_per_year=Decimal("1500"),
            )
        )
    conn.rollback()


def test_timestamps_come_back_aware_utc(conn: sa.Connection) -> None:
    at = datetime(2026, 10, 25, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    conn.execute(invoices.insert().values(origin="revloop", currency="GBP", status="draft", created_at=at))
    got = conn.execute(sa.select(invoices.c.created_at)).scalar_one()
    assert got == at and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        conn.execute(
            invoices.insert().values(
                origin="x", currency="GBP", status="draft", created_at=datetime(2026, 1, 1)
            )
        )
    conn.rollback()

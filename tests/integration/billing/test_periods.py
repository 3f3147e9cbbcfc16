"""Consecutive billing periods chain: a period's closing contract balances open the next one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloop.adapters.db import migrations
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.issues import PeriodClosed
from revloop.domain.periods import Period
from revloop.services import scenario
from revloop.services.billing import run

from .book_store import settings_overrides, write_book

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_prepay_drawn_in_october_is_not_drawn_again_in_november(tmp_path: Path) -> None:
    loaded = scenario.load(GOLDEN / "02-prepay-runs-out.yaml")  # 2 prepaid hours, all drawn in October
    app = App(
        Settings(
            home=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}", **settings_overrides(loaded.book)
        )
    )
    migrations.upgrade(app.engine)
    with app.engine.begin() as conn:
        write_book(conn, loaded.book, loaded.period)
    october = run.bill(app, loaded.period, now=NOW)
    assert october.rating.balances == {"acme-prepay": Decimal("0.0000")}
    with app.engine.begin() as conn:
        first = conn.execute(sa.select(t.time_entries).limit(1)).one()
        conn.execute(
            t.time_entries.insert().values(
                source_key="T400/1",
                ticket_id=first.ticket_id,
                customer_id=first.customer_id,
                agent_id=first.agent_id,
                charge_type_id=first.charge_type_id,
                start_utc=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
                work_date=date(2026, 11, 3),
                minutes=Decimal(60),
                non_billable_minutes=0,
                travel_minutes=0,
                mileage=0,
                billing_state="unbilled",
            )
        )
        closing = conn.execute(
            sa.select(t.contract_balances.c.closing, t.contract_balances.c.period_end)
        ).one()
    assert closing == (Decimal("0.0000"), date(2026, 11, 1))
    november = run.bill(app, Period.month(2026, 11), now=NOW)
    labour = [line for d in november.drafts for line in d.lines if line.kind in ("labour", "covered")]
    assert [(line.kind, line.amount) for line in labour] == [("labour", Decimal("95.00"))]
    assert november.rating.balances["acme-prepay"] == Decimal("0.0000")
    app.close()


def test_periods_close_in_order_and_closed_ones_need_rebill(tmp_path: Path) -> None:
    loaded = scenario.load(GOLDEN / "02-prepay-runs-out.yaml")
    app = App(
        Settings(
            home=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}", **settings_overrides(loaded.book)
        )
    )
    migrations.upgrade(app.engine)
    with app.engine.begin() as conn:
        write_book(conn, loaded.book, loaded.period)
    october, november = loaded.period, Period.month(2026, 11)
    run.bill(app, october, now=NOW)
    with pytest.raises(PeriodClosed, match="not posted"):
        run.close_period(app, october, now=NOW, by="ann")
    run.bill(app, november, now=NOW)  # nothing to bill, but the period is now known
    with app.engine.begin() as conn:  # as `revloop post` leaves them
        conn.execute(t.invoices.update().values(status="posted"))
    with pytest.raises(PeriodClosed, match="before the period starting 2026-10-01 is closed"):
        run.close_period(app, november, now=NOW, by="ann")
    assert run.close_period(app, october, now=NOW, by="ann") == 1
    with pytest.raises(PeriodClosed, match="October 2026 is closed"):
        run.bill(app, october, now=NOW)
    again = run.bill(app, october, now=NOW, rebill=True)
    assert again.locked == ["revloop:acme:all:2026-10-01"] and again.created == []
    run.close_period(app, november, now=NOW, by="ann")
    app.close()

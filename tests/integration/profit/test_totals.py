"""Time entries and invoice lines summed in SQL (``services.profit.totals``) give the figures, and the
issues, of the same records read one by one: the profit model (as the dashboard builds it, against
``revloop profit``) and the cost model's view (``revloop costs show``, against the entries costed one
by one) on the small demo MSP, with fees, prepay top-ups, foreign currencies and Xero's copies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.costing import books_rates, check_rows, loaded_rates, month_of
from revloop.domain.issues import Issue
from revloop.domain.money import q4, round2
from revloop.domain.periods import Period, add_months
from revloop.domain.profitability import Dimension, cost_work, summarise
from revloop.services.profit import costs
from revloop.services.profit.loading import Lines, read_agent_costs, read_pnl, read_sales, read_work
from revloop.services.profit.report import Model, build, policy
from revloop.services.profit.totals import SaleTotals
from revloop.web import profit_data

from .conftest import Synced

HISTORY = Period(date(2025, 11, 1), date(2026, 11, 1))
BYS: tuple[tuple[Dimension, ...], ...] = (
    ("customer", "service_line", "month"),
    ("customer", "contract"),
    ("agent", "month"),
    ("service_line",),
)


def _shown(model: Model, by: tuple[Dimension, ...]) -> list[dict[str, object]]:
    return [r.as_dict() for r in summarise(model.facts, by, months=model.months, capacity=model.capacity)]


def _slow(app: App, period: Period = HISTORY, method: str | None = None) -> Model:
    """The model with every time entry and invoice line read one by one."""
    with app.engine.connect() as conn:
        return build(conn, app.settings, period, method, work_reader=read_work, sales_reader=read_sales)


def _same(fast: Model, slow: Model) -> None:
    for by in BYS:
        assert _shown(fast, by) == _shown(slow, by), by
    assert [str(i) for i in fast.issues] == [str(i) for i in slow.issues]


def test_the_summed_model_gives_the_figures_of_the_records_one_by_one(synced: Synced) -> None:
    for method in ("salary", "books"):
        fast = profit_data.compute(synced.app, HISTORY, method).model
        slow = _slow(synced.app, method=method)
        _same(fast, slow)
        with synced.app.engine.connect() as conn:  # the command's model is the dashboard's
            _same(build(conn, synced.app.settings, HISTORY, method), fast)
        assert len(fast.store.sales) < len(slow.store.sales)
        assert len(fast.store.work) < len(slow.store.work)


def test_summed_lines_keep_fees_and_other_currencies_line_by_line(synced: Synced) -> None:
    settings = synced.app.settings
    with synced.app.engine.connect() as conn:
        lines = Lines(conn, settings)
        fast, fast_costs, _ = SaleTotals()(conn, settings, HISTORY, lines)
        slow, slow_costs, _ = read_sales(conn, settings, HISTORY, Lines(conn, settings))
    one_by_one = {s.id: s for s in slow if s.fee_contract or s.fx != 1}
    assert one_by_one and any(s.fx != 1 for s in one_by_one.values())
    assert {s.id: s for s in fast if s.fee_contract or s.fx != 1} == one_by_one
    by_client: dict[Any, Decimal] = {}
    for s in slow:
        by_client[(s.customer, s.month)] = by_client.get((s.customer, s.month), Decimal(0)) + s.amount
    for s in fast:
        by_client[(s.customer, s.month)] -= s.amount
    assert set(by_client.values()) == {Decimal(0)}  # sums of exact amounts: to the penny and beyond
    assert sum((f.cost for f in fast_costs), Decimal(0)) == sum((f.cost for f in slow_costs), Decimal(0))


def test_the_documents_behind_a_clients_revenue(synced: Synced) -> None:
    computed = profit_data.compute(synced.app, HISTORY, None)
    slow = _slow(synced.app)
    expected: dict[str, dict[tuple[str, str], date]] = {}
    for s in slow.store.sales:
        origin, _, rest = s.id.partition(":")
        expected.setdefault(s.customer, {})[(origin, rest.rpartition("/")[0])] = s.month
    assert computed.documents == expected


@pytest.fixture
def bare(synced: Synced) -> Iterator[App]:
    """The demo store with one agent's costs gone, no foreign rates (neither Xero's nor the
    settings') and no service lines mapped."""
    inv = t.invoices
    with synced.app.engine.connect() as conn:
        agent = conn.execute(sa.select(sa.func.min(t.agent_costs.c.agent_id))).scalar_one()
        kept = [dict(r._mapping) for r in conn.execute(sa.select(t.agent_costs))]
        rates = list(
            conn.execute(sa.select(inv.c.id, inv.c.currency_rate).where(inv.c.currency_rate.is_not(None)))
        )
    assert rates  # the demo's foreign invoices carry Xero's rate
    with synced.app.engine.begin() as conn:
        conn.execute(t.agent_costs.delete().where(t.agent_costs.c.agent_id == agent))
        conn.execute(inv.update().values(currency_rate=None))
    settings = synced.app.settings.model_copy(update={"costs_fx_rates": {}, "costs_service_lines": {}})
    yield App(settings, synced.app.engine)
    with synced.app.engine.begin() as conn:
        conn.execute(t.agent_costs.delete())
        conn.execute(t.agent_costs.insert(), kept)
        for row in rates:
            conn.execute(inv.update().where(inv.c.id == row.id).values(currency_rate=row.currency_rate))


def test_issues_count_the_stored_entries_and_lines(bare: App) -> None:
    fast = profit_data.compute(bare, HISTORY, None).model
    slow = _slow(bare)
    _same(fast, slow)
    codes = {i.code for i in fast.issues}
    assert {"costs.agent_missing", "profit.no_fx_rate", "profit.no_service_line"} <= codes
    assert [str(i) for i in costs.show(bare, on=date(2026, 11, 23)).issues] == [
        str(i) for i in _show_one_by_one(bare, date(2026, 11, 23)).issues
    ]


@dataclass
class OneByOne:
    months: list[tuple[date, Decimal, Decimal | None]]  # month, hours (rounded), salary rate
    issues: list[Issue]


def _show_one_by_one(app: App, on: date, months: int = 12) -> OneByOne:
    """``costs.show`` with every time entry read and costed one by one."""
    end = month_of(on)
    period = Period(add_months(end, -months), end)
    settings = app.settings
    with app.engine.connect() as conn:
        rows, _names = read_agent_costs(conn)
        work = read_work(conn, period)
        pnl = read_pnl(conn)
    timeline = loaded_rates(rows, policy(settings))
    hours: dict[date, Decimal] = {}
    for w in work:
        hours[month_of(w.day)] = hours.get(month_of(w.day), Decimal(0)) + w.hours
    wanted = [add_months(period.start, n) for n in range(months)]
    _books, issues = books_rates(
        pnl, hours, settings.costs_payroll_accounts, settings.costs_overhead_accounts, wanted
    )

    def rate(agent: str, day: date) -> Decimal | None:
        found = timeline.rate_on(agent, day)
        return found.hourly if found else None

    labour, missing = cost_work(work, rate, Decimal(0))
    cost: dict[date, Decimal] = {}
    for f in labour:
        cost[f.month] = cost.get(f.month, Decimal(0)) + f.cost
    shown = [
        (
            m,
            round2(hours.get(m, Decimal(0))),
            q4(cost.get(m, Decimal(0)) / hours[m]) if hours.get(m) else None,
        )
        for m in wanted
    ]
    return OneByOne(shown, check_rows(rows) + issues + missing)


def test_the_cost_view_sums_what_the_entries_cost(synced: Synced) -> None:
    on = date(2026, 11, 23)
    view = costs.show(synced.app, on=on)
    reference = _show_one_by_one(synced.app, on)
    assert [(m.month, round2(m.hours), m.salary_rate) for m in view.by_month] == reference.months
    assert any(rate for _m, _h, rate in reference.months)
    assert [str(i) for i in view.issues] == [str(i) for i in reference.issues]

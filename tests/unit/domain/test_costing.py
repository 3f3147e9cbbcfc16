"""The cost model: loaded rates (salary method), the books method, FIFO lots, fee splits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from revloop.domain.costing import (
    AgentCost,
    BooksMonth,
    CostPolicy,
    PnlLine,
    StockIssue,
    StockLot,
    blended_books_rate,
    books_rates,
    check_rows,
    fifo_costs,
    loaded_rates,
    split_fee,
)

D = Decimal
JAN = date(2026, 1, 1)


def row(agent: str, salary: str = "30000", hours: str = "1600", **kw: object) -> AgentCost:
    return AgentCost(agent, kw.pop("start", JAN), D(salary), D(kw.pop("oncost", "0")), D(hours), **kw)  # type: ignore[arg-type]


def test_loaded_rate_is_salary_and_oncosts_over_productive_hours() -> None:
    timeline = loaded_rates([row("a", "40000", oncost="25")], CostPolicy())
    rate = timeline.rate_on("a", date(2026, 5, 1))
    assert rate is not None and rate.hourly == D("31.2500")
    assert "31.2500/h" in rate.explanation


def test_no_rate_before_the_first_row() -> None:
    timeline = loaded_rates([row("a", start=date(2026, 3, 1))], CostPolicy())
    assert timeline.rate_on("a", date(2026, 2, 28)) is None
    assert timeline.rate_on("nobody", date(2026, 3, 1)) is None


def test_a_direct_hourly_cost_is_used_as_it_is_and_takes_no_overhead() -> None:
    rows = [row("a", hourly_cost=D("67.29")), row("b", "32000")]
    timeline = loaded_rates(rows, CostPolicy(D("1000"), "by_headcount"))
    a, b = timeline.rate_on("a", JAN), timeline.rate_on("b", JAN)
    assert a is not None and a.hourly == D("67.2900") and a.direct and a.overhead_share == 0
    # b carries the whole pool: (32,000 + 12,000) / 1,600 = 27.50
    assert b is not None and b.hourly == D("27.5000")


@pytest.mark.parametrize(
    ("allocation", "a", "b"), [("by_hours", "20.0000", "20.0000"), ("by_headcount", "18.7500", "22.5000")]
)
def test_allocation_rules(allocation: str, a: str, b: str) -> None:
    # pool 12,000 a year; a: 1,600 h, b: 800 h, salaries 24,000 and 12,000 (15.00/h each)
    rows = [row("a", "24000", "1600"), row("b", "12000", "800")]
    timeline = loaded_rates(rows, CostPolicy(D("1000"), allocation))  # type: ignore[arg-type]
    assert str(timeline.rate_on("a", JAN).hourly) == a  # type: ignore[union-attr]
    assert str(timeline.rate_on("b", JAN).hourly) == b  # type: ignore[union-attr]


def test_a_new_agent_changes_everyone_elses_share_from_that_day() -> None:
    rows = [row("a", "24000"), row("b", "24000", start=date(2026, 7, 1))]
    timeline = loaded_rates(rows, CostPolicy(D("1600"), "by_headcount"))
    assert timeline.rate_on("a", date(2026, 6, 30)).hourly == D("27.0000")  # type: ignore[union-attr]
    assert timeline.rate_on("a", date(2026, 7, 1)).hourly == D("21.0000")  # type: ignore[union-attr]
    assert [r.effective_from for r in timeline.rates["a"]] == [JAN, date(2026, 7, 1)]


def test_rows_without_productive_hours_are_named_and_skipped() -> None:
    bad = row("a", hours="0")
    assert [i.code for i in check_rows([bad])] == ["costs.invalid"]
    assert loaded_rates([bad], CostPolicy()).rate_on("a", JAN) is None


def test_books_need_accounts_and_hours() -> None:
    lines = [PnlLine(JAN, "Less Operating Expenses", "477", "Salaries", D("1000.00"))]
    months, issues = books_rates(lines, {JAN: D("10")}, [], [])
    assert [i.code for i in issues] == ["costs.no_accounts"]
    assert months[JAN].rate is None  # never a zero rate
    months, issues = books_rates(lines, {}, ["477"], [])
    assert [i.code for i in issues] == ["costs.no_hours"] and months[JAN].rate is None
    assert blended_books_rate(months.values()) is None


def test_books_match_accounts_by_code_or_name_in_any_case() -> None:
    lines = [
        PnlLine(JAN, "x", "477", "Salaries", D("1000.00")),
        PnlLine(JAN, "x", "", "RENT", D("200.00")),
    ]
    months, issues = books_rates(lines, {JAN: D("40")}, ["477"], ["rent"])
    assert issues == []
    assert months[JAN] == BooksMonth(JAN, D("1000.00"), D("200.00"), D("40"), D("30.0000"))


def test_fifo_spans_lots_and_never_uses_a_later_lot() -> None:
    lots = [
        StockLot("1", "x", date(2026, 1, 1), D("2"), D("10")),
        StockLot("2", "x", date(2026, 1, 5), D("2"), D("12")),
        StockLot("3", "x", date(2026, 3, 1), D("9"), D("99")),
    ]
    costs, issues = fifo_costs(lots, [StockIssue("i", "x", date(2026, 2, 1), D("3"))])
    assert issues == []
    assert costs["i"].cost == D("32") and [layer[0] for layer in costs["i"].layers] == ["1", "2"]


def test_fifo_keeps_items_apart() -> None:
    lots = [StockLot("1", "x", JAN, D("1"), D("10")), StockLot("2", "y", JAN, D("1"), D("20"))]
    costs, _ = fifo_costs(lots, [StockIssue("i", "y", JAN, D("1"))])
    assert costs["i"].cost == D("20")


def test_split_fee_by_hours_to_the_cent() -> None:
    parts = split_fee(D("100.00"), "hours", hours={"a": D("1"), "b": D("2")}, weights={}, fallback="f")
    assert parts == {"a": D("33.33"), "b": D("66.67")}
    assert sum(parts.values()) == D("100.00")


def test_split_fee_falls_back_and_keeps_sign() -> None:
    assert split_fee(D("50.00"), "hours", hours={}, weights={}, fallback="f") == {"f": D("50.00")}
    parts = split_fee(D("-10.00"), "weights", hours={}, weights={"a": D("1"), "b": D("1")}, fallback="f")
    assert parts == {"a": D("-5.00"), "b": D("-5.00")}


def test_split_fee_only_to_the_contracts_service_lines() -> None:
    parts = split_fee(
        D("90.00"), "hours", hours={"a": D("1"), "b": D("2")}, weights={}, fallback="f", allowed=("a",)
    )
    assert parts == {"a": D("90.00")}

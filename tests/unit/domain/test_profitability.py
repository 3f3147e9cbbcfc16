"""Profit facts and their sums: work cost, revenue attribution, rows, margins."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from revloop.domain.profitability import (
    NO_LINE,
    Fact,
    Sale,
    Work,
    attribute_sales,
    client_margins,
    cost_work,
    fee_hours,
    share_by_agent,
    summarise,
)

D = Decimal
MAR = date(2026, 3, 1)


def rate_for(agent: str, day: date) -> Decimal | None:
    return {"a": D("30"), "b": D("40")}.get(agent)


def test_work_cost_is_rate_times_work_and_travel_plus_mileage() -> None:
    w = Work("1", "c", "a", date(2026, 3, 2), D("45"), D("15"), D("10"), "Support", "k")
    facts, issues = cost_work([w], rate_for, D("0.45"))
    assert issues == []
    assert [(f.kind, f.cost, f.hours) for f in facts] == [
        ("labour", D("30"), D("1")),
        ("mileage", D("4.50"), 0),
    ]


def test_mileage_follows_its_entry_else_the_mileage_item() -> None:
    lined = Work(
        "1", "c", "a", MAR, D("60"), mileage=D("10"), service_line="Projects", mileage_service_line="S"
    )
    bare = Work("2", "c", "a", MAR, D("60"), mileage=D("10"), mileage_service_line="Support")
    facts, _ = cost_work([lined, bare], rate_for, D("0.45"))
    assert [(f.kind, f.service_line) for f in facts] == [
        ("labour", "Projects"),
        ("mileage", "Projects"),
        ("labour", NO_LINE),
        ("mileage", "Support"),
    ]


def test_an_agent_without_a_cost_is_named_once_with_its_hours() -> None:
    work = [Work(str(n), "c", "z", date(2026, 3, n + 1), D("30")) for n in range(3)]
    facts, issues = cost_work(work, rate_for, D(0))
    assert [i.code for i in issues] == ["costs.agent_missing"]
    assert "3 time entries" in issues[0].message and issues[0].amount == "1.50"
    assert all(f.cost == 0 and f.hours == D("0.5") for f in facts)  # hours kept, nothing invented


def test_a_fee_without_work_under_its_contract_uses_all_the_clients_hours() -> None:
    labour, _ = cost_work(
        [Work("1", "c", "a", date(2026, 3, 2), D("60"), service_line="Projects")], rate_for, D(0)
    )
    sale = Sale("s", "c", MAR, D("500.00"), "Managed", fee_contract="k")
    facts = attribute_sales([sale], fee_hours(labour), "hours", {})
    assert [(f.service_line, f.revenue, f.contract) for f in facts] == [("Projects", D("500.00"), "k")]


def test_foreign_revenue_is_converted_after_the_split() -> None:
    sale = Sale("s", "c", MAR, D("195.00"), "Support", fx=D("1.95"))
    (fact,) = attribute_sales([sale], {}, "hours", {})
    assert fact.revenue == D("100")


def test_a_line_without_service_line_is_shown_under_none() -> None:
    (fact,) = attribute_sales([Sale("s", "c", MAR, D("1.00"))], {}, "hours", {})
    assert fact.service_line == NO_LINE


def test_rows_round_once_and_add_up() -> None:
    facts = [
        Fact("revenue", "1", "c", "S", MAR, revenue=D("10.005")),
        Fact("labour", "2", "c", "S", MAR, agent="a", cost=D("3.333"), hours=D("2")),
        Fact("labour", "3", "d", "S", MAR, agent="a", cost=D("1"), hours=D("1")),
    ]
    rows = summarise(facts, ["customer"], months=[MAR], capacity={("a", MAR): D("100")})
    c = rows[0]
    assert (c.revenue, c.cost, c.margin, c.margin_percent) == (D("10.01"), D("3.33"), D("6.68"), D("66.73"))
    assert c.effective_rate == D("5.01") and c.utilisation == D("2.00")
    assert rows[1].margin_percent is None and rows[1].effective_rate == D("0.00")


def test_by_agent_revenue_follows_the_hours() -> None:
    facts = [
        Fact("revenue", "r", "c", "S", MAR, revenue=D("90")),
        Fact("labour", "1", "c", "S", MAR, agent="a", hours=D("2")),
        Fact("labour", "2", "c", "S", MAR, agent="b", hours=D("1")),
    ]
    shared = share_by_agent(facts)
    assert sorted((f.agent, f.revenue) for f in shared if f.kind == "revenue") == [
        ("a", D("60")),
        ("b", D("30")),
    ]
    rows = summarise(facts, ["agent"], months=[MAR], capacity={("a", MAR): D("10"), ("b", MAR): D("20")})
    assert [(r.value("agent"), r.revenue, r.utilisation) for r in rows] == [
        ("a", D("60.00"), D("20.00")),
        ("b", D("30.00"), D("5.00")),
    ]


def test_client_margins_round_revenue_and_cost_once_each() -> None:
    facts = [
        Fact("revenue", "r", "c", "S", MAR, revenue=D("100.00")),
        Fact("labour", "1", "c", "S", MAR, cost=D("33.335")),
        Fact("labour", "2", "c", "S", date(2026, 4, 1), cost=D("1000")),
    ]
    assert client_margins(facts, [MAR]) == {"c": (D("100.00"), D("33.34"))}

"""Hand-computed profitability cases (the calculation is written in each file), checked to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from revloop.domain.costing import (
    AgentCost,
    CostPolicy,
    PnlLine,
    StockIssue,
    StockLot,
    blended_books_rate,
    books_rates,
    fifo_costs,
    loaded_rates,
    split_fee,
)
from revloop.domain.profitability import (
    Sale,
    Work,
    attribute_sales,
    cost_work,
    fee_hours,
    summarise,
    total_row,
)

HERE = Path(__file__).parent
FILES = sorted(HERE.glob("*.yaml"))


def D(value: Any) -> Decimal:
    return Decimal(str(value))


def day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def agent_costs(rows: list[dict[str, Any]]) -> list[AgentCost]:
    return [
        AgentCost(
            agent=r["agent"],
            effective_from=day(r["from"]),
            annual_salary=D(r.get("salary", "0")),
            oncost_percent=D(r.get("oncost_percent", "0")),
            productive_hours_per_year=D(r.get("productive_hours", "1600")),
            hourly_cost=D(r["hourly_cost"]) if "hourly_cost" in r else None,
        )
        for r in rows
    ]


def work(rows: list[dict[str, Any]]) -> list[Work]:
    return [
        Work(
            id=r["id"],
            customer=r["customer"],
            agent=r["agent"],
            day=day(r["day"]),
            minutes=D(r["minutes"]),
            travel_minutes=D(r.get("travel_minutes", "0")),
            mileage=D(r.get("mileage", "0")),
            service_line=r.get("service_line"),
            contract=r.get("contract"),
        )
        for r in rows
    ]


def check_profit(case: dict[str, Any]) -> None:
    timeline = loaded_rates(agent_costs(case["costs"]), CostPolicy(D(case.get("overhead_monthly", "0"))))

    def rate_for(agent: str, on: date) -> Decimal | None:
        found = timeline.rate_on(agent, on)
        return found.hourly if found else None

    labour, issues = cost_work(work(case["work"]), rate_for, D(case["mileage_cost"]))
    assert issues == []
    sales = [
        Sale(
            id=s["id"],
            customer=s["customer"],
            month=day(s["month"]),
            amount=D(s["amount"]),
            service_line=s.get("service_line"),
            fee_contract=s.get("fee_contract"),
        )
        for s in case["sales"]
    ]
    weights = {k: D(v) for k, v in (case.get("fee_weights") or {}).items()}
    facts = labour + attribute_sales(sales, fee_hours(labour), case["fee_split"], weights)
    months = sorted({f.month for f in facts})
    capacity = {
        (r.agent, m): r.productive_hours_per_year / 12 for r in agent_costs(case["costs"]) for m in months
    }
    expect = case["expect"]
    rows = summarise(facts, expect["by"], months=months, capacity=capacity)
    got = [
        {
            **dict(r.key),
            "revenue": str(r.revenue),
            "cost": str(r.cost),
            "margin": str(r.margin),
            "margin_percent": str(r.margin_percent),
        }
        for r in rows
    ]
    assert got == expect["rows"]
    total = total_row(rows, sum(capacity.values(), Decimal(0))).as_dict()
    for key, value in expect["total"].items():
        assert total[key] == value, key
    for split in case.get("splits", []):
        parts = split_fee(
            D(split["amount"]),
            "weights",
            hours={},
            weights={k: D(v) for k, v in split["weights"].items()},
            fallback="-",
        )
        assert {k: str(v) for k, v in parts.items()} == split["expect"]


def check_costing(case: dict[str, Any]) -> None:
    rows = agent_costs(case["costs"])
    for sub in case["cases"]:
        timeline = loaded_rates(rows, CostPolicy(D(case["overhead_monthly"]), sub["allocation"]))
        for expected in sub["rates"]:
            found = timeline.rate_on(expected["agent"], day(expected["day"]))
            got = None if found is None else str(found.hourly)
            assert got == expected["hourly"], (sub["allocation"], expected)

        def rate_for(agent: str, on: date, timeline: Any = timeline) -> Decimal | None:
            found = timeline.rate_on(agent, on)
            return found.hourly if found else None

        for entry in sub.get("work", []):
            facts, issues = cost_work(work([entry]), rate_for, Decimal(0))
            assert not issues
            assert str(sum((f.cost for f in facts), Decimal(0)).quantize(Decimal("0.01"))) == entry["cost"]


def check_books(case: dict[str, Any]) -> None:
    lines = [
        PnlLine(day(p["month"]), p["section"], str(p["code"]), p["name"], D(p["amount"])) for p in case["pnl"]
    ]
    hours = {day(k): D(v) for k, v in case["hours"].items()}
    months, issues = books_rates(lines, hours, case["payroll_accounts"], case["overhead_accounts"])
    expect = case["expect"]
    got = {
        m.isoformat(): {"payroll": str(b.payroll), "overhead": str(b.overhead), "rate": str(b.rate)}
        for m, b in months.items()
    }
    assert got == expect["months"]
    assert str(blended_books_rate(months.values())) == expect["blended"]
    assert [i.code for i in issues] == expect["issues"]


def check_fifo(case: dict[str, Any]) -> None:
    lots = [
        StockLot(r["id"], r["item"], day(r["date"]), D(r["quantity"]), D(r["unit_cost"]))
        for r in case["lots"]
    ]
    issued = [
        StockIssue(
            r["id"],
            r["item"],
            day(r["date"]),
            D(r["quantity"]),
            D(r["unit_cost"]) if "unit_cost" in r else None,
        )
        for r in case["issued"]
    ]
    costs, issues = fifo_costs(lots, issued)
    assert {k: str(v.cost.quantize(Decimal("0.01"))) for k, v in costs.items()} == case["expect"]["costs"]
    assert [i.code for i in issues] == case["expect"]["issues"]


CHECKS = {"profit": check_profit, "costing": check_costing, "books": check_books, "fifo": check_fifo}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_profit_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    CHECKS[case["kind"]](case)

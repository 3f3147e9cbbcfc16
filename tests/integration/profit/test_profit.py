"""Profit on the small demo MSP: the planted negative margin found to the cent, both cost methods,
the CLI's JSON, charts, and a what-if that writes nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.domain.costing import AgentCost
from revloop.domain.periods import Period
from revloop.domain.profitability import NO_LINE, Work
from revloop.services.profit import costs, loading, margin_findings, report, whatif
from revloop.services.profit.export import write_charts
from revloop.services.profit.loading import Lines, Store, load, read_work
from revloop.services.profit.report import capacity_of

from .conftest import NOW, Synced, demo_settings

D = Decimal
HISTORY = Period(date(2025, 11, 1), date(2026, 11, 1))


def test_margin_findings_match_the_manifest_to_the_cent(synced: Synced) -> None:
    planted = [e for e in synced.world.msp.manifest if e["code"] == "profit.negative_margin"]
    found = margin_findings(synced.app, now=NOW)
    assert [(f.subjects, str(f.amount)) for f in found] == [
        (tuple(e["subjects"]), e["amount"]) for e in planted
    ]
    assert found[0].currency == "GBP" and found[0].fingerprint


def test_the_report_adds_up_and_splits_the_fixed_fee(synced: Synced) -> None:
    result = report(synced.app, HISTORY, ("customer", "service_line"))
    assert not [i for i in result.issues if i.code.startswith("costs.")]
    assert result.total.exact_revenue == sum((r.exact_revenue for r in result.rows), D(0))
    assert result.total.margin == result.total.revenue - result.total.cost
    # the fixed fee of the negative-margin client: split by the hours logged each month, to the cent
    fee = [
        f
        for f in result.model.facts
        if f.kind == "revenue"
        and f.customer == "c101"
        and f.contract
        and f.month == date(2025, 12, 1)
        and "/1" in f.source
    ]
    assert sum((f.revenue for f in fee), D(0)) == D("1390")
    assert len({f.service_line for f in fee}) >= 2 and "Support" in {f.service_line for f in fee}
    assert len({r.value("month") for r in result.trend}) == 12


def test_every_hour_and_every_pound_has_a_service_line(synced: Synced) -> None:
    # time without a charge type takes its ticket's line (the ticket's charge type's)
    result = report(synced.app, HISTORY, ("service_line",))
    assert NO_LINE not in {r.value("service_line") for r in result.rows}
    assert not [i for i in result.issues if i.code == "profit.no_service_line"]
    with synced.app.engine.connect() as conn:  # entry by entry
        work = read_work(conn, HISTORY, Lines(conn, synced.app.settings))
    uncharged = [w for w in work if w.id in _uncharged(synced)]
    assert uncharged and all(w.service_line for w in uncharged)


def _uncharged(synced: Synced) -> set[str]:
    with synced.app.engine.connect() as conn:
        query = sa.select(t.time_entries.c.source_key).where(t.time_entries.c.charge_type_id.is_(None))
        return set(conn.execute(query).scalars())


def test_prepay_top_ups_are_split_like_fees(synced: Synced) -> None:
    result = report(synced.app, HISTORY, ("customer", "service_line"))
    with synced.app.engine.connect() as conn:
        kinds = {r.code: r.kind for r in conn.execute(sa.select(t.contracts.c.code, t.contracts.c.kind))}
    topups = {
        s.id: s for s in result.model.store.sales if s.fee_contract and kinds[s.fee_contract] == "prepay"
    }
    assert topups
    facts = [f for f in result.model.facts if f.kind == "revenue" and f.source in topups]
    assert sum((f.revenue for f in facts), D(0)) == sum((s.amount for s in topups.values()), D(0))
    # the work a balance covers is Support and Projects: the top-ups that pay for it follow it
    assert {f.service_line for f in facts} == {"Support", "Projects"}


def test_capacity_counts_every_agent_who_logged_time(synced: Synced) -> None:
    # an agent with no cost row still logged hours: capacity at the default productive hours
    store = dataclasses.replace(
        _store(synced),
        agent_costs=[AgentCost("a", date(2024, 1, 1), productive_hours_per_year=D("1200"))],
        work=[Work("1", "c", "a", date(2026, 3, 2), D("60")), Work("2", "c", "b", date(2026, 3, 3), D("60"))],
    )
    months = [date(2026, 3, 1), date(2026, 4, 1)]
    assert capacity_of(store, months, D("1800")) == {
        ("a", date(2026, 3, 1)): D("100"),
        ("b", date(2026, 3, 1)): D("150"),
        ("a", date(2026, 4, 1)): D("100"),
    }
    assert capacity_of(store, months) == {
        ("a", date(2026, 3, 1)): D("100"),
        ("a", date(2026, 4, 1)): D("100"),
    }


def _store(synced: Synced) -> Store:
    with synced.app.engine.connect() as conn:
        return load(conn, synced.app.settings, Period(date(2026, 3, 1), date(2026, 5, 1)))


def test_both_cost_methods_side_by_side(synced: Synced) -> None:
    view = costs.show(synced.app, on=date(2026, 11, 23))
    facts = synced.world.msp.facts
    by_name = {a.name: a for a in view.agents}
    for agent in facts["agents"]:
        shown = by_name[agent["name"]]
        assert shown.salary is not None and shown.salary.hourly == D(agent["hourly_cost"])
        assert shown.books is not None and shown.difference == shown.books - shown.salary.hourly
    rows = [r for r in synced.world.msp.xero["ProfitAndLossRows"] if r["Date"].startswith("2025-11")]
    payroll = sum((r["Amount"] for r in rows if r["AccountCode"] in ("477", "478")), D(0))
    november = view.by_month[0]
    assert november.month == date(2025, 11, 1) and november.books is not None
    assert november.books.payroll == payroll
    assert november.books.overhead == sum(
        (D(v) for v in facts["overheads"]["monthly"]["2025-11"].values()), D(0)
    )
    books = report(synced.app, HISTORY, ("customer",), method="books")
    assert books.method == "books" and not books.issues


def test_whatif_changes_revenue_and_writes_nothing(synced: Synced) -> None:
    with synced.app.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(t.invoices)).scalar_one()
    period = Period(date(2026, 8, 1), date(2026, 11, 1))
    result = whatif.what_if(synced.app, period, [whatif.parse_price("101=2500")])
    row = next(r for r in result.rows if r.customer == "c101")
    assert row.revenue_delta == (D("2500") - D("1390")) * 3 and row.cost_delta == 0
    assert all(r.revenue_delta == 0 for r in result.rows if r.customer != "c101")
    with synced.app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.invoices)).scalar_one() == before


def test_charts_are_written(synced: Synced, tmp_path: Path) -> None:
    written = write_charts(report(synced.app, HISTORY, ("customer",)), tmp_path)
    assert len(written) == 6
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
        else:
            assert ET.fromstring(data).tag.endswith("svg")


def _toml(settings: dict[str, object]) -> str:
    lines: dict[str, list[str]] = {"costs": [], "billing": []}
    for name, value in settings.items():
        section, key = name.split("_", 1)
        if isinstance(value, dict):
            text = "{ " + ", ".join(f'"{k}" = "{v}"' for k, v in value.items()) + " }"
        elif isinstance(value, list):
            text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        else:
            text = f'"{value}"'
        lines[section].append(f"{key} = {text}")
    return "".join(f"[{s}]\n" + "\n".join(body) + "\n" for s, body in lines.items())


def test_profit_json_from_the_command_line(synced: Synced, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "revloop.toml").write_text(_toml(demo_settings(synced.world.msp)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    env |= {"REVLOOP_HOME": str(home), "REVLOOP_DATABASE_URL": synced.url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "revloop",
            "profit",
            "--json",
            "--from",
            "2025-11",
            "--to",
            "2026-10",
            "--by",
            "client",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    planted = next(e for e in synced.world.msp.manifest if e["code"] == "profit.negative_margin")
    client = "c" + planted["subjects"][0].rsplit(":", 1)[-1]
    row = next(r for r in body["rows"] if r["customer"] == client)
    assert row["margin"] == planted["amount"] and body["currency"] == "GBP" and body["method"] == "salary"


def test_foreign_revenue_is_converted_at_the_rate_xero_booked(synced: Synced) -> None:
    inv = t.invoices
    with synced.app.engine.connect() as conn:
        foreign = conn.execute(
            sa.select(inv.c.id, inv.c.currency, inv.c.currency_rate)
            .where(
                inv.c.origin == "xero",
                inv.c.currency != "GBP",
                inv.c.status.in_(("AUTHORISED", "PAID")),
                inv.c.date >= date(2026, 3, 1),
                inv.c.date < date(2026, 10, 1),
            )
            .order_by(inv.c.id)
        ).first()
    assert foreign is not None and foreign.currency_rate is not None  # the sync kept Xero's rate
    settings = synced.app.settings
    assert foreign.currency_rate == D(settings.costs_fx_rates[foreign.currency])  # the demo's books
    with synced.app.engine.begin() as conn:  # Xero booked this one at another rate
        conn.execute(inv.update().where(inv.c.id == foreign.id).values(currency_rate=D("2.5")))
    try:
        with synced.app.engine.connect() as conn:
            docs = loading.pick_documents(conn, settings, HISTORY)
        doc = docs.picked[foreign.id][0]
        assert docs.fx(settings, doc) == D("2.5")  # Xero's rate, not the settings'
        others = [d for d, _m in docs.picked.values() if d.currency != "GBP" and d.id != foreign.id]
        assert others and all(docs.fx(settings, d) == D(settings.costs_fx_rates[d.currency]) for d in others)
    finally:
        with synced.app.engine.begin() as conn:
            conn.execute(
                inv.update().where(inv.c.id == foreign.id).values(currency_rate=foreign.currency_rate)
            )


def test_item_costs_come_from_halopsa_unless_the_settings_name_one(synced: Synced) -> None:
    settings = synced.app.settings.model_copy(update={"costs_item_unit_costs": {"BACKUP": D("11.50")}})
    with synced.app.engine.connect() as conn:
        found = loading.unit_costs(conn, settings)
    # HaloPSA's cost prices, as synced; the settings' price over it; labour and mileage not at all
    # (their cost is the agents' and the mileage's own)
    assert found == {"M365-BP": D("15.80"), "HOSTING": D("55.00"), "MONITOR": D("2.10"), "BACKUP": D("11.50")}
    with synced.app.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(t.items.c.code, t.items.c.unit_cost)).all())
    assert stored["MILEAGE"] == D("0.45") and stored["BACKUP"] == D("12.00") and stored["LAB-REMOTE"] is None

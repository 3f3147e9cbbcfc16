"""``revloop costs``: agents' costs in (set, CSV import), Xero's Profit and Loss in, both methods shown.

CSV columns (a header row is required; ``agent`` and ``from`` always, ``salary`` or ``hourly_cost``):

    agent,from,salary,oncost_percent,productive_hours,hourly_cost,currency

``agent`` is the HaloPSA agent id or the agent's name; ``from`` the date the cost applies from
(YYYY-MM-DD); the others default to the ``[costs]`` settings (currency: the base currency).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from revloop.adapters.db import audit, repository
from revloop.adapters.db import tables as t
from revloop.adapters.xero import wire
from revloop.adapters.xero.client import XeroClient
from revloop.bootstrap import App
from revloop.config import Settings
from revloop.domain.costing import (
    BooksMonth,
    CostInputError,
    LoadedRate,
    RateTimeline,
    blended_books_rate,
    books_rates,
    check_rows,
    loaded_rates,
    month_of,
)
from revloop.domain.issues import ConnectorError, Issue, NotFound
from revloop.domain.money import q4, to_decimal
from revloop.domain.periods import Period, add_months
from revloop.domain.profitability import SIXTY
from revloop.exactjson import read_decimal
from revloop.services.profit.loading import read_agent_costs, read_pnl
from revloop.services.profit.report import policy
from revloop.services.profit.totals import AgentHours, agent_hours, missing_cost_issue

ZERO = Decimal(0)
COLUMNS = ("agent", "from", "salary", "oncost_percent", "productive_hours", "hourly_cost", "currency")
MAX_COLUMNS = 12  # Xero's report: the range asked for and at most 11 earlier ones


# --- agents' costs in ----------------------------------------------------------------------------


def find_agent(conn: Connection, text: str) -> Any:
    """An agent by HaloPSA id or by name (case does not matter)."""
    rows = list(conn.execute(sa.select(t.agents)))
    found = [r for r in rows if r.halopsa_id == text.strip()]
    if not found:
        found = [r for r in rows if r.name.strip().lower() == text.strip().lower()]
    if not found:
        raise NotFound(
            f"no agent {text!r}",
            hint="give the HaloPSA agent id or the name as `revloop costs show` lists it; "
            "sync HaloPSA first if the agent is new",
        )
    if len(found) > 1:
        raise CostInputError(
            f"{len(found)} agents are called {text!r}", hint="give the HaloPSA agent id instead"
        )
    return found[0]


@dataclass(frozen=True)
class CostInput:
    agent: str
    effective_from: date
    salary: Decimal | None = None
    oncost_percent: Decimal | None = None
    productive_hours: Decimal | None = None
    hourly_cost: Decimal | None = None
    currency: str | None = None


def _row(conn: Connection, settings: Settings, given: CostInput, where: str) -> dict[str, Any]:
    agent = find_agent(conn, given.agent)
    if given.salary is None and given.hourly_cost is None:
        raise CostInputError(f"{where}: no salary and no hourly cost", hint="give --salary or --hourly-cost")
    for name in ("salary", "oncost_percent", "productive_hours", "hourly_cost"):
        value = getattr(given, name)
        if value is not None and value < 0:
            raise CostInputError(f"{where}: {name} is negative ({value})")
    hours = (
        given.productive_hours
        if given.productive_hours is not None
        else settings.costs_productive_hours_per_year
    )
    if hours <= 0:
        raise CostInputError(f"{where}: productive hours must be more than 0")
    return {
        "agent_id": agent.id,
        "effective_from": given.effective_from,
        "currency": (given.currency or settings.currency).upper(),
        "annual_salary": given.salary if given.salary is not None else ZERO,
        "oncost_percent": given.oncost_percent
        if given.oncost_percent is not None
        else settings.costs_default_oncost_percent,
        "productive_hours_per_year": hours,
        "hourly_cost": given.hourly_cost,
    }


def set_costs(
    app: App, inputs: Sequence[CostInput], *, now: datetime, actor: str = "cli", where: str = ""
) -> int:
    """Store agents' costs (one row per agent and date; the same date again replaces it)."""
    with app.engine.begin() as conn:
        rows = [_row(conn, app.settings, given, where or f"agent {given.agent}") for given in inputs]
        for row, given in zip(rows, inputs, strict=True):
            if row["currency"] != app.settings.currency:
                raise CostInputError(
                    f"agent {given.agent}: costs are kept in the base currency {app.settings.currency}, "
                    f"not {row['currency']}"
                )
        repository.upsert(conn, t.agent_costs, rows, key=("agent_id", "effective_from"))
        for row in rows:
            audit.record(
                conn,
                at=now,
                actor=actor,
                action="costs.set",
                entity="agent",
                entity_id=str(row["agent_id"]),
                details={k: str(v) for k, v in row.items() if k != "agent_id"},
            )
    return len(rows)


def _number(text: str | None, where: str, column: str) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        return to_decimal(text.replace(",", "").strip())
    except ValueError:
        raise CostInputError(f"{where}: {column} {text!r} is not a number") from None


def read_csv(path: Path) -> list[CostInput]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CostInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    unknown = sorted(set(header) - set(COLUMNS))
    if "agent" not in header or "from" not in header or unknown:
        raise CostInputError(
            f"{path}: the header must name agent and from"
            + (f"; unknown columns {', '.join(unknown)}" if unknown else ""),
            hint="columns: " + ",".join(COLUMNS),
        )
    out = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        where = f"{path.name} line {n}"
        if not any(row.values()):
            continue
        try:
            start = date.fromisoformat(row["from"])
        except ValueError:
            raise CostInputError(f"{where}: from {row['from']!r} is not a date (YYYY-MM-DD)") from None
        out.append(
            CostInput(
                agent=row["agent"],
                effective_from=start,
                salary=_number(row.get("salary"), where, "salary"),
                oncost_percent=_number(row.get("oncost_percent"), where, "oncost_percent"),
                productive_hours=_number(row.get("productive_hours"), where, "productive_hours"),
                hourly_cost=_number(row.get("hourly_cost"), where, "hourly_cost"),
                currency=row.get("currency") or None,
            )
        )
    return out


def import_csv(app: App, path: Path, *, now: datetime, actor: str = "cli") -> int:
    inputs = read_csv(path)
    with app.engine.connect() as conn:
        for n, given in enumerate(inputs, start=2):
            _row(conn, app.settings, given, f"{path.name} line {n}")  # every row checked before any is kept
    return set_costs(app, inputs, now=now, actor=actor)


# --- both methods side by side ----------------------------------------------------------------


@dataclass(frozen=True)
class AgentView:
    agent: str
    name: str
    salary: LoadedRate | None  # the salary method, in force on the day shown
    books: Decimal | None  # the books' blended rate over the months shown

    @property
    def difference(self) -> Decimal | None:
        if self.salary is None or self.books is None:
            return None
        return self.books - self.salary.hourly


@dataclass(frozen=True)
class MonthView:
    month: date
    books: BooksMonth | None
    hours: Decimal
    salary_rate: Decimal | None  # Σ entry cost by the salary method / hours logged

    @property
    def difference(self) -> Decimal | None:
        if self.books is None or self.books.rate is None or self.salary_rate is None:
            return None
        return self.books.rate - self.salary_rate


@dataclass(frozen=True)
class CostsView:
    on: date
    months: list[date]
    agents: list[AgentView]
    by_month: list[MonthView]
    books: Decimal | None
    issues: list[Issue]


def show(app: App, *, on: date, months: int = 12) -> CostsView:
    """Each agent's loaded cost on ``on`` by the salary method, the books' rate over the ``months``
    months before ``on``'s month, and the two per month. The time entries are summed in SQL per agent
    and stretch of days of one cost (``totals.agent_hours``): the figures are the entries' own."""
    end = month_of(on)
    period = Period(add_months(end, -months), end)
    settings = app.settings
    with app.engine.connect() as conn:
        rows, names = read_agent_costs(conn)
        work = agent_hours(conn, period)
        pnl = read_pnl(conn)
    timeline = loaded_rates(rows, policy(settings))
    minutes: dict[date, Decimal] = {}
    for w in work:
        minutes[month_of(w.day)] = minutes.get(month_of(w.day), ZERO) + w.minutes
    hours = {m: total / SIXTY for m, total in minutes.items()}
    wanted = [add_months(period.start, n) for n in range(months)]
    books, issues = books_rates(
        pnl, hours, settings.costs_payroll_accounts, settings.costs_overhead_accounts, wanted
    )
    issues = check_rows(rows) + issues + _uncosted(work, timeline)
    cost_by_month: dict[date, Decimal] = {}
    for w in work:
        rate = timeline.rate_on(w.agent, w.day)
        if rate is not None:
            cost_by_month[month_of(w.day)] = cost_by_month.get(month_of(w.day), ZERO) + rate.hourly * w.hours
    by_month = [
        MonthView(
            m,
            books.get(m),
            hours.get(m, ZERO),
            q4(cost_by_month.get(m, ZERO) / hours[m]) if hours.get(m) else None,
        )
        for m in wanted
    ]
    blended = blended_books_rate(books.values())
    agent_ids = sorted({r.agent for r in rows}, key=lambda a: names.get(a, a))
    agents = [AgentView(a, names.get(a, a), timeline.rate_on(a, on), blended) for a in agent_ids]
    return CostsView(on, wanted, agents, by_month, blended, issues)


def _uncosted(work: Sequence[AgentHours], timeline: RateTimeline) -> list[Issue]:
    """``costs.agent_missing`` for each agent with entries on days without a cost."""
    per_agent: dict[str, list[AgentHours]] = {}
    for w in work:
        if timeline.rate_on(w.agent, w.day) is None:
            per_agent.setdefault(w.agent, []).append(w)
    return [
        missing_cost_issue(
            agent,
            sum(w.entries for w in found),
            sum((w.hours for w in found), ZERO),
            min(w.first for w in found),
        )
        for agent, found in sorted(per_agent.items())
    ]


# --- Xero's Profit and Loss in -----------------------------------------------------------------


@dataclass(frozen=True)
class PnlResult:
    months: list[date]
    rows: int


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def parse_report(
    report: wire.Report, columns: Sequence[date], accounts: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Rows of a P&L report: one per (month column, section, account). ``accounts``: AccountID → code.
    Amounts are read exactly (never through a float); an unreadable figure is a ``ConnectorError``."""
    out = []
    for section in report.Rows:
        if section.RowType != "Section" or not section.Title:
            continue
        for row in section.Rows:
            if row.RowType != "Row" or not row.Cells:
                continue
            name = (row.Cells[0].Value or "").strip()
            account_id = next(
                (a.Value for c in row.Cells for a in c.Attributes if a.Id == "account" and a.Value), None
            )
            code = accounts.get((account_id or "").lower(), "")
            values = row.Cells[1:]
            if len(values) != len(columns):
                raise ConnectorError(
                    f"Xero's Profit and Loss has {len(values)} columns for {name!r}; "
                    f"{len(columns)} were asked for"
                )
            for month, cell in zip(columns, values, strict=True):
                try:
                    amount = read_decimal(cell.Value)
                except ValueError:
                    raise ConnectorError(
                        f"Xero's Profit and Loss shows {cell.Value!r} for {name} in {month:%Y-%m}, "
                        "which is not a number"
                    ) from None
                if amount is None:
                    continue
                out.append(
                    {
                        "month": month,
                        "section": section.Title[:64],
                        "account_code": code[:32],
                        "account_name": name[:255],
                        "amount": amount,
                    }
                )
    return out


def chunks(months: Sequence[date]) -> Iterable[list[date]]:
    """Consecutive months in runs of at most 12, each newest first (one report each)."""
    ordered = sorted(months)
    for start in range(0, len(ordered), MAX_COLUMNS):
        yield list(reversed(ordered[start : start + MAX_COLUMNS]))


def sync_pnl(
    engine: Engine,
    client: XeroClient,
    tenant_id: str | None,
    months: Sequence[date],
    *,
    currency: str,
    now: datetime,
) -> PnlResult:
    """Read the P&L of ``months`` (monthly columns) and replace what the store held for them."""
    got = client.accounts(tenant_id)
    accounts = {(a.AccountID or "").lower(): a.Code or "" for a in got.records if a.AccountID}
    rows: list[dict[str, Any]] = []
    for columns in chunks(months):
        newest = columns[0]
        report = client.profit_and_loss(
            tenant_id, newest, _month_end(newest), periods=len(columns) - 1, timeframe="MONTH"
        )
        rows += parse_report(report, columns, accounts)
    merged: dict[tuple[date, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["month"], row["section"], row["account_name"])
        if key in merged:
            merged[key]["amount"] += row["amount"]
        else:
            merged[key] = {**row, "currency": currency, "fetched_at": now}
    with engine.begin() as conn:
        conn.execute(sa.delete(t.pnl_lines).where(t.pnl_lines.c.month.in_(list(months))))
        repository.upsert(conn, t.pnl_lines, list(merged.values()), key=("month", "section", "account_name"))
        audit.record(
            conn,
            at=now,
            actor="revloop",
            action="costs.pnl",
            entity="pnl",
            entity_id=f"{min(months):%Y-%m}..{max(months):%Y-%m}",
            details={"rows": len(merged)},
        )
    return PnlResult(sorted(months), len(merged))

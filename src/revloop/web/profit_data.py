"""The profit service's model for the dashboard, built fast enough for a page.

``revloop.services.profit.report.build`` is the CLI's computation; here it runs with the time
entries summed in SQL instead of read one by one: entries of the same client, agent, contract,
service line and stretch of days (a month, cut again wherever an agent's cost changes) cost the
same per hour, so their sum costs exactly what the entries cost one by one.

A model is kept for later requests only together with a fingerprint of everything it was read from
(row counts, newest ids, the small tables' contents, the sync watermarks); every request reads the
fingerprint again, so a change in the store is never answered from an older model.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import round2
from revloop.domain.periods import Period
from revloop.domain.profitability import Work
from revloop.services.profit.loading import months_of
from revloop.services.profit.report import Model, build
from revloop.services.store_state import fingerprint

ZERO = Decimal(0)
KEEP = 8  # models (and chart sets) kept per dashboard


def service_line_of() -> Any:
    """The entry's service line as the profit model takes it: its own, else its ticket's, else its
    charge type's (an empty text counts as none)."""
    te, tk, ct = t.time_entries, t.tickets, t.charge_types
    return sa.func.coalesce(
        sa.func.nullif(te.c.service_line, ""),
        sa.func.nullif(tk.c.service_line, ""),
        sa.func.nullif(ct.c.service_line, ""),
    )


def work_from() -> Any:
    te = t.time_entries
    return te.outerjoin(t.tickets, t.tickets.c.id == te.c.ticket_id).outerjoin(
        t.charge_types, t.charge_types.c.id == te.c.charge_type_id
    )


def _quantity(stored: int | None) -> Decimal:
    """A sum of ``Qty4`` values as stored (1/10,000) as the Decimal the column type would give."""
    return Decimal(stored or 0).scaleb(-4)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass
class WorkTotals:
    """A ``work_reader`` for ``build``: sums the period's entries in SQL. ``counts`` keeps, per
    summed ``Work``, how many entries it holds and the first day, for the issues."""

    counts: dict[str, tuple[int, Any]] = field(default_factory=dict)  # entries, first day
    by_item: dict[str, str] = field(default_factory=dict)  # item code -> service line (the model's)

    def __call__(self, conn: Connection, period: Period, lines: Any = None) -> list[Work]:
        te = t.time_entries
        self.by_item = dict(getattr(lines, "by_item", {}))
        mileage_line = getattr(lines, "mileage", None)
        cuts = {m for m in months_of(period)}
        for (day,) in conn.execute(sa.select(t.agent_costs.c.effective_from).distinct()):
            if period.start < day < period.end:
                cuts.add(day)
        starts = sorted(cuts)
        bucket = sa.case(
            *[(te.c.work_date >= day, n) for n, day in reversed(list(enumerate(starts)))], else_=0
        )
        line = service_line_of()
        item = sa.case((line.is_(None), t.charge_types.c.item_code), else_=None)
        query = (
            sa.select(
                te.c.customer_id,
                te.c.agent_id,
                te.c.contract_id,
                line.label("line"),
                item.label("item"),
                bucket.label("bucket"),
                # sums of the stored integers (1/10,000), made Decimals below without per-row types
                sa.type_coerce(sa.func.sum(te.c.minutes), sa.BigInteger).label("minutes"),
                sa.type_coerce(sa.func.sum(te.c.travel_minutes), sa.BigInteger).label("travel"),
                sa.type_coerce(sa.func.sum(te.c.mileage), sa.BigInteger).label("mileage"),
                sa.func.count().label("n"),
                sa.type_coerce(sa.func.min(te.c.work_date), sa.String).label("first"),
            )
            .select_from(work_from())
            .where(te.c.work_date >= period.start, te.c.work_date < period.end)
            .group_by(te.c.customer_id, te.c.agent_id, te.c.contract_id, line, item, bucket)
        )
        customers = {r.id: r.code for r in conn.execute(sa.select(t.customers.c.id, t.customers.c.code))}
        contracts = {r.id: r.code for r in conn.execute(sa.select(t.contracts.c.id, t.contracts.c.code))}
        out = []
        for n, r in enumerate(conn.execute(query)):
            key = f"sum:{n}"
            self.counts[key] = (int(r.n), r.first)
            out.append(
                Work(
                    id=key,
                    customer=customers.get(r.customer_id, ""),
                    agent="" if r.agent_id is None else str(r.agent_id),
                    day=starts[int(r.bucket)],
                    minutes=_quantity(r.minutes),
                    travel_minutes=_quantity(r.travel),
                    mileage=_quantity(r.mileage),
                    service_line=r.line or self.by_item.get(r.item or ""),
                    contract=contracts.get(r.contract_id),
                    mileage_service_line=mileage_line,
                )
            )
        return out

    def recount(self, model: Model) -> None:
        """Issues that count entries (``costs.agent_missing``, time without a service line) counted
        the summed groups: they are written again from the entries' own count and first day."""
        bare = [w for w in model.store.work if not w.service_line]
        for n, issue in enumerate(model.issues):
            if issue.subject == "revloop:work:no-service-line" and bare:
                entries = sum(self.counts[w.id][0] for w in bare)
                groups = f"{len(bare)} time entries ("
                if issue.message.startswith(groups):
                    model.issues[n] = replace(
                        issue, message=f"{entries} time entries (" + issue.message.removeprefix(groups)
                    )
        missing = {i.subject.rsplit(":", 1)[-1] for i in model.issues if i.code == "costs.agent_missing"}
        if not missing:
            return
        per_agent: dict[str, list[Work]] = {}
        for w in model.store.work:
            if (w.agent or "?") in missing and model.timeline.rate_on(w.agent, w.day) is None:
                per_agent.setdefault(w.agent, []).append(w)
        issues = [i for i in model.issues if i.code != "costs.agent_missing"]
        for agent, works in sorted(per_agent.items()):
            entries = sum(self.counts[w.id][0] for w in works)
            hours = sum((w.hours for w in works), ZERO)
            first = min(_day(self.counts[w.id][1]) for w in works)
            issues.append(
                Issue(
                    "costs.agent_missing",
                    Severity.ERROR,
                    f"revloop:agent:{agent or '?'}",
                    f"agent {agent or '(none)'} has no cost for {entries} time entries "
                    f"({round2(hours)} hours, the first on {first}); their cost is left out",
                    action=f"`revloop costs set {agent or 'AGENT'} --salary ... --from {first}` "
                    "(or --hourly-cost), or name the P&L accounts for the books method",
                    amount=str(round2(hours)),
                )
            )
        model.issues = issues


@dataclass
class Computed:
    model: Model
    by_item: dict[str, str]  # item code -> service line, as the model took it


def compute(app: App, period: Period, method: str | None) -> Computed:
    """The profit service's model of ``period`` (``method``: salary, books, or the setting)."""
    reader = WorkTotals()
    with app.engine.connect() as conn:
        model = build(conn, app.settings, period, method, work_reader=reader)
    reader.recount(model)
    return Computed(model, reader.by_item)


# -- the models kept -----------------------------------------------------------------------------


class ProfitModels:
    """The models of the last few (period, method)s asked for, each with its fingerprint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, date, date, str], Computed] = OrderedDict()
        self._charts: OrderedDict[tuple[Any, ...], dict[str, bytes]] = OrderedDict()
        self._derived: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def model(self, app: App, period: Period, method: str | None) -> tuple[Computed, str]:
        """The model and the fingerprint of the store it was read from (read now)."""
        with app.engine.connect() as conn:
            print_ = fingerprint(conn)
        key = (print_, period.start, period.end, method or app.settings.costs_method)
        with self._lock:  # one computation at a time: a second request waits and reuses it
            found = self._models.get(key)
            if found is None:
                found = compute(app, period, method)
                self._models[key] = found
                while len(self._models) > KEEP:
                    self._models.popitem(last=False)
            else:
                self._models.move_to_end(key)
            return found, print_

    def derived(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """What ``make`` computes from a model, kept under ``key`` (which starts with the store's
        fingerprint, so it is never answered for another state of the store)."""
        with self._lock:
            if key in self._derived:
                self._derived.move_to_end(key)
                return self._derived[key]
        value = make()
        with self._lock:
            self._derived[key] = value
            while len(self._derived) > KEEP * 8:
                self._derived.popitem(last=False)
        return value

    def charts(self, key: tuple[Any, ...], draw: Callable[[Path], dict[str, Path]]) -> dict[str, bytes]:
        """SVG charts by name, drawn into a temporary folder once per ``key`` (which starts with the
        store's fingerprint)."""
        with self._lock:  # matplotlib draws one figure at a time
            found = self._charts.get(key)
            if found is None:
                with tempfile.TemporaryDirectory(prefix="revloop-charts-") as folder:
                    paths = draw(Path(folder))
                    found = {name: path.read_bytes() for name, path in paths.items()}
                self._charts[key] = found
                while len(self._charts) > KEEP:
                    self._charts.popitem(last=False)
            return found


def models_of(state: Any) -> ProfitModels:
    """The dashboard's kept models (on the FastAPI app's state)."""
    found = getattr(state, "profit_models", None)
    if found is None:
        found = ProfitModels()
        state.profit_models = found
    return found


__all__ = ["ProfitModels", "WorkTotals", "compute", "fingerprint", "models_of", "service_line_of"]

"""``balance``: does a customer's contract still cover new work, and for how long?

The balances are the rating engine's: every month from the first the store holds up to the
present one is rated over all its work (as reconciliation does), so a prepaid balance or an
allowance is what a billing run would draw today. The result is a plain dict, for the CLI and
any other face.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.issues import NotFound
from revloop.domain.money import q4, round2
from revloop.domain.periods import Period
from revloop.domain.rating.recurring import charge_period_containing
from revloop.domain.reconciliation import figure, month_of
from revloop.services.reconcile.run import local_today
from revloop.services.reconcile.store import first_month, load
from revloop.services.reconcile.work import rate_months

PAYG = "not covered: pay-as-you-go"


def _figure(value: Decimal | None, unit: str) -> str | None:
    if value is None:
        return None
    return str(round2(value)) if unit == "money" else figure(q4(value))  # hours: 35.25, not 35.2500


def _find_customer(conn: sa.Connection, customer: str) -> Any:
    wanted = customer.strip()
    by_code = list(conn.execute(sa.select(t.customers).where(t.customers.c.code.in_((wanted, f"c{wanted}")))))
    for value in (wanted, f"c{wanted}"):  # a code read alone; the names need every customer
        found = [r for r in by_code if r.code == value]
        if len(found) == 1:
            return found[0]
    rows = list(conn.execute(sa.select(t.customers)))
    for key, value in (("code", wanted), ("code", f"c{wanted}"), ("name", wanted.lower())):
        found = [r for r in rows if (r.code if key == "code" else r.name.lower()) == value]
        if len(found) == 1:
            return found[0]
    raise NotFound(f"no customer {customer!r}", hint="give its code (e.g. c103), HaloPSA id or exact name")


def balance(app: App, customer: str, *, now: datetime) -> dict[str, Any]:
    """The customer's contracts in force today and whether each covers new work."""
    settings = app.settings
    today = local_today(now, settings.timezone)
    current = month_of(today)
    with app.engine.connect() as conn:
        row = _find_customer(conn, customer)
        snapshot = load(conn, settings, documents=False, customer_id=row.id)  # its contracts are enough
        mine = {
            code: r
            for code, r in snapshot.contract_rows.items()
            if r.customer_id == row.id and r.start <= today and (r.end is None or today < r.end)
        }
        first = first_month(conn)
        months: list[Period] = []
        if first is not None and any(r.kind in ("prepay", "allowance") for r in mine.values()):
            period = month_of(min(first, current.start))
            while period.start <= current.start:
                months.append(period)
                period = month_of(period.end)
        rated = rate_months(conn, settings, snapshot, months, customer=(row.id, row.code))
    closing = rated.closing.get(current, {})
    contracts: list[dict[str, Any]] = []
    for code, r in sorted(mine.items()):
        last_day = r.end - timedelta(days=1) if r.end else None
        entry: dict[str, Any] = {
            "contract": code,
            "subject": snapshot.contracts[code].subject,
            "kind": r.kind,
            "start": r.start.isoformat(),
            "expires": last_day.isoformat() if last_day else None,
            "period": None,
            "unit": None,
            "included": None,
            "left": None,
            "threshold": None,
            "covers": r.covers,
        }
        until = last_day
        if r.kind == "fixed_price":
            status = f"covered until {last_day}" if last_day else "covered"
        elif r.kind == "allowance":
            cp = charge_period_containing(today, r.billing)
            left = closing.get(code, r.hours_per_period or Decimal(0))
            entry.update(
                period={"start": cp.start.isoformat(), "end": cp.last_day.isoformat()},
                unit="hours",
                included=_figure(r.hours_per_period, "hours"),
                left=_figure(left, "hours"),
            )
            until = min(d for d in (cp.last_day, last_day) if d is not None)
            status = f"covered until {until} ({figure(q4(left))} h left)" if left > 0 else PAYG
        elif r.kind == "prepay":
            unit = r.unit or "hours"
            left = closing.get(code, Decimal(0))
            entry.update(
                unit=unit,
                left=_figure(left, unit),
                threshold=_figure(r.threshold, unit),
                on_exhausted=r.on_exhausted,
            )
            shown = f"{round2(left)} {row.currency}" if unit == "money" else f"{figure(q4(left))} h"
            if left > 0:
                low = r.threshold is not None and left < r.threshold
                status = f"covered ({shown} left{', below its threshold' if low else ''})"
            elif r.on_exhausted == "negative":
                status = f"covered, drawing a negative balance ({shown})"
            else:
                status = PAYG
        else:
            status = PAYG
        entry["status"] = status
        entry["covered_until"] = until.isoformat() if until and status != PAYG else None
        contracts.append(entry)
    covering = [c for c in contracts if c["status"] != PAYG]
    if not covering:
        overall = PAYG
    elif any(c["covered_until"] is None for c in covering):
        overall = "covered"
    else:
        overall = f"covered until {max(c['covered_until'] for c in covering)}"
    return {
        "customer": row.code,
        "name": row.name,
        "currency": row.currency,
        "today": today.isoformat(),
        "status": overall,
        "covered": bool(covering),
        "contracts": contracts,
    }

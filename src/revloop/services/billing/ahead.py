"""Periodic invoices ahead of their due date.

With ``[billing] invoice_days_ahead = N`` (0 = off), the charges billed in advance — contract fees and
recurring charges — of the next period are drafted on their own invoice, key ``<invoice key>:periodic``,
as soon as that period starts within N days, and fall due on the period's first day. The period's
usual invoice, made after the period ends, then leaves those lines out, so nothing is billed twice.
Drafts are approved and posted like any other (`revloop approve`, `revloop post`); ``revloop watch``
runs this every day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from revloop.adapters.db import audit
from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.engine import rate
from revloop.domain.invoicing import DraftInvoice, split_lines
from revloop.domain.periods import Period
from revloop.services.billing.resolve import load_book

PERIODIC_KINDS = frozenset({"fee", "recurring"})
SUFFIX = ":periodic"


def periodic_key(key: str) -> str:
    return f"{key}{SUFFIX}"


def is_periodic(key: str) -> bool:
    return key.endswith(SUFFIX)


def due_period(today: date, days_ahead: int) -> Period | None:
    """The period whose periodic invoice is due to be made today: the next month, once its first day
    is at most ``days_ahead`` days away (never when the setting is 0)."""
    if days_ahead <= 0:
        return None
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if (following - today).days > days_ahead:
        return None
    return Period.month(following.year, following.month)


def without_periodic(conn: Connection, drafts: tuple[DraftInvoice, ...]) -> tuple[DraftInvoice, ...]:
    """A period's drafts less the lines its periodic invoices (made ahead) already bill."""
    keys = [periodic_key(d.key) for d in drafts]
    made: set[str] = set()
    for start in range(0, len(keys), 500):
        made.update(
            k
            for (k,) in conn.execute(
                sa.select(t.invoices.c.key).where(
                    t.invoices.c.origin == "revloop", t.invoices.c.key.in_(keys[start : start + 500])
                )
            )
        )
    out = []
    for draft in drafts:
        if periodic_key(draft.key) not in made:
            out.append(draft)
            continue
        _, rest = split_lines(draft, PERIODIC_KINDS, periodic_key(draft.key))
        if rest is not None:
            out.append(rest)
    return tuple(out)


@dataclass
class AheadResult:
    period: Period | None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)  # approved or posted already: left alone

    def summary(self) -> str:
        if self.period is None:
            return "no periodic invoices due"
        return (
            f"periodic invoices for {self.period.label()}: {len(self.created)} new, "
            f"{len(self.updated)} changed, {len(self.unchanged) + len(self.locked)} as they were"
        )


def bill_ahead(
    app: App, *, now: datetime, period: Period | None = None, actor: str = "revloop"
) -> AheadResult:
    """Draft the periodic invoices of the period now due (or of ``period`` when given)."""
    from revloop.services.billing.run import _fingerprint, _stored_fingerprint, _write_lines, invoice_values

    today = now.astimezone(ZoneInfo(app.settings.timezone)).date()
    target = period or due_period(today, app.settings.billing_invoice_days_ahead)
    result = AheadResult(target)
    if target is None:
        return result
    with app.engine.connect() as conn:
        resolved = load_book(conn, app.settings, target, None)
    rating = rate(resolved.book, target)
    drafts = []
    for draft in rating.invoices:
        periodic, _ = split_lines(draft, PERIODIC_KINDS, periodic_key(draft.key))
        if periodic is not None:
            currency = resolved.currencies.get(draft.customer)
            if currency and currency != periodic.currency:
                from dataclasses import replace

                periodic = replace(periodic, currency=currency)
            drafts.append(periodic)
    with app.engine.begin() as conn:
        customers = {c: i for c, i in conn.execute(sa.select(t.customers.c.code, t.customers.c.id))}
        contracts = {c: i for c, i in conn.execute(sa.select(t.contracts.c.code, t.contracts.c.id))}
        for draft in drafts:
            row = conn.execute(sa.select(t.invoices).where(t.invoices.c.key == draft.key)).one_or_none()
            values = invoice_values(draft, draft.key, target, customers, contracts)
            if row is None:
                invoice_id = conn.execute(
                    t.invoices.insert()
                    .values(status="draft", created_at=now, **values)
                    .returning(t.invoices.c.id)
                ).scalar_one()
                _write_lines(conn, invoice_id, draft, contracts)
                result.created.append(draft.key)
            elif row.status != "draft":
                result.locked.append(draft.key)
            elif _stored_fingerprint(conn, row.id, row) == _fingerprint(draft):
                result.unchanged.append(draft.key)
            else:
                conn.execute(t.invoice_lines.delete().where(t.invoice_lines.c.invoice_id == row.id))
                conn.execute(t.invoices.update().where(t.invoices.c.id == row.id).values(**values))
                _write_lines(conn, row.id, draft, contracts)
                result.updated.append(draft.key)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="bill.ahead",
            entity="period",
            entity_id=target.start.isoformat(),
            details={"created": len(result.created), "updated": len(result.updated)},
        )
    return result

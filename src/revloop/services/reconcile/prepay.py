"""``prepay.below_threshold`` and ``prepay.negative``: prepaid balances at the end of a month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from revloop.config import Settings
from revloop.domain.findings import Finding
from revloop.domain.periods import Period
from revloop.domain.reconciliation import PrepayState, crossing, prepay_findings
from revloop.services.reconcile.store import Snapshot
from revloop.services.reconcile.work import RatedMonths, prepay_draws, purchased_before


def states(
    conn: Connection, settings: Settings, snapshot: Snapshot, months: RatedMonths, period: Period
) -> list[PrepayState]:
    """Each prepay contract's balance at the end of ``period``; for a balance below its threshold
    or below zero, the entry whose draw crossed it."""
    closing = months.closing.get(period, {})
    low: list[tuple[str, Any]] = []
    for code, row in sorted(snapshot.contract_rows.items()):
        if row.kind != "prepay" or code not in closing:
            continue
        balance = closing[code]
        threshold = row.threshold
        if balance < 0 or (threshold is not None and balance < threshold):
            low.append((code, row))
    if not low:
        return []
    moves = prepay_draws(conn, settings, snapshot, months, period, [code for code, _ in low])
    out: list[PrepayState] = []
    for code, row in low:
        opening = months.opening.get(period, {}).get(code)
        if opening is None:
            opening = purchased_before(conn, snapshot, code, period.start)
        terms = snapshot.contracts[code]
        threshold = row.threshold
        mine = moves.get(code, [])
        out.append(
            PrepayState(
                terms.subject,
                terms.customer,
                row.unit or "hours",
                period,
                closing[code],
                threshold,
                terms.currency,
                crossing(opening, mine, threshold) if threshold is not None else None,
                crossing(opening, mine, Decimal(0)),
            )
        )
    return out


def check(
    conn: Connection, settings: Settings, snapshot: Snapshot, months: RatedMonths, period: Period
) -> list[Finding]:
    return prepay_findings(states(conn, settings, snapshot, months, period))

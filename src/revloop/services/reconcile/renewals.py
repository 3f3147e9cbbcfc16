"""``renewal.no_quote``: contracts ending soon with no renewal quote on either side."""

from __future__ import annotations

from datetime import date

from revloop.domain.findings import Finding
from revloop.domain.reconciliation import renewal_findings
from revloop.services.reconcile.store import Snapshot


def check(snapshot: Snapshot, today: date, window_days: int) -> list[Finding]:
    return renewal_findings(list(snapshot.contracts.values()), snapshot.quotes, today, window_days)

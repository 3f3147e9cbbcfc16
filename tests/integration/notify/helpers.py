from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from revloop.adapters.db import repository
from revloop.bootstrap import App
from revloop.config import load_settings
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # 09:30 in Europe/London


def make_app(engine: Engine, **settings: Any) -> App:
    url = engine.url.render_as_string(hide_password=False)
    return App(load_settings(database_url=url, **settings), _engine=engine)


def finding(
    code: str, subject: str, severity: Severity = Severity.WARNING, amount: str | None = None
) -> Finding:
    return Finding(
        code,
        severity,
        (subject,),
        f"{code} on {subject}",
        action="look at it",
        amount=Decimal(amount) if amount else None,
        currency="GBP" if amount else None,
    )


def add_findings(engine: Engine, *found: Finding, at: datetime = T0 - timedelta(minutes=5)) -> None:
    with engine.begin() as conn:
        repository.record_findings(conn, list(found), at=at)


__all__ = ["T0", "add_findings", "finding", "make_app"]

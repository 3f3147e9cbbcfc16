"""``revloop findings``: what needs a person's attention, and its lifecycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db import repository
from revloop.adapters.db import tables as t
from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.domain.issues import InputError, IssueState

app = typer.Typer(help="List findings and issues; acknowledge or resolve them.", invoke_without_command=True)
out = Console()


@app.callback()
def list_findings(
    ctx: typer.Context,
    state: Annotated[str, typer.Option("--state", help="open, acknowledged, resolved or all.")] = "open",
    code: Annotated[str | None, typer.Option("--code", help="Only this code, e.g. time.unbilled.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List findings (open ones by default)."""
    if ctx.invoked_subcommand is not None:
        return
    if state not in ("open", "acknowledged", "resolved", "all"):
        raise InputError(f"unknown state {state!r}", hint="open, acknowledged, resolved or all")
    application = build()
    try:
        require_current(application.engine)
        query = sa.select(t.findings).order_by(t.findings.c.severity, t.findings.c.code, t.findings.c.id)
        if state != "all":
            query = query.where(t.findings.c.state == state)
        if code:
            query = query.where(t.findings.c.code == code)
        with application.engine.connect() as conn:
            rows = list(conn.execute(query))
    finally:
        application.close()
    if as_json:
        print(
            json.dumps(
                {
                    "findings": [
                        {
                            "id": r.id,
                            "code": r.code,
                            "severity": r.severity,
                            "subjects": r.subjects,
                            "amount": None if r.amount is None else f"{r.amount:.2f}",
                            "message": r.message,
                            "action": r.action,
                            "state": r.state,
                        }
                        for r in rows
                    ]
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"{len(rows)} {state if state != 'all' else ''} findings")
    for column in ("id", "severity", "code", "subjects", "amount", "message", "what to do"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            r.severity,
            r.code,
            "\n".join(r.subjects),
            "" if r.amount is None else f"{r.amount:,.2f} {r.currency or ''}",
            r.message,
            r.action,
        )
    out.print(table)


def _change(finding_id: int, state: IssueState, reason: str, by: str) -> None:
    application = build()
    try:
        require_current(application.engine)
        with application.engine.begin() as conn:
            repository.change_finding_state(
                conn, finding_id, state, reason=reason, by=by, at=datetime.now(UTC)
            )
    finally:
        application.close()
    out.print(f"Finding {finding_id} {state.value}.")


@app.command("ack")
def acknowledge(
    finding_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with your name).")],
    by: Annotated[str, typer.Option("--by")] = "cli",
) -> None:
    """Acknowledge a finding with a reason: it stays visible but is no longer open."""
    _change(finding_id, IssueState.ACKNOWLEDGED, reason, by)


@app.command("resolve")
def resolve(
    finding_id: int,
    reason: Annotated[str, typer.Option("--reason", help="What was done.")] = "resolved",
    by: Annotated[str, typer.Option("--by")] = "cli",
) -> None:
    """Mark a finding resolved (it reopens if it is detected again)."""
    _change(finding_id, IssueState.RESOLVED, reason, by)

"""``revloop reconcile``, ``revloop balance`` and ``revloop adjust``."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db import audit
from revloop.adapters.db import tables as t
from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.domain.findings import Finding
from revloop.domain.issues import InputError, NotFound, PeriodError
from revloop.domain.money import round2, to_decimal
from revloop.domain.periods import Period
from revloop.domain.reconciliation import CODES
from revloop.services.reconcile import ReconcileResult, balance, reconcile

out = Console()
err = Console(stderr=True)
ADJUSTMENT_KINDS = ("write_off", "price_change", "other")


def _period(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise PeriodError(str(exc), hint="use YYYY-MM, e.g. --period 2026-10") from None


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{round2(value):.2f}"


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "subjects": list(f.subjects),
        "amount": _amount(f.amount),
        "currency": f.currency,
        "message": f.message,
        "action": f.action,
    }


def _order(f: Finding) -> tuple[int, str, tuple[str, ...]]:
    code_rank = CODES.index(f.code) if f.code in CODES else len(CODES)
    return (code_rank, f.code, f.subjects)


def reconcile_command(
    period: Annotated[
        str | None, typer.Option("--period", help="Check one closed month, YYYY-MM (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    show_identity: Annotated[
        bool,
        typer.Option("--identity", help="Show the billed-vs-contracted identity per contract and month."),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write the reconciliation report here: reconciliation.csv (findings), "
            "identity.csv (billed vs contracted) and reconciliation.json.",
        ),
    ] = None,
) -> None:
    """Compare HaloPSA, revloop and Xero; record what does not agree as findings."""
    target = _period(period)
    application = build()
    try:
        require_current(application.engine)
        if as_json:
            result = reconcile(application, now=datetime.now(UTC), period=target)
        else:
            with err.status("reconciling") as status:
                result = reconcile(
                    application,
                    now=datetime.now(UTC),
                    period=target,
                    progress=lambda text: status.update(f"reconciling: {text}"),
                )
    finally:
        application.close()
    payload: dict[str, Any] = {
        "findings": [_finding(f) for f in sorted(result.findings, key=_order)],
        "counts": {
            "new": result.new,
            "still": result.still,
            "reopened": result.reopened,
            "resolved": result.resolved,
        },
        "periods": [p.start.strftime("%Y-%m") for p in result.periods],
        "identity": [row.as_dict() for row in result.identity],
    }
    if report is not None:
        _write_report(report, payload)
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    _print(result, show_identity)
    if report is not None:
        out.print(f"Report written to {report} (reconciliation.csv, identity.csv, reconciliation.json).")


def _write_report(folder: Path, payload: dict[str, Any]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reconciliation.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
        with (folder / "reconciliation.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code", "severity", "amount", "subjects", "message", "what to do"])
            for f in payload["findings"]:
                writer.writerow(
                    [
                        f["code"],
                        f["severity"],
                        f["amount"] or "",
                        " ".join(f["subjects"]),
                        f["message"],
                        f["action"],
                    ]
                )
        rows = payload["identity"]
        with (folder / "identity.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            columns = sorted({k for row in rows for k, v in row.items() if not isinstance(v, list | dict)})
            writer.writerow([*columns, "exceptions"])
            for row in rows:
                writer.writerow([*(row.get(c, "") for c in columns), json.dumps(row.get("exceptions", []))])
    except OSError as exc:
        raise InputError(f"cannot write the report to {folder}: {exc.strerror or exc}") from None


def _print(result: ReconcileResult, show_identity: bool) -> None:
    months = result.periods
    span = (
        (f"{months[0].start:%Y-%m} to {months[-1].start:%Y-%m}" if len(months) > 1 else months[0].label())
        if months
        else "no closed month"
    )
    findings = sorted(result.findings, key=_order)
    table = Table(title=f"Reconciliation ({span}): {len(findings)} findings")
    for column in ("code", "severity", "subjects", "amount", "message", "what to do"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_code[f.code].append(f)
    for code, group in by_code.items():
        for f in group:
            amount = "" if f.amount is None else f"{f.amount:,.2f} {f.currency or ''}"
            table.add_row(code, f.severity.value, "\n".join(f.subjects), amount, f.message, f.action)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for f in group:
            if f.amount is not None:
                totals[f.currency or ""] += f.amount
        shown = ", ".join(f"{v:,.2f} {c}".strip() for c, v in sorted(totals.items()))
        table.add_row(f"[bold]{code} total[/]", "", f"{len(group)} finding(s)", f"[bold]{shown}[/]", "", "")
        table.add_section()
    if findings:
        out.print(table)
    else:
        out.print(f"Reconciliation ({span}): everything agrees.")
    out.print(
        f"{result.new} new, {result.still} still open or acknowledged, {result.reopened} reopened, "
        f"{result.resolved} resolved (no longer detected)."
    )
    if result.issues:
        out.print(f"[yellow]{len(result.issues)} problems in the data[/] were met while rating:")
        for issue in result.issues[:20]:
            out.print(f"  {issue.code} {issue.subject}: {issue.message} ({issue.action})", highlight=False)
    if show_identity:
        _print_identity(result)
    if findings:
        out.print(
            "Next: `revloop findings` lists them with their ids; act on each as its 'what to do' says, "
            "or `revloop findings ack ID --reason ...` when it is as intended. Run `revloop reconcile` "
            "again after fixing: what is fixed is resolved."
        )


def _print_identity(result: ReconcileResult) -> None:
    table = Table(title="Billed vs contracted: contracted = invoiced + exceptions")
    for column in ("contract", "period", "contracted", "invoiced", "exceptions", "difference", ""):
        table.add_column(
            column, justify="right" if column in ("contracted", "invoiced", "difference") else "left"
        )
    for row in result.identity:
        exceptions = "\n".join(f"{e.kind} {e.amount:,.2f}" for e in row.exceptions)
        table.add_row(
            row.code,
            row.period.start.strftime("%Y-%m"),
            f"{row.contracted:,.2f}",
            f"{row.invoiced:,.2f}",
            exceptions,
            f"{round2(row.difference):,.2f}",
            "holds" if row.holds else "[red]does not hold[/]",
        )
    out.print(table)


def balance_command(
    customer: Annotated[str, typer.Argument(help="Customer code (e.g. c103), HaloPSA id or exact name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Does the customer's contract still cover new work?"""
    application = build()
    try:
        require_current(application.engine)
        result = balance(application, customer, now=datetime.now(UTC))
    finally:
        application.close()
    if as_json:
        print(json.dumps(result, indent=2))
        return
    out.print(f"[bold]{result['name']}[/] ({result['customer']}), {result['today']}: {result['status']}")
    if not result["contracts"]:
        out.print("No contract in force: new work is billed pay-as-you-go.")
        return
    table = Table()
    for column in ("contract", "kind", "period", "left", "threshold", "expires", "status"):
        table.add_column(column)
    for c in result["contracts"]:
        period = f"{c['period']['start']} to {c['period']['end']}" if c["period"] else ""
        left = f"{c['left']} {'h' if c['unit'] == 'hours' else result['currency']}" if c["left"] else ""
        table.add_row(
            c["contract"], c["kind"], period, left, c["threshold"] or "", c["expires"] or "open", c["status"]
        )
    out.print(table)


def adjust_command(
    contract: Annotated[str, typer.Argument(help="The contract's code (see `revloop contract list`).")],
    period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")],
    kind: Annotated[str, typer.Option("--kind", help="write_off, price_change or other.")],
    amount: Annotated[str, typer.Option("--amount", help="What the contract value is reduced by (signed).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in the identity).")],
    by: Annotated[str, typer.Option("--by", help="Who (recorded in the audit journal).")] = "cli",
) -> None:
    """Record an exception to the billed-vs-contracted identity of a contract in a month."""
    month = _period(period)
    assert month is not None
    if kind not in ADJUSTMENT_KINDS:
        raise InputError(f"unknown kind {kind!r}", hint=", ".join(ADJUSTMENT_KINDS))
    try:
        value = round2(to_decimal(amount))
    except (TypeError, ValueError):
        raise InputError(f"--amount {amount!r} is not a number") from None
    if not reason.strip():
        raise InputError("say why", hint="--reason is recorded with the adjustment")
    application = build()
    now = datetime.now(UTC)
    try:
        require_current(application.engine)
        with application.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.contracts.c.id, t.customers.c.currency)
                .join(t.customers, t.customers.c.id == t.contracts.c.customer_id)
                .where(t.contracts.c.code == contract)
            ).one_or_none()
            if row is None:
                raise NotFound(f"no contract {contract!r}", hint="`revloop contract list` shows the codes")
            conn.execute(
                t.contract_adjustments.insert().values(
                    contract_id=row.id,
                    period_start=month.start,
                    kind=kind,
                    amount=value,
                    currency=row.currency,
                    reason=reason,
                    created_by=by,
                    created_at=now,
                )
            )
            audit.record(
                conn,
                at=now,
                actor=by,
                action="contract.adjust",
                entity="contract",
                entity_id=contract,
                details={
                    "period": month.start.isoformat(),
                    "kind": kind,
                    "amount": str(value),
                    "reason": reason,
                },
            )
    finally:
        application.close()
    out.print(
        f"Recorded {kind} of {value} {row.currency} on {contract} for {month.label()}. "
        "Run `revloop reconcile` to see the identity again.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
    app.command("balance")(balance_command)
    app.command("adjust")(adjust_command)

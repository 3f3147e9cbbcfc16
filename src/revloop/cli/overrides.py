"""Local overrides of what HaloPSA supplies: contract terms HaloPSA does not hold, and rate rows.

Sync writes only the fields HaloPSA has; the terms set here (prepay threshold and top-up, what
happens when a balance runs out, fee item and tax codes, covered charge types, the rollover cap)
and rate rows added here (``source='local'``) are never overwritten by a sync. Every change is
recorded in the audit journal.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
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
from revloop.domain.issues import InputError, NotFound
from revloop.domain.money import to_decimal
from revloop.services import rates

contract_app = typer.Typer(help="Contract terms revloop keeps beside HaloPSA's.", no_args_is_help=True)
rate_app = typer.Typer(help="Rate rows set locally (kept through every sync).", no_args_is_help=True)
out = Console()


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value)
    except (TypeError, ValueError):
        raise InputError(f"--{name} {value!r} is not a number") from None


@contract_app.command("set")
def contract_set(
    code: Annotated[str, typer.Argument(help="The contract's code (see `revloop contract list`).")],
    threshold: Annotated[
        str | None, typer.Option(help="Prepay: warn when the balance falls below this.")
    ] = None,
    auto_topup: Annotated[
        str | None, typer.Option(help="Prepay: buy this much when below the threshold.")
    ] = None,
    on_exhausted: Annotated[str | None, typer.Option(help="Prepay: payg or negative.")] = None,
    topup_unit_amount: Annotated[
        str | None, typer.Option(help="Prepay in hours: price of one hour bought.")
    ] = None,
    topup_item_code: Annotated[str | None, typer.Option(help="Xero item code for top-up lines.")] = None,
    item_code: Annotated[str | None, typer.Option(help="Xero item code for fee lines.")] = None,
    tax_code: Annotated[str | None, typer.Option(help="Xero tax type for fee and top-up lines.")] = None,
    covers: Annotated[
        str | None, typer.Option(help="Charge type codes covered, comma-separated; 'all'.")
    ] = None,
    rollover_cap_hours: Annotated[
        str | None, typer.Option(help="Allowance: most hours carried over.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who (recorded in the audit journal).")] = "cli",
) -> None:
    """Set contract terms locally; sync keeps them."""
    values = contract_values(
        {
            "threshold": threshold,
            "auto_topup": auto_topup,
            "on_exhausted": on_exhausted,
            "topup_unit_amount": topup_unit_amount,
            "topup_item_code": topup_item_code,
            "item_code": item_code,
            "tax_code": tax_code,
            "covers": covers,
            "rollover_cap_hours": rollover_cap_hours,
        }
    )
    if not values:
        raise InputError("nothing to set", hint="give at least one option, e.g. --threshold 2")
    application = build()
    try:
        require_current(application.engine)
        with application.engine.begin() as conn:
            changed = conn.execute(
                t.contracts.update().where(t.contracts.c.code == code).values(**values)
            ).rowcount
            if not changed:
                raise NotFound(f"no contract {code!r}", hint="`revloop contract list` shows the codes")
            audit.record(
                conn,
                at=datetime.now(UTC),
                actor=by,
                action="contract.set",
                entity="contract",
                entity_id=code,
                details={k: str(v) for k, v in values.items()},
            )
    finally:
        application.close()
    out.print(f"Contract {code}: " + ", ".join(f"{k} = {v}" for k, v in values.items()), highlight=False)


TERMS = (
    "threshold",
    "auto_topup",
    "on_exhausted",
    "topup_unit_amount",
    "topup_item_code",
    "item_code",
    "tax_code",
    "covers",
    "rollover_cap_hours",
)


def contract_values(given: dict[str, str | None], where: str = "") -> dict[str, Any]:
    """The store's values for the contract terms given as text (None = leave as it is)."""
    values: dict[str, Any] = {}
    for name in ("threshold", "auto_topup", "topup_unit_amount", "rollover_cap_hours"):
        try:
            number = _decimal(given.get(name), name.replace("_", "-"))
        except InputError as exc:
            raise InputError(f"{where}{exc}") from None
        if number is not None:
            values[name] = number
    on_exhausted = given.get("on_exhausted")
    if on_exhausted is not None:
        if on_exhausted not in ("payg", "negative"):
            raise InputError(f"{where}--on-exhausted must be payg or negative, not {on_exhausted!r}")
        values["on_exhausted"] = on_exhausted
    for name in ("topup_item_code", "item_code", "tax_code"):
        text = given.get(name)
        if text is not None:
            values[name] = text or None
    covers = given.get("covers")
    if covers is not None:
        values["covers"] = (
            None if covers.strip().lower() == "all" else [c.strip() for c in covers.split(",") if c.strip()]
        )
    return values


@contract_app.command("import")
def contract_import(
    path: Annotated[Path, typer.Argument(help="A CSV file: a `code` column and any of the term columns.")],
    by: Annotated[str, typer.Option("--by", help="Who (recorded in the audit journal).")] = "cli",
) -> None:
    """Set many contracts' terms from a CSV file (columns: code, then any of threshold, auto_topup,
    on_exhausted, topup_unit_amount, topup_item_code, item_code, tax_code, covers, rollover_cap_hours;
    an empty cell leaves that term as it is). Every row is checked before any is kept."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows or "code" not in rows[0]:
        raise InputError(
            f"{path} has no `code` column", hint="the first line names the columns: code,threshold,..."
        )
    unknown = sorted(set(rows[0]) - {"code", *TERMS})
    if unknown:
        raise InputError(f"{path}: unknown columns {unknown}", hint="columns: code, " + ", ".join(TERMS))
    changes = []
    for n, row in enumerate(rows, start=2):
        given = {k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items() if k in TERMS}
        values = contract_values(given, f"{path.name} line {n}: ")
        if values:
            changes.append(((row.get("code") or "").strip(), values))
    application = build()
    try:
        require_current(application.engine)
        now = datetime.now(UTC)
        with application.engine.begin() as conn:
            known = {c for (c,) in conn.execute(sa.select(t.contracts.c.code))}
            missing = [code for code, _ in changes if code not in known]
            if missing:
                raise NotFound(
                    f"{path.name}: no contract {missing[0]!r}"
                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                    hint="`revloop contract list` shows the codes; nothing was changed",
                )
            for code, values in changes:
                conn.execute(t.contracts.update().where(t.contracts.c.code == code).values(**values))
                audit.record(
                    conn,
                    at=now,
                    actor=by,
                    action="contract.set",
                    entity="contract",
                    entity_id=code,
                    details={k: str(v) for k, v in values.items()},
                )
    finally:
        application.close()
    out.print(f"Terms set on {len(changes)} contracts from {path.name}.")


@contract_app.command("list")
def contract_list(
    customer: Annotated[str | None, typer.Option(help="One customer's contracts.")] = None,
) -> None:
    """Contracts with their terms."""
    application = build()
    try:
        require_current(application.engine)
        query = (
            sa.select(t.contracts, t.customers.c.code.label("customer"))
            .join(t.customers, t.customers.c.id == t.contracts.c.customer_id)
            .order_by(t.customers.c.code, t.contracts.c.code)
        )
        if customer:
            query = query.where(t.customers.c.code == customer)
        with application.engine.connect() as conn:
            rows = list(conn.execute(query))
    finally:
        application.close()
    table = Table(title=f"{len(rows)} contracts")
    for column in (
        "code",
        "customer",
        "kind",
        "from",
        "to",
        "fee",
        "hours",
        "unit",
        "threshold",
        "on exhausted",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.code,
            r.customer,
            r.kind,
            str(r.start),
            str(r.end or "open"),
            str(r.fee or ""),
            str(r.hours_per_period or ""),
            r.unit or "",
            str(r.threshold or ""),
            r.on_exhausted,
        )
    out.print(table)


@rate_app.command("add")
def rate_add(
    charge_type: Annotated[str, typer.Option("--charge-type", help="The charge type's code.")],
    effective_from: Annotated[str, typer.Option("--from", help="First day in force, YYYY-MM-DD.")],
    hourly_rate: Annotated[str | None, typer.Option("--rate", help="Hourly rate.")] = None,
    percent: Annotated[str | None, typer.Option(help="Or: a percentage of the global rate in force.")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer scope (else global).")] = None,
    contract: Annotated[str | None, typer.Option(help="Contract scope.")] = None,
    minimum_minutes: Annotated[str | None, typer.Option()] = None,
    increment_minutes: Annotated[str | None, typer.Option()] = None,
    rounding: Annotated[str | None, typer.Option(help="up, nearest or down.")] = None,
    ooh_multiplier: Annotated[str | None, typer.Option()] = None,
    weekend_multiplier: Annotated[str | None, typer.Option()] = None,
    holiday_multiplier: Annotated[str | None, typer.Option()] = None,
    overage_multiplier: Annotated[str | None, typer.Option()] = None,
    prepay_multiplier: Annotated[str | None, typer.Option()] = None,
    by: Annotated[str, typer.Option("--by")] = "cli",
) -> None:
    """Add a dated rate row (billing-rules.md §2); sync never removes it."""
    try:
        start = date.fromisoformat(effective_from)
    except ValueError:
        raise InputError(f"--from {effective_from!r} is not a date (YYYY-MM-DD)") from None
    if hourly_rate is not None and percent is not None:
        raise InputError("give --rate or --percent, not both")
    if not (customer or contract) and hourly_rate is None:
        raise InputError("a global row needs --rate (a percentage is of the global rate)")
    if rounding is not None and rounding not in ("up", "nearest", "down"):
        raise InputError("--rounding must be up, nearest or down")
    figures = {
        name: _decimal(value, name.replace("_", "-"))
        for name, value in (
            ("hourly_rate", hourly_rate),
            ("percent", percent),
            ("minimum_minutes", minimum_minutes),
            ("increment_minutes", increment_minutes),
            ("ooh_multiplier", ooh_multiplier),
            ("weekend_multiplier", weekend_multiplier),
            ("holiday_multiplier", holiday_multiplier),
            ("overage_multiplier", overage_multiplier),
            ("prepay_multiplier", prepay_multiplier),
        )
    }
    application = build()
    try:
        require_current(application.engine)
        scope = rates.add_rate_row(
            application,
            rates.RateInput(
                charge_type, start, customer=customer, contract=contract, rounding=rounding, **figures
            ),
            now=datetime.now(UTC),
            actor=by,
        )
    finally:
        application.close()
    out.print(f"Rate row added for {charge_type} ({scope}) from {effective_from}.")


def register(app: typer.Typer) -> None:
    app.add_typer(contract_app, name="contract")
    app.add_typer(rate_app, name="rate")

"""HaloPSA reference data → the store: clients, sites, agents, charge types, contracts, charge rates
and prepay lots."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db.tables import (
    agents,
    charge_types,
    contract_purchases,
    contracts,
    customers,
    external_ids,
    rate_rows,
    sites,
)
from revloop.adapters.halopsa import mapping

from .common import clip, issue
from .halo_context import SYSTEM, BadFigure, HaloContext, end_of, money, qty, stamp_params
from .halo_read import (
    MALFORMED,
    day,
    flag,
    num,
    read_pairs,
    read_raw,
    ref,
    subject,
    text,
    unknown_reference,
    when,
)

ROUNDING = {0: "nearest", 1: "up", 2: "down"}
EARLIEST = date(1970, 1, 1)
BILLING = {
    "monthly": "monthly",
    "month": "monthly",
    "quarterly": "quarterly",
    "quarter": "quarterly",
    "annually": "annual",
    "annual": "annual",
    "yearly": "annual",
    "year": "annual",
}
BILLING_CODES = {1: "monthly", 2: "quarterly", 3: "annual"}


def sync_clients(ctx: HaloContext) -> None:
    since = ctx.since("clients")
    with ctx.runner.step("clients", incremental=since is not None, subjects="halopsa:client:") as step:
        got = read_pairs(
            ctx.client, mapping.CLIENTS, stamp_params(since, {"includeinactive": True}, include_flag=True)
        )
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        now = ctx.now
        with_currency: list[dict[str, Any]] = []
        without: list[dict[str, Any]] = []
        for _raw, rec in got.rows:
            row = {
                "code": f"c{rec.source_key}",
                "name": clip(rec.name or f"HaloPSA client {rec.source_key}", 255),
                "currency": (rec.currency or ctx.currency).upper()[:3],
                "active": rec.active,
                "source_updated_at": rec.updated_at,
                "created_at": now,
                "updated_at": now,
            }
            (with_currency if rec.currency else without).append(row)
        common = ("name", "active", "source_updated_at", "updated_at")
        with ctx.runner.engine.begin() as conn:
            # a client whose list item carries no currency keeps the one stored (e.g. from Xero)
            step.report.upserted = repository.upsert(
                conn, customers, with_currency, key=("code",), update=(*common, "currency")
            )
            step.report.upserted += repository.upsert(conn, customers, without, key=("code",), update=common)
            for _raw, rec in got.rows:
                code = f"c{rec.source_key}"
                keys = [
                    (SYSTEM, rec.source_key),
                    ("halopsa.accounts", rec.accounts_id),
                    ("halopsa.ref", rec.ref),
                ]
                if rec.xero_id:
                    keys.append(("xero", rec.xero_id.lower()))
                for system, external in keys:
                    if external:
                        repository.link(
                            conn,
                            entity="customer",
                            local_id=code,
                            system=system,
                            external_id=external,
                            at=now,
                            method="stored_id",
                            by="revloop",
                        )
            if since is None:
                seen = {f"c{rec.source_key}" for _raw, rec in got.rows}
                seen |= {f"c{s.subjects[0].rsplit(':', 1)[1]}" for s in got.issues}
                linked = set(
                    conn.execute(
                        sa.select(external_ids.c.local_id).where(
                            external_ids.c.entity == "customer",
                            external_ids.c.system == SYSTEM,
                            external_ids.c.status == "confirmed",
                        )
                    ).scalars()
                )
                gone = sorted(linked - seen)
                if gone:
                    conn.execute(
                        customers.update()
                        .where(customers.c.code.in_(gone))
                        .values(active=False, updated_at=now)
                    )
            ctx.customer_map(conn)


def sync_sites(ctx: HaloContext) -> None:
    since = ctx.since("sites")
    with ctx.runner.step("sites", incremental=since is not None, subjects="halopsa:site:") as step:
        got = read_pairs(ctx.client, mapping.SITES, stamp_params(since, {"includeinactive": True}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for _raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("Site", rec.source_key, "client", rec.client_id))
                continue
            rows.append(
                {
                    "halopsa_id": rec.source_key,
                    "customer_id": customer,
                    "name": clip(rec.name or "", 255),
                    "timezone": rec.timezone or None,
                }
            )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, sites, rows, key=("halopsa_id",))
            if since is None:
                _vanish(
                    ctx, step, conn, sites, "Site", "site", {str(r["halopsa_id"]) for r in rows}, step.issues
                )
            ctx.id_map(conn, "site", sites)


def sync_agents(ctx: HaloContext) -> None:
    with ctx.runner.step("agents", incremental=False, subjects="halopsa:agent:") as step:
        got = read_pairs(
            ctx.client,
            mapping.AGENTS,
            {
                "includedisabled": True,
                "includeenabled": True,
                "includeunassigned": True,
                "includeapiagents": True,
            },
        )
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = [
            {
                "halopsa_id": rec.source_key,
                "name": clip(rec.name or f"Agent {rec.source_key}", 255),
                "email": clip(rec.email, 255),
                "role": clip(text(raw, "team"), 64),
                "active": rec.active,
            }
            for raw, rec in got.rows
        ]
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, agents, rows, key=("halopsa_id",))
            seen = {str(r["halopsa_id"]) for r in rows} | _issue_ids(got.issues)
            stored = set(repository.id_map(conn, agents, "halopsa_id"))
            gone = sorted(stored - seen)
            if gone:
                conn.execute(agents.update().where(agents.c.halopsa_id.in_(gone)).values(active=False))
            ctx.id_map(conn, "agent", agents)


def sync_charge_types(ctx: HaloContext) -> None:
    with ctx.runner.step("charge_types", incremental=False, subjects="halopsa:chargetype:") as step:
        raws, problems = read_raw(ctx.client, "Lookup", {"lookupid": 17})
        ctx.runner.advanced(step, len(raws) + len(problems))
        step.issues += problems
        rows = []
        for raw in raws:
            rid = str(int(raw["id"]))
            rows.append(
                {
                    "code": f"ct{rid}",
                    "halopsa_id": rid,
                    "name": clip(text(raw, "name") or f"Charge type {rid}", 255),
                    "item_code": text(raw, "linked_item"),
                    "service_line": text(raw, "value2"),
                    "billable": rid != "0" and text(raw, "value7") != "1",
                }
            )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(
                conn,
                charge_types,
                rows,
                key=("code",),
                update=("halopsa_id", "name", "item_code", "service_line", "billable"),
            )
            _vanish(
                ctx,
                step,
                conn,
                charge_types,
                "Lookup",
                "charge type",
                {str(r["halopsa_id"]) for r in rows},
                step.issues,
            )
            ctx.id_map(conn, "charge_type", charge_types)
            ctx.service_lines = {
                str(r.id): r.service_line
                for r in conn.execute(sa.select(charge_types.c.id, charge_types.c.service_line))
            }


def _contract_kind(raw: dict[str, Any], rec: mapping.ContractRecord) -> tuple[str, str | None]:
    included = max(num(raw, "chargehoursperperiod") or Decimal(0), rec.included_hours)
    if rec.fixed_price:
        return "fixed_price", None
    if included > 0:
        return "allowance", None
    if rec.prepay:
        return "prepay", "money" if flag(raw, "contract_prepayasamount") else "hours"
    return "payg", None


def _billing(rec: mapping.ContractRecord) -> str:
    if rec.billing_period_name and rec.billing_period_name.strip().lower() in BILLING:
        return BILLING[rec.billing_period_name.strip().lower()]
    return BILLING_CODES.get(rec.billing_period or 1, "monthly")


def sync_contracts(ctx: HaloContext) -> None:
    since = ctx.since("contracts")
    with ctx.runner.step("contracts", incremental=since is not None, subjects="halopsa:contract:") as step:
        got = read_pairs(ctx.client, mapping.CONTRACTS, stamp_params(since, {"includeinactive": True}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("ClientContract", rec.source_key, "client", rec.client_id))
                continue
            if rec.start is None:
                step.add(
                    issue(
                        MALFORMED,
                        subject("ClientContract", rec.source_key),
                        "HaloPSA contract has no start date",
                        "set the contract's start date in HaloPSA",
                    )
                )
                continue
            kind, unit = _contract_kind(raw, rec)
            try:
                hours = max(num(raw, "chargehoursperperiod") or Decimal(0), rec.included_hours)
                fee = money(rec.period_charge, "periodchargeamount")
                rows.append(
                    {
                        "code": f"k{rec.source_key}",
                        "halopsa_id": rec.source_key,
                        "customer_id": customer,
                        "kind": kind,
                        "start": rec.start.date(),
                        "end": end_of(rec.end),
                        "billing": _billing(rec),
                        "fee": fee if kind in ("fixed_price", "allowance") else (fee or None),
                        "hours_per_period": qty(hours, "hours") if kind == "allowance" else None,
                        "rollover": rec.rollover,
                        "unit": unit,
                        "description": rec.ref or None,
                        "source_updated_at": rec.updated_at,
                    }
                )
            except BadFigure as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("ClientContract", rec.source_key),
                        str(exc),
                        "correct the figure in HaloPSA, then sync again",
                    )
                )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, contracts, rows, key=("code",))
            if since is None:
                _vanish(
                    ctx,
                    step,
                    conn,
                    contracts,
                    "ClientContract",
                    "contract",
                    {str(r["halopsa_id"]) for r in rows},
                    step.issues,
                )
            ctx.id_map(conn, "contract", contracts)
            ctx.contract_units = {
                str(r.id): r.unit for r in conn.execute(sa.select(contracts.c.id, contracts.c.unit))
            }


def _rate_row(ctx: HaloContext, raw: dict[str, Any], rec: mapping.ChargeRateRecord) -> dict[str, Any] | str:
    """The rate row, or the reason it cannot land."""
    charge = ctx.maps["charge_type"].get(str(rec.charge_type_id)) if rec.charge_type_id is not None else None
    if charge is None:
        return f"charge type {rec.charge_type_id}"
    scope, customer, contract = "global", None, None
    if rec.contract_id:
        contract = ctx.maps["contract"].get(str(rec.contract_id))
        if contract is None:
            return f"contract {rec.contract_id}"
        scope = "contract"
    elif rec.client_id:
        customer = ctx.customer_id(rec.client_id)
        if customer is None:
            return f"client {rec.client_id}"
        scope = "customer"
    code = ref(raw, "round") if raw.get("round") not in (0, "0", None, "") else 0
    rounding = ROUNDING.get(code or 0)
    if rounding is None:
        raise BadFigure(f"round code {raw.get('round')!r} is not 0 (nearest), 1 (up) or 2 (down)")
    return {
        "charge_type_id": charge,
        "scope": scope,
        "customer_id": customer,
        "contract_id": contract,
        "effective_from": day(rec.valid_from) or EARLIEST,
        "hourly_rate": qty(rec.rate, "rate"),
        "percent": None,
        "minimum_minutes": qty(rec.minimum_minutes, "minimum"),
        "increment_minutes": qty(rec.increment_minutes, "increment"),
        "rounding": rounding,
        "ooh_multiplier": qty(rec.ooh_multiplier, "oohmultiplier"),
        "weekend_multiplier": qty(rec.weekend_multiplier, "weekendmultiplier"),
        "holiday_multiplier": qty(rec.holiday_multiplier, "holidaymultiplier"),
        "overage_multiplier": qty(rec.contract_multiplier, "contractmultiplier"),
        "prepay_multiplier": None,
        "source": SYSTEM,
    }


RATE_FIELDS = (
    "charge_type_id",
    "scope",
    "customer_id",
    "contract_id",
    "effective_from",
    "hourly_rate",
    "percent",
    "minimum_minutes",
    "increment_minutes",
    "rounding",
    "ooh_multiplier",
    "weekend_multiplier",
    "holiday_multiplier",
    "overage_multiplier",
    "prepay_multiplier",
    "source",
)


def sync_charge_rates(ctx: HaloContext) -> None:
    """Rates are replaced as a set (HaloPSA gives them no stamp); local rows are never touched."""
    with ctx.runner.step("charge_rates", incremental=False, subjects="halopsa:chargerate:") as step:
        got = read_pairs(ctx.client, mapping.CHARGE_RATES, {})
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for raw, rec in got.rows:
            try:
                row = _rate_row(ctx, raw, rec)
            except BadFigure as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("ChargeRate", rec.source_key),
                        str(exc),
                        "correct the charge rate in HaloPSA, then sync again",
                    )
                )
                continue
            if isinstance(row, str):
                what, ref_id = row.rsplit(" ", 1)
                step.add(unknown_reference("ChargeRate", rec.source_key, what, ref_id))
                continue
            rows.append(row)
        with ctx.runner.engine.begin() as conn:
            stored = [
                tuple(r._mapping[f] for f in RATE_FIELDS)
                for r in conn.execute(sa.select(rate_rows).where(rate_rows.c.source == SYSTEM))
            ]
            new = [tuple(r[f] for f in RATE_FIELDS) for r in rows]
            if Counter(stored) != Counter(new):  # Decimals compare by value: 90.00 == 90.0000
                conn.execute(rate_rows.delete().where(rate_rows.c.source == SYSTEM))
                if rows:
                    conn.execute(rate_rows.insert(), rows)
                step.report.upserted = len(rows)


def sync_prepay(ctx: HaloContext) -> None:
    """ClientPrepay lots → contract purchases, replaced as a set (HaloPSA gives them no stamp)."""
    with ctx.runner.step("prepay", incremental=False, subjects="halopsa:prepay:") as step:
        raws, problems = read_raw(ctx.client, "ClientPrepay", {})
        ctx.runner.advanced(step, len(raws) + len(problems))
        step.issues += problems
        rows = []
        units = ctx.contract_units
        for raw in raws:
            rid = str(int(raw["id"]))
            contract = ctx.maps["contract"].get(str(ref(raw, "contract_id")))
            if contract is None:
                step.add(unknown_reference("ClientPrepay", rid, "contract", ref(raw, "contract_id")))
                continue
            try:
                unit = units.get(str(contract)) or "hours"
                amount = num(raw, "amount") if unit == "money" else num(raw, "hours")
                dated = day(when(raw, "date"))
                if dated is None:
                    raise BadFigure("the prepay lot has no date")
                rows.append(
                    {
                        "contract_id": contract,
                        "date": dated,
                        "amount": qty(amount or Decimal(0), "amount"),
                        "expires": day(when(raw, "expirydate")),
                        "source": SYSTEM,
                        "halopsa_id": rid,
                        "invoice_key": text(raw, "invoice_number"),
                    }
                )
            except (BadFigure, ValueError) as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("ClientPrepay", rid),
                        f"HaloPSA prepay lot: {exc}",
                        "correct the prepay record in HaloPSA, then sync again",
                    )
                )
        fields = ("contract_id", "date", "amount", "expires", "source", "halopsa_id", "invoice_key")
        with ctx.runner.engine.begin() as conn:
            stored = Counter(
                tuple(r._mapping[f] for f in fields)
                for r in conn.execute(
                    sa.select(contract_purchases).where(contract_purchases.c.source == SYSTEM)
                )
            )
            if stored != Counter(tuple(r[f] for f in fields) for r in rows):
                conn.execute(contract_purchases.delete().where(contract_purchases.c.source == SYSTEM))
                if rows:
                    conn.execute(contract_purchases.insert(), rows)
                step.report.upserted = len(rows)


def _issue_ids(found: list[Any]) -> set[str]:
    return {f.subjects[0].rsplit(":", 1)[1] for f in found}


def _vanish(
    ctx: HaloContext,
    step: Any,
    conn: Any,
    table: sa.Table,
    resource: str,
    what: str,
    seen: set[str],
    problems: list[Any],
) -> None:
    """After a full read: records HaloPSA no longer returns are kept, and raised as issues."""
    stored = set(repository.id_map(conn, table, "halopsa_id"))
    gone = stored - seen - _issue_ids(problems)
    step.issues += ctx.vanished(resource, list(gone), what)

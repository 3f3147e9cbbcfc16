"""HaloPSA work → the store: tickets, their actions (time entries) and expenses.

Actions: a full sync reads them in one paged date window on ``last_updated`` (a fraction of the calls
of one read per ticket); a build that refuses the window (400, or paging it does not honour) is read
per ticket. An incremental sync reads the window from the watermark (minus the overlap), which
catches backdated and edited actions whatever their ticket's stamp, and re-reads in full the actions
of each ticket whose stamp moved (up to ``PER_TICKET_LIMIT`` tickets), which is how a deleted action
is noticed between full syncs.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db.tables import charge_types as charge_types_table
from revloop.adapters.db.tables import expenses, tickets, time_entries
from revloop.adapters.halopsa import mapping
from revloop.domain.issues import AuthError, ConnectorError, RateLimited, RemoteUnavailable, Severity

from .common import Step, issue
from .halo_context import SYSTEM, BadFigure, HaloContext, money, qty, stamp_params
from .halo_read import (
    MALFORMED,
    VANISHED,
    Pairs,
    local_day,
    num,
    read_pairs,
    read_raw,
    ref,
    subject,
    text,
    unknown_reference,
    when,
)

PER_TICKET_LIMIT = 25
EXPENSES_FULL_EVERY = timedelta(days=1)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=30)


def sync_tickets(ctx: HaloContext) -> list[str]:
    """Tickets; returns the HaloPSA ids of tickets that are new or whose stamp moved."""
    since = ctx.since("tickets")
    changed: list[str] = []
    with ctx.runner.step("tickets", incremental=since is not None, subjects="halopsa:ticket:") as step:
        got = read_pairs(ctx.client, mapping.TICKETS, stamp_params(since, {}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        with ctx.runner.engine.connect() as conn:
            stamps = {
                r.halopsa_id: r.source_updated_at
                for r in conn.execute(sa.select(tickets.c.halopsa_id, tickets.c.source_updated_at))
            }
        rows = []
        for _raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("Tickets", rec.source_key, "client", rec.client_id))
                continue
            contract = ctx.maps["contract"].get(str(rec.contract_id)) if rec.contract_id else None
            if rec.contract_id and contract is None:
                step.add(unknown_reference("Tickets", rec.source_key, "contract", rec.contract_id))
                continue
            if rec.source_key not in stamps or stamps[rec.source_key] != rec.updated_at:
                changed.append(rec.source_key)
            charge = (
                ctx.maps.get("charge_type", {}).get(str(rec.charge_type_id)) if rec.charge_type_id else None
            )
            rows.append(
                {
                    "halopsa_id": rec.source_key,
                    "customer_id": customer,
                    "site_id": ctx.maps.get("site", {}).get(str(rec.site_id)) if rec.site_id else None,
                    "contract_id": contract,
                    "summary": rec.summary,
                    # the service line of the ticket's charge type: its work without one falls back to it
                    "service_line": ctx.service_lines.get(str(charge)) if charge is not None else None,
                    "opened_at": rec.opened_at,
                    "closed_at": rec.closed_at,
                    "source_updated_at": rec.updated_at,
                }
            )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, tickets, rows, key=("halopsa_id",))
            if since is None:
                gone = set(stamps) - {str(r["halopsa_id"]) for r in rows} - _ids(step)
                step.issues += ctx.vanished("Tickets", list(gone), "ticket")
            ctx.id_map(conn, "ticket", tickets)
            ctx.ticket_customers = {
                str(r.id): r.customer_id for r in conn.execute(sa.select(tickets.c.id, tickets.c.customer_id))
            }
    return changed


def _ids(step: Step) -> set[str]:
    return {f.subjects[0].rsplit(":", 1)[1] for f in step.issues}


def _window(ctx: HaloContext, start: datetime) -> Pairs[mapping.TimeEntryRecord] | None:
    """Actions whose ``last_updated`` falls in [start, now + 30 days]; None when HaloPSA refuses."""
    params = {"startdate": start, "enddate": ctx.now + AHEAD, "datesearch": "last_updated"}
    try:
        return read_pairs(ctx.client, mapping.TIME_ENTRIES, params)
    except (AuthError, RateLimited, RemoteUnavailable):
        raise
    except ConnectorError:
        return None


def _per_ticket(ctx: HaloContext, ticket_ids: list[str]) -> Pairs[mapping.TimeEntryRecord]:
    """Every action of each ticket; a ticket HaloPSA no longer has simply has none."""
    out: Pairs[mapping.TimeEntryRecord] = Pairs()
    for tid in ticket_ids:
        try:
            part = read_pairs(ctx.client, mapping.TIME_ENTRIES, {"ticket_id": tid})
        except (AuthError, RateLimited, RemoteUnavailable):
            raise
        except ConnectorError:
            continue
        _merge(out, part)
    return out


def _merge(into: Pairs[mapping.TimeEntryRecord], part: Pairs[mapping.TimeEntryRecord]) -> None:
    into.rows += part.rows
    into.issues += part.issues
    into.count += part.count


def _unseen_tickets(ctx: HaloContext, got: Pairs[mapping.TimeEntryRecord]) -> list[str]:
    """Tickets with stored entries a full window read did not return: read per ticket before any
    entry is called vanished (an action whose ``last_updated`` is unset never matches a window)."""
    seen = {rec.source_key for _raw, rec in got.rows} | {i.subjects[0].rsplit(":", 1)[1] for i in got.issues}
    with ctx.runner.engine.connect() as conn:
        stored = conn.execute(sa.select(time_entries.c.source_key)).scalars()
        return sorted({key.split("/", 1)[0] for key in stored if key not in seen}, key=_numeric)


def _numeric(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)


def sync_actions(ctx: HaloContext, changed_tickets: list[str]) -> None:
    since = ctx.since("actions")
    with ctx.runner.step("actions", incremental=since is not None, subjects="halopsa:action:") as step:
        complete: set[str] = set()  # tickets whose actions were all read (deletions can be seen)
        got = _window(ctx, since if since is not None else EPOCH)
        if got is None:
            wanted = sorted(ctx.maps["ticket"], key=int) if since is None else changed_tickets
            got = _per_ticket(ctx, wanted)
            complete.update(wanted)
            whole = since is None
        else:
            whole = since is None
            if whole:
                _merge(got, _per_ticket(ctx, _unseen_tickets(ctx, got)))
            elif changed_tickets and len(changed_tickets) <= PER_TICKET_LIMIT:
                _merge(got, _per_ticket(ctx, changed_tickets))
                complete.update(changed_tickets)
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        invoiced, open_rows = _entry_rows(ctx, step, got)
        with ctx.runner.engine.begin() as conn:
            landed = repository.upsert(conn, time_entries, invoiced, key=("source_key",))
            landed += repository.upsert(
                conn,
                time_entries,
                open_rows,
                key=("source_key",),
                update=[c for c in open_rows[0] if c not in ("source_key", "billing_state")]
                if open_rows
                else None,
            )
            step.report.upserted = landed
            seen = {r["source_key"] for r in invoiced + open_rows} | _ids(step)
            _vanished_entries(ctx, step, conn, seen, None if whole else complete)
            _travel_charge_types(ctx, conn, got)


def _travel_charge_types(ctx: HaloContext, conn: Any, got: Pairs[mapping.TimeEntryRecord]) -> None:
    """HaloPSA names the charge rate of travel on each action; revloop keeps it per charge type (billing
    rules §7): a charge type without one takes the travel charge type its actions use most."""
    charge_types = ctx.maps["charge_type"]
    used: Counter[tuple[int, int]] = Counter()
    for _raw, rec in got.rows:
        if not rec.travel_minutes or not rec.travel_charge_type_id or rec.charge_type_id is None:
            continue
        work = charge_types.get(str(rec.charge_type_id))
        travel = charge_types.get(str(rec.travel_charge_type_id))
        if work is not None and travel is not None:
            used[(work, travel)] += 1
    chosen: dict[int, int] = {}
    for (work, travel), _count in used.most_common():
        chosen.setdefault(work, travel)
    for work, travel in chosen.items():
        conn.execute(
            charge_types_table.update()
            .where(charge_types_table.c.id == work, charge_types_table.c.travel_charge_type_id.is_(None))
            .values(travel_charge_type_id=travel)
        )


def _entry_rows(
    ctx: HaloContext, step: Step, got: Pairs[mapping.TimeEntryRecord]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    invoiced: dict[str, dict[str, Any]] = {}
    open_rows: dict[str, dict[str, Any]] = {}
    lines = ctx.service_lines
    for _raw, rec in got.rows:
        key = rec.source_key
        ticket = ctx.maps["ticket"].get(str(rec.ticket_id))
        if ticket is None:
            step.add(unknown_reference("Actions", key, "ticket", rec.ticket_id))
            continue
        charge = None
        if rec.charge_type_id is not None:
            charge = ctx.maps["charge_type"].get(str(rec.charge_type_id))
            if charge is None:
                step.add(unknown_reference("Actions", key, "charge type", rec.charge_type_id))
                continue
        contract = None
        if rec.contract_id:
            contract = ctx.maps["contract"].get(str(rec.contract_id))
            if contract is None:
                step.add(unknown_reference("Actions", key, "contract", rec.contract_id))
                continue
        customer = ctx.customer_id(rec.client_id) or ctx.ticket_customers.get(str(ticket))
        try:
            row = {
                "source_key": key,
                "ticket_id": ticket,
                "customer_id": customer,
                "agent_id": ctx.maps["agent"].get(str(rec.agent_id)) if rec.agent_id else None,
                "charge_type_id": charge,
                "contract_id": contract,
                "start_utc": rec.start_utc,
                "work_date": local_day(rec.start_utc, ctx.zone),
                "minutes": qty(rec.minutes, "timetaken"),
                "non_billable_minutes": qty(rec.non_billable_minutes, "nonbilltime"),
                "travel_minutes": qty(rec.travel_minutes, "traveltime"),
                "mileage": qty(rec.mileage, "mileage"),
                "service_line": lines.get(str(charge)) if charge is not None else None,
                "note": rec.note or None,
                "source_updated_at": rec.updated_at,
            }
        except BadFigure as exc:
            step.add(
                issue(
                    MALFORMED,
                    subject("Actions", key),
                    f"HaloPSA action: {exc}",
                    "correct the time entry in HaloPSA, then sync again",
                )
            )
            continue
        if rec.invoice_number:
            invoiced[key] = {**row, "billing_state": "invoiced", "invoice_number": rec.invoice_number}
            open_rows.pop(key, None)
        elif key not in invoiced:
            open_rows[key] = {**row, "billing_state": "unbilled"}
    return list(invoiced.values()), list(open_rows.values())


def _vanished_entries(
    ctx: HaloContext, step: Step, conn: Any, seen: set[str], tickets_read: set[str] | None
) -> None:
    """Stored entries HaloPSA no longer returns (all of them after a full read, else those of the
    tickets read in full) are kept, and raised as issues."""
    query = sa.select(time_entries.c.source_key, time_entries.c.billing_state, time_entries.c.invoice_number)
    if tickets_read is not None:
        if not tickets_read:
            return
        ids = [ctx.maps["ticket"][t] for t in tickets_read if t in ctx.maps["ticket"]]
        query = query.where(time_entries.c.ticket_id.in_(ids))
    for row in conn.execute(query):
        if row.source_key in seen or not row.source_key[:1].isdigit():
            continue
        billed = f" It was invoiced on {row.invoice_number}." if row.invoice_number else ""
        step.add(
            issue(
                VANISHED,
                subject("Actions", row.source_key),
                f"HaloPSA no longer returns time entry {row.source_key}; revloop keeps it.{billed}",
                "if the entry was deleted in HaloPSA on purpose, write it off in revloop; "
                "otherwise restore it in HaloPSA",
                Severity.WARNING,
            )
        )


def _expense_plan(ctx: HaloContext, changed_tickets: list[str]) -> list[str] | None:
    """The tickets whose expenses to read, or None to read them all.

    Expenses carry no stamp in HaloPSA: they are read in full on a full sync, on the first run of the
    day and when many tickets changed; otherwise only the expenses of the tickets whose stamp moved.
    """
    if ctx.runner.full or len(changed_tickets) > PER_TICKET_LIMIT:
        return None
    mark = ctx.runner.watermark("expenses")
    if mark is None or mark.last_full_at is None or ctx.now - mark.last_full_at > EXPENSES_FULL_EVERY:
        return None
    return changed_tickets


def sync_expenses(ctx: HaloContext, changed_tickets: list[str]) -> None:
    plan = _expense_plan(ctx, changed_tickets)
    with ctx.runner.step("expenses", incremental=plan is not None, subjects="halopsa:expense:") as step:
        raws, problems = [], []
        for params in [{}] if plan is None else [{"ticket_id": t} for t in plan]:
            got, bad = read_raw(ctx.client, "Expense", params)
            raws += got
            problems += bad
        ctx.runner.advanced(step, len(raws) + len(problems))
        step.issues += problems
        billed, open_rows = [], []
        for raw in raws:
            rid = str(int(raw["id"]))
            ticket = ctx.maps["ticket"].get(str(ref(raw, "fault_id"))) if ref(raw, "fault_id") else None
            customer = ctx.customer_id(ref(raw, "client_id"))
            if customer is None and ticket is not None:
                customer = ctx.ticket_customers.get(str(ticket))
            if customer is None:
                step.add(unknown_reference("Expense", rid, "client", ref(raw, "client_id")))
                continue
            try:
                dated = when(raw, "date_added")
                if dated is None:
                    raise BadFigure("the expense has no date")
                row = {
                    "source_key": f"expense:{rid}",
                    "customer_id": customer,
                    "ticket_id": ticket,
                    "date": local_day(dated, ctx.zone),
                    "category": text(raw, "type_name") or "",
                    "cost": money(num(raw, "amount") or Decimal(0), "amount"),
                    "currency": ctx.currencies.get(customer, ctx.currency),
                }
            except (BadFigure, ValueError) as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("Expense", rid),
                        f"HaloPSA expense: {exc}",
                        "correct the expense in HaloPSA, then sync again",
                    )
                )
                continue
            if when(raw, "date_invoiced") is not None or ref(raw, "ihid"):
                billed.append({**row, "billing_state": "invoiced"})
            else:
                open_rows.append({**row, "billing_state": "unbilled"})
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, expenses, billed, key=("source_key",))
            step.report.upserted += repository.upsert(
                conn,
                expenses,
                open_rows,
                key=("source_key",),
                update=[c for c in open_rows[0] if c not in ("source_key", "billing_state")]
                if open_rows
                else None,
            )


__all__ = ["SYSTEM", "sync_actions", "sync_expenses", "sync_tickets"]

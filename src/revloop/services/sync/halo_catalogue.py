"""HaloPSA catalogue and money documents → the store: items, assets, recurring invoice lines,
quotations and HaloPSA's own invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from revloop.adapters.db import repository
from revloop.adapters.db.tables import assets, invoice_lines, invoices, items, quotes, recurring_charges
from revloop.adapters.halopsa import mapping
from revloop.domain.money import round2

from .common import Step, clip, issue
from .halo_context import SYSTEM, BadFigure, HaloContext, end_of, money, qty, stamp_params
from .halo_read import MALFORMED, day, num, read_pairs, subject, text, unknown_reference, when

CENT = Decimal("0.01")


def _ids(step: Step) -> set[str]:
    return {f.subjects[0].rsplit(":", 1)[1] for f in step.issues}


def item_code(raw: dict[str, Any], source_key: str) -> str:
    return (text(raw, "internalreference") or text(raw, "externalreference") or f"i{source_key}")[:64]


def sync_items(ctx: HaloContext) -> None:
    since = ctx.since("items")
    with ctx.runner.step("items", incremental=since is not None, subjects="halopsa:item:") as step:
        got = read_pairs(ctx.client, mapping.ITEMS, stamp_params(since, {"includeinactive": True}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for raw, rec in got.rows:
            try:
                rows.append(
                    {
                        "code": item_code(raw, rec.source_key),
                        "halopsa_id": rec.source_key,
                        "name": clip(rec.name or rec.description or item_code(raw, rec.source_key), 255),
                        "unit_price": qty(rec.price, "baseprice"),
                        "unit_cost": qty(rec.cost, "costprice") or None,  # 0: not given
                        "tax_code": text(raw, "taxcode_name"),
                        "account_code": rec.nominal_code,
                    }
                )
            except BadFigure as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("Item", rec.source_key),
                        str(exc),
                        "correct the item in HaloPSA, then sync again",
                    )
                )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, items, rows, key=("code",))
            if since is None:
                stored = set(repository.id_map(conn, items, "halopsa_id"))
                gone = stored - {str(r["halopsa_id"]) for r in rows} - _ids(step)
                step.issues += ctx.vanished("Item", list(gone), "item")


def sync_assets(ctx: HaloContext) -> None:
    since = ctx.since("assets")
    with ctx.runner.step("assets", incremental=since is not None, subjects="halopsa:asset:") as step:
        got = read_pairs(
            ctx.client, mapping.ASSETS, stamp_params(since, {"includeinactive": True}, include_flag=True)
        )
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("Asset", rec.source_key, "client", rec.client_id))
                continue
            type_name = text(raw, "assettype_name") or (
                str(rec.asset_type_id) if rec.asset_type_id else "unknown"
            )
            rows.append(
                {
                    "halopsa_id": rec.source_key,
                    "customer_id": customer,
                    "site_id": ctx.maps.get("site", {}).get(str(rec.site_id)) if rec.site_id else None,
                    "asset_type": type_name.strip().lower()[:64],
                    "name": clip(rec.inventory_number or text(raw, "key_field") or "", 255),
                    "active": rec.active,
                }
            )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(
                conn,
                assets,
                rows,
                key=("halopsa_id",),
                update=("customer_id", "site_id", "asset_type", "name", "active"),
            )
            if since is None:
                stored = set(repository.id_map(conn, assets, "halopsa_id"))
                gone = sorted(stored - {str(r["halopsa_id"]) for r in rows} - _ids(step))
                if gone:
                    conn.execute(assets.update().where(assets.c.halopsa_id.in_(gone)).values(active=False))


def _frequency(rec: mapping.RecurringInvoiceRecord) -> str:
    """``period`` units of ``period_type`` (2 = months, 3 = years; the demo tenant's codes)."""
    months = (rec.period or 1) * (12 if rec.period_type == 3 else 1)
    return {3: "quarterly", 12: "annual"}.get(months, "monthly")


def sync_recurring(ctx: HaloContext) -> None:
    since = ctx.since("recurring_invoices")
    with ctx.runner.step(
        "recurring_invoices", incremental=since is not None, subjects="halopsa:recurringinvoice:"
    ) as step:
        got = read_pairs(ctx.client, mapping.RECURRING_INVOICES, stamp_params(since, {"includelines": True}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        seen_headers = set()
        for raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("RecurringInvoice", rec.source_key, "client", rec.client_id))
                continue
            seen_headers.add(rec.source_key)
            start = day(rec.start) or day(rec.next_creation)
            wire_lines = {str(w.get("id")): w for w in raw.get("lines") or [] if isinstance(w, dict)}
            for line in rec.lines:
                code = f"ri{rec.source_key}-{line.source_key}"
                line_raw = wire_lines.get(line.source_key, {})
                quantity_type = (text(line_raw, "recurring_invoice_quantity_type") or "fixed").strip().lower()
                if not line.item_code or start is None:
                    step.add(
                        issue(
                            MALFORMED,
                            subject("RecurringInvoice", f"{rec.source_key}/{line.source_key}"),
                            "recurring invoice line without an item code or a start date",
                            "give the line an item and the recurring invoice a start date in HaloPSA",
                        )
                    )
                    continue
                try:
                    rows.append(
                        {
                            "code": code,
                            "halopsa_id": f"{rec.source_key}/{line.source_key}",
                            "customer_id": customer,
                            "contract_id": ctx.maps["contract"].get(str(rec.contract_id))
                            if rec.contract_id
                            else None,
                            "item_code": line.item_code,
                            "description": line.description,
                            # HaloPSA's own count is kept: it is the quantity where no count can be read
                            "quantity": qty(line.quantity, "qty_order"),
                            "count_source": quantity_type if quantity_type != "fixed" else None,
                            "unit_amount": qty(line.unit_price, "unit_price"),
                            "frequency": _frequency(rec),
                            "start": start,
                            "end": end_of(rec.end),
                            "tax_code": line.tax_code,
                        }
                    )
                except BadFigure as exc:
                    step.add(
                        issue(
                            MALFORMED,
                            subject("RecurringInvoice", f"{rec.source_key}/{line.source_key}"),
                            str(exc),
                            "correct the line in HaloPSA, then sync again",
                        )
                    )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, recurring_charges, rows, key=("code",))
            stored = [
                r.halopsa_id
                for r in conn.execute(sa.select(recurring_charges.c.halopsa_id))
                if r.halopsa_id and (since is None or r.halopsa_id.split("/")[0] in seen_headers)
            ]
            gone = set(stored) - {str(r["halopsa_id"]) for r in rows} - _ids(step)
            step.issues += ctx.vanished("RecurringInvoice", list(gone), "recurring invoice line")


def sync_quotes(ctx: HaloContext) -> None:
    since = ctx.since("quotations")
    with ctx.runner.step("quotations", incremental=since is not None, subjects="halopsa:quote:") as step:
        got = read_pairs(ctx.client, mapping.QUOTATIONS, stamp_params(since, {}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        rows = []
        for raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            try:
                rows.append(
                    {
                        "system": SYSTEM,
                        "external_id": rec.source_key,
                        "customer_id": customer,
                        "number": clip(text(raw, "third_party_number") or rec.source_key, 64),
                        "date": day(rec.date),
                        "expiry": day(rec.expiry),
                        "status": str(rec.status) if rec.status is not None else None,
                        "currency": ctx.currencies.get(customer, ctx.currency) if customer else ctx.currency,
                        "total": money(rec.total, "total"),
                        "title": rec.title or None,
                        "source_updated_at": rec.updated_at,
                    }
                )
            except BadFigure as exc:
                step.add(
                    issue(
                        MALFORMED,
                        subject("Quotation", rec.source_key),
                        str(exc),
                        "correct the quotation in HaloPSA, then sync again",
                    )
                )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(conn, quotes, rows, key=("system", "external_id"))


def _status(rec: mapping.InvoiceRecord) -> str:
    return "VOIDED" if rec.voided else "POSTED" if rec.posted else "DRAFT"


def sync_invoices(ctx: HaloContext) -> None:
    since = ctx.since("invoices")
    with ctx.runner.step("invoices", incremental=since is not None, subjects="halopsa:invoice:") as step:
        got = read_pairs(ctx.client, mapping.INVOICES, stamp_params(since, {"includelines": True}))
        ctx.runner.advanced(step, got.count)
        step.issues += got.issues
        headers: list[dict[str, Any]] = []
        lines: dict[str, list[dict[str, Any]]] = {}
        for raw, rec in got.rows:
            customer = ctx.customer_id(rec.client_id)
            if customer is None:
                step.add(unknown_reference("Invoice", rec.source_key, "client", rec.client_id))
                continue
            try:
                total = money(rec.total, "total") or Decimal(0)
                tax = money(rec.tax_total, "tax_total") or Decimal(0)
                contract = ctx.maps["contract"].get(str(rec.contract_id)) if rec.contract_id else None
                headers.append(
                    {
                        "origin": SYSTEM,
                        "external_id": rec.source_key,
                        "doc_type": "credit_note" if raw.get("invoicetype") == 1 else "invoice",
                        "customer_id": customer,
                        "contract_id": contract,
                        "period_start": day(when(raw, "period_start_date")),
                        "period_end": day(when(raw, "period_end_date")),
                        "currency": (
                            text(raw, "currency_code_iso") or ctx.currencies.get(customer, ctx.currency)
                        )[:3],
                        "status": _status(rec),
                        "number": clip(rec.number, 64),
                        "reference": clip(text(raw, "reference"), 255),
                        "date": day(rec.invoice_date),
                        "due_date": day(rec.due_date),
                        "subtotal": total - tax,
                        "tax": tax,
                        "total": total,
                        "amount_due": money(num(raw, "amountdue"), "amountdue"),
                        "amount_paid": money(num(raw, "amountpaid"), "amountpaid"),
                        "xero_invoice_id": clip((rec.xero_id or "").strip().lower(), 128) or None,
                        "source_updated_at": rec.updated_at,
                        "created_at": ctx.now,
                    }
                )
                wire_lines = {str(w.get("id")): w for w in raw.get("lines") or [] if isinstance(w, dict)}
                lines[rec.source_key] = [
                    _line(ctx, n, line, wire_lines.get(line.source_key, {}))
                    for n, line in enumerate(rec.lines, 1)
                ]
            except (BadFigure, ValueError) as exc:
                if headers and headers[-1]["external_id"] == rec.source_key:
                    headers.pop()
                step.add(
                    issue(
                        MALFORMED,
                        subject("Invoice", rec.source_key),
                        f"HaloPSA invoice: {exc}",
                        "correct the invoice in HaloPSA, then sync again",
                    )
                )
        with ctx.runner.engine.begin() as conn:
            step.report.upserted = repository.upsert(
                conn,
                invoices,
                headers,
                key=("origin", "external_id"),
                update=[c for c in headers[0] if c not in ("origin", "external_id", "created_at")]
                if headers
                else None,
            )
            replace_lines(conn, SYSTEM, lines)


def _line(
    ctx: HaloContext, position: int, line: mapping.InvoiceLineRecord, raw: dict[str, Any]
) -> dict[str, Any]:
    quantity = qty(line.quantity, "qty_order") or Decimal(0)
    unit = qty(line.unit_price, "unit_price") or Decimal(0)
    amount = money(line.net_amount, "net_amount")
    if amount is None:
        amount = round2(quantity * unit)
    return {
        "position": position,
        "kind": "imported",
        "item_code": line.item_code,
        "account_code": text(raw, "nominal_code"),
        "description": line.description,
        "quantity": quantity,
        "unit_amount": unit,
        "amount": amount,
        "tax_code": line.tax_code,
        "tax": money(num(raw, "tax_amount"), "tax_amount") or Decimal(0),
        "explanation": "",
        "sources": [],
        "contract_id": ctx.maps["contract"].get(str(line.contract_id)) if line.contract_id else None,
    }


def replace_lines(conn: Any, origin: str, lines: dict[str, list[dict[str, Any]]]) -> None:
    """The lines of each invoice read are replaced by what the vendor holds now."""
    if not lines:
        return
    ids = {
        ext: iid
        for ext, iid in conn.execute(
            sa.select(invoices.c.external_id, invoices.c.id).where(
                invoices.c.origin == origin, invoices.c.external_id.in_(list(lines))
            )
        )
    }
    keys = [ids[e] for e in lines if e in ids]
    for start in range(0, len(keys), 500):
        conn.execute(invoice_lines.delete().where(invoice_lines.c.invoice_id.in_(keys[start : start + 500])))
    rows = [{**line, "invoice_id": ids[ext]} for ext, group in lines.items() if ext in ids for line in group]
    for start in range(0, len(rows), 500):
        conn.execute(invoice_lines.insert(), rows[start : start + 500])

"""Draft invoices: keys, line order, presentation, tax and totals (rules 8 and 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from revloop.domain.calendar import WorkClass
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import RoundingMode, q4
from revloop.domain.periods import Period
from revloop.domain.rating.lines import GROUPED_KINDS, SECTION, LineDraft, LineKind, render
from revloop.domain.records import Customer, LineAmountTypes, Settings
from revloop.domain.tax import line_amount, line_tax, totals


def invoice_key(customer: str, contract: str | None, period: Period) -> str:
    return f"revloop:{customer}:{contract or 'all'}:{period.start.isoformat()}"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: LineKind
    item_code: str
    account_code: str | None
    description: str
    cls: WorkClass | None
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    tax_code: str | None
    tax_rate: Decimal
    tax: Decimal
    sources: tuple[str, ...]
    why: tuple[str, ...]  # the explanation's parts (shared between lines where they agree)
    contract: str | None = None
    charge_type: str | None = None
    cost: Decimal | None = None

    @property
    def precise(self) -> Decimal:
        """Quantity x unit amount before rounding: the amount is ``round2`` of this."""
        return self.quantity * self.unit_amount

    @property
    def explanation(self) -> str:
        """Rate row and scope, minimum and rounding, class shares and multipliers, draws, tax."""
        return "; ".join(part for part in self.why if part)


@dataclass(frozen=True, slots=True)
class DraftInvoice:
    key: str
    customer: str
    contract: str | None
    period: Period
    currency: str
    line_amount_types: LineAmountTypes
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def _sort_key(d: LineDraft) -> tuple[int, tuple[object, ...]]:
    return (SECTION[d.kind], d.order)


def _group(
    drafts: Sequence[LineDraft], customer: Customer, settings: Settings, period: Period
) -> list[LineDraft]:
    """Summary presentation: labour-like lines grouped, quantities summed; others kept."""
    out: list[LineDraft | list[LineDraft]] = []
    groups: dict[tuple[object, ...], list[LineDraft]] = {}
    for d in drafts:
        if d.kind not in GROUPED_KINDS:
            out.append(d)
            continue
        key = (d.kind, d.charge_type, d.item_code, d.cls, d.unit_amount, d.tax_code, d.contract)
        members = groups.get(key)
        if members is None:
            members = groups[key] = []
            out.append(members)
        members.append(d)
    template = settings.template("summary")
    label = period.label()
    result: list[LineDraft] = []
    for item in out:
        if isinstance(item, LineDraft):
            result.append(item)
            continue
        first = item[0]
        fields = dict(first.template_fields)
        fields["period"] = label
        description = render(template, fields)
        if first.kind != "labour":
            description = f"{description} {first.kind}"
        sources = tuple(dict.fromkeys(s for d in item for s in d.sources))
        quantity = q4(sum((d.quantity for d in item), Decimal(0)))
        parts = ", ".join(f"{d.sources[0]} {d.quantity} h" for d in item)
        result.append(
            LineDraft(
                kind=first.kind,
                customer=first.customer,
                item_code=first.item_code,
                description=description,
                quantity=quantity,
                unit_amount=first.unit_amount,
                tax_code=first.tax_code,
                explanation=f"summary of {len(item)} {first.kind} lines: {parts}",
                sources=sources,
                cls=first.cls,
                account_code=first.account_code,
                contract=first.contract,
                charge_type=first.charge_type,
                order=first.order,
            )
        )
    return result


def build_invoice(
    key: str,
    customer: Customer,
    contract: str | None,
    drafts: Sequence[LineDraft],
    period: Period,
    settings: Settings,
    tax_rates: Mapping[str, Decimal],
    issues: list[Issue],
    cache: dict[tuple[Decimal, Decimal, str | None, bool], tuple[Decimal, Decimal, str]] | None = None,
) -> DraftInvoice | None:
    """Order, present, price and tax the lines of one invoice; ``None`` when nothing to show."""
    mode: RoundingMode = settings.money_rounding
    if cache is None:
        cache = {}  # (quantity, unit, tax code, inclusive) -> (amount, tax, note)
    ordered = sorted(drafts, key=_sort_key)
    if customer.presentation == "summary":
        ordered = _group(ordered, customer, settings, period)
    inclusive = customer.line_amount_types == "Inclusive"
    lines: list[InvoiceLine] = []
    for d in ordered:
        if d.quantity == 0:
            continue
        tax_code = customer.tax_code or d.tax_code
        rate = tax_rates.get(tax_code) if tax_code else None
        priced = cache.get((d.quantity, d.unit_amount, tax_code, inclusive)) if rate is not None else None
        if priced is not None and rate is not None:
            amount, tax, tax_note = priced
            lines.append(
                InvoiceLine(
                    d.kind,
                    d.item_code,
                    d.account_code,
                    d.description,
                    d.cls,
                    d.quantity,
                    d.unit_amount,
                    amount,
                    tax_code,
                    rate,
                    tax,
                    d.sources,
                    (*d.head, d.explanation, tax_note),
                    d.contract,
                    d.charge_type,
                    d.cost,
                )
            )
            continue
        if rate is None:
            issues.append(
                Issue(
                    code="tax.unknown_code",
                    severity=Severity.ERROR,
                    subject=",".join(d.sources) or key,
                    message=f"tax code {tax_code!r} of a {d.kind} line on {key} is not among the tax rates",
                    action="add the tax code to the tax rates or correct the item's tax code",
                )
            )
            rate = Decimal(0)
        amount = line_amount(d.quantity, d.unit_amount, mode)
        tax = line_tax(amount, rate, inclusive, mode)
        tax_note = f"tax {tax_code} at {rate}%{' inclusive' if inclusive else ''}"
        cache[(d.quantity, d.unit_amount, tax_code, inclusive)] = (amount, tax, tax_note)
        lines.append(
            InvoiceLine(
                kind=d.kind,
                item_code=d.item_code,
                account_code=d.account_code,
                description=d.description,
                cls=d.cls,
                quantity=q4(d.quantity),
                unit_amount=q4(d.unit_amount),
                amount=amount,
                tax_code=tax_code,
                tax_rate=rate,
                tax=tax,
                sources=d.sources,
                why=(*d.head, d.explanation, tax_note),
                contract=d.contract,
                charge_type=d.charge_type,
                cost=d.cost,
            )
        )
    if not lines:
        return None
    t = totals((x.amount for x in lines), (x.tax for x in lines), inclusive)
    return DraftInvoice(
        key=key,
        customer=customer.id,
        contract=contract,
        period=period,
        currency=settings.currency,
        line_amount_types=customer.line_amount_types,
        lines=tuple(lines),
        subtotal=t.subtotal,
        tax=t.tax,
        total=t.total,
    )

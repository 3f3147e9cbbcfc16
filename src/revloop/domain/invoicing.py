"""Draft invoices: keys, line order, presentation, tax and totals (rules 8 and 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from revloop.domain.calendar import WorkClass
from revloop.domain.issues import Issue, Severity
from revloop.domain.money import RoundingMode, q4
from revloop.domain.periods import Period
from revloop.domain.rating.lines import GROUPED_KINDS, SECTION, LineDraft, LineKind, Text, render
from revloop.domain.records import Customer, LineAmountTypes, Settings
from revloop.domain.tax import line_amount, line_tax, totals

Priced = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, str]  # quantity, unit, amount, rate, tax, note


def invoice_key(customer: str, contract: str | None, period: Period) -> str:
    return f"revloop:{customer}:{contract or 'all'}:{period.start.isoformat()}"


class _Line(NamedTuple):
    kind: LineKind
    item_code: str
    account_code: str | None
    description: Text
    cls: WorkClass | None
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    tax_code: str | None
    tax_rate: Decimal
    tax: Decimal
    sources: tuple[str, ...]
    why: tuple[Text, ...]  # the explanation's parts (shared between lines where they agree)
    contract: str | None = None
    charge_type: str | None = None
    cost: Decimal | None = None


class InvoiceLine(_Line):
    """One priced line of a draft invoice; immutable.

    A named tuple because a run makes one per line; its description and explanation parts may
    be kept as their parts (``Lazy``) and are made into text when read.
    """

    __slots__ = ()

    @property
    def description(self) -> str:
        text = tuple.__getitem__(self, 3)
        return text if type(text) is str else str(text)

    @property
    def precise(self) -> Decimal:
        """Quantity x unit amount before rounding: the amount is ``round2`` of this."""
        return self.quantity * self.unit_amount

    @property
    def explanation(self) -> str:
        """Rate row and scope, minimum and rounding, class shares and multipliers, draws, tax."""
        return "; ".join(text for text in map(str, self.why) if text)


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


_new = tuple.__new__


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
    cache: dict[tuple[Decimal, Decimal, str | None, bool], Priced] | None = None,
) -> DraftInvoice | None:
    """Order, present, price and tax the lines of one invoice; ``None`` when nothing to show.

    ``cache`` keeps the pricing of (quantity, unit amount, tax code, inclusive) between the
    invoices of a run: equal inputs always price alike, and most lines repeat one another.
    """
    mode: RoundingMode = settings.money_rounding
    if cache is None:
        cache = {}
    ordered = sorted(drafts, key=_sort_key)
    if customer.presentation == "summary":
        ordered = _group(ordered, customer, settings, period)
    inclusive = customer.line_amount_types == "Inclusive"
    override = customer.tax_code
    lines: list[InvoiceLine] = []
    append = lines.append
    for d in ordered:
        quantity = d.quantity
        if quantity == 0:
            continue
        tax_code = override or d.tax_code
        price_key = (quantity, d.unit_amount, tax_code, inclusive)
        priced = cache.get(price_key)
        if priced is None:
            rate = tax_rates.get(tax_code) if tax_code else None
            if rate is None:
                issues.append(
                    Issue(
                        code="tax.unknown_code",
                        severity=Severity.ERROR,
                        subject=",".join(d.sources) or key,
                        message=f"tax code {tax_code!r} of a {d.kind} line on {key} is not among the "
                        "tax rates",
                        action="add the tax code to the tax rates or correct the item's tax code",
                    )
                )
                rate = Decimal(0)
            amount = line_amount(quantity, d.unit_amount, mode)
            tax = line_tax(amount, rate, inclusive, mode)
            note = f"tax {tax_code} at {rate}%{' inclusive' if inclusive else ''}"
            priced = (q4(quantity), q4(d.unit_amount), amount, rate, tax, note)
            if tax_code is not None and tax_code in tax_rates:  # an unknown code is reported per line
                cache[price_key] = priced
        qty, unit, amount, rate, tax, tax_note = priced
        append(
            _new(  # InvoiceLine(...) with every field given in order, made without the checks
                InvoiceLine,
                (
                    d.kind,
                    d.item_code,
                    d.account_code,
                    d.description,
                    d.cls,
                    qty,
                    unit,
                    amount,
                    tax_code,
                    rate,
                    tax,
                    d.sources,
                    (*d.head, d.explanation, tax_note),
                    d.contract,
                    d.charge_type,
                    d.cost,
                ),
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


def split_lines(
    draft: DraftInvoice, kinds: frozenset[str], key: str
) -> tuple[DraftInvoice | None, DraftInvoice | None]:
    """Split a draft into the lines of ``kinds`` (as a draft under ``key``) and the rest (under the
    draft's own key), each with its own totals; ``None`` for a side with no lines."""
    inclusive = draft.line_amount_types == "Inclusive"

    def part(lines: tuple[InvoiceLine, ...], part_key: str) -> DraftInvoice | None:
        if not lines:
            return None
        t = totals((x.amount for x in lines), (x.tax for x in lines), inclusive)
        return DraftInvoice(
            key=part_key,
            customer=draft.customer,
            contract=draft.contract,
            period=draft.period,
            currency=draft.currency,
            line_amount_types=draft.line_amount_types,
            lines=lines,
            subtotal=t.subtotal,
            tax=t.tax,
            total=t.total,
        )

    chosen = tuple(x for x in draft.lines if x.kind in kinds)
    rest = tuple(x for x in draft.lines if x.kind not in kinds)
    return part(chosen, key), part(rest, draft.key)

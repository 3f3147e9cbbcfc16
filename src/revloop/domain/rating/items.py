"""Catalogue items (rule 7): customer price overrides, cost by FIFO over purchase lots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from revloop.domain.records import CatalogueItem, ItemLot


@dataclass(frozen=True, slots=True)
class FifoDraw:
    cost: Decimal
    short: Decimal  # quantity no lot could supply (costed at the last lot's unit cost)
    detail: str


class FifoStock:
    """Purchase lots of one item, drawn oldest first."""

    def __init__(self, lots: Sequence[ItemLot]) -> None:
        self._lots = [[lot.date, lot.quantity, lot.unit_cost] for lot in sorted(lots, key=lambda x: x.date)]

    def draw(self, quantity: Decimal) -> FifoDraw:
        need = quantity
        cost = Decimal(0)
        parts: list[str] = []
        last_cost = Decimal(0)
        for lot in self._lots:
            if need <= 0:
                break
            remaining = lot[1]
            assert isinstance(remaining, Decimal)
            unit_cost = lot[2]
            assert isinstance(unit_cost, Decimal)
            last_cost = unit_cost
            if remaining <= 0:
                continue
            take = min(remaining, need)
            lot[1] = remaining - take
            need -= take
            cost += take * unit_cost
            parts.append(f"{take} @ {unit_cost} (lot {lot[0]})")
        if need > 0 and self._lots:
            last = self._lots[-1][2]
            assert isinstance(last, Decimal)
            last_cost = last
        short = max(need, Decimal(0))
        if short:
            cost += short * last_cost
            parts.append(f"{short} with no lot, costed @ {last_cost}")
        return FifoDraw(cost, short, "FIFO cost " + ", ".join(parts) if parts else "no cost")


def item_price(item: CatalogueItem, override: Decimal | None) -> Decimal:
    return override if override is not None else item.unit_price

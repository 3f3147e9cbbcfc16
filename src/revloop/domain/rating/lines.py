"""The line draft every rating module produces, before tax and presentation."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal, NamedTuple

from revloop.domain.calendar import WorkClass

LineKind = Literal[
    "fee", "recurring", "labour", "covered", "overage", "travel", "mileage", "expense", "item", "topup"
]
SECTION: dict[str, int] = {
    "fee": 0,
    "recurring": 1,
    "labour": 2,
    "covered": 2,
    "overage": 2,
    "travel": 3,
    "mileage": 4,
    "expense": 5,
    "item": 6,
    "topup": 7,
}
GROUPED_KINDS = frozenset({"labour", "covered", "overage", "travel"})


class Lazy:
    """Text kept as a function and its arguments, and made each time it is read.

    A run makes a description and an explanation for every line, and most are never read (an
    invoice posts its lines' descriptions once; explanations are read on demand): keeping the
    parts costs far less than formatting them. Equal when the texts are equal, also to a ``str``.
    """

    __slots__ = ("_args", "_fn")

    def __init__(self, fn: Callable[..., str], *args: object) -> None:
        self._fn = fn
        self._args = args

    def __str__(self) -> str:
        return self._fn(*self._args)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, Lazy)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))


Text = str | Lazy  # a line's description or a part of its explanation


class LineDraft(NamedTuple):
    """A priced line: quantity and unit amount already at 4 dp; the amount comes later.

    Immutable like the other domain values; a named tuple because a run makes one per line.
    """

    kind: LineKind
    customer: str
    item_code: str
    description: Text
    quantity: Decimal
    unit_amount: Decimal
    tax_code: str | None
    explanation: Text
    sources: tuple[str, ...] = ()
    cls: WorkClass | None = None
    account_code: str | None = None
    contract: str | None = None
    charge_type: str | None = None
    cost: Decimal | None = None
    order: tuple[object, ...] = ()  # position inside its section
    template_fields: tuple[tuple[str, str], ...] = ()  # kept for summary presentation only
    head: tuple[Text, ...] = ()  # leading explanation parts, shared by the lines of one record


class Fields(dict[str, str]):
    """Template fields; an unknown field renders empty rather than failing a run."""

    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: dict[str, str]) -> str:
    return " ".join(template.format_map(Fields(values)).split())

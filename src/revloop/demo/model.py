"""The generated MSP as data, and the small helpers every demo module shares.

``DemoMsp`` holds wire-shaped records: ``halopsa`` per HaloPSA resource (snake/lower-case fields as
Halo's REST API returns them, naive-UTC dates, ``1900-01-01T00:00:00`` for unset dates) and ``xero``
per Xero collection (PascalCase, ``/Date(ms+0000)/`` dates). Money and hours are ``Decimal``; a float
never appears. ``to_json`` writes Decimals as JSON numbers digit for digit, keys sorted, so equal
inputs give byte-identical text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DEFAULT_TODAY = date(2026, 11, 23)
EMPTY_DATE = "1900-01-01T00:00:00"
CENT = Decimal("0.01")
BASIS = Decimal("0.0001")
ZERO = Decimal("0")
MINUTES_PER_HOUR = Decimal(60)


@dataclass(frozen=True)
class Size:
    name: str
    clients: int
    entries: int  # time entries over the 12 months (the month to date adds a little)
    agents: int


SIZES: dict[str, Size] = {
    "small": Size("small", 8, 1_500, 15),
    "demo": Size("demo", 60, 40_000, 44),
    "large": Size("large", 1_000, 1_000_000, 360),
}


def size_for(size: str, entries: int | None = None) -> Size:
    """A named size, or (``entries`` given) one scaled to that many time entries."""
    base = SIZES[size]
    if entries is None:
        return base
    clients = max(8, min(1_000, entries // 650))
    agents = max(15, entries // 2_800)
    return Size(f"{size}-{entries}", clients, entries, agents)


@dataclass
class DemoMsp:
    """A generated MSP: both vendors' records, the planted problems and the facts HaloPSA lacks."""

    seed: int
    size: str
    today: date
    halopsa: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    xero: dict[str, Any] = field(default_factory=dict)
    manifest: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "size": self.size,
            "today": self.today.isoformat(),
            "halopsa": self.halopsa,
            "xero": self.xero,
            "manifest": self.manifest,
            "facts": self.facts,
        }

    def to_json(self, part: str | None = None) -> str:
        """The whole MSP (or one part: ``halopsa``, ``xero``, ``manifest``, ``facts``) as JSON."""
        data = self.as_dict() if part is None else self.as_dict()[part]
        return dumps(data)

    def counts(self) -> dict[str, int]:
        out = {f"halopsa.{k}": len(v) for k, v in self.halopsa.items()}
        out.update({f"xero.{k}": len(v) for k, v in self.xero.items() if isinstance(v, list)})
        return out


# --- JSON ------------------------------------------------------------------------------------------

_MARK = "\x00D"
_MARK_RE = re.compile(r'"\\u0000D([^"\\]*)\\u0000"')


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _MARK + str(obj) + "\x00"
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON with every Decimal written as a number, exactly; keys sorted."""
    text = json.dumps(
        data, default=_default, sort_keys=True, ensure_ascii=True, indent=indent, allow_nan=False
    )
    return _MARK_RE.sub(r"\1", text) if "\\u0000D" in text else text


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


# --- money -----------------------------------------------------------------------------------------


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def q4(value: Decimal) -> Decimal:
    return value.quantize(BASIS, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """A manifest amount: 2 dp, half-up."""
    return str(q2(value))


# --- dates -----------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def halo_dt(value: datetime | date) -> str:
    """Halo's naive-UTC ISO form (``2026-09-01T09:15:00``)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{value.isoformat()}T00:00:00"


def xero_date(day: date) -> str:
    ms = (datetime(day.year, day.month, day.day, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)
    return f"/Date({ms}+0000)/"


def xero_stamp(moment: datetime) -> str:
    ms = (moment.replace(tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)
    return f"/Date({ms}+0000)/"


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def guid(kind: int, number: int) -> str:
    """A fixed uuid-shaped id: ``kind`` names the record family, ``number`` the record."""
    return f"{kind:08x}-7e57-4d00-8000-{number:012d}"

"""The problems an MSP really has, planted on purpose and recorded in the manifest.

Clients are given their roles (``Roles``) whether or not problems are planted, so the clean MSP and
the planted one are the same business; ``plant=False`` simply leaves every role's problem out.
How each problem is made and how its amount is computed is written in ``README.md``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from .catalogue import EMERGENCY, ONSITE, REMOTE
from .model import add_months
from .people import Client
from .work import WORK_END, WORK_START, Calendar, Entry, Ticket, WorkGenerator

STRICT_UK: dict[str, tuple[str, ...]] = {
    "negative_margin": ("fixed_price",),
    "stale_fee": ("fixed_price",),
    "prepay_below": ("prepay",),
    "prepay_negative": ("prepay",),
    "allowance_overrun": ("allowance",),
    "outside_contract": ("payg",),
    "unbilled": ("payg",),
    "billed_twice": ("payg",),
}
ANY_CLIENT: dict[str, tuple[str, ...]] = {
    "renewal_no_quote": ("fixed_price", "allowance"),
    "renewal_quoted": ("fixed_price", "allowance"),
    "drift": (),
    "voided": (),
    "overdue": (),
    "missing": (),
    "mismatch": (),
    "no_contract": (),
}
# Months (counted back from the last closed month = 1) each role's problem touches; roles sharing a
# client are kept to different months where the clients allow it.
ROLE_MONTHS: dict[str, set[int]] = {
    "unbilled": {1},
    "billed_twice": {2, 3},
    "outside_contract": {1},
    "allowance_overrun": {1},
    "prepay_below": {1},
    "prepay_negative": {1},
    "stale_fee": {1, 2, 3},
    "negative_margin": set(range(1, 13)),
    "renewal_no_quote": {0},
    "renewal_quoted": {0},
    "drift": {1},
    "voided": {1},
    "overdue": {3, 4},
    "missing": {6},
    "mismatch": {7},
    "no_contract": {2},
}
# Roles whose client must not also carry invoice-level problems (their money must stay readable).
KEEP_CLEAN = ("negative_margin", "prepay_below", "prepay_negative")


@dataclass
class Roles:
    of: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, role: str) -> int:
        return self.of[role]

    def get(self, role: str) -> int | None:
        return self.of.get(role)


def assign_kinds(rng: random.Random, clients: list[Client]) -> dict[int, str]:
    """Contract kinds: the first UK clients cover every kind twice, the rest are drawn."""
    fixed = [
        "payg",
        "fixed_price",
        "allowance",
        "prepay",
        "payg",
        "fixed_price",
        "prepay",
        "payg",
        "allowance",
        "fixed_price",
    ]
    kinds: dict[int, str] = {}
    uk = [c for c in clients if c.country == "GB"]
    for n, c in enumerate(uk):
        kinds[c.id] = (
            fixed[n]
            if n < len(fixed)
            else rng.choices(("payg", "fixed_price", "allowance", "prepay"), (35, 25, 22, 18))[0]
        )
    for c in clients:
        if c.id not in kinds:
            kinds[c.id] = rng.choice(("payg", "fixed_price", "allowance", "prepay"))
    return kinds


def assign_roles(clients: list[Client], kinds: dict[int, str]) -> Roles:
    used: dict[int, int] = {c.id: 0 for c in clients}
    months: dict[int, set[int]] = {c.id: set() for c in clients}
    roles = Roles()
    keep_clean: set[int] = set()

    def pick(role: str, allowed: tuple[str, ...], uk_only: bool, strict: bool) -> None:
        pool = [c for c in clients if (not uk_only or c.country == "GB") and c.id not in keep_clean]
        if role in KEEP_CLEAN:
            pool = [c for c in pool if used[c.id] == 0] or pool
        fit = [c for c in pool if not allowed or kinds[c.id] in allowed]
        if not fit:
            if strict:
                return
            fit = pool
        if role in ("negative_margin", "prepay_below", "prepay_negative"):  # small clients keep it readable
            fit.sort(key=lambda c: (used[c.id], c.users, clients.index(c)))
        else:
            fit.sort(key=lambda c: (bool(months[c.id] & ROLE_MONTHS[role]), used[c.id], clients.index(c)))
        if role == "renewal_quoted" and used[fit[0].id]:
            return
        chosen = fit[0]
        roles.of[role] = chosen.id
        used[chosen.id] += 1
        months[chosen.id] |= ROLE_MONTHS[role]
        if role in KEEP_CLEAN:
            keep_clean.add(chosen.id)

    for role, allowed in STRICT_UK.items():
        pick(role, allowed, True, True)
    for role, allowed in ANY_CLIENT.items():
        pick(role, allowed, False, bool(allowed))
    return roles


# --- making planted work ---------------------------------------------------------------------------


def working_days(cal: Calendar, month: date, last: bool = False) -> list[date]:
    nxt = add_months(month, 1)
    days = [d for d in cal.days if month <= d < nxt and cal.kind[d] == "working"]
    return list(reversed(days)) if last else days


def piece_class(cal: Calendar, day: date, at: int, minutes: int) -> str:
    """The class of ``minutes`` of work from minute ``at`` of ``day``. Work is rated whole in one
    class here (never split), so a piece that crosses the working hours or midnight is refused."""
    opens = WORK_START.hour * 60 + WORK_START.minute
    closes = WORK_END.hour * 60 + WORK_END.minute
    end = at + minutes
    kind = cal.kind[day]
    if end <= 24 * 60:
        if kind != "working":
            return kind
        if opens <= at and end <= closes:
            return "normal"
        if end <= opens or at >= closes:
            return "ooh"
    raise ValueError(f"{minutes} minutes from minute {at} of {day} are not in one class and one day")


def overrun_pieces(days: list[date], hours: Decimal) -> list[tuple[date, int, int]]:
    """90-minute pieces of work, 96 minutes apart from 08:30, adding up to at least ``hours``: dealt
    round the first five of ``days``, or as many more as keep every piece inside working hours."""
    opens = WORK_START.hour * 60 + WORK_START.minute
    closes = WORK_END.hour * 60 + WORK_END.minute
    per_day = (closes - opens - 90) // 96 + 1
    count = max(0, math.ceil(hours / Decimal("1.5")))
    spread = max(5, math.ceil(count / per_day))
    if spread > len(days):
        raise ValueError(f"{hours} hours do not fit in working hours on {len(days)} days")
    return [(days[i % spread], opens + 96 * (i // spread), 90) for i in range(count)]


def planted_ticket(
    work: WorkGenerator,
    client: Client,
    summary: str,
    pieces: list[tuple[date, int, int]],  # (day, start minute of day, minutes)
    ct: int,
    contract_id: int,
    agent_role: str = "helpdesk_l2",
) -> tuple[Ticket, list[Entry]]:
    """A ticket with known entries, each in the class its day and times put it in."""
    ticket_id = max(t.id for t in work.tickets) + 1 if work.tickets else 1001
    agent = work.by_role[agent_role][0]
    entries = []
    for n, (day, at, minutes) in enumerate(pieces, start=1):
        start = datetime(day.year, day.month, day.day) + timedelta(minutes=at)
        entries.append(
            Entry(
                ticket_id,
                n,
                client.id,
                agent,
                ct,
                start,
                minutes,
                0,
                0,
                0,
                piece_class(work.cal, day, at, minutes),
                contract_id,
                "Remote Support"
                if ct == REMOTE
                else "Site Visit"
                if ct == ONSITE
                else "Emergency Callout"
                if ct == EMERGENCY
                else "Project Work",
                "Worked on the request with the customer; notes in the ticket.",
            )
        )
    first, last = entries[0], entries[-1]
    ticket = Ticket(
        ticket_id,
        client.id,
        client.site_ids[0],
        agent,
        "remote",
        summary,
        first.start - timedelta(minutes=20),
        last.start + timedelta(minutes=last.minutes + 10),
        contract_id,
        "Support",
    )
    work.tickets.append(ticket)
    return ticket, entries

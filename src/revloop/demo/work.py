"""The work: contracts (every kind, renewal chains) and tickets with their time entries.

Time entries are generated in the MSP's local time (Europe/London, England and Wales bank holidays)
and written to HaloPSA as naive UTC. Each entry stays inside one class (normal working hours
Mon-Fri 08:30-17:30, out of hours, weekend or bank holiday) and inside one local day, so its class
and work date are never in doubt. Durations are whole multiples of 6 minutes, so ``timetaken`` in
decimal hours is exact.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays

from .catalogue import EMERGENCY, ONSITE, PROJECT, REMOTE
from .model import add_months
from .people import Agent, Client

LONDON = ZoneInfo("Europe/London")
WORK_START = time(8, 30)
WORK_END = time(17, 30)
KINDS = ("payg", "fixed_price", "allowance", "prepay")
KIND_NAMES = {
    "payg": "Pay as you go",
    "fixed_price": "Fixed price",
    "allowance": "Support hours",
    "prepay": "Prepay",
}
COVERS = {  # charge types a contract kind covers; travel is always pay-as-you-go
    "payg": (),
    "fixed_price": (REMOTE, ONSITE, EMERGENCY),
    "allowance": (REMOTE, ONSITE),
    "prepay": (REMOTE, ONSITE, PROJECT),
}


@dataclass
class Contract:
    id: int
    client_id: int
    ref: str
    kind: str
    start: date
    end: date  # exclusive
    previous: int = 0
    fee: Decimal = Decimal(0)  # per month, in the client's currency
    hours_per_period: Decimal = Decimal(0)
    threshold: Decimal = Decimal(0)  # prepay (money), 0 = none
    on_exhausted: str = "payg"
    lot_size: Decimal = Decimal(0)
    lots: list[tuple[date, Decimal, str]] = field(default_factory=list)  # (date, amount, why)

    @property
    def covers(self) -> tuple[int, ...]:
        return COVERS[self.kind]

    @property
    def term_months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month


class Entry:
    """One time entry (a HaloPSA action with time on it)."""

    __slots__ = (
        "action_id",
        "agent_id",
        "client_id",
        "cls",
        "contract_id",
        "ct",
        "miles",
        "minutes",
        "nonbill",
        "note",
        "outcome",
        "start",
        "ticket_id",
        "travel",
    )

    def __init__(
        self,
        ticket_id: int,
        action_id: int,
        client_id: int,
        agent_id: int,
        ct: int,
        start: datetime,
        minutes: int,
        nonbill: int,
        travel: int,
        miles: int,
        cls: str,
        contract_id: int,
        outcome: str,
        note: str,
    ) -> None:
        self.ticket_id = ticket_id
        self.action_id = action_id
        self.client_id = client_id
        self.agent_id = agent_id
        self.ct = ct
        self.start = start  # local (Europe/London), naive
        self.minutes = minutes
        self.nonbill = nonbill
        self.travel = travel
        self.miles = miles
        self.cls = cls
        self.contract_id = contract_id
        self.outcome = outcome
        self.note = note

    @property
    def key(self) -> tuple[int, int]:
        return (self.ticket_id, self.action_id)

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass
class Ticket:
    id: int
    client_id: int
    site_id: int
    agent_id: int
    kind: str
    summary: str
    opened: datetime  # local
    closed: datetime | None
    contract_id: int
    category: str


# --- contracts -------------------------------------------------------------------------------------


def make_contracts(
    rng: random.Random,
    clients: list[Client],
    kinds: dict[int, str],
    history_start: date,
    this_month: date,
    forced_end: dict[int, date],
    forced_start: dict[int, date],
) -> list[Contract]:
    contracts: list[Contract] = []
    for client in clients:
        kind = kinds[client.id]
        term = rng.choice((12, 12, 24, 36))
        if client.id in forced_end:
            end = forced_end[client.id]
            start = add_months(end, -term)
        elif client.id in forced_start:
            start = forced_start[client.id]
            end = add_months(start, term)
        else:
            start = add_months(this_month, -rng.randint(0, term - 2))
            end = add_months(start, term)
        chain = [(start, end)]
        while chain[0][0] > history_start:
            prev_end = chain[0][0]
            chain.insert(0, (add_months(prev_end, -12), prev_end))
        previous = 0
        for n, (s, e) in enumerate(chain):
            cid = 1000 + len(contracts) + 1
            ref = f"{client.id}-{KIND_NAMES[kind].split()[0].upper()[:4]}-{s.year % 100:02d}{s.month:02d}"
            contracts.append(Contract(cid, client.id, ref, kind, s, e, previous))
            previous = cid
            del n
    return contracts


class ContractIndex:
    """The contract in force for a client on a date (terms never overlap)."""

    def __init__(self, contracts: list[Contract]) -> None:
        self.by_id = {c.id: c for c in contracts}
        self._by_client: dict[int, tuple[list[date], list[Contract]]] = {}
        grouped: dict[int, list[Contract]] = {}
        for c in contracts:
            grouped.setdefault(c.client_id, []).append(c)
        for client_id, rows in grouped.items():
            rows.sort(key=lambda c: c.start)
            self._by_client[client_id] = ([c.start for c in rows], rows)

    def in_force(self, client_id: int, day: date) -> Contract | None:
        starts, rows = self._by_client.get(client_id, ([], []))
        i = bisect_right(starts, day)
        if i and rows[i - 1].end > day:
            return rows[i - 1]
        return None

    def for_client(self, client_id: int) -> list[Contract]:
        return self._by_client.get(client_id, ([], []))[1]


# --- the calendar ----------------------------------------------------------------------------------


class Calendar:
    """The MSP's working calendar: days, bank holidays and the UTC offset of each local day."""

    def __init__(self, first: date, last: date) -> None:
        years = range(first.year, last.year + 1)
        self.holidays = holidays.country_holidays("GB", subdiv="ENG", years=years)
        self.days: list[date] = []
        self.kind: dict[date, str] = {}
        self.offset: dict[date, timedelta] = {}
        day = first
        while day <= last:
            self.days.append(day)
            if day in self.holidays:
                self.kind[day] = "holiday"
            elif day.weekday() >= 5:
                self.kind[day] = "weekend"
            else:
                self.kind[day] = "working"
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=LONDON)
            self.offset[day] = noon.utcoffset() or timedelta(0)
            day += timedelta(days=1)

    def to_utc(self, local: datetime) -> datetime:
        return local - self.offset[local.date()]

    def holiday_names(self) -> list[tuple[date, str]]:
        first, last = self.days[0], self.days[-1]
        return sorted((d, str(n)) for d, n in self.holidays.items() if first <= d <= last)


# --- tickets and time entries ----------------------------------------------------------------------

REMOTE_SUMMARIES = (
    "Outlook not syncing on laptop",
    "Printer offline on first floor",
    "Password reset and MFA re-register",
    "VPN drops every few minutes",
    "New starter account set-up",
    "Leaver: disable account, archive mailbox",
    "Teams calls breaking up",
    "OneDrive sync errors",
    "PC very slow after updates",
    "Phishing email reported",
    "MFA not prompting on phone",
    "Shared mailbox permissions",
    "Wi-Fi dropping in meeting room",
    "Backup job failed overnight",
    "Low disk space alert on file server",
    "Windows update failures",
    "Practice management software will not start",
    "Scan to email not working",
    "Mapped drives missing",
    "Licence assignment for new user",
    "Calendar delegation not working",
    "Excel crashes opening large file",
    "Laptop docking station not detecting monitors",
    "Spam getting through to mailboxes",
    "Domain renewal and DNS change",
    "Mobile device enrolment in Intune",
    "Adobe licence transfer",
    "Certificate warning on remote desktop",
    "Antivirus alert: quarantine review",
    "Mailbox full warning",
)
ONSITE_SUMMARIES = (
    "Replace failed switch in comms cabinet",
    "Install new workstations",
    "Office move: re-patch desks",
    "Firewall replacement",
    "Wi-Fi survey for access point upgrade",
    "Server fault: replace power supply",
    "Set up meeting room screen and camera",
    "Deliver and set up laptops",
    "UPS battery replacement",
    "Phone system handsets swap",
    "Printer fleet replacement",
    "Cabling tidy in server room",
)
PROJECT_SUMMARIES = (
    "Microsoft 365 tenant migration",
    "File server to SharePoint migration",
    "Intune and Autopilot rollout",
    "Network refresh: switches and Wi-Fi",
    "Cyber Essentials Plus remediation",
    "Azure virtual desktop pilot",
    "Backup platform migration",
    "Windows 11 upgrade programme",
    "New office fit-out IT",
)
EMERGENCY_SUMMARIES = (
    "Server down: all users affected",
    "Internet outage at head office",
    "Ransomware alert on workstation",
    "Email not flowing in or out",
    "Line-of-business database offline",
    "Power cut: servers not back up",
)
NOTES = {
    REMOTE: (
        "Remoted in, cleared cached credentials, tested with user.",
        "Checked logs, applied fix, monitoring.",
        "Called user, walked through the change, confirmed working.",
        "Updated configuration and rebooted.",
        "Investigated, escalated to vendor with logs attached.",
        "Applied policy change and verified.",
    ),
    ONSITE: (
        "On site: replaced hardware and tested.",
        "On site: installed and configured equipment.",
        "On site: patched and labelled, all ports tested.",
        "On site: met contact, completed works, signed off.",
    ),
    PROJECT: (
        "Project: planning and documentation.",
        "Project: migration batch completed.",
        "Project: configuration and testing.",
        "Project: user communications and cut-over.",
    ),
    EMERGENCY: (
        "Callout: diagnosed fault and restored service.",
        "Callout: worked with ISP to restore line.",
        "Callout: isolated device, restored from backup.",
    ),
    0: ("Internal: documentation update.", "Internal: handover notes.", "Goodwill: no charge follow-up."),
}
OUTCOMES = {
    REMOTE: "Remote Support",
    ONSITE: "Site Visit",
    PROJECT: "Project Work",
    EMERGENCY: "Emergency Callout",
    0: "Admin (no charge)",
}
REMOTE_MINUTES = (6, 12, 18, 24, 30, 36, 42, 48, 60, 72, 90, 120)
REMOTE_WEIGHTS = (10, 14, 12, 10, 14, 8, 6, 6, 9, 5, 4, 2)
_REMOTE_CUM = [sum(REMOTE_WEIGHTS[: i + 1]) for i in range(len(REMOTE_WEIGHTS))]


class WorkGenerator:
    def __init__(
        self,
        rng: random.Random,
        calendar: Calendar,
        clients: list[Client],
        agents: list[Agent],
        contracts: ContractIndex,
        history_start: date,
        today: date,
    ) -> None:
        self.rng = rng
        self.cal = calendar
        self.clients = clients
        self.contracts = contracts
        self.history_start = history_start
        self.today = today
        # the owner does 15 % of project work in a team of 15, less as the team grows
        self.owner_cut = 0.85 if len(agents) <= 15 else 1 - 0.15 * 15 / len(agents)
        self.by_role: dict[str, list[int]] = {}
        for a in agents:
            self.by_role.setdefault(a.role, []).append(a.id)
        self.tickets: list[Ticket] = []
        self.entries: list[Entry] = []
        self.project_clients = {c.id for c in clients if c.users > 12 and rng.random() < 0.45}
        total = sum(c.weight for c in clients)
        acc = 0.0
        self._cum: list[float] = []
        for c in clients:
            acc += max(c.weight, total * 0.002)
            self._cum.append(acc)
        self.working_days = [
            d for d in calendar.days if calendar.kind[d] == "working" and history_start <= d < today
        ]
        self.all_days = [d for d in calendar.days if history_start <= d < today]

    def _agent(self, kind: str) -> int:
        r = self.rng.random()
        if kind == "remote":
            role = "helpdesk_l1" if r < 0.6 else "helpdesk_l2" if r < 0.95 else "service_manager"
        elif kind == "onsite":
            role = "field_engineer"
        elif kind == "project":
            role = "project_engineer" if r < self.owner_cut else "owner"
        else:
            role = "helpdesk_l2" if r < 0.6 else "field_engineer"
        return self.rng.choice(self.by_role[role])

    def _start(self, day: date, minutes: int, emergency: bool) -> tuple[datetime, str]:
        rng = self.rng
        kind = self.cal.kind[day]
        base = datetime(day.year, day.month, day.day)
        if kind != "working":
            latest = min(14 * 60, 23 * 60 + 54 - minutes)
            m = rng.randrange(9 * 60, max(9 * 60 + 1, latest), 6)
            return base + timedelta(minutes=m), kind
        r = rng.random()
        if (emergency or r < 0.07) and minutes <= 360:
            if emergency and rng.random() < 0.25 and minutes <= 120:
                m = rng.randrange(6 * 60, 8 * 60 + 30 - minutes + 1, 6)
            else:
                m = rng.randrange(17 * 60 + 30, min(21 * 60, 23 * 60 + 54 - minutes) + 1, 6)
            return base + timedelta(minutes=m), "ooh"
        if r < 0.08 and minutes <= 90:
            m = rng.randrange(6 * 60 + 30, 8 * 60 + 30 - minutes + 1, 6)
            return base + timedelta(minutes=m), "ooh"
        latest = 17 * 60 + 30 - minutes
        m = rng.randrange(8 * 60 + 30, max(8 * 60 + 31, latest + 1), 6)
        return base + timedelta(minutes=m), "normal"

    def generate(self, target: int) -> None:
        rng = self.rng
        cum = self._cum
        top = cum[-1]
        ticket_id = 1000
        while len(self.entries) < target:
            client = self.clients[bisect_right(cum, rng.random() * top)]
            r = rng.random()
            if r < 0.02:
                kind = "emergency"
            elif r < 0.10 and client.id in self.project_clients:
                kind = "project"
            elif r < 0.22 and client.country == "GB":
                kind = "onsite"
            else:
                kind = "remote"
            if kind == "emergency" or rng.random() < 0.03:
                opened_day = rng.choice(self.all_days)
            else:
                opened_day = rng.choice(self.working_days)
            ticket_id += 1
            self._ticket(ticket_id, client, kind, opened_day)

    def _ticket(self, ticket_id: int, client: Client, kind: str, day: date) -> None:
        rng = self.rng
        if kind == "remote":
            n = 1 if rng.random() < 0.5 else 2 if rng.random() < 0.56 else rng.randint(3, 5)
            summary, ct, category = rng.choice(REMOTE_SUMMARIES), REMOTE, "Support"
        elif kind == "onsite":
            n = rng.randint(1, 2)
            summary, ct, category = rng.choice(ONSITE_SUMMARIES), ONSITE, "Hardware"
        elif kind == "project":
            n = rng.randint(3, 12)
            summary, ct, category = rng.choice(PROJECT_SUMMARIES), PROJECT, "Project"
        else:
            n = rng.randint(1, 3)
            summary, ct, category = rng.choice(EMERGENCY_SUMMARIES), EMERGENCY, "Major Incident"
        agent = self._agent(kind)
        contract = self.contracts.in_force(client.id, day)
        opened_at: datetime | None = None
        last: datetime | None = None
        current = day
        for i in range(n):
            if i:
                step = rng.randint(0, 2) if kind != "project" else rng.randint(1, 6)
                current += timedelta(days=step)
                if kind != "emergency":
                    while current in self.cal.kind and self.cal.kind[current] != "working":
                        current += timedelta(days=1)
            if current >= self.today or current not in self.cal.kind:
                break
            entry_ct = ct
            if kind == "remote":
                minutes = REMOTE_MINUTES[bisect_right(_REMOTE_CUM, rng.random() * _REMOTE_CUM[-1])]
            elif kind == "onsite":
                minutes = rng.randrange(60, 301, 6) if i == 0 or rng.random() < 0.5 else 30
                if i and minutes == 30:
                    entry_ct = REMOTE
            elif kind == "project":
                minutes = rng.randrange(60, 421, 6)
            else:
                minutes = rng.randrange(36, 241, 6)
            nonbill = 0
            r = rng.random()
            if r < 0.06:
                entry_ct = 0
            elif r < 0.10 and minutes >= 24:
                nonbill = rng.randrange(6, minutes // 2 + 1, 6)
            start, cls = self._start(current, minutes, kind == "emergency")
            travel = miles = 0
            if entry_ct == ONSITE:
                travel = rng.randrange(12, 91, 6)
                miles = rng.randint(3, 48)
            entry_contract = self.contracts.in_force(client.id, current)
            action_id = i + 1
            agent_id = agent if rng.random() < 0.85 else self._agent(kind)
            self.entries.append(
                Entry(
                    ticket_id,
                    action_id,
                    client.id,
                    agent_id,
                    entry_ct,
                    start,
                    minutes,
                    nonbill,
                    travel,
                    miles,
                    cls,
                    entry_contract.id if entry_contract else 0,
                    OUTCOMES[entry_ct],
                    rng.choice(NOTES[entry_ct]),
                )
            )
            if opened_at is None:
                opened_at = start - timedelta(minutes=rng.randint(5, 240))
            last = start + timedelta(minutes=minutes)
        if opened_at is None or last is None:
            return
        still_open = last.date() >= self.today - timedelta(days=6) or rng.random() < 0.01
        closed = None if still_open else last + timedelta(minutes=rng.randint(1, 60))
        self.tickets.append(
            Ticket(
                ticket_id,
                client.id,
                client.site_ids[0],
                agent,
                kind,
                summary,
                opened_at,
                closed,
                contract.id if contract else 0,
                category,
            )
        )

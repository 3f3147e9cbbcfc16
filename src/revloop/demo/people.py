"""Who is in the demo MSP: its agents (roles, salaries, loaded hourly cost) and its clients (size,
country, currency, sites, users, assets and recurring charges)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .catalogue import FX, ITEMS, REGIONS
from .model import guid, q2

D = Decimal
ON_COST_RATE = D("0.22")  # employer NI + pension, as a share of salary
PRODUCTIVE_HOURS = D("1600")  # paid hours a year an agent can log (after leave, training, admin)

# role: (title, salary range GBP, share of the team)
ROLES: dict[str, tuple[str, tuple[int, int]]] = {
    "owner": ("Owner / Director", (82_000, 90_000)),
    "service_manager": ("Service Manager", (50_000, 56_000)),
    "helpdesk_l1": ("Helpdesk Engineer L1", (25_000, 29_000)),
    "helpdesk_l2": ("Helpdesk Engineer L2", (32_000, 38_000)),
    "field_engineer": ("Field Engineer", (33_000, 39_000)),
    "project_engineer": ("Project Engineer", (44_000, 52_000)),
}
TEAM_OF_15 = (
    ["owner", "service_manager"]
    + ["helpdesk_l1"] * 5
    + ["helpdesk_l2"] * 3
    + ["field_engineer"] * 3
    + ["project_engineer"] * 2
)
#: the roles a growing MSP adds, in proportion to the hours each does (project work is the largest)
GROWTH = [
    *("project_engineer", "field_engineer", "project_engineer", "helpdesk_l1", "project_engineer"),
    *("field_engineer", "project_engineer", "helpdesk_l2", "project_engineer", "field_engineer"),
    *("project_engineer", "helpdesk_l1", "project_engineer", "field_engineer", "project_engineer"),
    *("service_manager", "project_engineer", "field_engineer", "helpdesk_l2", "project_engineer"),
    *("field_engineer", "project_engineer", "helpdesk_l1", "field_engineer", "project_engineer"),
]
FIRST = [
    "James",
    "Oliver",
    "Amelia",
    "Sophie",
    "Harry",
    "Jack",
    "Emily",
    "Isla",
    "Thomas",
    "George",
    "Charlotte",
    "Lucy",
    "Daniel",
    "Priya",
    "Mohammed",
    "Aisha",
    "Ryan",
    "Chloe",
    "Liam",
    "Megan",
    "Ethan",
    "Hannah",
    "Noah",
    "Grace",
    "Samuel",
    "Zara",
    "Owen",
    "Ella",
    "Callum",
    "Niamh",
    "Rhys",
    "Freya",
    "Arjun",
    "Leah",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Walker",
    "Robinson",
    "Thompson",
    "Evans",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Clarke",
    "Khan",
    "Lewis",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "King",
    "Baker",
]


@dataclass
class Agent:
    id: int
    name: str
    role: str
    salary: Decimal

    @property
    def hourly_cost(self) -> Decimal:
        return q2(self.salary * (1 + ON_COST_RATE) / PRODUCTIVE_HOURS)


def make_agents(rng: random.Random, count: int) -> list[Agent]:
    roles = list(TEAM_OF_15)
    while len(roles) < count:  # a bigger MSP: more of each role in proportion to the work it does
        roles += GROWTH
    roles = roles[:count]
    agents: list[Agent] = []
    used: set[str] = set()
    for n, role in enumerate(roles):
        while True:
            name = f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}"
            if name not in used or len(used) > 1_000:
                break
        if name in used:
            name = f"{name} {n}"
        used.add(name)
        low, high = ROLES[role][1]
        salary = D(rng.randrange(low, high + 1, 250))
        agents.append(Agent(n + 2, name, role, salary))  # agent 1 is Halo's "Unassigned"
    return agents


def halo_agents(agents: list[Agent]) -> list[dict[str, Any]]:
    out = []
    for a in agents:
        first, surname = a.name.split(" ", 1)
        out.append(
            {
                "id": a.id,
                "name": a.name,
                "firstname": first,
                "surname": surname,
                "initials": first[0] + surname[0],
                "email": f"{first}.{surname.replace(' ', '')}@northgate-it.example".lower(),
                "team": ROLES[a.role][0],
                "costprice": a.hourly_cost,
                "chargerate": 1,
                "travelrate": 4,
                "workday_id": 1,
                "workday_name": "Standard Hours",
                "workday_timezone": "Europe/London",
                "workhour_start": D("8.5"),
                "workhour_end": D("17.5"),
            }
        )
    return out


# --- clients ---------------------------------------------------------------------------------------

PLACES = [
    "Harrow",
    "Kingsbridge",
    "Ashford",
    "Redhill",
    "Castlegate",
    "Millbrook",
    "Westfield",
    "Northway",
    "Elmstead",
    "Oakridge",
    "Riverside",
    "Thornbury",
    "Highgate",
    "Fairview",
    "Stonebridge",
    "Brookside",
    "Lindale",
    "Marlow",
    "Hawthorn",
    "Wickham",
    "Ashby",
    "Clifton",
    "Beacon",
    "Hollins",
    "Parkside",
    "Larkfield",
    "Summerhill",
    "Meadowbank",
    "Kestrel",
    "Granby",
    "Aldwych",
    "Belmont",
    "Chiltern",
    "Dunmore",
    "Evesham",
]
TRADES = [
    "Dental Practice",
    "Solicitors",
    "Veterinary Clinic",
    "Accountants",
    "Estate Agents",
    "Architects",
    "Engineering",
    "Logistics",
    "Builders Merchants",
    "Medical Centre",
    "Academy Trust",
    "Insurance Brokers",
    "Recruitment",
    "Property Management",
    "Opticians",
    "Marketing",
    "Charity Trust",
    "Manufacturing",
    "Wealth Management",
    "Surveyors",
    "Care Homes",
    "Hotels",
    "Printing",
]
SUFFIX = ("Ltd", "LLP", "Group", "& Co", "Partners", "Ltd", "Ltd")
FOREIGN = {
    "AU": ("AUD", "Australia/Sydney", ("Sydney", "Melbourne", "Brisbane", "Perth")),
    "NZ": ("NZD", "Pacific/Auckland", ("Auckland", "Wellington", "Christchurch")),
    "US": ("USD", "America/New_York", ("Boston", "Chicago", "Austin", "Denver")),
}


@dataclass
class Client:
    id: int
    name: str
    country: str
    currency: str
    timezone: str
    users: int
    workstations: int
    servers: int
    weight: float  # share of ticket volume (long-tailed)
    contact_id: str
    site_ids: list[int] = field(default_factory=list)
    recurring: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tax_type(self) -> str:
        return "OUTPUT2" if self.country == "GB" else "NONE"

    @property
    def region(self) -> str:
        return REGIONS[self.country]


def _countries(rng: random.Random, count: int) -> list[str]:
    foreign = max(1, round(count * 0.1))
    pool = ["AU", "NZ", "US"]
    out = ["GB"] * (count - foreign) + [pool[i % 3] for i in range(foreign)]
    rng.shuffle(out)
    if out[0] != "GB":  # the first clients stay UK so small sizes keep every UK-only scenario
        j = out.index("GB")
        out[0], out[j] = out[j], out[0]
    return out


def make_clients(rng: random.Random, count: int) -> list[Client]:
    clients: list[Client] = []
    names: set[str] = set()
    for n, country in enumerate(_countries(rng, count)):
        while True:
            if country == "GB":
                name = f"{rng.choice(PLACES)} {rng.choice(TRADES)} {rng.choice(SUFFIX)}"
            else:
                city = rng.choice(FOREIGN[country][2])
                legal = {"AU": "Pty Ltd", "NZ": "Ltd"}.get(country, "Inc")
                name = f"{city} {rng.choice(TRADES)} {legal}"
            if name not in names:
                break
            if len(names) > 400:
                name = f"{name} ({n})"
                break
        names.add(name)
        band = rng.random()
        users = (
            rng.randint(4, 14)
            if band < 0.45
            else rng.randint(15, 60)
            if band < 0.88
            else rng.randint(61, 220)
        )
        servers = max(0, round(users / 25) + rng.randint(-1, 2))
        currency, tz = ("GBP", "Europe/London") if country == "GB" else FOREIGN[country][:2]
        weight = users**0.8 * min(rng.paretovariate(2.5), 3.0)
        client_id = 100 + n
        clients.append(
            Client(
                client_id,
                name,
                country,
                currency,
                tz,
                users,
                users + rng.randint(0, 4),
                servers,
                weight,
                guid(0xE1, client_id),
            )
        )
    return clients


def recurring_charges(rng: random.Random, client: Client) -> list[dict[str, Any]]:
    """Recurring charges, monthly in advance; quantities from the client's users and assets."""
    lines: list[tuple[str, int, str]] = [("MONITOR", client.workstations + client.servers, "assets:device")]
    if rng.random() < 0.8:
        lines.append(("M365-BP", client.users, "users"))
    if client.servers:
        lines.append(("BACKUP", client.servers, "assets:server"))
    if rng.random() < 0.3:
        lines.append(("HOSTING", rng.randint(1, 2), "fixed"))
    return [
        {
            "item_code": code,
            "quantity": D(qty),
            "count_source": source,
            "unit_amount": q2(ITEMS[code].price * FX[client.currency]),
            "unit_cost": ITEMS[code].cost,
            "frequency": "monthly",
            "timing": "advance",
        }
        for code, qty, source in lines
        if qty > 0
    ]

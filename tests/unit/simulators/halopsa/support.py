"""Sample HaloPSA data in Halo's wire shape, and small helpers for the simulator tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from revloop.simulators.halopsa import HaloSimulator
from revloop.simulators.halopsa.wire import loads

START = datetime(2026, 9, 1, 12, 0, 0, tzinfo=UTC)


def sample_data() -> dict[str, Any]:
    clients = [
        {"id": 10 + i, "name": f"Client {i:03d}", "alastupdate": "2026-08-01T00:00:00"} for i in range(150)
    ]
    clients[1]["inactive"] = True
    clients[0].update({"accountsid": "ACC-10", "notes": "VIP notes", "hourlyrate": Decimal("120.00")})
    agents = [
        {"id": 1, "name": "Unassigned"},
        {"id": 2, "name": "API Agent", "isapiagent": True},
        {"id": 5, "name": "Alice Agent", "costprice": Decimal("45.50"), "chargerate": 2},
        {"id": 6, "name": "Bob Agent", "isdisabled": True},
    ]
    tickets = [
        {
            "id": 100 + i,
            "summary": f"Ticket {i}",
            "client_id": 10 + (i % 3),
            "client_name": f"Client {i % 3:03d}",
            "dateoccurred": f"2026-08-{1 + i:02d}T09:00:00",
            "last_update": "2026-08-20T00:00:00",
            "contract_id": 500 if i % 3 == 0 else 0,
        }
        for i in range(20)
    ]
    tickets[5].update({"status_id": 9, "dateclosed": "2026-08-10T17:00:00"})
    tickets[6]["parent_id"] = 105
    actions = []
    for t in range(100, 104):
        for n in range(1, 4):
            actions.append(
                {
                    "id": n,
                    "ticket_id": t,
                    "outcome": "Remote Support",
                    "who_agentid": 5,
                    "who": "Alice Agent",
                    "timetaken": Decimal("0.25") * n,
                    "chargerate": 2 if n != 3 else 0,
                    "datetime": f"2026-08-{t - 99:02d}T1{n}:00:00",
                    "last_updated": "2026-08-20T00:00:00",
                }
            )
    contracts = [
        {
            "id": 500,
            "ref": "MSA-10",
            "client_id": 10,
            "client_name": "Client 000",
            "start_date": "2026-01-01T00:00:00",
            "periodchargeamount": Decimal("1500.00"),
            "numberofunitsfree": Decimal("10.0"),
            "billingplans": [{"chargerate_id": 2, "multiplier": Decimal("1.0")}],
        },
        {"id": 501, "ref": "OLD-10", "client_id": 10, "active": False},
        {"id": 502, "ref": "MSA-11", "client_id": 11, "previouscontract": 503},
        {"id": 503, "ref": "MSA-11-2025", "client_id": 11},
    ]
    charge_rates = [
        {
            "id": 1,
            "area": 0,
            "charge_id": 2,
            "rate": Decimal("100.00"),
            "minimum": Decimal("15.0"),
            "increment": Decimal("15.0"),
        },
        {"id": 2, "area": 10, "charge_id": 2, "rate": Decimal("120.00")},
        {"id": 3, "area": 0, "contract_id": 500, "charge_id": 2, "rate": Decimal("90.00")},
    ]
    lookups = [
        {"id": 0, "lookupid": 17, "name": "No Charge"},
        {"id": 2, "lookupid": 17, "name": "Remote Support"},
        {"id": 3, "lookupid": 17, "name": "On-site"},
        {"id": 1, "lookupid": 5, "name": "Something else"},
    ]
    invoices = [
        {
            "id": 900,
            "invoicenumber": "INV-900",
            "client_id": 10,
            "invoice_date": "2026-08-31T00:00:00",
            "total": Decimal("1650.00"),
            "posted": True,
            "lines": [
                {
                    "id": 1,
                    "item_shortdescription": "Monthly support",
                    "qty_order": Decimal("1.0"),
                    "unit_price": Decimal("1500.00"),
                    "net_amount": Decimal("1500.00"),
                }
            ],
        },
        {"id": 901, "client_id": 11, "invoice_date": "2026-07-31T00:00:00", "invoicetype": 1},
    ]
    recurring = [
        {
            "id": 50,
            "client_id": 10,
            "contract_id": 500,
            "nextcreationdate": "2026-09-01T00:00:00",
            "lines": [
                {
                    "id": 70,
                    "item_shortdescription": "Managed service",
                    "qty_order": Decimal("2.0"),
                    "unit_price": Decimal("250.00"),
                    "net_amount": Decimal("500.00"),
                }
            ],
        }
    ]
    return {
        "clients": clients,
        "sites": [{"id": 20, "name": "Main", "client_id": 21}, {"id": 21, "name": "Branch", "client_id": 10}],
        "agents": agents,
        "tickets": tickets,
        "actions": actions,
        "contracts": contracts,
        "chargerates": charge_rates,
        "lookups": lookups,
        "invoices": invoices,
        "recurringinvoices": recurring,
        "items": [
            {"id": 1, "name": "Support hour", "baseprice": Decimal("100.00")},
            {"id": 2, "name": "M365", "isrecurringitem": True, "recurringprice": Decimal("12.50")},
        ],
        "assets": [{"id": 1, "inventory_number": "PC-1", "client_id": 10, "contract_id": 500}],
        "quotes": [{"id": 1, "title": "Renewal", "client_id": 10, "total": Decimal("100.00")}],
        "expenses": [{"id": 1, "agent_id": 5, "fault_id": 100, "amount": Decimal("12.30")}],
        "holidays": [
            {
                "id": "11111111-1111-4111-8111-111111111111",
                "holid": 1,
                "workday_id": 1,
                "name": "Summer bank holiday",
                "date": "2026-08-31T00:00:00",
                "end_date": "2026-08-31T23:59:59",
                "approval_status": 1,
            }
        ],
        "workdays": [{"id": 1, "name": "Standard Hours", "timezone": "GMT Standard Time"}],
        "clientprepay": [{"id": 1, "client_id": 10, "hours": Decimal("10.0"), "amount": Decimal("900.00")}],
    }


def token_for(http: httpx.Client, sim: HaloSimulator, scope: str = "all") -> str:
    creds = sim.credentials
    response = http.post(
        "/auth/token",
        params={"tenant": creds["tenant"]},
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def body(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return loads(response.content)

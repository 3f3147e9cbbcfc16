"""The fields the simulator emits have the types the Halo spec declares for them.

``swagger_types.json`` holds, for the schemas we serve, each property's type (``integer``,
``number/double``, ``string/date-time``, ``boolean``, ``array``, ``object`` ...), extracted from Halo's
OpenAPI document (shared/specs/halopsa/swagger.json, the September 2024 build). When that document is
present, the extract is checked against it.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import body

HERE = Path(__file__).parent
TYPES: dict[str, dict[str, str]] = json.loads((HERE / "swagger_types.json").read_text())
FULL_SPEC = HERE.parents[4] / "shared" / "specs" / "halopsa" / "swagger.json"

# Live fields the saved spec does not list (NOTES §2.1, §5.4, §5.5), plus links the simulator adds.
EXTRA_FIELDS = {
    "Actions": {"who"},
    "Faults": {"use", "ticketage", "ticket_tags", "merged_into_id"},
    "PrepayHistory": {"contract_id"},
    "Item": {"inactive"},
}

SAMPLES = [
    ("Area", "/api/Client?order=id", "clients"),
    ("Area", "/api/Client/10?includedetails=true", None),
    ("Site", "/api/Site", "sites"),
    ("Site", "/api/Site/20", None),
    ("Uname", "/api/Agent?includeapiagents=true&includeunassigned=true", ""),
    ("Faults", "/api/Tickets?includechildids=true", "tickets"),
    ("Faults", "/api/Tickets/105", None),
    ("Actions", "/api/Actions?ticket_id=100", "actions"),
    ("Actions", "/api/Actions/1?ticket_id=100", None),
    ("ContractHeader", "/api/ClientContract?includeinactive=true", "contracts"),
    ("ContractHeader", "/api/ClientContract/500", None),
    ("InvoiceHeader", "/api/Invoice", "invoices"),
    ("InvoiceHeader", "/api/Invoice/900", None),
    ("InvoiceHeader", "/api/RecurringInvoice/50", None),
    ("Item", "/api/Item", "items"),
    ("Device", "/api/Asset/1", None),
    ("QuotationHeader", "/api/Quotation/1", None),
    ("ChargeRate", "/api/ChargeRate", ""),
    ("Lookup", "/api/Lookup?lookupid=17", ""),
    ("Holidays", "/api/Holiday", ""),
    ("Workdays", "/api/Workday/1?showholidays=true", None),
    ("PrepayHistory", "/api/ClientPrepay", "prepay"),
]


def _type_ok(declared: str, value: Any) -> bool:
    kind, _, fmt = declared.partition("/")
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, Decimal | int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "string":
        if not isinstance(value, str):
            return False
        if fmt == "date-time":
            parsed = datetime.fromisoformat(value)
            return parsed.tzinfo is None
        if fmt == "uuid":
            return len(value) == 36 and value.count("-") == 4
        return True
    return False


def check(schema: str, item: dict[str, Any]) -> list[str]:
    declared = TYPES[schema]
    problems = []
    for key, value in item.items():
        if key not in declared:
            if key not in EXTRA_FIELDS.get(schema, set()):
                problems.append(f"{schema}.{key}: not in the spec")
            continue
        if not _type_ok(declared[key], value):
            problems.append(f"{schema}.{key}: {value!r} is not {declared[key]}")
    if schema == "InvoiceHeader":
        for line in item.get("lines", []):
            problems += check("InvoiceDetail", line)
    if schema == "Workdays":
        for holiday in item.get("holidays", []):
            problems += check("Holidays", holiday)
    return problems


@pytest.mark.parametrize(("schema", "path", "key"), SAMPLES)
def test_emitted_types_match_the_spec(api: httpx.Client, schema: str, path: str, key: str | None) -> None:
    data = body(api.get(path))
    items = [data] if key is None else data if key == "" else data[key]
    assert items
    problems = [p for item in items for p in check(schema, item)]
    assert not problems, problems


def test_written_records_match_the_spec(api: httpx.Client) -> None:
    action = body(
        api.post(
            "/api/Actions",
            json=[
                {
                    "ticket_id": 100,
                    "outcome": "Remote",
                    "timetaken": 2,
                    "who_agentid": 5,
                    "actioninvoicenumber": "INV-1",
                }
            ],
        )
    )
    assert not check("Actions", action)
    invoice = body(
        api.post("/api/Invoice", json=[{"client_id": 10, "lines": [{"qty_order": 1, "unit_price": 3}]}])
    )
    assert not check("InvoiceHeader", invoice)


def test_checker_catches_mismatches() -> None:
    assert check("Actions", {"timetaken": "1.5"}) == ["Actions.timetaken: '1.5' is not number/double"]
    assert check("Faults", {"dateoccurred": "2026-01-01T00:00:00+00:00"})
    assert check("Area", {"id": True})
    assert check("Area", {"nonsense": 1})


@pytest.mark.skipif(not FULL_SPEC.exists(), reason="the full Halo spec is not next to this checkout")
def test_extract_matches_the_full_spec() -> None:
    schemas = json.loads(FULL_SPEC.read_text())["components"]["schemas"]
    for name, props in TYPES.items():
        assert set(props) == set(schemas[name]["properties"]), name
        for prop, declared in props.items():
            spec = schemas[name]["properties"][prop]
            kind = "object" if "$ref" in spec else spec.get("type", "object")
            assert declared.partition("/")[0] == kind, (name, prop)

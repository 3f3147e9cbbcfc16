"""Malformed bodies and filters get Xero's 400s, never a server crash."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloop.simulators.common import SimClock, mock_transport
from revloop.simulators.xero import XeroSimulator
from revloop.simulators.xero.wire import dumps

from .support import START, login

KEYS = st.sampled_from(
    [
        "Contact",
        "ContactID",
        "Name",
        "LineItems",
        "Quantity",
        "UnitAmount",
        "AccountCode",
        "TaxType",
        "Status",
        "Type",
        "Date",
        "LineAmountTypes",
        "Invoice",
        "InvoiceID",
        "Amount",
        "Account",
        "Code",
        "Tracking",
        "DiscountRate",
        "LineAmount",
        "TaxAmount",
        "Schedule",
        "StartDate",
        "ItemCode",
        "SalesDetails",
        "UnitPrice",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.decimals(-100, 100, places=2),
    st.text(max_size=4),
    st.sampled_from(["ACCREC", "AUTHORISED", "Inclusive", "OUTPUT", "210", "090", "2026-10-01", "/Date(0)/"]),
)
VALUES = st.recursive(
    SCALARS, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(KEYS, c, max_size=5)), max_leaves=12
)
WORDS = st.sampled_from(
    [
        "Status",
        "==",
        '"DRAFT"',
        "AND",
        "OR",
        "(",
        ")",
        "Date",
        ">=",
        "DateTime(2026,1,1)",
        "Total",
        ">",
        "1.5",
        'Reference.StartsWith("x")',
        "!=",
        "null",
        "true",
        '"',
        ".",
        ",",
        "Contact.ContactID",
        "DateTime(2026,2,30)",
    ]
)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    sim = XeroSimulator(clock=SimClock(START), minute_limit=10**9, day_limit=10**9)
    anon = httpx.Client(transport=mock_transport(sim), base_url="http://sim")
    token = login(anon, sim)["access_token"]
    anon.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "xero-tenant-id": sim.credentials["tenant_id"],
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
    )
    yield anon
    anon.close()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(["/Invoices", "/Contacts", "/Items", "/Payments", "/CreditNotes", "/Quotes"]),
    st.sampled_from(["PUT", "POST"]),
    VALUES,
    st.booleans(),
)
def test_any_body_gets_an_answer(
    client: httpx.Client, path: str, method: str, body: object, wrap: bool
) -> None:
    payload = {path.strip("/"): [body]} if wrap else body
    response = client.request(
        method,
        f"/api.xro/2.0{path}",
        content=dumps(payload),
        params={"summarizeErrors": "false"} if method == "POST" else {},
    )
    assert response.status_code in (200, 400)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(WORDS, max_size=7), st.sampled_from(["/Invoices", "/Contacts", "/Payments"]))
def test_any_where_gets_an_answer(client: httpx.Client, words: list[str], path: str) -> None:
    response = client.get(f"/api.xro/2.0{path}", params={"where": " ".join(words)})
    assert response.status_code in (200, 400)

"""A Xero simulator on a fixed clock, a logged-in client (validating every response against the
published spec), and the demo organisation's ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from revloop.simulators.common import FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.xero import XeroSimulator

from .support import START, SpecChecker, api_client, login


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> XeroSimulator:
    # Generous per-minute limits: rate limiting has tests of its own.
    return XeroSimulator(clock=clock, faults=FaultInjector(), log=RequestLog(), minute_limit=100_000)


@pytest.fixture
def anon(sim: XeroSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        yield http


@pytest.fixture
def tokens(sim: XeroSimulator, anon: httpx.Client) -> dict[str, Any]:
    return login(anon, sim)


@pytest.fixture
def checker() -> SpecChecker:
    return SpecChecker()


@pytest.fixture
def xero(sim: XeroSimulator, tokens: dict[str, Any], checker: SpecChecker) -> Iterator[httpx.Client]:
    with api_client(sim, checker, tokens["access_token"], sim.credentials["tenant_id"]) as client:
        yield client


@pytest.fixture
def contact_id(sim: XeroSimulator) -> str:
    org = sim.orgs[sim.credentials["tenant_id"]]
    return next(c["ContactID"] for c in org.contacts.values() if c["Name"] == "Acme Dental Group")

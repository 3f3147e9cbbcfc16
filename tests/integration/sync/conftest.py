"""Both simulators seeded from the small demo MSP, clients wired in-process, a migrated store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import make_engine
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.auth import ClientCredentialsSource, IdentityClient, XeroAuth
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.limits import Limits
from revloop.demo.generator import DemoMsp, generate
from revloop.demo.seeding import xero_seed_data
from revloop.services.sync import WaitTally
from revloop.simulators.common import FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.halopsa import DEMO_CREDENTIALS, HaloSimulator
from revloop.simulators.xero import XeroSimulator

#: the demo MSP's "today" is 2026-11-23: the simulators start the morning after
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SETTINGS = SimpleNamespace(currency="GBP", timezone="Europe/London")


class TravelSleep:
    """A ``sleep`` that moves the simulator clock instead of waiting."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(seconds)


_MSP: dict[str, DemoMsp] = {}


def small_msp() -> DemoMsp:
    if "small" not in _MSP:
        _MSP["small"] = generate(seed=7, size="small")
    return _MSP["small"]


@dataclass
class World:
    msp: DemoMsp
    clock: SimClock
    halo_sim: HaloSimulator
    xero_sim: XeroSimulator
    halo: HaloClient
    xero: XeroClient
    waits: WaitTally
    sleep: TravelSleep
    tenant: str
    closers: list[Any] = field(default_factory=list)

    def later(self, seconds: float = 3600) -> datetime:
        """Move time on (so the next run is clearly after every stamp so far) and say when it is."""
        self.clock.advance(seconds)
        return self.clock.now()


def new_halo(sim: HaloSimulator, sleep: TravelSleep, waits: WaitTally | None) -> HaloClient:
    return HaloClient(
        "http://sim/api",
        "http://sim/auth",
        DEMO_CREDENTIALS["client_id"],
        DEMO_CREDENTIALS["client_secret"],
        tenant=DEMO_CREDENTIALS["tenant"],
        transport=mock_transport(sim),
        sleep=sleep,
        clock=sim.clock.monotonic,
        on_wait=waits,
    )


def new_xero(sim: XeroSimulator, sleep: TravelSleep, waits: WaitTally | None) -> XeroClient:
    transport = mock_transport(sim)
    creds = sim.credentials
    identity = IdentityClient(
        "http://sim/identity",
        creds["custom_client_id"],
        creds["custom_client_secret"],
        transport=transport,
        now=sim.clock.now,
    )
    return XeroClient(
        "http://sim/api.xro/2.0",
        auth=XeroAuth(ClientCredentialsSource(identity, now=sim.clock.now)),
        connections_url="http://sim/connections",
        transport=transport,
        limits=Limits(clock=sim.clock.monotonic, sleep=sleep, on_wait=waits),
        sleep=sleep,
        on_wait=waits,
    )


def make_world(msp: DemoMsp, **halo_options: Any) -> World:
    clock = SimClock(START)
    sleep = TravelSleep(clock)
    halo_sim = HaloSimulator(clock=clock, faults=FaultInjector(), log=RequestLog(), **halo_options)
    halo_sim.seed(msp.halopsa)
    xero_sim = XeroSimulator(clock=clock, faults=FaultInjector(), log=RequestLog(), demo_org=False)
    tenant = str(msp.xero["Organisation"]["OrganisationID"])
    xero_sim.seed(xero_seed_data(msp), tenant_id=tenant, chart=False)
    waits = WaitTally()
    halo = new_halo(halo_sim, sleep, waits)
    xero = new_xero(xero_sim, sleep, waits)
    return World(msp, clock, halo_sim, xero_sim, halo, xero, waits, sleep, tenant, [halo, xero])


@pytest.fixture
def world() -> Iterator[World]:
    made = make_world(small_msp())
    yield made
    for closer in made.closers:
        closer.close()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()

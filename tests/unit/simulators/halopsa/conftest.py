"""A seeded HaloPSA simulator and an authenticated client talking to it in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from revloop.simulators.common import FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.halopsa import HaloSimulator

from .support import START, sample_data, token_for


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> HaloSimulator:
    simulator = HaloSimulator(clock=clock, faults=FaultInjector(), log=RequestLog())
    simulator.seed(sample_data())
    return simulator


@pytest.fixture
def anon(sim: HaloSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=mock_transport(sim), base_url="http://sim") as http:
        yield http


@pytest.fixture
def api(sim: HaloSimulator, anon: httpx.Client) -> httpx.Client:
    anon.headers["Authorization"] = f"Bearer {token_for(anon, sim)}"
    return anon

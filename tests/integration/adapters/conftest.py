"""The two clients wired to the simulators in-process, with a sleep that moves the simulator clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import make_engine
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.halopsa.pacing import Wait
from revloop.adapters.xero.auth import (
    ClientCredentialsSource,
    IdentityClient,
    TokenSet,
    XeroAuth,
    authorize_url,
    new_pkce,
    new_state,
)
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.limits import Limits
from revloop.adapters.xero.tokens import ConnectionStore, StoredTokenSource
from revloop.simulators.common import FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.halopsa import DEMO_CREDENTIALS, HaloSimulator
from revloop.simulators.xero import XeroSimulator

START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


class TravelSleep:
    """A ``sleep`` that advances the simulator clock instead of waiting, and remembers each pause."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def travel(clock: SimClock) -> TravelSleep:
    return TravelSleep(clock)


def halo_sim(clock: SimClock, **options: object) -> HaloSimulator:
    return HaloSimulator(clock=clock, faults=FaultInjector(), log=RequestLog(), **options)  # type: ignore[arg-type]


def halo_client(
    sim: HaloSimulator, travel: TravelSleep, waits: list[Wait] | None = None, **kw: object
) -> HaloClient:
    return HaloClient(
        "http://sim/api",
        "http://sim/auth",
        DEMO_CREDENTIALS["client_id"],
        DEMO_CREDENTIALS["client_secret"],
        tenant=DEMO_CREDENTIALS["tenant"],
        transport=mock_transport(sim),
        sleep=travel,
        clock=sim.clock.monotonic,
        on_wait=waits.append if waits is not None else None,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def hsim(clock: SimClock) -> HaloSimulator:
    return halo_sim(clock)


@pytest.fixture
def halo(hsim: HaloSimulator, travel: TravelSleep) -> Iterator[HaloClient]:
    with halo_client(hsim, travel) as client:
        yield client


# --- Xero ---------------------------------------------------------------------------------------------

XERO_API = "http://sim/api.xro/2.0"
XERO_IDENTITY = "http://sim/identity"
XERO_CONNECTIONS = "http://sim/connections"


def xero_sim(clock: SimClock, **options: object) -> XeroSimulator:
    return XeroSimulator(clock=clock, faults=FaultInjector(), log=RequestLog(), **options)  # type: ignore[arg-type]


def custom_client(
    sim: XeroSimulator, travel: TravelSleep, *, limits: Limits | None = None, **kw: object
) -> XeroClient:
    """A Custom Connection (client_credentials) client."""
    transport = mock_transport(sim)
    creds = sim.credentials
    identity = IdentityClient(
        XERO_IDENTITY, creds["custom_client_id"], creds["custom_client_secret"], transport=transport
    )
    return XeroClient(
        XERO_API,
        auth=XeroAuth(ClientCredentialsSource(identity, now=sim.clock.now)),
        connections_url=XERO_CONNECTIONS,
        transport=transport,
        limits=limits or Limits(clock=sim.clock.monotonic, sleep=travel),
        sleep=travel,
        **kw,  # type: ignore[arg-type]
    )


def consent(sim: XeroSimulator) -> TokenSet:
    """Run the authorization-code flow with PKCE against the simulator; the first token set."""
    creds = sim.credentials
    pkce, state = new_pkce(), new_state()
    url = authorize_url(
        XERO_IDENTITY + "/connect/authorize",
        client_id=creds["client_id"],
        redirect_uri=creds["redirect_uri"],
        state=state,
        code_challenge=pkce.challenge,
        scopes=creds["scopes"].split(),
    )
    with httpx.Client(transport=mock_transport(sim)) as http:
        answer = http.get(url)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [state]
    identity = code_identity(sim)
    return identity.exchange_code(
        query["code"][0], redirect_uri=creds["redirect_uri"], code_verifier=pkce.verifier
    )


def code_identity(sim: XeroSimulator) -> IdentityClient:
    creds = sim.credentials
    return IdentityClient(
        XERO_IDENTITY,
        creds["client_id"],
        creds["client_secret"],
        transport=mock_transport(sim),
        now=sim.clock.now,
    )


class Stores:
    """Connection stores on migrated databases; every engine is disposed at the end of the test."""

    def __init__(self, key: bytes, sim: XeroSimulator) -> None:
        self.key = key
        self.sim = sim
        self.engines: list[Engine] = []
        self.migrated: set[str] = set()

    def __call__(self, url: str) -> ConnectionStore:
        engine = make_engine(url)
        self.engines.append(engine)
        if url not in self.migrated:
            migrations.upgrade(engine)
            self.migrated.add(url)
        return ConnectionStore(engine, self.key, now=self.sim.clock.now)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


def stored_client(
    sim: XeroSimulator, store: ConnectionStore, travel: TravelSleep, name: str = "default"
) -> tuple[XeroClient, StoredTokenSource]:
    source = StoredTokenSource(store, name, code_identity(sim), now=sim.clock.now)
    client = XeroClient(
        XERO_API,
        auth=XeroAuth(source),
        connections_url=XERO_CONNECTIONS,
        transport=mock_transport(sim),
        limits=Limits(clock=sim.clock.monotonic, sleep=travel),
        sleep=travel,
    )
    return client, source


@pytest.fixture
def xsim(clock: SimClock) -> XeroSimulator:
    return xero_sim(clock)


@pytest.fixture
def xero(xsim: XeroSimulator, travel: TravelSleep) -> Iterator[XeroClient]:
    with custom_client(xsim, travel) as client:
        yield client


@pytest.fixture
def tenant(xsim: XeroSimulator) -> str:
    return xsim.credentials["tenant_id"]


@pytest.fixture
def fernet_key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def stores(xsim: XeroSimulator, fernet_key: bytes) -> Iterator[Stores]:
    made = Stores(fernet_key, xsim)
    yield made
    made.close()

"""The whole round (full HaloPSA and Xero, then a quiet incremental run) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from revloop.adapters.db import migrations, tables
from revloop.adapters.db.engine import make_engine
from revloop.services.sync import sync_halopsa, sync_xero

from .conftest import SETTINGS, World
from .helpers import api_calls, count, expected_halopsa, landed_halopsa

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def test_full_then_quiet_sync_on_postgresql(world: World, pg_store: Engine) -> None:
    halo = sync_halopsa(pg_store, world.halo, full=True, settings=SETTINGS, now=world.later())
    xero = sync_xero(
        pg_store, world.xero, tenant_id=world.tenant, full=True, settings=SETTINGS, now=world.later()
    )
    assert halo.issues == [] and xero.issues == []
    assert landed_halopsa(pg_store) == expected_halopsa(world.msp)
    assert count(pg_store, tables.invoices, tables.invoices.c.origin == "xero") == len(
        world.msp.xero["Invoices"]
    )
    world.halo_sim.log.clear()
    world.xero_sim.log.clear()
    sync_halopsa(pg_store, world.halo, full=False, settings=SETTINGS, now=world.later())
    sync_xero(pg_store, world.xero, tenant_id=world.tenant, full=False, settings=SETTINGS, now=world.later())
    for log in (world.halo_sim.log, world.xero_sim.log):
        assert max(api_calls(log.counts()).values()) == 1

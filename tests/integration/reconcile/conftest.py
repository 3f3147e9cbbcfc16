"""A store synced from both simulators seeded with the small demo MSP, once per module; each test
works on its own copy of it.

The contract terms HaloPSA does not hold (covered charge types, prepay thresholds, what happens
when a balance runs out) and the fee item codes are set as the MSP sets them (`revloop contract
set`, `[billing] contract_item_codes`), from the MSP's facts.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from revloop.adapters.db import migrations
from revloop.adapters.db import tables as t
from revloop.adapters.db.engine import make_engine
from revloop.bootstrap import App
from revloop.config import load_settings
from revloop.demo.generator import generate
from revloop.demo.model import DemoMsp
from revloop.services.sync import sync_halopsa, sync_xero

from ..sync.conftest import SETTINGS, make_world

#: the morning after the demo MSP's "today" (2026-11-23)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FEE_ITEMS = {"fixed_price": "FEE-FIXED", "allowance": "FEE-ALLOW"}


def apply_contract_terms(url: str, msp: DemoMsp) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for c in msp.facts["contracts"]:
                values: dict[str, object] = {"covers": [f"ct{x}" for x in c["covers"]]}
                if c["prepay"]:
                    values["threshold"] = c["prepay"]["threshold"]
                    values["on_exhausted"] = c["prepay"]["on_exhausted"]
                conn.execute(
                    t.contracts.update().where(t.contracts.c.halopsa_id == str(c["id"])).values(**values)
                )
    finally:
        engine.dispose()


def synced_store(path: Path, msp: DemoMsp) -> str:
    """Both simulators seeded as `revloop simulate` seeds them, a full sync of each into SQLite."""
    url = f"sqlite:///{path}"
    world = make_world(msp)
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        sync_halopsa(engine, world.halo, full=True, settings=SETTINGS, now=world.later())
        report = sync_xero(
            engine, world.xero, tenant_id=world.tenant, full=True, settings=SETTINGS, now=world.later()
        )
        assert report.issues == []
    finally:
        engine.dispose()
        for closer in world.closers:
            closer.close()
    apply_contract_terms(url, msp)
    return url


@dataclasses.dataclass
class Template:
    msp: DemoMsp
    path: Path


def _template(factory: pytest.TempPathFactory, plant: bool) -> Template:
    msp = generate(seed=7, size="small", plant=plant)
    path = factory.mktemp("reconcile") / "template.db"
    synced_store(path, msp)
    return Template(msp, path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return _template(tmp_path_factory, plant=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return _template(tmp_path_factory, plant=False)


def app_on(template: Template, tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "store.db"
    shutil.copyfile(template.path, path)
    settings = load_settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{path}",
        billing_contract_item_codes=FEE_ITEMS,
    )
    application = App(settings)
    yield application
    application.close()


@pytest.fixture
def app(planted: Template, tmp_path: Path) -> Iterator[App]:
    yield from app_on(planted, tmp_path)


@pytest.fixture
def clean_app(clean: Template, tmp_path: Path) -> Iterator[App]:
    yield from app_on(clean, tmp_path)

"""``revloop sync`` and ``revloop map`` on a Typer app of their own, clients wired to the simulators."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from revloop.adapters.db import migrations, repository, tables
from revloop.adapters.db.engine import make_engine
from revloop.cli import sync as cli
from revloop.simulators.common import Fault

from .conftest import World, make_world, new_halo, new_xero, small_msp

runner = CliRunner()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Iterator[tuple[typer.Typer, World, str]]:
    msp = copy.deepcopy(small_msp())
    msp.halopsa["client"][0].pop("xeroid")
    msp.xero["Contacts"][0]["ContactNumber"] = "unknown"  # the first customer can only be suggested
    world = make_world(msp)
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("REVLOOP_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(
        cli, "make_halo_client", lambda application, waits: new_halo(world.halo_sim, world.sleep, waits)
    )
    monkeypatch.setattr(
        cli,
        "make_xero_client",
        lambda application, waits: (new_xero(world.xero_sim, world.sleep, waits), world.tenant),
    )
    typer_app = typer.Typer()
    cli.register(typer_app)
    yield typer_app, world, sqlite_url
    world.halo.close()
    world.xero.close()


def test_sync_all_prints_a_summary_and_exits_zero(app: tuple[typer.Typer, World, str]) -> None:
    typer_app, world, _ = app
    world.halo_sim.faults.add(Fault(route=r"GET /api/tickets", status=429, count=1))
    world.halo_sim.seed({"site": [{"id": 9001, "name": "Nowhere", "client_id": 4242}]})
    result = runner.invoke(typer_app, ["sync", "all", "--full"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "halopsa actions" in result.output and "xero invoices" in result.output
    assert "halopsa.unknown_reference" in result.output and "halopsa:site:9001" in result.output
    assert "Sync" in result.output
    again = runner.invoke(typer_app, ["sync", "halopsa"], env={"COLUMNS": "220"})
    assert again.exit_code == 0, again.output
    assert "incremental" in again.output


def test_map_lists_suggestions_and_confirms_a_link(app: tuple[typer.Typer, World, str]) -> None:
    typer_app, world, url = app
    assert runner.invoke(typer_app, ["sync", "all", "--full"]).exit_code == 0
    listed = runner.invoke(typer_app, ["map"], env={"COLUMNS": "220"})
    assert listed.exit_code == 0, listed.output
    contact = world.msp.xero["Contacts"][0]["ContactID"].lower()
    assert "c100" in listed.output and contact in listed.output
    confirmed = runner.invoke(typer_app, ["map", "c100", contact])
    assert confirmed.exit_code == 0, confirmed.output
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert repository.external_id_for(conn, "customer", "c100", "xero") == contact
            assert repository.suggestions(conn, "customer") == []
            by = conn.execute(
                sa.select(tables.external_ids.c.confirmed_by).where(
                    tables.external_ids.c.external_id == contact
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert by == "cli"
    unknown = runner.invoke(typer_app, ["map", "nobody", contact])
    assert unknown.exit_code != 0

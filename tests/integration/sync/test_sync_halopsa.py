"""HaloPSA into the store through the simulator: everything lands, a quiet second run costs one call
per resource, one edit lands as exactly one change, broken records are quarantined, and 429 storms
and 503s lose nothing."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db import tables
from revloop.services.sync import ResourceReport, sync_halopsa
from revloop.services.sync.halopsa import RESOURCES
from revloop.simulators.common import Fault

from .conftest import SETTINGS, World, make_world, small_msp
from .helpers import api_calls, count, expected_halopsa, landed_halopsa, rows


def full(world: World, store: Engine) -> None:
    report = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    assert report.issues == []


def test_a_full_sync_lands_every_record(world: World, store: Engine) -> None:
    report = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    assert report.issues == []
    assert landed_halopsa(store) == expected_halopsa(world.msp)
    assert count(store, tables.invoice_lines) == sum(len(i["lines"]) for i in world.msp.halopsa["invoice"])
    lower = sum(-(-r.read // 100) for r in report.resources)
    assert report.calls <= lower + 2, [(r.resource, r.read, r.calls) for r in report.resources]
    with store.connect() as conn:
        entry = conn.execute(
            sa.select(tables.time_entries).where(tables.time_entries.c.source_key == "1001/1")
        ).one()
        customer = conn.execute(sa.select(tables.customers).where(tables.customers.c.code == "c100")).one()
        contract = conn.execute(sa.select(tables.contracts).where(tables.contracts.c.code == "k1001")).one()
    action = next(a for a in world.msp.halopsa["actions"] if a["ticket_id"] == 1001 and a["id"] == 1)
    assert entry.minutes == Decimal(action["timetaken"]) * 60
    assert entry.billing_state == "invoiced" and entry.invoice_number == action["actioninvoicenumber"]
    assert str(entry.work_date) == action["actionarrivaldate"][:10]
    assert entry.start_utc.tzinfo is not None
    assert customer.name == "Hollins Medical Centre LLP" and customer.currency == "GBP"
    assert contract.kind == "payg" and str(contract.end) == "2026-10-01"  # Halo's last day + 1
    with store.connect() as conn:
        travel = dict(
            conn.execute(
                sa.select(tables.charge_types.c.code, tables.charge_types.c.travel_charge_type_id).where(
                    tables.charge_types.c.travel_charge_type_id.is_not(None)
                )
            ).all()
        )
        travel_type = conn.execute(
            sa.select(tables.charge_types.c.id).where(tables.charge_types.c.code == "ct4")
        ).scalar_one()
    travelled = {f"ct{a['chargerate']}" for a in world.msp.halopsa["actions"] if a.get("traveltime")}
    assert travelled and set(travel) == travelled  # the travel rate the actions name, per charge type
    assert set(travel.values()) == {travel_type}
    with store.connect() as conn:  # HaloPSA's own record of each invoice's Xero copy
        stored = dict(
            conn.execute(
                sa.select(tables.invoices.c.external_id, tables.invoices.c.xero_invoice_id).where(
                    tables.invoices.c.origin == "halopsa"
                )
            ).all()
        )
    expected = {str(i["id"]): (i.get("xeroid") or "").lower() or None for i in world.msp.halopsa["invoice"]}
    assert stored == expected and any(stored.values())


def test_a_second_sync_with_nothing_changed_makes_one_call_per_resource(world: World, store: Engine) -> None:
    full(world, store)
    before = rows(store, tables.time_entries)
    world.halo_sim.log.clear()
    report = sync_halopsa(store, world.halo, full=False, settings=SETTINGS, now=world.later())
    calls = api_calls(world.halo_sim.log.counts())
    assert calls and max(calls.values()) == 1, calls
    assert all(r.calls <= 1 for r in report.resources)
    assert report.issues == []
    assert rows(store, tables.time_entries) == before


def test_one_edited_action_lands_as_exactly_that_change(world: World, store: Engine) -> None:
    full(world, store)
    before = rows(store, tables.time_entries)
    world.later()
    world.halo.post("Actions", [{"id": 2, "ticket_id": 1001, "timetaken": Decimal("2.75")}])
    report = sync_halopsa(store, world.halo, full=False, settings=SETTINGS, now=world.later())
    after = rows(store, tables.time_entries)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"1001/2"}
    with store.connect() as conn:
        minutes = conn.execute(
            sa.select(tables.time_entries.c.minutes).where(tables.time_entries.c.source_key == "1001/2")
        ).scalar_one()
    assert minutes == Decimal("165")
    assert report.resource("tickets").read == 1
    assert report.issues == []


def test_a_deleted_action_becomes_an_issue_and_is_kept(world: World, store: Engine) -> None:
    full(world, store)
    world.later()
    world.halo.request("DELETE", "Actions/1", params={"ticket_id": 1001})
    report = sync_halopsa(store, world.halo, full=False, settings=SETTINGS, now=world.later())
    assert [(i.code, i.subject) for i in report.issues] == [("halopsa.vanished", "halopsa:action:1001/1")]
    assert count(store, tables.time_entries, tables.time_entries.c.source_key == "1001/1") == 1
    with store.connect() as conn:
        kinds = conn.execute(sa.select(tables.findings.c.kind, tables.findings.c.code)).all()
    assert ("issue", "halopsa.vanished") in kinds


def test_malformed_records_are_quarantined_and_the_rest_lands(store: Engine) -> None:
    msp = small_msp()
    world = make_world(msp)
    try:
        world.halo_sim.seed(
            {
                "actions": [
                    {
                        "id": 91,
                        "ticket_id": 1001,
                        "timetaken": "-1",
                        "actionarrivaldate": "2026-10-01T09:00:00",
                    },
                    {
                        "id": 92,
                        "ticket_id": 1001,
                        "timetaken": "1",
                        "chargerate": 77,
                        "actionarrivaldate": "2026-10-01T09:00:00",
                        "last_updated": "2026-10-01T10:00:00",
                    },
                    {
                        "id": 1,
                        "ticket_id": 999999,
                        "timetaken": "1",
                        "actionarrivaldate": "2026-10-01T09:00:00",
                        "last_updated": "2026-10-01T10:00:00",
                    },
                ],
                "site": [{"id": 9001, "name": "Nowhere", "client_id": 4242}],
                "tickets": [{"id": 99001, "client_id": 100, "summary": "Bad", "contract_id": 5555}],
            }
        )
        report = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
        again = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    finally:
        world.halo.close()
        world.xero.close()
    found = {(i.code, i.subject) for i in report.issues}
    assert found == {
        ("halopsa.malformed", "halopsa:action:1001/91"),
        ("halopsa.unknown_reference", "halopsa:action:1001/92"),
        ("halopsa.unknown_reference", "halopsa:action:999999/1"),
        ("halopsa.unknown_reference", "halopsa:site:9001"),
        ("halopsa.unknown_reference", "halopsa:ticket:99001"),
    }
    assert all(i.action for i in report.issues)
    assert landed_halopsa(store) == expected_halopsa(msp)
    with store.connect() as conn:
        stored = conn.execute(
            sa.select(tables.findings.c.kind, tables.findings.c.code, tables.findings.c.subjects)
        ).all()
    assert len(stored) == 5 and {k for k, _, _ in stored} == {"issue"}
    assert len(again.issues) == 5
    assert count(store, tables.findings) == 5  # the same issues, not new ones


def test_429_storms_and_503s_lose_nothing(world: World, store: Engine) -> None:
    world.halo_sim.faults.add(Fault(route=r"GET /api/actions", status=429, count=4))
    world.halo_sim.faults.add(Fault(route=r"GET /api/tickets", status=503, count=2))
    world.halo_sim.faults.add(Fault(route=r"GET /api/client$", status=429, count=2))
    report = sync_halopsa(
        store, world.halo, full=True, settings=SETTINGS, now=world.later(), waits=world.waits
    )
    assert report.issues == []
    assert landed_halopsa(store) == expected_halopsa(world.msp)
    assert report.resource("actions").rate_limit_waits == 4
    assert report.resource("clients").rate_limit_waits == 2
    assert report.resource("tickets").retry_waits == 2
    assert report.rate_limit_seconds > 0


def test_an_issue_no_longer_detected_by_a_full_sync_is_resolved(world: World, store: Engine) -> None:
    world.halo_sim.seed({"site": [{"id": 9001, "name": "Annex", "client_id": 4242}]})
    first = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    assert [i.subject for i in first.issues] == ["halopsa:site:9001"]
    world.halo.post("Site", [{"id": 9001, "client_id": 100}])
    second = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    assert second.issues == []
    with store.connect() as conn:
        state = conn.execute(sa.select(tables.findings.c.state, tables.findings.c.state_reason)).one()
    assert tuple(state) == ("resolved", "no longer detected")
    assert count(store, tables.sites) == len(world.msp.halopsa["site"]) + 1


def test_an_action_the_window_misses_is_read_per_ticket_not_called_vanished(
    world: World, store: Engine
) -> None:
    full(world, store)
    action = world.halo_sim.store.actions.get((1001, 1))
    assert action is not None
    action["last_updated"] = "1900-01-01T00:00:00"  # a build that leaves the stamp unset
    world.halo_sim.log.clear()
    report = sync_halopsa(store, world.halo, full=True, settings=SETTINGS, now=world.later())
    assert report.issues == []
    assert report.resource("actions").calls == -(-len(world.msp.halopsa["actions"]) // 100) + 1
    assert count(store, tables.time_entries) == len(world.msp.halopsa["actions"])


def test_contracts_land_as_the_demo_facts_describe_them(world: World, store: Engine) -> None:
    full(world, store)
    with store.connect() as conn:
        stored = {r.code: r for r in conn.execute(sa.select(tables.contracts))}
    for fact in world.msp.facts["contracts"]:
        row = stored[f"k{fact['id']}"]
        assert (row.kind, str(row.start), str(row.end)) == (fact["kind"], fact["start"], fact["end"]), fact
        if fact["kind"] in ("fixed_price", "allowance"):
            assert row.fee == Decimal(fact["fee"])
        if fact["kind"] == "allowance":
            assert row.hours_per_period == Decimal(fact["hours_per_period"])
        if fact["kind"] == "prepay":
            assert row.unit == "money"


def test_rate_rows_land_as_the_demo_ratebook(world: World, store: Engine) -> None:
    full(world, store)
    r, ct, cu, co = tables.rate_rows, tables.charge_types, tables.customers, tables.contracts
    query = (
        sa.select(
            r, ct.c.halopsa_id.label("charge"), cu.c.code.label("customer"), co.c.halopsa_id.label("contract")
        )
        .join(ct, ct.c.id == r.c.charge_type_id)
        .outerjoin(cu, cu.c.id == r.c.customer_id)
        .outerjoin(co, co.c.id == r.c.contract_id)
    )
    with store.connect() as conn:
        got = {
            (
                row.scope,
                {"customer": (row.customer or "c0")[1:], "contract": row.contract}.get(row.scope, "0"),
                row.charge,
                str(row.effective_from),
                row.hourly_rate,
                row.minimum_minutes,
                row.increment_minutes,
                row.rounding,
                row.ooh_multiplier,
                row.overage_multiplier,
            )
            for row in conn.execute(query)
        }
    want = {
        (
            f["scope"],
            str(f["scope_id"]),
            str(f["charge_type"]),
            f["effective_from"],
            Decimal(f["hourly_rate"]),
            Decimal(f["minimum_minutes"]),
            Decimal(f["increment_minutes"]),
            f["rounding"],
            Decimal(f["ooh_multiplier"]),
            Decimal(f["overage_multiplier"]),
        )
        for f in world.msp.facts["ratebook"]
    }
    assert got == want


def test_rates_and_prepay_lots_are_not_rewritten_when_nothing_changed(world: World, store: Engine) -> None:
    full(world, store)
    with store.connect() as conn:
        rate_ids = set(conn.execute(sa.select(tables.rate_rows.c.id)).scalars())
        lot_ids = set(conn.execute(sa.select(tables.contract_purchases.c.id)).scalars())
        conn.execute(
            tables.rate_rows.insert().values(
                charge_type_id=min(conn.execute(sa.select(tables.charge_types.c.id)).scalars()),
                scope="global",
                effective_from=sa.func.current_date(),
                hourly_rate=Decimal("1"),
                source="local",
            )
        )
        conn.commit()
    report = sync_halopsa(store, world.halo, full=False, settings=SETTINGS, now=world.later())
    assert report.resource("charge_rates").upserted == 0 and report.resource("prepay").upserted == 0
    with store.connect() as conn:
        assert rate_ids < set(conn.execute(sa.select(tables.rate_rows.c.id)).scalars())
        assert count(store, tables.rate_rows, tables.rate_rows.c.source == "local") == 1
        assert set(conn.execute(sa.select(tables.contract_purchases.c.id)).scalars()) == lot_ids


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def started(self, system: str, resource: str) -> None:
        self.events.append(("started", resource, system))

    def advanced(self, system: str, resource: str, records: int) -> None:
        self.events.append(("advanced", resource, records))

    def waited(self, system: str, resource: str, reason: str, seconds: float) -> None:
        self.events.append(("waited", resource, reason))

    def finished(self, report: ResourceReport) -> None:
        self.events.append(("finished", report.resource, report.read))


def test_progress_hears_of_each_resource_and_each_wait_as_it_happens(world: World, store: Engine) -> None:
    world.halo_sim.faults.add(Fault(route=r"GET /api/item$", status=429, count=1))
    progress = Recorder()
    sync_halopsa(
        store,
        world.halo,
        full=True,
        settings=SETTINGS,
        now=world.later(),
        progress=progress,
        waits=world.waits,
    )
    started = [r for kind, r, _ in progress.events if kind == "started"]
    assert started == list(RESOURCES)
    assert ("waited", "items", "rate_limited") in progress.events
    assert ("finished", "actions", len(world.msp.halopsa["actions"])) in progress.events

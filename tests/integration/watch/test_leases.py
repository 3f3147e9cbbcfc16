"""Job leases on SQLite and PostgreSQL: claim, renew, expiry and takeover, and a race that exactly
one process wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db.engine import make_engine
from revloop.adapters.db.tables import job_leases
from revloop.services.watch import Job, JobResult, Leases, Watcher

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def test_claim_renew_release(migrated_engine: Engine) -> None:
    a = Leases(migrated_engine, "a", TTL)
    b = Leases(migrated_engine, "b", TTL)
    assert a.claim("sync", T0)  # a new job: INSERT
    assert not b.claim("sync", T0 + timedelta(minutes=1))  # held
    assert a.claim("sync", T0 + timedelta(minutes=1))  # ours already: claimed again
    assert a.renew("sync", T0 + timedelta(minutes=9))
    state = a.state("sync")
    assert state is not None and state.holder == "a" and state.lease_until == T0 + timedelta(minutes=19)
    assert not b.claim("sync", T0 + timedelta(minutes=15))  # renewed, so not expired yet
    assert not b.renew("sync", T0 + timedelta(minutes=15))
    assert a.release("sync")
    assert b.claim("sync", T0 + timedelta(minutes=16))  # released: free for anyone (UPDATE)


def test_expired_lease_is_taken_over(migrated_engine: Engine) -> None:
    crashed = Leases(migrated_engine, "crashed", TTL)
    other = Leases(migrated_engine, "other", TTL)
    assert crashed.claim("sync", T0)
    assert crashed.started("sync", T0)
    assert not other.claim("sync", T0 + TTL)  # exactly at the end: still held
    assert other.claim("sync", T0 + TTL + timedelta(seconds=1))
    # the old holder comes back: its lease is gone, it can neither renew nor record its run
    assert not crashed.renew("sync", T0 + TTL + timedelta(seconds=2))
    assert not crashed.finish("sync", T0 + TTL + timedelta(seconds=2), "ok")
    assert other.finish("sync", T0 + TTL + timedelta(seconds=3), "ok")
    state = other.state("sync")
    assert state is not None
    assert (state.holder, state.lease_until, state.runs, state.failures) == (None, None, 1, 0)
    assert state.last_ok_at == T0 + TTL + timedelta(seconds=3)


def test_finish_records_failures_in_a_row(migrated_engine: Engine) -> None:
    leases = Leases(migrated_engine, "a", TTL)
    for minute in range(3):
        assert leases.claim("sync", T0 + timedelta(minutes=minute))
        leases.finish("sync", T0 + timedelta(minutes=minute), "failed", "error [connector.unavailable]: down")
    state = leases.state("sync")
    assert state is not None and state.failures == 3 and state.runs == 3 and state.last_ok_at is None
    assert state.last_error == "error [connector.unavailable]: down"
    leases.claim("sync", T0 + timedelta(minutes=5))
    leases.finish("sync", T0 + timedelta(minutes=5), "ok")
    state = leases.state("sync")
    assert state is not None and state.failures == 0 and state.last_error is None and state.runs == 4


@pytest.mark.parametrize("existing", [False, True], ids=["insert", "update"])
def test_racing_claims_exactly_one_wins(migrated_engine: Engine, existing: bool) -> None:
    url = migrated_engine.url.render_as_string(hide_password=False)
    if existing:
        with migrated_engine.begin() as conn:
            conn.execute(job_leases.insert().values(name="sync", runs=0, failures=0))
    engines = [make_engine(url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: dict[int, bool] = {}

    def contend(index: int) -> None:
        leases = Leases(engines[index], f"p{index}", TTL)
        barrier.wait()
        results[index] = leases.claim("sync", T0)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(results.values()) == [False, False, False, True]
    with migrated_engine.connect() as conn:
        holder = conn.execute(sa.select(job_leases.c.holder)).scalar_one()
    winner = next(i for i, won in results.items() if won)
    assert holder == f"p{winner}"


def test_two_watchers_racing_run_the_job_once(migrated_engine: Engine) -> None:
    url = migrated_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    barrier = threading.Barrier(2)
    ran: list[str] = []
    lock = threading.Lock()

    def job(ctx: object) -> JobResult:
        with lock:
            ran.append(threading.current_thread().name)
        return JobResult("ok", "done")

    def watch(index: int) -> None:
        watcher = Watcher(
            engines[index], [Job("sync", timedelta(minutes=15), job)], holder=f"w{index}", clock=lambda: T0
        )
        barrier.wait()
        watcher.run_due()

    threads = [threading.Thread(target=watch, args=(i,), name=f"w{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert len(ran) == 1
    state = Leases(migrated_engine, "x", TTL).state("sync")
    assert state is not None and state.runs == 1 and state.holder is None

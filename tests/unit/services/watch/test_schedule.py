"""When a job is due: first run, interval, dependencies, triggers, and backoff after failures."""

from __future__ import annotations

from datetime import timedelta

from revloop.services.watch import Backoff, Job, JobResult, due_reason, next_due
from revloop.services.watch.leases import JobState

from .helpers import T0

BACKOFF = Backoff(timedelta(minutes=1), timedelta(minutes=30))


def _job(name: str = "sync", **kw: object) -> Job:
    return Job(name, timedelta(minutes=15), lambda ctx: JobResult(), **kw)  # type: ignore[arg-type]


def test_backoff_doubles_up_to_the_cap() -> None:
    waits = [BACKOFF.wait(n) for n in range(0, 9)]
    assert waits == [timedelta(0)] + [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30, 30, 30)]
    assert Backoff(timedelta(seconds=1), timedelta(hours=1)).wait(10_000) == timedelta(hours=1)


def test_first_run_and_interval() -> None:
    job = _job()
    assert due_reason(job, None, {}, T0, BACKOFF) == "first run"
    done = JobState("sync", last_started_at=T0, last_finished_at=T0, last_ok_at=T0, runs=1)
    assert due_reason(job, done, {}, T0 + timedelta(minutes=14), BACKOFF) is None
    assert due_reason(job, done, {}, T0 + timedelta(minutes=15), BACKOFF) == "interval"
    assert next_due(job, done, BACKOFF) == T0 + timedelta(minutes=15)


def test_failures_back_off_and_silence_triggers() -> None:
    job = _job(trigger=lambda state: "3 Xero webhook marks")
    failed = JobState("sync", last_started_at=T0, last_finished_at=T0, failures=3, runs=3)
    assert due_reason(job, failed, {}, T0 + timedelta(minutes=3), BACKOFF) is None
    assert due_reason(job, failed, {}, T0 + timedelta(minutes=4), BACKOFF) == "retry after 3 failures"
    assert next_due(job, failed, BACKOFF) == T0 + timedelta(minutes=4)


def test_after_dependency_and_trigger() -> None:
    reconcile = _job("reconcile", after=("sync",))
    mine = JobState("reconcile", last_started_at=T0, last_finished_at=T0, last_ok_at=T0, runs=1)
    sync_before = JobState("sync", last_ok_at=T0 - timedelta(minutes=1))
    sync_after = JobState("sync", last_ok_at=T0 + timedelta(minutes=1))
    assert due_reason(reconcile, mine, {"sync": sync_before}, T0 + timedelta(minutes=2), BACKOFF) is None
    assert (
        due_reason(reconcile, mine, {"sync": sync_after}, T0 + timedelta(minutes=2), BACKOFF) == "after sync"
    )
    sync = _job(trigger=lambda state: "1 Xero webhook mark")
    done = JobState("sync", last_started_at=T0, last_finished_at=T0, last_ok_at=T0, runs=1)
    assert due_reason(sync, done, {}, T0 + timedelta(seconds=5), BACKOFF) == "1 Xero webhook mark"


def test_an_unfinished_run_is_due_again() -> None:
    crashed = JobState(
        "sync", last_started_at=T0 + timedelta(minutes=1), last_finished_at=T0, last_ok_at=T0, runs=1
    )
    assert due_reason(_job(), crashed, {}, T0 + timedelta(minutes=2), BACKOFF) == "unfinished run"

"""The watch loop with fake jobs and a fake clock: what runs when, failures and backoff, restarts,
stopping, and store outages."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from revloop.bootstrap import App
from revloop.domain.issues import RemoteUnavailable
from revloop.services.sync.marks import Mark, record_marks
from revloop.services.watch import Backoff, Job, JobContext, JobResult, Leases, Watcher, build_jobs
from revloop.services.watch.loop import Heartbeat
from revloop.services.watch.tasks import marks_trigger, service_job

from .helpers import T0, FakeClock, FakeSleep

BACKOFF = Backoff(timedelta(minutes=1), timedelta(minutes=8))


class Recorder:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[str] = []

    def job(self, name: str, result: JobResult | None = None, fail: Exception | None = None) -> Job:
        def run(ctx: JobContext) -> JobResult:
            self.calls.append(name)
            if fail is not None:
                raise fail
            return result or JobResult("ok", f"{name} done")

        return Job(name, timedelta(minutes=15), run)


def _watcher(engine: Engine, jobs: list[Job], clock: FakeClock, holder: str = "me", **kw: object) -> Watcher:
    return Watcher(engine, jobs, holder=holder, clock=clock, sleep=FakeSleep(clock), backoff=BACKOFF, **kw)  # type: ignore[arg-type]


def test_a_pass_runs_what_is_due_then_waits_for_the_interval(engine: Engine) -> None:
    clock = FakeClock()
    rec = Recorder(clock)
    watcher = _watcher(engine, [rec.job("sync"), rec.job("notify")], clock)
    runs = watcher.run_due()
    assert [(r.name, r.reason, r.outcome) for r in runs] == [
        ("sync", "first run", "ok"),
        ("notify", "first run", "ok"),
    ]
    clock.advance(minutes=14)
    assert watcher.run_due() == []
    clock.advance(minutes=1)
    assert [r.name for r in watcher.run_due()] == ["sync", "notify"]
    state = watcher.leases.state("sync")
    assert state is not None and state.runs == 2 and state.holder is None and state.last_ok_at == clock.now


def test_a_restarted_process_carries_on_the_schedule(engine: Engine) -> None:
    clock = FakeClock()
    rec = Recorder(clock)
    _watcher(engine, [rec.job("sync")], clock, holder="first").run_due()
    clock.advance(minutes=5)
    again = _watcher(engine, [rec.job("sync")], clock, holder="second")
    assert again.run_due() == []
    clock.advance(minutes=10)
    assert [r.name for r in again.run_due()] == ["sync"]


def test_failures_back_off_exponentially_and_other_jobs_go_on(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="revloop.watch")
    clock = FakeClock()
    rec = Recorder(clock)
    down = RemoteUnavailable("HaloPSA answered 503", hint="it is down; revloop tries again")
    watcher = _watcher(engine, [rec.job("sync", fail=down), rec.job("notify")], clock)
    runs = watcher.run_due()
    assert [(r.name, r.outcome) for r in runs] == [("sync", "failed"), ("notify", "ok")]
    retries = []
    for _ in range(6):
        state = watcher.leases.state("sync")
        assert state is not None
        retries.append(state.failures)
        clock.advance(seconds=1)
        assert all(r.name != "sync" for r in watcher.run_due())  # backing off
        wait = BACKOFF.wait(state.failures)
        assert state.last_finished_at is not None
        clock.now = state.last_finished_at + wait
        assert [r.name for r in watcher.run_due() if r.name == "sync"] == ["sync"]
    assert retries == [1, 2, 3, 4, 5, 6]
    state = watcher.leases.state("sync")
    assert state is not None and state.failures == 7 and state.last_error is not None
    assert state.last_error.startswith("error [connector.unavailable]: HaloPSA answered 503")
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 7
    assert all("[connector.unavailable]" in r.getMessage() and r.exc_info is None for r in failures)
    assert "retry in 8m" in failures[-1].getMessage()  # the cap
    assert "Traceback" not in caplog.text


def test_an_unexpected_exception_is_one_line(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    rec = Recorder(clock)
    watcher = _watcher(engine, [rec.job("sync", fail=ZeroDivisionError("oops"))], clock)
    [run] = watcher.run_due()
    assert run.outcome == "failed" and run.summary == "internal error: ZeroDivisionError: oops"
    assert "Traceback" not in caplog.text


def test_success_after_failures_resets_the_count(engine: Engine) -> None:
    clock = FakeClock()
    outcomes = [RemoteUnavailable("down"), None]

    def flaky(ctx: JobContext) -> str:
        failure = outcomes.pop(0)
        if failure:
            raise failure
        return "fine"

    watcher = _watcher(engine, [Job("sync", timedelta(minutes=15), flaky)], clock)
    watcher.run_due()
    clock.advance(minutes=1)
    [run] = watcher.run_due()
    assert run.outcome == "ok" and run.summary == "fine"
    state = watcher.leases.state("sync")
    assert state is not None and state.failures == 0 and state.last_error is None


def test_reconcile_follows_each_sync(engine: Engine) -> None:
    clock = FakeClock()
    rec = Recorder(clock)
    sync = rec.job("sync")
    reconcile = Job("reconcile", timedelta(days=1), rec.job("reconcile").run, after=("sync",))
    watcher = _watcher(engine, [sync, reconcile], clock)
    watcher.run_due()
    clock.advance(minutes=15)
    assert [r.name for r in watcher.run_due()] == ["sync", "reconcile"]
    clock.advance(minutes=1)
    assert watcher.run_due() == []


def test_an_unavailable_service_is_not_a_failure(app: App, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    job = Job("bill-ahead", timedelta(minutes=60), service_job(app, "revloop.services.nowhere", "bill_ahead"))
    watcher = _watcher(app.engine, [job], clock)
    [run] = watcher.run_due()
    assert run.outcome == "unavailable" and "no revloop.services.nowhere" in run.summary
    state = watcher.leases.state("bill-ahead")
    assert state is not None and state.failures == 0 and state.last_ok_at is None
    clock.advance(minutes=60)
    [again] = watcher.run_due()
    assert again.outcome == "unavailable"
    said = [r for r in caplog.records if "unavailable" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(said) == 1  # said once


def test_a_webhook_mark_triggers_a_sync_at_once(app: App) -> None:
    clock = FakeClock()
    rec = Recorder(clock)
    sync = Job("sync", timedelta(minutes=15), rec.job("sync").run, trigger=marks_trigger(app))
    watcher = _watcher(app.engine, [sync], clock)
    watcher.run_due()
    clock.advance(seconds=5)
    assert watcher.run_due() == []
    with app.engine.begin() as conn:
        record_marks(conn, [Mark("invoices", "abc", "t1", clock.now, clock.now)])
    clock.advance(seconds=5)
    [run] = watcher.run_due()
    assert run.reason == "1 Xero webhook mark"
    clock.advance(seconds=5)
    assert watcher.run_due() == []  # the mark is older than that run (the sync clears it for real)


def test_run_forever_polls_and_stops_after_the_current_job(engine: Engine) -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    holder: list[Watcher] = []
    calls: list[int] = []

    def job(ctx: JobContext) -> str:
        calls.append(1)
        if len(calls) == 2:
            holder[0].stop()  # a signal arrives while the job runs
        return "ok"

    watcher = Watcher(
        engine,
        [Job("sync", timedelta(seconds=20), job)],
        holder="me",
        clock=clock,
        sleep=sleep,
        poll=timedelta(seconds=5),
    )
    holder.append(watcher)
    watcher.run_forever(max_passes=100)
    assert len(calls) == 2
    assert sleep.waits == [5.0] * 4  # ran at 0s, waited 4 polls, ran at 20s and stopped
    state = watcher.leases.state("sync")
    assert state is not None and state.holder is None and state.runs == 2


def test_a_store_outage_waits_and_goes_on(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    rec = Recorder(clock)
    watcher = Watcher(engine, [rec.job("sync")], holder="me", clock=clock, sleep=sleep, backoff=BACKOFF)
    real = watcher.leases.states
    failures = [OperationalError("select", {}, Exception("server closed the connection")), None]

    def flaky() -> dict:  # type: ignore[type-arg]
        failure = failures.pop(0) if failures else None
        if failure:
            raise failure
        return real()

    watcher.leases.states = flaky  # type: ignore[method-assign]
    watcher.run_forever(max_passes=2)
    assert sleep.waits[0] == 60.0  # backed off once
    assert rec.calls == ["sync"]
    assert "error [store.unreachable]: the store failed: server closed the connection" in caplog.text


def test_keep_alive_renews_the_lease(engine: Engine) -> None:
    clock = FakeClock()
    seen: list[object] = []

    def long_job(ctx: JobContext) -> str:
        clock.advance(minutes=9)
        ctx.keep_alive()
        seen.append(Leases(engine, "other", timedelta(minutes=10)).state("sync"))
        return "done"

    watcher = Watcher(engine, [Job("sync", timedelta(minutes=15), long_job)], holder="me", clock=clock)
    watcher.run_due()
    state = seen[0]
    assert state.lease_until == T0 + timedelta(minutes=19)  # type: ignore[attr-defined]


def test_the_heartbeat_renews_from_a_thread() -> None:
    renewed = threading.Event()

    def renew() -> bool:
        renewed.set()
        return True

    with Heartbeat(renew, every=0.01):
        assert renewed.wait(5)


def test_build_jobs_in_order_with_fakes(app: App) -> None:
    fake = {name: (lambda ctx: "fake") for name in ("sync", "reconcile", "preview", "bill-ahead", "notify")}
    jobs = build_jobs(app, ["notify", "sync"], runs=fake)
    assert [j.name for j in jobs] == ["sync", "notify"]
    assert jobs[0].interval == timedelta(minutes=15) and jobs[0].trigger is not None

"""The watch loop: run every due job once (``run_due``), or keep doing so (``run_forever``).

Each run claims the job's lease first, so several processes against one store never run the same
job at once; the lease is given back when the job ends, however it ends. A failing job records its
error and backs off; the other jobs go on. Nothing here sleeps or reads the time itself: the clock
and the sleep are handed in, so tests drive it with a fake clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from revloop.domain.issues import RevloopError, StoreUnreachable

from .jobs import Job, JobContext, JobResult, as_result
from .leases import JobState, Leases
from .schedule import Backoff, due_reason, next_due

log = logging.getLogger("revloop.watch")

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def system_clock() -> datetime:
    return datetime.now(UTC)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class JobRun:
    name: str
    reason: str
    outcome: str  # ok | skipped | unavailable | failed
    summary: str
    seconds: float


def _store_line(exc: SQLAlchemyError) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return StoreUnreachable(f"the store failed: {reason[0] if reason else exc.__class__.__name__}").one_line()


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class Heartbeat:
    """Renews a lease from a thread while a long job runs (real time; off in tests)."""

    def __init__(self, renew: Callable[[], bool], every: float) -> None:
        self._renew = renew
        self._every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="revloop-lease", daemon=True)

    def _loop(self) -> None:
        while not self._done.wait(self._every):
            try:
                if not self._renew():
                    log.warning("the lease was lost while the job ran; another process may take over")
            except SQLAlchemyError as exc:
                log.warning("cannot renew the lease: %s", _store_line(exc))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


class Watcher:
    def __init__(
        self,
        engine: Engine,
        jobs: Sequence[Job],
        *,
        holder: str | None = None,
        clock: Clock = system_clock,
        sleep: Sleep = time.sleep,
        lease: timedelta = timedelta(minutes=10),
        backoff: Backoff | None = None,
        poll: timedelta = timedelta(seconds=5),
        heartbeat: bool = False,
        crash_report: Callable[[BaseException], Path] | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.leases = Leases(engine, holder or default_holder(), lease)
        self.clock = clock
        self.sleep = sleep
        self.backoff = backoff or Backoff()
        self.poll = poll
        self.heartbeat = heartbeat
        self.crash_report = crash_report
        self._stopping = False
        self._unavailable_said: set[str] = set()

    @property
    def holder(self) -> str:
        return self.leases.holder

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop after the current job (a signal handler may call this)."""
        self._stopping = True

    # -- one pass --------------------------------------------------------------------------------

    def run_due(self) -> list[JobRun]:
        """Run every job that is due now, once, in the registry's order (so reconcile follows a
        sync in the same pass)."""
        done: list[JobRun] = []
        states = self.leases.states()
        for job in self.jobs:
            if self._stopping:
                break
            now = self.clock()
            state = states.get(job.name)
            if state is not None and state.held_by_other(self.holder, now):
                continue
            reason = due_reason(job, state, states, now, self.backoff)
            if reason is None:
                continue
            run = self._run(job, now)
            states = self.leases.states()
            if run is not None:
                done.append(run)
        return done

    def _run(self, job: Job, now: datetime) -> JobRun | None:
        before = self.leases.state(job.name)
        if not self.leases.claim(job.name, now):
            log.debug("%s: another process holds it", job.name)
            return None
        states = self.leases.states()
        state = states.get(job.name)
        reason = due_reason(job, state, states, now, self.backoff)
        if reason is None:  # another process ran it between our look and our claim
            self.leases.release(job.name)
            return None
        if before is not None and before.holder not in (None, self.holder):
            log.info("%s: taking over from %s (its lease expired)", job.name, before.holder)
        self.leases.started(job.name, now)
        log.info("▶ %s (%s)", job.name, reason)
        ctx = JobContext(job.name, now, self.clock, lambda: self.leases.renew(job.name, self.clock()), log)
        outcome, summary = "failed", ""
        try:
            if self.heartbeat:
                every = max(self.leases.ttl.total_seconds() / 3, 1.0)
                with Heartbeat(lambda: self.leases.renew(job.name, system_clock()), every):
                    result = as_result(job.run(ctx))
            else:
                result = as_result(job.run(ctx))
            outcome, summary = result.status, result.summary
        except RevloopError as exc:
            summary = exc.one_line()
        except SQLAlchemyError as exc:
            summary = _store_line(exc)
        except KeyboardInterrupt:
            summary = "interrupted"
            self._finish(job, reason, outcome, summary, now)
            raise
        except Exception as exc:
            where = self.crash_report(exc) if self.crash_report else None
            summary = f"internal error: {exc.__class__.__name__}: {exc}" + (
                f" (details in {where})" if where else ""
            )
        return self._finish(job, reason, outcome, summary, now)

    def _finish(self, job: Job, reason: str, outcome: str, summary: str, started: datetime) -> JobRun:
        end = self.clock()
        seconds = max((end - started).total_seconds(), 0.0)
        note = summary if outcome in ("failed", "unavailable") else None
        try:
            kept = self.leases.finish(job.name, end, outcome, note)  # type: ignore[arg-type]
        except SQLAlchemyError as exc:
            kept = True
            log.error("%s: cannot record the run: %s", job.name, _store_line(exc))
        if not kept:
            log.warning("%s: the lease had expired and was taken over; this run is not recorded", job.name)
        if outcome == "failed":
            state = self.leases.state(job.name) if kept else None
            again = next_due(job, state, self.backoff) if state else None
            tail = f"; retry in {_ago(again - end)}" if again and again > end else ""
            log.error("✗ %s failed: %s%s", job.name, summary, tail)
        elif outcome == "unavailable":
            if job.name not in self._unavailable_said:
                log.warning("• %s unavailable: %s", job.name, summary)
                self._unavailable_said.add(job.name)
            else:
                log.debug("%s unavailable: %s", job.name, summary)
        else:
            mark = "✓" if outcome == "ok" else "•"
            log.info("%s %s%s (%.1fs)", mark, job.name, f": {summary}" if summary else "", seconds)
        return JobRun(job.name, reason, outcome, summary, seconds)

    # -- the loop --------------------------------------------------------------------------------

    def run_forever(self, *, max_passes: int | None = None) -> None:
        """Check for due jobs every ``poll`` until stopped; a store outage waits and tries again."""
        passes = 0
        store_failures = 0
        while not self._stopping:
            try:
                self.run_due()
                store_failures = 0
            except SQLAlchemyError as exc:
                store_failures += 1
                log.error("%s; trying again", _store_line(exc))
            except RevloopError as exc:
                store_failures += 1
                log.error("%s; trying again", exc.one_line())
            passes += 1
            if self._stopping or (max_passes is not None and passes >= max_passes):
                break
            wait = self.poll if not store_failures else self.backoff.wait(store_failures)
            self.sleep(wait.total_seconds())
        log.info("stopped")

    def status(self) -> list[tuple[Job, JobState | None, datetime | None]]:
        """Each job with its stored state and when its interval next makes it due."""
        states = self.leases.states()
        return [
            (job, states.get(job.name), next_due(job, states.get(job.name), self.backoff))
            for job in self.jobs
        ]


__all__ = ["Clock", "Heartbeat", "JobResult", "JobRun", "Sleep", "Watcher", "default_holder", "system_clock"]

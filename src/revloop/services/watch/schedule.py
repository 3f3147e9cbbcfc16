"""When a job is due: its interval since it last finished well, a dependency that ran since, a
trigger (webhook marks), or a retry after failures with exponential backoff up to a cap.

Everything comes from the job's row in ``job_leases``, so a restarted process carries on where the
last one stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .jobs import Job
from .leases import JobState


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def wait(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row: first, 2×first, 4×first ... at most cap."""
        if failures <= 0:
            return timedelta(0)
        wait: timedelta = min(self.first * (2 ** min(failures - 1, 32)), self.cap)
        return wait


def retry_at(state: JobState, backoff: Backoff) -> datetime | None:
    if state.failures <= 0 or state.last_finished_at is None:
        return None
    return state.last_finished_at + backoff.wait(state.failures)


def due_reason(
    job: Job, state: JobState | None, states: Mapping[str, JobState], now: datetime, backoff: Backoff
) -> str | None:
    """Why ``job`` should run now, or None when it should not."""
    if state is None or (state.last_finished_at is None and state.last_started_at is None):
        return "first run"
    if state.failures > 0:
        again = retry_at(state, backoff)
        if again is None or now >= again:
            return f"retry after {state.failures} failure{'s' if state.failures != 1 else ''}"
        return None  # in backoff: neither triggers nor dependencies hammer a system that is down
    if state.last_finished_at is None or (
        state.last_started_at is not None and state.last_started_at > state.last_finished_at
    ):
        return "unfinished run"  # its holder stopped mid-run; the lease has expired if we got here
    anchor = max(t for t in (state.last_ok_at, state.last_finished_at) if t is not None)
    if now >= anchor + job.interval:
        return "interval"
    for name in job.after:
        other = states.get(name)
        if (
            other is not None
            and other.last_ok_at is not None
            and state.last_started_at is not None
            and other.last_ok_at > state.last_started_at
        ):
            return f"after {name}"
    if job.trigger is not None:
        return job.trigger(state)
    return None


def next_due(job: Job, state: JobState | None, backoff: Backoff) -> datetime | None:
    """When the interval (or the backoff) next makes the job due; None = now."""
    if state is None or state.last_finished_at is None:
        return None
    if state.failures > 0:
        return retry_at(state, backoff)
    anchor = max(t for t in (state.last_ok_at, state.last_finished_at) if t is not None)
    return anchor + job.interval


__all__ = ["Backoff", "due_reason", "next_due", "retry_at"]

"""Jobs: a name, how often, what it runs, and what else makes it due.

A job's callable takes a ``JobContext`` and returns a ``JobResult`` (or a summary string, or
nothing); it fails by raising (a ``RevloopError`` names what went wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from .leases import JobState

Status = Literal["ok", "skipped", "unavailable"]


@dataclass(frozen=True)
class JobResult:
    status: Status = "ok"
    summary: str = ""


@dataclass
class JobContext:
    """What a running job may use: its start time, the clock, and a way to keep its lease."""

    name: str
    now: datetime
    clock: Callable[[], datetime]
    renew: Callable[[], bool]
    log: logging.Logger
    _renewed_at: datetime | None = None

    def keep_alive(self, every: timedelta = timedelta(seconds=30)) -> None:
        """Renew the lease when the last renewal is older than ``every`` (cheap to call often)."""
        now = self.clock()
        if self._renewed_at is None or now - self._renewed_at >= every:
            self._renewed_at = now
            if not self.renew():
                self.log.warning(
                    "%s: the lease was lost (it expired); another process may take over", self.name
                )


Run = Callable[[JobContext], "JobResult | str | None"]
#: returns why the job is due now regardless of its interval (e.g. "3 webhook marks"), or None
Trigger = Callable[["JobState | None"], "str | None"]


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Run
    after: tuple[str, ...] = ()  # due again after each successful run of these
    trigger: Trigger | None = field(default=None, compare=False)


def as_result(value: JobResult | str | None) -> JobResult:
    if isinstance(value, JobResult):
        return value
    return JobResult("ok", value or "")


__all__ = ["Job", "JobContext", "JobResult", "Run", "Status", "Trigger", "as_result"]

"""What a sync run reports: per resource, records read and landed, issues, calls, waits and time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: wait reasons that are rate limiting (ours or the server's); others are retries after errors
RATE_LIMIT_REASONS = frozenset({"throttle", "rate_limited", "minute", "paused", "app_minute", "day"})


@dataclass
class ResourceReport:
    system: str
    resource: str
    read: int = 0
    upserted: int = 0
    issues: int = 0
    calls: int = 0
    rate_limit_waits: int = 0
    rate_limit_seconds: float = 0.0
    retry_waits: int = 0
    seconds: float = 0.0
    mode: str = "full"  # full | incremental

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "resource": self.resource,
            "mode": self.mode,
            "read": self.read,
            "upserted": self.upserted,
            "issues": self.issues,
            "calls": self.calls,
            "rate_limit_waits": self.rate_limit_waits,
            "rate_limit_seconds": round(self.rate_limit_seconds, 3),
            "retry_waits": self.retry_waits,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class IssueLine:
    """An issue raised by the run, for display: what, about which record, and what to do."""

    code: str
    subject: str
    message: str
    action: str


@dataclass
class SyncReport:
    system: str
    full: bool
    resources: list[ResourceReport] = field(default_factory=list)
    issues: list[IssueLine] = field(default_factory=list)

    def resource(self, name: str) -> ResourceReport:
        for item in self.resources:
            if item.resource == name:
                return item
        raise KeyError(name)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.resources)

    @property
    def read(self) -> int:
        return sum(r.read for r in self.resources)

    @property
    def rate_limit_waits(self) -> int:
        return sum(r.rate_limit_waits for r in self.resources)

    @property
    def rate_limit_seconds(self) -> float:
        return sum(r.rate_limit_seconds for r in self.resources)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.resources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "full": self.full,
            "calls": self.calls,
            "read": self.read,
            "rate_limit_waits": self.rate_limit_waits,
            "rate_limit_seconds": round(self.rate_limit_seconds, 3),
            "seconds": round(self.seconds, 3),
            "resources": [r.as_dict() for r in self.resources],
            "issues": [i.__dict__ for i in self.issues],
        }


class Progress(Protocol):
    """Told what a run is doing, as it happens (the CLI draws bars from it)."""

    def started(self, system: str, resource: str) -> None: ...

    def advanced(self, system: str, resource: str, records: int) -> None: ...

    def waited(self, system: str, resource: str, reason: str, seconds: float) -> None: ...

    def finished(self, report: ResourceReport) -> None: ...


class WaitTally:
    """An ``on_wait`` callback for the clients: counts every wait against the resource being synced.

    Build the clients with ``on_wait=tally`` and pass the same tally to the sync.
    """

    def __init__(self) -> None:
        self.current: ResourceReport | None = None
        self.listeners: dict[int, Callable[[ResourceReport, str, float], None]] = {}

    def listen(self, owner: object, listener: Callable[[ResourceReport, str, float], None]) -> None:
        """Tell ``listener`` of every wait; one listener per ``owner`` (a progress display)."""
        self.listeners[id(owner)] = listener

    def __call__(self, wait: Any) -> None:
        reason = str(getattr(wait, "reason", "wait"))
        seconds = float(getattr(wait, "seconds", 0.0))
        report = self.current
        if report is None:
            return
        if reason in RATE_LIMIT_REASONS:
            report.rate_limit_waits += 1
            report.rate_limit_seconds += seconds
        else:
            report.retry_waits += 1
        for listener in list(self.listeners.values()):
            listener(report, reason, seconds)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started

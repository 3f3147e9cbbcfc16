"""Xero's rate limits, kept on our side so we rarely see a 429 (NOTES §2).

Per organisation: at most 5 calls in flight, at most 60 in any rolling minute, and the day budget
that Xero reports in ``X-DayLimit-Remaining``. Across the app: 10,000 a minute. A 429's
``Retry-After`` pauses the organisation for that long. Thread-safe; the clock and the sleep are
injectable so tests can cross windows instantly. Every wait is reported through ``on_wait``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from revloop.domain.issues import RateLimited

CONCURRENT = 5
PER_MINUTE = 60
MINUTE = 60.0
APP_PER_MINUTE = 10_000
DAY_PROBE = 3600.0  # when the day budget reads 0 with no Retry-After, look again after this long
SLACK = 1.0  # Xero counts a call when it arrives, a little after we send it: keep a second in hand


@dataclass(frozen=True, slots=True)
class Wait:
    reason: str  # "minute" | "paused" | "app_minute" | "server_error" | "connection"
    seconds: float
    tenant: str


WaitCallback = Callable[[Wait], None]


class _Window:
    """Timestamps of calls in the last ``span`` seconds."""

    def __init__(self, limit: int, span: float, slack: float = SLACK) -> None:
        self.limit = limit
        self.span = span + slack
        self.hits: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.hits and self.hits[0] <= now - self.span:
            self.hits.popleft()
        if len(self.hits) < self.limit:
            return 0.0
        return self.hits[0] + self.span - now


class OrgLimiter:
    """The limits of one organisation (tenant)."""

    def __init__(
        self,
        tenant: str,
        *,
        concurrent: int = CONCURRENT,
        per_minute: int = PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        app_window: tuple[threading.Lock, _Window] | None = None,
        max_wait: float = 900.0,
    ) -> None:
        self.tenant = tenant
        self.concurrent = concurrent
        self._minute = _Window(per_minute, MINUTE)
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._cond = threading.Condition()
        self._in_flight = 0
        self._paused_until = float("-inf")
        self._app = app_window
        self.max_wait = max_wait
        self.day_remaining: int | None = None
        self._day_blocked_until = float("-inf")
        self.peak_in_flight = 0
        self.granted: list[float] = []  # grant times, for inspection (bounded)

    # --- taking and giving back a slot --------------------------------------------------------------

    def _try(self) -> tuple[str, float] | None:
        """Under the lock: take a slot (None), or say what to wait for."""
        now = self._clock()
        if self.day_remaining is not None and self.day_remaining <= 0:
            if now < self._day_blocked_until:
                raise RateLimited(
                    "Xero's daily call limit for this organisation is used up",
                    hint=f"it frees up in about {int(self._day_blocked_until - now) // 60 + 1} minutes",
                )
            self.day_remaining = None
        if self._in_flight >= self.concurrent:
            return ("concurrent", 0.0)
        if now < self._paused_until:
            return ("paused", self._paused_until - now)
        pause = self._minute.wait(now)
        if pause > 0:
            return ("minute", pause)
        if self._app is not None:
            lock, window = self._app
            with lock:
                pause = window.wait(now)
                if pause > 0:
                    return ("app_minute", pause)
                window.hits.append(now)
        self._minute.hits.append(now)
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        if self.day_remaining is not None:
            self.day_remaining -= 1
            if self.day_remaining <= 0:
                self._day_blocked_until = max(self._day_blocked_until, now + DAY_PROBE)
        self.granted.append(now)
        if len(self.granted) > 10_000:
            del self.granted[:5_000]
        return None

    def acquire(self) -> None:
        while True:
            with self._cond:
                verdict = self._try()
                if verdict is None:
                    return
                reason, seconds = verdict
                if reason == "concurrent":
                    self._cond.wait(timeout=1.0)
                    continue
            if seconds > self.max_wait:
                raise RateLimited(
                    f"Xero asks revloop to wait {int(seconds)} s before calling this organisation again",
                    hint="try again later",
                )
            if self._on_wait is not None:
                self._on_wait(Wait(reason, seconds, self.tenant))
            self._sleep(seconds)

    def release(self, headers: Mapping[str, str] | None = None) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                self._read_headers(headers)
            self._cond.notify()

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    # --- what Xero tells us ---------------------------------------------------------------------------

    def _read_headers(self, headers: Mapping[str, str]) -> None:
        day = headers.get("x-daylimit-remaining")
        if day is not None and day.strip().isdigit():
            self.day_remaining = int(day)
            if self.day_remaining <= 0:
                self._day_blocked_until = max(self._day_blocked_until, self._clock() + DAY_PROBE)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Update the budget from a response's headers."""
        with self._cond:
            self._read_headers(headers)

    def pause(self, seconds: float, problem: str | None = None) -> None:
        """Xero said 429: no call to this organisation for ``seconds``."""
        with self._cond:
            until = self._clock() + max(0.0, seconds)
            if problem == "day":
                self.day_remaining = 0
                self._day_blocked_until = max(self._day_blocked_until, until)
            else:
                self._paused_until = max(self._paused_until, until)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight


class Limits:
    """One ``OrgLimiter`` per organisation, sharing the app-wide minute window."""

    def __init__(
        self,
        *,
        concurrent: int = CONCURRENT,
        per_minute: int = PER_MINUTE,
        app_per_minute: int = APP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        max_wait: float = 900.0,
    ) -> None:
        self._options = {"concurrent": concurrent, "per_minute": per_minute, "max_wait": max_wait}
        self._clock = clock
        self._sleep = sleep
        self.on_wait = on_wait
        self._app = (threading.Lock(), _Window(app_per_minute, MINUTE))
        self._orgs: dict[str, OrgLimiter] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str) -> OrgLimiter:
        key = tenant.lower()
        with self._lock:
            limiter = self._orgs.get(key)
            if limiter is None:
                limiter = OrgLimiter(
                    key,
                    concurrent=int(self._options["concurrent"]),
                    per_minute=int(self._options["per_minute"]),
                    max_wait=float(self._options["max_wait"]),
                    clock=self._clock,
                    sleep=self._sleep,
                    on_wait=self.on_wait,
                    app_window=self._app,
                )
                self._orgs[key] = limiter
            return limiter

"""Xero's rate limits (NOTES §2): per organisation 5 in flight, 60 a minute and 5,000 a day (rolling
windows), and 10,000 a minute per app across all organisations. Time comes from the simulator clock,
so moving the clock forward empties the windows."""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from dataclasses import dataclass

from ..common import SimClock

MINUTE = 60.0
DAY = 86_400.0


@dataclass
class Admission:
    """The outcome of asking to start a request."""

    admitted: bool
    headers: dict[str, str]
    problem: str | None = None  # minute / day / concurrent / appminute
    retry_after: int | None = None


class RateLimiter:
    def __init__(
        self,
        clock: SimClock,
        *,
        concurrent_limit: int = 5,
        minute_limit: int = 60,
        day_limit: int = 5000,
        app_minute_limit: int = 10_000,
    ) -> None:
        self.clock = clock
        self.concurrent_limit = concurrent_limit
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.app_minute_limit = app_minute_limit
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = defaultdict(int)
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, deque[float]] = defaultdict(deque)
        self._app: dict[str, deque[float]] = defaultdict(deque)
        self.peak_in_flight: dict[str, int] = defaultdict(int)

    @staticmethod
    def _trim(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    @staticmethod
    def _wait(window: deque[float], now: float, span: float) -> int:
        return max(1, math.ceil(window[0] + span - now)) if window else 1

    def _headers(self, tenant: str | None, app: str, now: float) -> dict[str, str]:
        app_window = self._app[app]
        self._trim(app_window, now, MINUTE)
        headers = {"X-AppMinLimit-Remaining": str(max(0, self.app_minute_limit - len(app_window)))}
        if tenant is not None:
            minute, day = self._minute[tenant], self._day[tenant]
            self._trim(minute, now, MINUTE)
            self._trim(day, now, DAY)
            headers["X-MinLimit-Remaining"] = str(max(0, self.minute_limit - len(minute)))
            headers["X-DayLimit-Remaining"] = str(max(0, self.day_limit - len(day)))
        return headers

    def admit(self, tenant: str | None, app: str) -> Admission:
        """Count one call for ``tenant`` (None: an app-level call such as /connections), or refuse it.

        An admitted call with a tenant holds a concurrency slot until ``release``.
        """
        with self._lock:
            now = self.clock.monotonic()
            headers = self._headers(tenant, app, now)
            app_window = self._app[app]
            if len(app_window) >= self.app_minute_limit:
                return self._refuse(headers, "appminute", self._wait(app_window, now, MINUTE))
            if tenant is not None:
                day, minute = self._day[tenant], self._minute[tenant]
                if len(day) >= self.day_limit:
                    return self._refuse(headers, "day", self._wait(day, now, DAY))
                if len(minute) >= self.minute_limit:
                    return self._refuse(headers, "minute", self._wait(minute, now, MINUTE))
                if self._in_flight[tenant] >= self.concurrent_limit:
                    return self._refuse(headers, "concurrent", None)
                self._in_flight[tenant] += 1
                self.peak_in_flight[tenant] = max(self.peak_in_flight[tenant], self._in_flight[tenant])
                minute.append(now)
                day.append(now)
            app_window.append(now)
            return Admission(True, self._headers(tenant, app, now))

    @staticmethod
    def _refuse(headers: dict[str, str], problem: str, retry_after: int | None) -> Admission:
        headers = dict(headers, **{"X-Rate-Limit-Problem": problem})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Admission(False, headers, problem, retry_after)

    def release(self, tenant: str) -> None:
        with self._lock:
            self._in_flight[tenant] = max(0, self._in_flight[tenant] - 1)

    def in_flight(self, tenant: str) -> int:
        with self._lock:
            return self._in_flight[tenant]

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app.clear()

"""Staying inside HaloPSA's rate limit and waiting politely when told to.

Hosted Halo allows 300 requests per rolling 5-minute window per tenant and answers 429 beyond it
(NOTES §4). ``RollingWindow`` keeps this process under the limit; ``RetryPolicy`` decides how long to
wait after a 429 (``Retry-After`` when Halo sends it, else a backoff long enough to matter: short
sleeps do not help against a 5-minute window), after a server error or after a broken connection.
Every wait is reported as a ``Wait`` so a progress display can show it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


@dataclass(frozen=True, slots=True)
class Wait:
    """A pause before the next request: why, how long, and which attempt comes next."""

    reason: str  # "throttle" | "rate_limited" | "server_error" | "connection"
    seconds: float
    attempt: int
    what: str  # e.g. "GET /api/Tickets"


WaitCallback = Callable[[Wait], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all for server errors and broken connections
    backoff: float = 1.0  # first wait after a server error; doubles each time
    max_backoff: float = 30.0
    rate_limited_attempts: int = 12  # tries in all while Halo answers 429
    rate_limited_backoff: float = 10.0  # first wait after a 429 without Retry-After; doubles
    max_rate_limited_backoff: float = 60.0
    max_retry_after: float = 600.0  # a longer Retry-After is capped (and reported) at this

    def server_wait(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))

    def rate_limited_wait(self, attempt: int, response: httpx.Response, now: datetime | None = None) -> float:
        told = retry_after(response, now)
        if told is not None:
            return min(self.max_retry_after, told)
        return min(self.max_rate_limited_backoff, self.rate_limited_backoff * 2.0 ** (attempt - 1))


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if present and sane."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RollingWindow:
    """At most ``limit`` requests in any ``window`` seconds, counted in this process (thread-safe)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Count a request now and return 0, or return the seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            if self.limit > 0 and len(self._hits) >= self.limit:
                return max(0.001, self._hits[0] + self.window - now)
            self._hits.append(now)
            return 0.0

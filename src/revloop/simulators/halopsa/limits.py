"""Halo's hosted rate limit: a number of requests per rolling window, per tenant (default 300 per 300 s).

The window runs on ``SimClock.monotonic()``, so ``clock.advance(300)`` empties it. Refused requests do
not count. Whether Halo sends ``Retry-After`` is unconfirmed, so it is off unless asked for.
"""

from __future__ import annotations

import math
import threading
from collections import deque

RATE_LIMIT_TEXT = "Rate Limit Reached - 300 Requests per rolling 5 minute window"


class RollingWindow:
    def __init__(self, limit: int = 300, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, tenant: str, now: float) -> float | None:
        """Count one request; ``None`` if allowed, else the seconds until a slot frees up."""
        with self._lock:
            hits = self._hits.setdefault(tenant, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if self.limit > 0 and len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    @property
    def message(self) -> str:
        if self.limit == 300 and math.isclose(self.window, 300.0):
            return RATE_LIMIT_TEXT
        return f"Rate Limit Reached - {self.limit} Requests per rolling {self.window:g} second window"

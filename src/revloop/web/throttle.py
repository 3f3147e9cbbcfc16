"""Login throttling: a lockout that grows with each failure past a threshold, per user (kept in the
store, so it holds across restarts and processes) and per client address (kept in memory).

After ``THRESHOLD`` failures in a row, each further failure locks for ``BASE`` × 2^(failures −
threshold), at most ``CAP``. A successful sign-in clears the count. While locked, even the right
password is refused, with the same message as a wrong one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

THRESHOLD = 5
ADDRESS_THRESHOLD = 10  # several people may sign in from one office address
BASE = timedelta(seconds=30)
CAP = timedelta(minutes=15)
MAX_ADDRESSES = 10_000


def lockout(failures: int, threshold: int = THRESHOLD) -> timedelta | None:
    """How long ``failures`` failures in a row lock sign-in for; None below the threshold."""
    if failures < threshold:
        return None
    steps = min(failures - threshold, 10)
    return min(BASE * (1 << steps), CAP)


@dataclass
class _Entry:
    failures: int = 0
    locked_until: datetime | None = None


class AddressThrottle:
    """Failures per client address, in memory, bounded (the oldest addresses are forgotten first)."""

    def __init__(self, threshold: int = ADDRESS_THRESHOLD, size: int = MAX_ADDRESSES) -> None:
        self.threshold = threshold
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def locked(self, address: str, now: datetime) -> bool:
        with self._lock:
            entry = self._entries.get(address)
            return bool(entry and entry.locked_until and entry.locked_until > now)

    def failed(self, address: str, now: datetime) -> None:
        with self._lock:
            entry = self._entries.pop(address, None) or _Entry()
            entry.failures += 1
            wait = lockout(entry.failures, self.threshold)
            entry.locked_until = now + wait if wait else None
            self._entries[address] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._entries.pop(address, None)


__all__ = ["ADDRESS_THRESHOLD", "BASE", "CAP", "THRESHOLD", "AddressThrottle", "lockout"]

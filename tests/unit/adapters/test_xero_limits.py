"""The per-organisation limiter with a fake clock: never more than 60 calls in any rolling minute,
never more than 5 in flight, Retry-After pauses and the day budget."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left

import pytest

from revloop.adapters.xero.limits import Limits, OrgLimiter, Wait
from revloop.domain.issues import RateLimited


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def _max_in_any_window(times: list[float], span: float) -> int:
    ordered = sorted(times)
    return max((i + 1 - bisect_left(ordered, t - span + 1e-9) for i, t in enumerate(ordered)), default=0)


def test_never_more_than_60_in_any_rolling_minute() -> None:
    clock = FakeClock()
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep)
    for n in range(500):
        with limiter.slot():
            pass
        if n % 7 == 0:
            clock.sleep(0.5)  # some work between calls
    assert len(limiter.granted) == 500
    assert _max_in_any_window(limiter.granted, 60.0) == 60
    # and it does not wait needlessly: 500 calls fit in a little over 8 minutes
    assert limiter.granted[-1] - limiter.granted[0] < 9 * 61


def test_never_more_than_60_a_minute_from_many_threads() -> None:
    clock = FakeClock()
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep)

    def work() -> None:
        for _ in range(25):
            with limiter.slot():
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(limiter.granted) == 200
    assert _max_in_any_window(limiter.granted, 60.0) <= 60


def test_never_more_than_5_in_flight() -> None:
    limiter = OrgLimiter("t", per_minute=10_000)
    current = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal current, peak
        for _ in range(5):
            with limiter.slot():
                with lock:
                    current += 1
                    peak = max(peak, current)
                time.sleep(0.002)
                with lock:
                    current -= 1

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 5
    assert limiter.peak_in_flight == 5
    assert limiter.in_flight == 0


def test_retry_after_pauses_the_organisation_and_the_wait_is_reported() -> None:
    clock = FakeClock()
    waits: list[Wait] = []
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep, on_wait=waits.append)
    limiter.pause(30, "minute")
    with limiter.slot():
        pass
    assert waits == [Wait("paused", 30.0, "t")]
    assert limiter.granted == [1030.0]


def test_a_long_wait_is_refused_rather_than_slept() -> None:
    clock = FakeClock()
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep, max_wait=600)
    limiter.pause(66975, "minute")
    with pytest.raises(RateLimited):
        limiter.acquire()
    assert clock.slept == []


def test_the_day_budget_comes_from_the_headers() -> None:
    clock = FakeClock()
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep)
    limiter.observe({"x-daylimit-remaining": "2"})
    for _ in range(2):
        with limiter.slot():
            pass
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert "daily" in caught.value.message
    clock.sleep(3600)  # after the probe interval, one call may find out whether the day has turned
    limiter.acquire()
    limiter.release({"x-daylimit-remaining": "4999"})
    assert limiter.day_remaining == 4999


def test_a_day_429_blocks_until_retry_after() -> None:
    clock = FakeClock()
    limiter = OrgLimiter("t", clock=clock, sleep=clock.sleep)
    limiter.pause(120, "day")
    with pytest.raises(RateLimited):
        limiter.acquire()
    clock.sleep(121)
    limiter.acquire()


def test_organisations_are_limited_separately() -> None:
    clock = FakeClock()
    limits = Limits(clock=clock, sleep=clock.sleep)
    for _ in range(60):
        for tenant in ("A", "B"):
            limits.for_tenant(tenant).acquire()
            limits.for_tenant(tenant).release()
    assert clock.slept == []
    assert limits.for_tenant("a") is limits.for_tenant("A")


def test_the_app_wide_minute_is_shared() -> None:
    clock = FakeClock()
    limits = Limits(clock=clock, sleep=clock.sleep, app_per_minute=3)
    for tenant in ("A", "B", "C", "D"):
        with limits.for_tenant(tenant).slot():
            pass
    assert len(clock.slept) == 1

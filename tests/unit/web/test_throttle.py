"""Login throttling: a lockout growing with each failure past the threshold, per address in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from revloop.web.throttle import ADDRESS_THRESHOLD, BASE, CAP, THRESHOLD, AddressThrottle, lockout

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_lockout_grows_and_is_capped() -> None:
    assert [lockout(n) for n in range(THRESHOLD)] == [None] * THRESHOLD
    assert lockout(THRESHOLD) == BASE
    assert lockout(THRESHOLD + 1) == BASE * 2
    assert lockout(THRESHOLD + 2) == BASE * 4
    assert lockout(THRESHOLD + 100) == CAP


def test_address_locks_after_threshold_and_unlocks_later() -> None:
    throttle = AddressThrottle()
    for _ in range(ADDRESS_THRESHOLD - 1):
        throttle.failed("10.0.0.1", T)
    assert not throttle.locked("10.0.0.1", T)
    throttle.failed("10.0.0.1", T)
    assert throttle.locked("10.0.0.1", T)
    assert not throttle.locked("10.0.0.2", T)  # another address is unaffected
    assert not throttle.locked("10.0.0.1", T + BASE)
    throttle.failed("10.0.0.1", T + BASE)  # one more failure: twice as long
    assert throttle.locked("10.0.0.1", T + BASE + BASE)
    assert not throttle.locked("10.0.0.1", T + BASE + BASE * 2)


def test_success_clears_an_address() -> None:
    throttle = AddressThrottle(threshold=2)
    throttle.failed("a", T)
    throttle.failed("a", T)
    assert throttle.locked("a", T)
    throttle.succeeded("a")
    assert not throttle.locked("a", T)


def test_memory_is_bounded() -> None:
    throttle = AddressThrottle(threshold=1, size=3)
    for n in range(10):
        throttle.failed(f"10.0.0.{n}", T)
    assert not throttle.locked("10.0.0.0", T)  # forgotten, oldest first
    assert throttle.locked("10.0.0.9", T)
    assert timedelta(0) < CAP

"""Results kept by key for the dashboard: computed once however many requests ask at the same time,
a failure passed to every waiter and never kept, and no request waiting for another key's work; the
cycle collector paused while models are built."""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from revloop.web.profit_data import ProfitModels, Results, _CollectorPause


def test_a_result_is_computed_once_for_every_request_that_asks() -> None:
    kept = Results(4)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        started.set()
        release.wait(10)
        return "model"

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(kept.get, ("print", 1), slow)
        assert started.wait(10)
        second = pool.submit(kept.get, ("print", 1), slow)
        other = pool.submit(kept.get, ("print", 2), lambda: "other")
        assert other.result(timeout=10) == "other"  # another key never waits for the slow one
        assert not first.done() and not second.done()
        release.set()
        assert first.result(timeout=10) == second.result(timeout=10) == "model"
    assert calls == ["slow"]


def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    kept = Results(4)

    def fails() -> str:
        raise RuntimeError("store unreachable")

    with pytest.raises(RuntimeError):
        kept.get(("print",), fails)
    assert kept.get(("print",), lambda: "computed again") == "computed again"


def test_the_oldest_results_make_room() -> None:
    kept = Results(2)
    for n in range(3):
        kept.get((n,), lambda n=n: n)  # type: ignore[misc]
    assert kept.keys() == [(1,), (2,)]


def test_results_of_other_states_of_the_store_are_forgotten() -> None:
    kept = Results(8)
    for key in (("old", 1), ("new", 1), ("old", 2), ("new", 2)):
        kept.get(key, lambda: "result")
    kept.keep_only("new")
    assert kept.keys() == [("new", 1), ("new", 2)]


def test_what_was_asked_lately_newest_first() -> None:
    models = ProfitModels()
    for n in range(6):
        models.asked("costs", n, 12)
    models.asked("model", "p", None)
    models.asked("costs", 2, 12)
    assert models.recent("costs") == [(2, 12), (5, 12)]
    assert models.recent("model") == [("p", None)]


def test_the_cycle_collector_runs_again_once_the_last_model_is_built() -> None:
    pause = _CollectorPause()
    assert gc.isenabled()
    with pause():
        with pause():  # two models built at once
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with pause():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()

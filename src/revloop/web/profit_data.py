"""The profit service's model for the dashboard, and what the pages compute from it, kept.

The model is ``revloop.services.profit.report.build``'s, as ``revloop profit`` computes it (time
entries and invoice lines summed in SQL, ``services.profit.totals``); here the entries are read on a
connection of their own while the rest is read, and the readers keep what the pages need besides
(the item codes' service lines, the documents behind each client's revenue).

A result (a model, what a page computes from it, the charts, the cost model's view) is kept for later
requests only together with the fingerprint of the store it was read from
(``services.store_state.fingerprint``); every request reads the fingerprint again, so a change in the
store is never answered from an older result. A result being computed is computed once: a second
request for it waits for that computation, never for another one.

With warming on (``[web] warm``), a thread computes the results most pages need (the default period's
model and its rows, charts and cost view, and the periods asked for lately) when the dashboard
starts and again soon after the store changes, so a page rarely waits for them; a profitability
page has its charts drawn while the browser loads it; and charts are drawn in a process of their own
(matplotlib would hold the interpreter, and every other request with it, for seconds).
"""

from __future__ import annotations

import gc
import logging
import pickle
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from revloop.bootstrap import App
from revloop.domain.periods import Period
from revloop.services.profit.export import DRAWINGS
from revloop.services.profit.report import Model, build
from revloop.services.profit.totals import SaleTotals, WorkTotals, service_line_of, work_from
from revloop.services.store_state import fingerprint

log = logging.getLogger(__name__)

KEEP = 3  # models kept per dashboard (each holds a period's summed entries and revenue)
KEEP_DERIVED = 64  # results computed from models (rows, a client's figures, cost views)
KEEP_CHARTS = 8  # chart sets
WARM_EVERY = 5.0  # seconds between two looks at the store's fingerprint by the warming thread
RECENT = 2  # periods (and cost views) asked for lately that the warming thread computes again
READERS = 1  # connections reading the time entries (each a run of months) while the rest is read
DRAW_SECONDS = 300  # the longest a chart set may take to draw in a process of its own
SVG = ("svg",)


@dataclass
class Computed:
    model: Model
    by_item: dict[str, str]  # item code -> service line, as the model took it
    documents: dict[str, dict[tuple[str, str], date]] = field(default_factory=dict)
    # customer code -> (origin, number or key) -> month: the documents whose lines are its revenue


class _CollectorPause:
    """Pauses Python's cycle collector while models are built. A model is hundreds of thousands of
    objects made at once, none of them in a cycle, which the collector would otherwise scan again and
    again as they are made (a fifth of the time). Reference counting still frees everything else;
    the collector runs again when the last model being built is done (if it ran before)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._building = 0
        self._was_on = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._building == 0:
                self._was_on = gc.isenabled()
                gc.disable()
            self._building += 1
        try:
            yield
        finally:
            with self._lock:
                self._building -= 1
                if self._building == 0 and self._was_on:
                    gc.enable()


collector_paused = _CollectorPause()


def compute(app: App, period: Period, method: str | None) -> Computed:
    """The profit service's model of ``period`` (``method``: salary, books, or the setting)."""
    work, sales = WorkTotals(), SaleTotals()
    with (
        collector_paused(),
        ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="revloop-profit-read") as pool,
    ):
        work.prefetch(app.engine, period, pool.submit, parts=READERS)
        with app.engine.connect() as conn:
            model = build(conn, app.settings, period, method, work_reader=work, sales_reader=sales)
    return Computed(model, work.by_item, sales.documents)


#: a chart set to draw: ``job()`` gives ``(name, arguments)``, drawn as
#: ``export.DRAWINGS[name](*arguments, folder, formats)``
ChartJob = Callable[[], tuple[str, tuple[Any, ...]]]


def draw_apart(name: str, arguments: tuple[Any, ...]) -> dict[str, bytes]:
    """SVG charts by name, drawn in a process of their own (``python -m revloop.services.profit.export``):
    drawing a chart holds the interpreter, which the other requests would wait for."""
    done = subprocess.run(
        [sys.executable, "-m", "revloop.services.profit.export"],
        input=pickle.dumps((name, arguments), protocol=pickle.HIGHEST_PROTOCOL),
        capture_output=True,
        timeout=DRAW_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise subprocess.SubprocessError(done.stderr.decode(errors="replace").strip()[-500:])
    found: dict[str, bytes] = pickle.loads(done.stdout)
    return found


def read_fingerprint(app: App) -> str:
    with app.engine.connect() as conn:
        return fingerprint(conn)


# -- results kept ----------------------------------------------------------------------------------


class Results:
    """Results by key (a key starts with the store's fingerprint), the last ``size`` used; a result
    being computed is there as its future, which a second request waits for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()  # held only to look up and store, never while computing
        self._found: OrderedDict[tuple[Any, ...], Future[Any]] = OrderedDict()

    def get(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._found.get(key)
            mine = found is None
            if found is None:
                found = self._found[key] = Future()
                while len(self._found) > self.size:
                    self._found.popitem(last=False)
            else:
                self._found.move_to_end(key)
        if mine:
            try:
                found.set_result(make())
            except BaseException as exc:
                found.set_exception(exc)
                with self._lock:
                    if self._found.get(key) is found:
                        del self._found[key]
        return found.result()

    def keys(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._found)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._found

    def keep_only(self, print_: str) -> None:
        """Forget the results of other states of the store than ``print_`` (a key's first item)."""
        with self._lock:
            for key in [k for k in self._found if k[0] != print_]:
                del self._found[key]


class ProfitModels:
    """The models of the last few (period, method)s asked for, each with its fingerprint, and what is
    computed from them."""

    def __init__(self) -> None:
        self._models = Results(KEEP)
        self._derived = Results(KEEP_DERIVED)
        self._charts = Results(KEEP_CHARTS)
        self._draw = threading.Lock()  # matplotlib draws one figure at a time
        self._lock = threading.Lock()
        self._asked: OrderedDict[tuple[Any, ...], None] = OrderedDict()  # (what, *arguments) lately
        self.background = False  # whether results may be computed ahead in a thread ([web] warm)
        self.apart = False  # whether charts are drawn in a process of their own ([web] warm)
        self._ahead: ThreadPoolExecutor | None = None

    def model(
        self, app: App, period: Period, method: str | None, print_: str | None = None
    ) -> tuple[Computed, str]:
        """The model and the fingerprint of the store it was read from (read now unless given)."""
        print_ = print_ or read_fingerprint(app)
        key = (print_, period.start, period.end, method or app.settings.costs_method)
        self.asked("model", period, method)
        computed: Computed = self._models.get(key, lambda: compute(app, period, method))
        return computed, print_

    def derived(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """What ``make`` computes from a model, kept under ``key`` (which starts with the store's
        fingerprint, so it is never answered for another state of the store)."""
        return self._derived.get(key, make)

    def charts(self, key: tuple[Any, ...], job: ChartJob) -> dict[str, bytes]:
        """SVG charts by name, drawn once per ``key`` (which starts with the store's fingerprint):
        ``job()`` gives the drawing function and its arguments (``export.draw``, ``draw_hours``)."""

        def drawn() -> dict[str, bytes]:
            name, arguments = job()
            if self.apart:
                try:
                    return draw_apart(name, arguments)
                except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError) as exc:
                    log.warning("drawing the profitability charts in a process failed (%s): drawn here", exc)
            with self._draw, tempfile.TemporaryDirectory(prefix="revloop-charts-") as folder:
                written = DRAWINGS[name](*arguments, Path(folder), SVG)
                return {p.stem: p.read_bytes() for p in written}

        found: dict[str, bytes] = self._charts.get(key, drawn)
        return found

    def has_charts(self, key: tuple[Any, ...]) -> bool:
        """Whether the charts of ``key`` are drawn, or being drawn."""
        return key in self._charts

    def charts_soon(self, key: tuple[Any, ...], job: ChartJob) -> None:
        """Draw the charts of ``key`` in a thread, when computing ahead is on: a page that shows them
        calls this, and the browser asks for them next."""
        if not self.background:
            return
        with self._lock:
            if self._ahead is None:
                self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revloop-charts")
            ahead = self._ahead
        ahead.submit(self._draw_ahead, key, job)

    def _draw_ahead(self, key: tuple[Any, ...], job: ChartJob) -> None:
        try:
            self.charts(key, job)
        except Exception:  # the request that asks for the chart draws it again and says why
            log.exception("drawing the profitability charts ahead failed")

    def close(self) -> None:
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.shutdown(wait=False, cancel_futures=True)

    def keep_only(self, print_: str) -> None:
        """Forget what was computed from other states of the store than ``print_``: the store has
        moved on, and a model holds a period's summed entries and revenue."""
        for results in (self._models, self._derived, self._charts):
            results.keep_only(print_)

    def asked(self, *what: Any) -> None:
        """Note what a request asked for (``what``, then its arguments), for the warming thread."""
        with self._lock:
            self._asked[what] = None
            self._asked.move_to_end(what)
            while len(self._asked) > RECENT * 4:
                self._asked.popitem(last=False)

    def recent(self, what: str) -> list[tuple[Any, ...]]:
        """The arguments of the last few requests for ``what``, newest first."""
        with self._lock:
            found = [key[1:] for key in reversed(self._asked) if key[0] == what]
        return found[:RECENT]


#: what the warming thread computes: ``warm(models, app, now, fingerprint)``, each in turn
Warm = Callable[[ProfitModels, App, datetime, str], None]


class Warming:
    """A thread that looks at the store's fingerprint every ``every`` seconds and, when it differs
    from the one last warmed, runs each ``Warm`` (the views register theirs)."""

    def __init__(self, models: ProfitModels, app: App, clock: Callable[[], datetime], every: float) -> None:
        self.models, self.app, self.clock, self.every = models, app, clock, every
        self.warms: list[Warm] = []
        self.warmed = ""  # the fingerprint last warmed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="revloop-profit-warm", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.models.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.once()
            except Exception:  # the store may be unreachable for a while: try again later
                log.exception("warming the profitability figures failed")
            self._stop.wait(self.every)

    def once(self) -> bool:
        """Warm if the store changed since the last time; True if it did."""
        print_ = read_fingerprint(self.app)
        if print_ == self.warmed:
            return False
        for warm in self.warms:
            if self._stop.is_set():
                return False
            warm(self.models, self.app, self.clock(), print_)
        if read_fingerprint(self.app) == print_:  # not changed again meanwhile: the rest is stale
            self.models.keep_only(print_)
        self.warmed = print_
        return True


def models_of(state: Any) -> ProfitModels:
    """The dashboard's kept models (on the FastAPI app's state)."""
    found = getattr(state, "profit_models", None)
    if found is None:
        found = ProfitModels()
        state.profit_models = found
    return found


__all__ = [
    "ChartJob",
    "Computed",
    "ProfitModels",
    "Results",
    "Warming",
    "compute",
    "models_of",
    "read_fingerprint",
    "service_line_of",
    "work_from",
]

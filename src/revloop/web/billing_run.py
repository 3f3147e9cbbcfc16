"""The billing run in the dashboard: each period's preview computed in the background and kept with
the fingerprint of the store it was computed from, and approvals that keep those very drafts.

A request for a period's preview reads the store's fingerprint (``store_state.fingerprint``). A kept
preview with the same fingerprint is the answer; otherwise a computation starts (one at a time per
period; a second request joins it) and the answer is its progress, with the kept preview marked out
of date if there is one. Approving keeps the kept preview's drafts (``run.keep_in``: no rating again)
and approves them in one transaction that first checks the store is still in the state the preview
was computed from, so nothing is approved from an out-of-date preview. Approving a whole period runs
in the background with its progress, as posting does; approving chosen drafts is done at once.

Where a preview is computed (``mode``): ``process`` (the default) in a worker process
(``billing_worker``), so that the rating, which is all Python, never holds the server's interpreter
while it answers other requests; ``thread`` in a thread of the server; ``request`` in the request
itself, as are approvals (tests). The kept preview holds each draft's summary, and its lines as
pickled bytes, read back only for a draft's page and for approval.
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from revloop.adapters.db import tables as t
from revloop.bootstrap import App
from revloop.domain.invoicing import DraftInvoice
from revloop.domain.issues import NotFound, RevloopError
from revloop.domain.periods import Period
from revloop.services.billing import run
from revloop.services.store_state import fingerprint
from revloop.web.errors import ApprovalRunning, PreviewFailed, PreviewStale

log = logging.getLogger(__name__)

#: kinds of invoice line that count as hours of work
HOUR_KINDS = frozenset({"labour", "covered", "overage", "travel"})
#: periods whose computed preview is kept in memory at once (the oldest used is dropped)
KEPT_PERIODS = 6
#: chosen drafts up to this many are approved in the request; more, or all, in the background
APPROVE_AT_ONCE = 200

Stage = Literal["queued", "reading", "rating", "comparing", "done", "failed"]
ApprovalState = Literal["idle", "running", "done", "failed"]
Mode = Literal["process", "thread", "request"]
Report = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Summary:
    """What the billing page shows of a draft."""

    key: str
    customer: str
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    hours: Decimal
    line_count: int
    xero: run.XeroComparison


@dataclass(frozen=True)
class Prepared:
    """A period's preview as computed (in a worker process or here): the outcome without its drafts,
    each draft's summary (by key), each draft pickled, the stored drafts' states."""

    outcome: run.BillResult
    order: tuple[str, ...]  # the drafts' keys in the outcome's order
    summaries: tuple[Summary, ...]
    blobs: dict[str, bytes]
    stored: dict[str, str]  # key -> the stored invoice's status
    period_status: str


@dataclass(frozen=True)
class Computed:
    """A period's preview as computed from the store in the state ``fingerprint``."""

    period: Period
    fingerprint: str
    prepared: Prepared
    computed_at: datetime
    seconds: float
    index: dict[str, int]  # key -> position in summaries
    stored: dict[str, str]  # key -> the stored invoice's status (as the last approval left it)
    period_status: str

    @property
    def outcome(self) -> run.BillResult:
        """The run's names, issues, findings and balances (its drafts: ``drafts``)."""
        return self.prepared.outcome

    @property
    def summaries(self) -> tuple[Summary, ...]:
        return self.prepared.summaries

    def summary(self, key: str) -> Summary | None:
        at = self.index.get(key)
        return None if at is None else self.prepared.summaries[at]

    def draft(self, key: str) -> DraftInvoice | None:
        blob = self.prepared.blobs.get(key)
        return None if blob is None else _draft(blob)

    def prepared_for(self, keys: Collection[str] = ()) -> Prepared:
        """The prepared preview with only the drafts of ``keys`` (all when none)."""
        if not keys:
            return self.prepared
        wanted = set(keys)
        return replace(self.prepared, blobs={k: b for k, b in self.prepared.blobs.items() if k in wanted})

    def with_drafts(self, keys: Collection[str] = ()) -> run.BillResult:
        """The outcome with its drafts (those of ``keys``, or all), as ``run.keep_in`` takes it."""
        wanted = set(keys)
        order = [k for k in self.prepared.order if not wanted or k in wanted]
        return replace(self.prepared.outcome, drafts=tuple(_draft(self.prepared.blobs[k]) for k in order))

    @property
    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for s in self.prepared.summaries:
            out[s.currency] = out.get(s.currency, Decimal(0)) + s.total
        return out


def _draft(blob: bytes) -> DraftInvoice:
    draft: DraftInvoice = pickle.loads(blob)
    return draft


def prepare(app: App, period: Period, progress: Report | None = None) -> Prepared:
    """Compute the period's preview: rate it (``run.compute``), compare each draft with Xero and the
    stored drafts, and keep each draft's summary and its pickled self."""
    outcome = run.compute(app, period, progress=progress)
    if progress is not None:
        progress("comparing", 0, len(outcome.drafts))
    drafts = sorted(outcome.drafts, key=lambda d: d.key)
    xero = {c.key: c for c in run.compare_with_xero(app, drafts)}
    with app.engine.connect() as conn:
        stored = _stored(conn, [d.key for d in drafts])
        status = conn.execute(
            sa.select(t.billing_periods.c.status).where(t.billing_periods.c.start == period.start)
        ).scalar_one_or_none()
    summaries = tuple(
        Summary(
            key=d.key,
            customer=d.customer,
            currency=d.currency,
            subtotal=d.subtotal,
            tax=d.tax,
            total=d.total,
            hours=sum((line.quantity for line in d.lines if line.kind in HOUR_KINDS), Decimal(0)),
            line_count=len(d.lines),
            xero=xero[d.key],
        )
        for d in drafts
    )
    # what keeping the drafts reads of the rating: its balances (not each record's state)
    rating = replace(outcome.rating, invoices=(), states={})
    return Prepared(
        outcome=replace(outcome, drafts=(), rating=rating),
        order=tuple(d.key for d in outcome.drafts),
        summaries=summaries,
        blobs={d.key: pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL) for d in drafts},
        stored=stored,
        period_status=status or "not billed",
    )


def prepare_in_a_process(app: App, period: Period, progress: Report) -> Prepared:
    """``prepare`` in a worker process (``python -m revloop.web.billing_worker``), its progress
    relayed as it comes."""
    found: Prepared = _in_a_process(("preview", app.settings, period), progress, period, "computing")
    return found


def _in_a_process(task: tuple[Any, ...], progress: Report, period: Period, doing: str) -> Any:
    """Run a task of ``billing_worker`` in a worker process: its progress relayed, its result
    returned, its error raised."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "revloop.web.billing_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        pickle.dump(task, worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        worker.stdin.close()
        while True:
            try:
                message = pickle.load(worker.stdout)
            except EOFError:
                raise PreviewFailed(
                    f"the worker {doing} {period.label()} stopped (exit {worker.wait()})",
                    hint="the server log has its error; reload the page to try again",
                ) from None
            kind = message[0]
            if kind == "progress":
                progress(*message[1:])
            elif kind == "done":
                return message[1]
            elif kind == "error":
                raise message[1]
            else:
                raise PreviewFailed(
                    f"{doing} {period.label()} failed in the worker ({message[1]})",
                    hint="the server log has the details; reload the page to try again",
                )
    finally:
        worker.stdout.close()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@dataclass
class Progress:
    stage: Stage = "queued"
    done: int = 0
    total: int = 0
    started_at: datetime | None = None
    started_from: str = ""  # the fingerprint the computation started from
    error: RevloopError | None = None


@dataclass(frozen=True)
class View:
    """What a request sees of a period: the kept preview (if any), whether it is up to date with
    the store, and the computation under way (if any)."""

    period: Period
    computed: Computed | None
    fresh: bool  # ``computed`` was computed from the store as it is now
    progress: Progress | None  # a computation under way (or queued)
    approval: Approval | None

    @property
    def state(self) -> Literal["computing", "ready"]:
        return "ready" if self.computed is not None and self.fresh else "computing"


@dataclass
class Approval:
    """An approval from the dashboard: the drafts kept and approved, and its progress."""

    period: Period
    state: ApprovalState
    started_by: str
    started_at: datetime
    keys: tuple[str, ...]  # empty: every draft of the period
    stage: str = "keeping"
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    approved: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    message: str | None = None
    error: RevloopError | None = field(default=None, repr=False)


@dataclass
class _Period:
    computed: Computed | None = None
    progress: Progress | None = None
    thread: threading.Thread | None = None  # computing the preview
    approval: Approval | None = None
    approving: bool = False
    approver: threading.Thread | None = None  # approving in the background


def store_fingerprint(app: App) -> str:
    with app.engine.connect() as conn:
        return fingerprint(conn)


class BillingRuns:
    """The dashboard's billing runs: previews kept per period, and approvals from them."""

    def __init__(self, app: App, clock: Callable[[], datetime], *, mode: Mode = "process") -> None:
        self.app = app
        self.clock = clock
        self.mode = mode
        self.background = mode != "request"
        self._lock = threading.Lock()
        self._periods: OrderedDict[Period, _Period] = OrderedDict()

    # -- previews -------------------------------------------------------------------------------

    def _slot(self, period: Period) -> _Period:
        slot = self._periods.get(period)
        if slot is None:
            slot = self._periods[period] = _Period()
        self._periods.move_to_end(period)
        while len(self._periods) > KEPT_PERIODS:
            oldest = next(iter(self._periods))
            if self._periods[oldest].thread is not None or self._periods[oldest].approving:
                break
            del self._periods[oldest]
        return slot

    def view(self, period: Period) -> View:
        """The period's preview as the store is now: kept and fresh, or being computed (started
        here if no computation is under way). A computation that failed for this very store state
        raises its error (a closed period, ...)."""
        now_fp = store_fingerprint(self.app)
        start = False
        with self._lock:
            slot = self._slot(period)
            kept = slot.computed
            if kept is not None and kept.fingerprint == now_fp:
                return View(period, kept, True, None, slot.approval)
            progress = slot.progress
            if progress is not None and progress.error is not None:
                if progress.started_from == now_fp:
                    raise progress.error
                progress = None
            if slot.approving:  # the approval moves the store on; its preview is kept afresh after
                return View(period, kept, False, None, slot.approval)
            if progress is None:
                progress = slot.progress = Progress(started_at=self.clock(), started_from=now_fp)
                start = True
            snapshot = replace(progress)
            approval = slot.approval
        if start:
            if self.background:
                thread = threading.Thread(
                    target=self._compute, args=(period, progress), name="revloop-preview", daemon=True
                )
                with self._lock:
                    slot.thread = thread
                thread.start()
            else:
                self._compute(period, progress)
                return self.view(period)
        return View(period, kept, False, snapshot, approval)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the computations and approvals under way (tests, shutting down)."""
        with self._lock:
            threads = [x for s in self._periods.values() for x in (s.thread, s.approver) if x is not None]
        for thread in threads:
            thread.join(timeout)

    def forget(self, period: Period) -> None:
        """Drop the period's kept preview: the next request computes it afresh."""
        with self._lock:
            slot = self._periods.get(period)
            if slot is not None and slot.thread is None and not slot.approving:
                del self._periods[period]

    def _progress(self, progress: Progress, stage: Stage, done: int, total: int) -> None:
        with self._lock:
            progress.stage, progress.done, progress.total = stage, done, total

    def _compute(self, period: Period, progress: Progress) -> None:
        began = time.perf_counter()
        try:
            computed = self._computed(period, progress, began)
        except RevloopError as exc:
            with self._lock:
                progress.stage, progress.error = "failed", exc
        except Exception as exc:  # never a traceback to a person: the log has it
            log.exception("computing the preview of %s failed", period.label())
            failed = PreviewFailed(
                f"the preview of {period.label()} could not be computed ({type(exc).__name__})",
                hint="the server log has the details; reload the page to try again",
            )
            with self._lock:
                progress.stage, progress.error = "failed", failed
        else:
            with self._lock:
                slot = self._slot(period)
                slot.computed = computed
                progress.stage = "done"
                if slot.progress is progress:
                    slot.progress = None
        finally:
            with self._lock:
                found = self._periods.get(period)
                if found is not None and found.thread is threading.current_thread():
                    found.thread = None

    def _computed(self, period: Period, progress: Progress, began: float) -> Computed:
        def report(stage: str, done: int, total: int) -> None:
            self._progress(progress, stage, done, total)  # type: ignore[arg-type]

        if self.mode == "process":
            prepared = prepare_in_a_process(self.app, period, report)
        else:
            prepared = prepare(self.app, period, report)
        if store_fingerprint(self.app) != progress.started_from:
            log.info("the store changed while %s was computed: it is out of date", period.label())
        return Computed(
            period=period,
            fingerprint=progress.started_from,
            prepared=prepared,
            computed_at=self.clock(),
            seconds=time.perf_counter() - began,
            index={s.key: i for i, s in enumerate(prepared.summaries)},
            stored=prepared.stored,
            period_status=prepared.period_status,
        )

    # -- approvals ------------------------------------------------------------------------------

    def approval(self, period: Period) -> Approval | None:
        """The period's current (or last) approval from the dashboard, if any."""
        with self._lock:
            slot = self._periods.get(period)
            return None if slot is None or slot.approval is None else replace(slot.approval)

    def approve(
        self, period: Period, *, keys: Collection[str], fingerprint_seen: str | None, by: str
    ) -> Approval:
        """Keep and approve the drafts of the period's preview (``keys``, or all). Refused (409) when
        the preview is out of date or still computing, or the fingerprint sent is not the preview's.
        Chosen drafts (up to ``APPROVE_AT_ONCE``) are approved before this returns; a whole period in
        the background (``approval(period)`` tells how it goes)."""
        view = self.view(period)
        computed = view.computed
        if view.approval is not None and view.approval.state == "running":
            raise ApprovalRunning(
                f"an approval of {period.label()} started by {view.approval.started_by} is still going",
                hint="wait for it to finish; the billing page shows its progress",
            )
        if computed is None or not view.fresh:
            raise PreviewStale(
                f"the preview of {period.label()} is "
                + ("out of date: the store changed since it was computed" if computed else "not ready yet"),
                hint="wait for the preview to be computed, check it, then approve",
            )
        if fingerprint_seen and fingerprint_seen != computed.fingerprint:
            raise PreviewStale(
                f"the store changed since the preview of {period.label()} you approved from",
                hint="preview again, check the changes, then approve",
            )
        wanted = list(dict.fromkeys(keys))
        missing = [k for k in wanted if computed.summary(k) is None]
        if missing:
            raise NotFound(
                f"no draft {missing[0]} in the preview of {period.label()}",
                hint="choose drafts the billing page lists",
            )
        approval = Approval(
            period, "running", by, self.clock(), tuple(wanted), total=len(wanted) or len(computed.summaries)
        )
        with self._lock:
            slot = self._slot(period)
            if slot.approving:
                raise ApprovalRunning(
                    f"an approval of {period.label()} is still going", hint="wait for it to finish"
                )
            slot.approving = True
            slot.approval = approval
        if (wanted and len(wanted) <= APPROVE_AT_ONCE) or not self.background:
            self._approve(approval, computed)
            if approval.error is not None:
                raise approval.error  # approved in the request: its error is the answer
            return replace(approval)
        thread = threading.Thread(
            target=self._approve, args=(approval, computed), name="revloop-approve", daemon=True
        )
        with self._lock:
            slot.approver = thread
            snapshot = replace(approval)
        thread.start()
        return snapshot

    def _approve(self, approval: Approval, computed: Computed) -> None:
        period = approval.period

        def report(stage: str, done: int, total: int) -> None:
            with self._lock:
                approval.stage, approval.done, approval.total = stage, done, total

        job = ApprovalJob(
            period=period,
            fingerprint=computed.fingerprint,
            prepared=computed.prepared_for(approval.keys),
            keys=approval.keys,
            by=approval.started_by,
            now=self.clock(),
        )
        try:
            if self.mode == "process" and not approval.keys:
                result = approve_in_a_process(self.app, job, report)
            else:
                result = keep_and_approve(self.app, job, report)
        except RevloopError as exc:
            self._finish(approval, "failed", message=exc.one_line(), error=exc)
            return
        except Exception as exc:
            log.exception("approving %s from the dashboard failed", period.label())
            failed = PreviewFailed(
                f"approving {period.label()} failed ({type(exc).__name__})",
                hint="the server log has the details; nothing was approved",
            )
            self._finish(approval, "failed", message=failed.one_line(), error=failed)
            return
        # the approval moved the store on by what it kept and approved, which the preview's drafts
        # do not depend on: the preview stays good for the store as the approval left it
        renewed = replace(
            computed, fingerprint=result.fingerprint, stored=result.stored, period_status="open"
        )
        with self._lock:
            self._slot(period).computed = renewed
        approved = result.approved
        self._finish(
            approval,
            "done",
            approved=approved.approved,
            already=approved.already,
            created=len(result.kept.created),
            updated=len(result.kept.updated),
            unchanged=len(result.kept.unchanged),
            removed=len(result.kept.removed),
            message=f"{len(approved.approved)} draft{'' if len(approved.approved) == 1 else 's'} approved",
        )

    def _finish(self, approval: Approval, state: ApprovalState, **changes: Any) -> None:
        with self._lock:
            approval.state = state
            approval.finished_at = self.clock()
            for name, value in changes.items():
                setattr(approval, name, value)
            slot = self._periods.get(approval.period)
            if slot is not None:
                slot.approving = False
                if slot.approver is threading.current_thread():
                    slot.approver = None


@dataclass(frozen=True)
class ApprovalJob:
    """What an approval keeps and approves: the preview's drafts (those of ``keys``, or all) as
    computed from the store in the state ``fingerprint``."""

    period: Period
    fingerprint: str
    prepared: Prepared
    keys: tuple[str, ...]  # empty: every draft of the period
    by: str
    now: datetime


@dataclass(frozen=True)
class ApprovalResult:
    kept: run.BillResult
    approved: run.Approved
    stored: dict[str, str]  # the preview's keys -> the stored invoice's status, after
    fingerprint: str  # the store's state as the approval left it


def keep_and_approve(app: App, job: ApprovalJob, progress: Report | None = None) -> ApprovalResult:
    """Keep the job's drafts (``run.keep_in``) and approve them, in one transaction that first
    checks the store is in the state the preview was computed from (else ``PreviewStale``)."""
    period = job.period
    outcome = replace(
        job.prepared.outcome,
        drafts=tuple(_draft(job.prepared.blobs[k]) for k in job.prepared.order if k in job.prepared.blobs),
    )
    with _transaction(app) as conn:
        if fingerprint(conn) != job.fingerprint:
            raise PreviewStale(
                f"the store changed since the preview of {period.label()} was computed",
                hint="preview again, check the changes, then approve",
            )
        kept = run.keep_in(conn, outcome, now=job.now, actor=job.by, keys=job.keys or None, progress=progress)
        approved = run.approve_in(
            conn,
            now=job.now,
            by=job.by,
            keys=job.keys,
            period=period,
            everything=not job.keys,
            progress=progress,
        )
        stored = _stored(conn, [s.key for s in job.prepared.summaries])
        after = fingerprint(conn)
    return ApprovalResult(kept, approved, stored, after)


def approve_in_a_process(app: App, job: ApprovalJob, progress: Report) -> ApprovalResult:
    """``keep_and_approve`` in a worker process, its progress relayed as it comes."""
    found: ApprovalResult = _in_a_process(("approve", app.settings, job), progress, job.period, "approving")
    return found


@contextmanager
def _transaction(app: App) -> Iterator[Connection]:
    """A transaction that sees the store in one state from its first read to its commit: SQLite's
    write lock taken at the start (``BEGIN IMMEDIATE``), PostgreSQL at repeatable read (a change by
    another transaction to what this one writes fails it, and is then an out-of-date preview)."""
    engine = app.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        return
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01"):
            raise PreviewStale(
                "the store changed while the approval was being written",
                hint="preview again, check the changes, then approve",
            ) from None
        raise


def _stored(conn: Connection, keys: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        out.update(
            (k, s)
            for k, s in conn.execute(
                sa.select(t.invoices.c.key, t.invoices.c.status).where(
                    t.invoices.c.origin == "revloop", t.invoices.c.key.in_(keys[start : start + 500])
                )
            )
        )
    return out


__all__ = [
    "APPROVE_AT_ONCE",
    "Approval",
    "ApprovalJob",
    "ApprovalResult",
    "BillingRuns",
    "Computed",
    "Prepared",
    "Progress",
    "Summary",
    "View",
    "approve_in_a_process",
    "keep_and_approve",
    "prepare",
    "prepare_in_a_process",
]

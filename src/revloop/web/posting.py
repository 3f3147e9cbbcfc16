"""Posting from the dashboard: ``revloop post``'s service run in a background thread, one run at a
time per server, its progress kept in memory for the page (and ``GET /api/post/status``) to poll.
Posting is exactly once whatever happens to the thread: an interrupted run is resumed by the next."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from revloop.bootstrap import App
from revloop.domain.issues import RevloopError
from revloop.web.errors import PostRunning
from revloop.web.models import Posted, PostStatus, Rejected

log = logging.getLogger(__name__)

#: Builds the clients a run talks to: (Xero client, Xero tenant id, HaloPSA client or None).
ClientFactory = Callable[[App], tuple[Any, str, Any | None]]


def default_clients(app: App) -> tuple[Any, str, Any | None]:
    from revloop.services.billing.clients import halo_client, xero_client

    xero, tenant = xero_client(app)
    return xero, tenant, halo_client(app)


class Poster:
    def __init__(self, app: App, clients: ClientFactory, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clients = clients
        self.clock = clock
        self._lock = threading.Lock()
        self._status = PostStatus(state="idle")
        self._thread: threading.Thread | None = None

    def status(self) -> PostStatus:
        with self._lock:
            return self._status

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = self._status.model_copy(update=changes)

    def start(self, by: str) -> PostStatus:
        with self._lock:
            if self._status.state == "running":
                raise PostRunning(
                    f"a posting run started by {self._status.started_by} is still going",
                    hint="wait for it to finish; the page shows its progress",
                )
            self._status = PostStatus(state="running", started_by=by, started_at=self.clock())
            self._thread = threading.Thread(target=self._run, args=(by,), name="revloop-post", daemon=True)
            self._thread.start()
            return self._status

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _progress(self, n: int) -> None:
        with self._lock:
            self._status = self._status.model_copy(update={"sent": self._status.sent + n})

    def _run(self, by: str) -> None:
        from revloop.services.billing import post as posting

        xero: Any = None
        halo: Any = None
        try:
            xero, tenant, halo = self.clients(self.app)
            result = posting.post(
                self.app, xero, tenant, now=self.clock(), halo=halo, actor=by, progress=self._progress
            )
        except RevloopError as exc:
            self._update(state="failed", finished_at=self.clock(), message=exc.one_line())
            return
        except Exception as exc:  # never a traceback to a person: the log has it
            log.exception("posting from the dashboard failed")
            self._update(
                state="failed",
                finished_at=self.clock(),
                message=f"internal error: {type(exc).__name__}; run `revloop post` to resume and see details",
            )
            return
        finally:
            for client in (xero, halo):
                close = getattr(client, "close", None)
                if callable(close):
                    close()
        self._update(
            state="done",
            finished_at=self.clock(),
            queued=list(result.queued),
            posted=[Posted(key=k, number=n) for k, n in result.posted],
            recovered=[Posted(key=k, number=n) for k, n in result.recovered],
            rejected=[Rejected(key=k, why=w) for k, w in result.rejected],
            unmapped=list(result.unmapped),
            mismatches=list(result.mismatches),
            written_back=result.written_back,
            xero_calls=result.xero_calls,
            message=f"{len(result.posted)} posted, {len(result.recovered)} recovered, "
            f"{len(result.rejected)} rejected, {len(result.unmapped)} without a Xero contact",
        )


__all__ = ["ClientFactory", "Poster", "default_clients"]

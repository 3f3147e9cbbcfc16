"""``revloop watch [--once] [--jobs ...]``: keep everything current without anyone running commands.

It syncs both systems (at once when a Xero webhook marked a record), reconciles after each sync,
previews billing ahead of each month end, runs bill-ahead, and sends notifications. Several
processes may watch one store: a lease in the store makes sure only one runs each job at a time.
SIGTERM or Ctrl-C stops it after the current job (a second one stops it at once).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.cli.errors import crash_report
from revloop.services.watch import Backoff, Watcher, build_jobs, parse_jobs

out = Console()
_HANDLER_MARK = "_revloop_watch_handler"


def setup_logging(level: str, console: Console | None = None) -> None:
    """Rich log lines on the terminal for everything revloop logs while watching."""
    logger = logging.getLogger("revloop")
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
    handler = RichHandler(
        console=console or out,
        show_path=False,
        markup=False,
        rich_tracebacks=False,
        log_time_format="[%Y-%m-%d %H:%M:%S]",
    )
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level.upper())


@contextmanager
def stop_on_signals(watcher: Watcher, wake: threading.Event) -> Iterator[None]:
    """SIGTERM / SIGINT: finish the current job and stop; a second signal stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    log = logging.getLogger("revloop.watch")

    def handle(signum: int, _frame: Any) -> None:
        if watcher.stopping:
            raise KeyboardInterrupt
        log.info("%s: stopping after the current job (again to stop at once)", signal.Signals(signum).name)
        watcher.stop()
        wake.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def watch_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run every due job once, then exit (for cron).")
    ] = False,
    jobs: Annotated[
        str | None,
        typer.Option("--jobs", help="Comma-separated jobs: sync,reconcile,preview,bill-ahead,notify."),
    ] = None,
) -> None:
    """Keep the store, findings and notifications current: run each job when it is due."""
    application = build()
    settings = application.settings
    try:
        names = parse_jobs(jobs, settings.watch_jobs)
        require_current(application.engine)
        setup_logging(settings.log_level)
        wake = threading.Event()

        def sleep(seconds: float) -> None:
            wake.wait(seconds)

        watcher = Watcher(
            application.engine,
            build_jobs(application, names),
            sleep=sleep,
            lease=timedelta(seconds=settings.watch_lease_seconds),
            backoff=Backoff(
                timedelta(seconds=settings.watch_backoff_seconds),
                timedelta(minutes=settings.watch_backoff_max_minutes),
            ),
            poll=timedelta(seconds=settings.watch_poll_seconds),
            heartbeat=True,
            crash_report=crash_report,
        )
        log = logging.getLogger("revloop.watch")
        log.info(
            "watching %s as %s (%s)", ", ".join(names), watcher.holder, "once" if once else "until stopped"
        )
        with stop_on_signals(watcher, wake):
            if once:
                runs = watcher.run_due()
            else:
                watcher.run_forever()
                runs = []
    finally:
        application.close()
    if once:
        failed = [r for r in runs if r.outcome == "failed"]
        if not runs:
            out.print("Nothing was due.")
        else:
            out.print(f"{len(runs)} job(s) ran: {len(runs) - len(failed)} fine, {len(failed)} failed.")
        if failed:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the revloop command line."""
    app.command("watch")(watch_command)


__all__ = ["register", "setup_logging", "watch_command"]

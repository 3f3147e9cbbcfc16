"""The worker process that computes a billing preview for the dashboard (``billing_run``).

Run as ``python -m revloop.web.billing_worker``: reads a pickled task from its standard input —
``("preview", settings, period)``: compute the preview (``billing_run.prepare``), or
``("approve", settings, job)``: keep and approve a preview's drafts (``billing_run.keep_and_approve``)
— does it over its own connection to the store, and writes pickled messages to its standard output:
``("progress", stage, done, total)`` as it goes, then ``("done", result)``, ``("error",
revloop_error)`` or ``("failed", what)``. Anything else it would print goes to its standard error.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
from typing import Any, BinaryIO

log = logging.getLogger("revloop.web.billing_worker")


def _sender(out: BinaryIO) -> Any:
    def send(*message: Any) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    return send


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the messages
    send = _sender(out)
    kind, settings, what = pickle.load(sys.stdin.buffer)

    from revloop.bootstrap import App
    from revloop.domain.issues import RevloopError
    from revloop.web.billing_run import keep_and_approve, prepare

    def progress(stage: str, done: int, total: int) -> None:
        send("progress", stage, done, total)

    app = App(settings)
    try:
        if kind == "preview":
            send("done", prepare(app, what, progress))
        else:
            send("done", keep_and_approve(app, what, progress))
    except RevloopError as exc:
        send("error", exc)
    except Exception as exc:
        log.exception("the billing worker's %s task failed", kind)
        send("failed", type(exc).__name__)
        return 1
    finally:
        app.close()
        out.close()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(main())

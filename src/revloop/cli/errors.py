"""The CLI's one error boundary: a ``RevloopError`` becomes one line and its exit code; anything
unexpected becomes one line pointing at a crash report, never a traceback on the terminal."""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from revloop.domain.issues import RevloopError

INTERNAL_EXIT = 70


def crash_report(exc: BaseException) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = Path(tempfile.gettempdir()) / f"revloop-crash-{stamp}.txt"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def guarded(call: Callable[[], object]) -> int:
    try:
        result = call()
    except RevloopError as exc:
        print(exc.one_line(), file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        where = crash_report(exc)
        print(f"internal error: {type(exc).__name__}: {exc} (details in {where})", file=sys.stderr)
        return INTERNAL_EXIT
    return result if isinstance(result, int) else 0

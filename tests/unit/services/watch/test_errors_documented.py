"""The scheduler's and the notifications' errors are in docs/errors.md with their exit codes."""

from __future__ import annotations

from revloop.adapters.notify.errors import NotifyConfigError, NotifyError
from revloop.domain.issues import all_error_classes
from revloop.services.watch.errors import UnknownJob
from tests.unit.domain.test_issues import documented_codes


def test_new_errors_are_documented() -> None:
    docs = documented_codes()
    ours = [NotifyConfigError, NotifyError, UnknownJob]
    assert set(ours) <= set(all_error_classes())
    for cls in ours:
        assert cls.code in docs, cls.code
        assert f"Exit code: {cls.exit_code}" in docs[cls.code], cls.code
    assert (NotifyError.exit_code, NotifyConfigError.exit_code, UnknownJob.exit_code) == (5, 2, 4)

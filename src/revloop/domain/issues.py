"""Problems as values, and the error tree.

An ``Issue`` is bad or incomplete input found while working (a missing rate, an unknown
customer): it names the record and what to do, and the run goes on. A ``RevloopError`` stops the
command it happens in: each has a stable code, an exit code, and an entry in docs/errors.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Issue:
    """A named problem with one record. ``subject`` identifies the record."""

    code: str
    severity: Severity
    subject: str
    message: str
    action: str = ""
    amount: str | None = None
    details: tuple[tuple[str, str], ...] = field(default=())

    def as_dict(self) -> dict[str, str]:
        out = {
            "code": self.code,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
        }
        if self.action:
            out["action"] = self.action
        if self.amount is not None:
            out["amount"] = self.amount
        return out


class IssueState(StrEnum):
    """The lifecycle of a stored issue or finding."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# ---------------------------------------------------------------------------------------------
# Errors. Every concrete class sets ``code`` (dotted, stable) and ``exit_code``. The test
# tests/unit/domain/test_issues.py walks this tree and fails when a code is missing from
# docs/errors.md.


class RevloopError(Exception):
    """Base of every error revloop reports to a person."""

    code: ClassVar[str] = "revloop.error"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = f"error [{self.code}]: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(RevloopError):
    code = "config.invalid"
    exit_code = 2
    http_status = 500


class SettingsFileError(ConfigError):
    code = "config.settings_file"


class SettingsExistError(ConfigError):
    code = "config.settings_exist"


class HomeError(ConfigError):
    code = "config.home"


class DatabaseUrlError(ConfigError):
    code = "config.database_url"


class SecretError(ConfigError):
    code = "config.secret"


class StoreError(RevloopError):
    code = "store.error"
    exit_code = 3
    http_status = 503


class StoreUnreachable(StoreError):
    code = "store.unreachable"


class StoreNotInitialised(StoreError):
    code = "store.not_initialised"


class StoreOutOfDate(StoreError):
    code = "store.out_of_date"


class MigrationError(StoreError):
    code = "store.migration"


class InputError(RevloopError):
    code = "input.invalid"
    exit_code = 4
    http_status = 400


class ScenarioError(InputError):
    code = "scenario.invalid"


class ScenarioMismatch(RevloopError):
    code = "scenario.mismatch"
    exit_code = 1
    http_status = 409


class PeriodError(InputError):
    code = "input.period"


class NotFound(RevloopError):
    code = "not_found"
    exit_code = 4
    http_status = 404


class ConnectorError(RevloopError):
    code = "connector.error"
    exit_code = 5
    http_status = 502


class AuthError(ConnectorError):
    code = "connector.auth"


class RateLimited(ConnectorError):
    code = "connector.rate_limited"
    http_status = 429


class RemoteUnavailable(ConnectorError):
    code = "connector.unavailable"
    http_status = 503


class PostingError(RevloopError):
    code = "posting.error"
    exit_code = 6
    http_status = 409


class PeriodClosed(PostingError):
    code = "billing.period_closed"


class PermissionDenied(RevloopError):
    code = "auth.forbidden"
    exit_code = 7
    http_status = 403


def all_error_classes() -> list[type[RevloopError]]:
    seen: list[type[RevloopError]] = []
    stack: list[type[RevloopError]] = [RevloopError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen

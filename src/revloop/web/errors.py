"""Errors of the web dashboard and of user management; each has a code, an exit code, an HTTP
status and an entry in docs/errors.md."""

from __future__ import annotations

from revloop.domain.issues import InputError, PermissionDenied, PostingError, RevloopError


class AuthRequired(RevloopError):
    """No session, or it expired: sign in (pages redirect to the sign-in page)."""

    code = "auth.required"
    exit_code = 7
    http_status = 401


class LoginFailed(RevloopError):
    """Sign-in refused. The message never says whether the name, the password or a lockout was why."""

    code = "auth.login_failed"
    exit_code = 7
    http_status = 401


class CsrfFailed(PermissionDenied):
    """A state-changing request without the session's CSRF token (or with a wrong one)."""

    code = "auth.csrf"


class UserExists(InputError):
    code = "user.exists"
    http_status = 409


class PasswordRejected(InputError):
    """A new password too short, too long, or not typed the same twice."""

    code = "user.password"


class LastAdmin(InputError):
    """The change would leave no active admin."""

    code = "user.last_admin"
    http_status = 409


class PreviewStale(PostingError):
    """The drafts changed between the preview a person saw and the approval they sent."""

    code = "billing.preview_stale"


class ApprovalRunning(PostingError):
    """An approval of the same period started from the dashboard is still going."""

    code = "billing.approval_running"


class PreviewFailed(RevloopError):
    """A billing preview (or an approval from it) failed for an unexpected reason; the log has it."""

    code = "billing.preview_failed"
    exit_code = 1
    http_status = 500


class PostRunning(PostingError):
    """A posting run started from the dashboard is still going."""

    code = "posting.running"


__all__ = [
    "ApprovalRunning",
    "AuthRequired",
    "CsrfFailed",
    "LastAdmin",
    "LoginFailed",
    "PasswordRejected",
    "PostRunning",
    "PreviewFailed",
    "PreviewStale",
    "UserExists",
]

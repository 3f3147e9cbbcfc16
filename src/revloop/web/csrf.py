"""CSRF protection: a synchroniser token per session, required on every POST, PUT, PATCH and
DELETE — as the form field ``csrf_token`` (pages) or the header ``X-CSRF-Token`` (API clients).
The sign-in form, which has no session yet, uses a double-submit pair instead: a random value in a
short-lived SameSite=Strict cookie and the same value in the form."""

from __future__ import annotations

import hmac
import secrets

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
LOGIN_COOKIE = "revloop_login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not expected or not given or len(given) > 256:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "replace"), given.encode("utf-8", "replace"))


def needs_check(method: str) -> bool:
    return method.upper() not in SAFE_METHODS


__all__ = ["FIELD", "HEADER", "LOGIN_COOKIE", "SAFE_METHODS", "needs_check", "new_token", "tokens_match"]

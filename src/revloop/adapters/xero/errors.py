"""Xero answers → revloop's error tree (NOTES §7).

401 → ``AuthError`` naming the problem Xero gives (``TokenExpired``, ``AuthorizationUnsuccessful`` for a
missing scope); 403 → ``AuthError`` (the organisation is not connected to this token); 429 after the
retries → ``RateLimited``; 5xx after the retries → ``RemoteUnavailable``; anything else →
``ConnectorError`` with Xero's message. Messages never contain tokens or secrets.
"""

from __future__ import annotations

from typing import Any

import httpx

from revloop.domain.issues import AuthError, ConnectorError, RateLimited, RemoteUnavailable

from . import wire

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_EXCERPT = 300


def _body(response: httpx.Response) -> Any:
    try:
        return wire.loads(response.content) if response.content else None
    except ValueError:
        return None


def problem_detail(response: httpx.Response) -> str:
    """Xero's own words about a failure: ``Detail``, ``Message`` + validation messages, or the text."""
    body = _body(response)
    if isinstance(body, dict):
        if body.get("Detail"):
            return str(body["Detail"]).split(":")[0][:_EXCERPT]
        if body.get("error"):
            return str(body["error"])[:_EXCERPT]
        parts = [str(body.get("Message") or body.get("Type") or "")]
        for element in body.get("Elements") or []:
            if isinstance(element, dict):
                parts.extend(wire.messages(element))
        return "; ".join(p for p in parts if p)[:_EXCERPT]
    try:
        text = " ".join(response.text.split())
    except UnicodeDecodeError:
        return ""
    return text[:_EXCERPT]


def validation_messages(response: httpx.Response) -> list[str]:
    """All ``ValidationErrors`` messages of a 400 ValidationException (or its ``Message``)."""
    body = _body(response)
    if not isinstance(body, dict):
        return [problem_detail(response)]
    found: list[str] = []
    for element in body.get("Elements") or []:
        if isinstance(element, dict):
            found.extend(wire.messages(element))
    return found or [str(body.get("Message") or "the request was rejected")]


def error_for(response: httpx.Response) -> ConnectorError:
    status = response.status_code
    detail = problem_detail(response)
    said = f": {detail}" if detail else ""
    what = f"Xero {response.request.method} {response.request.url.path}"
    if status == 401:
        hint = "re-authorise the Xero connection"
        if "AuthorizationUnsuccessful" in detail:
            hint = "the connection lacks a scope this call needs; connect Xero again with revloop's scopes"
        return AuthError(f"{what} was refused (401){said}", hint=hint)
    if status == 403:
        return AuthError(
            f"{what} was refused for this organisation (403){said}",
            hint="the organisation is not connected to this Xero login any more; reconnect it",
        )
    if status == 429:
        problem = response.headers.get("x-rate-limit-problem", "")
        kind = f" ({problem} limit)" if problem else ""
        return RateLimited(f"{what} is still rate limited{kind}", hint="try again later")
    if status >= 500:
        return RemoteUnavailable(f"{what} failed on the Xero side ({status}){said}")
    return ConnectorError(f"{what} was rejected ({status}){said}")


def token_error(response: httpx.Response) -> ConnectorError:
    detail = problem_detail(response)
    said = f": {detail}" if detail else ""
    if response.status_code in (400, 401, 403):
        hint = "check the Xero client id and secret"
        if "invalid_grant" in detail:
            hint = "the stored Xero authorisation is no longer valid; connect Xero again"
        return AuthError(f"Xero refused to issue a token ({response.status_code}){said}", hint=hint)
    if response.status_code == 429:
        return RateLimited(f"Xero is rate limiting token requests{said}")
    if response.status_code >= 500:
        return RemoteUnavailable(f"the Xero identity service failed ({response.status_code}){said}")
    return ConnectorError(f"unexpected answer from the Xero identity service ({response.status_code}){said}")


def unreachable(exc: httpx.TransportError, what: str) -> RemoteUnavailable:
    return RemoteUnavailable(f"cannot reach Xero for {what}: {exc.__class__.__name__}")

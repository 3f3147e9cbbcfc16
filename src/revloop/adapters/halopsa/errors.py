"""HaloPSA answers → revloop's error tree.

Messages name the call and the status and quote at most a short excerpt of Halo's reply; they never
contain a token or a client secret (requests are not echoed).
"""

from __future__ import annotations

import httpx

from revloop.domain.issues import AuthError, ConnectorError, RateLimited, RemoteUnavailable

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_EXCERPT = 200


def excerpt(response: httpx.Response) -> str:
    try:
        text = response.text.strip()
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def _what(response: httpx.Response) -> str:
    request = response.request
    return f"HaloPSA {request.method} {request.url.path}"


def error_for(response: httpx.Response) -> ConnectorError:
    """The error for a response that is not a success (after any retries were spent)."""
    status = response.status_code
    detail = excerpt(response)
    said = f": {detail}" if detail else ""
    what = _what(response)
    if status == 401:
        return AuthError(
            f"{what} was refused (401 Unauthorized){said}",
            hint="check the HaloPSA client id and secret, and that the API application is enabled",
        )
    if status == 403:
        return AuthError(
            f"{what} is not permitted (403 Forbidden){said}",
            hint="give the HaloPSA API application (and its agent) access to this resource",
        )
    if status == 429:
        return RateLimited(
            f"{what} is still rate limited (429){said}",
            hint="HaloPSA allows 300 requests per rolling 5 minutes; try again later",
        )
    if status >= 500:
        return RemoteUnavailable(f"{what} failed on the HaloPSA side ({status}){said}")
    return ConnectorError(f"{what} was rejected ({status}){said}")


def token_error(response: httpx.Response) -> ConnectorError:
    """The error for a failed token request (OAuth JSON ``error``/``error_description`` when present)."""
    status = response.status_code
    code = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            code = str(body.get("error") or "")
            if body.get("error_description"):
                code += f" ({str(body['error_description'])[:_EXCERPT]})"
    except ValueError:
        pass
    said = f": {code}" if code else ""
    if status in (400, 401, 403):
        return AuthError(
            f"HaloPSA refused to issue a token ({status}){said}",
            hint="check the HaloPSA client id, client secret and tenant",
        )
    if status == 429:
        return RateLimited(f"HaloPSA is rate limiting token requests (429){said}")
    if status >= 500:
        return RemoteUnavailable(
            f"the HaloPSA token endpoint failed ({status}){said}",
            hint="a wrong tenant name also gives this",
        )
    return ConnectorError(f"unexpected answer from the HaloPSA token endpoint ({status}){said}")


def unreachable(exc: httpx.TransportError, what: str) -> RemoteUnavailable:
    return RemoteUnavailable(f"cannot reach HaloPSA for {what}: {exc.__class__.__name__}")

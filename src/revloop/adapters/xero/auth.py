"""Xero sign-in: the authorization-code flow with PKCE, refresh-token rotation, Custom Connections
(client_credentials), and the ``httpx.Auth`` that puts a valid access token on every API call.

- ``new_pkce()`` and ``authorize_url()`` build the consent URL (``state`` + S256 ``code_challenge``);
  ``IdentityClient.exchange_code()`` turns the returned code into a ``TokenSet``.
- Refresh tokens rotate on every use (NOTES §1.1). ``StoredTokenSource`` (tokens.py) serialises the
  refresh per connection through the database; ``ClientCredentialsSource`` mints Custom Connection
  tokens in memory (there is no refresh token to keep).
- ``XeroAuth`` asks its source for a token before each call and, on a 401, once for a new one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

import httpx

from . import errors

REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.settings.read",
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def new_pkce() -> Pkce:
    """A fresh code verifier (86 characters of the unreserved set) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    return Pkce(verifier, pkce_challenge(verifier))


def pkce_challenge(verifier: str) -> str:
    if not 43 <= len(verifier) <= 128:
        raise ValueError("a PKCE code verifier has 43 to 128 characters")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(
    base: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
) -> str:
    """The consent page URL to send the user to."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{urlencode(query)}"


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""

    def usable(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        return now < self.expires_at - margin

    @classmethod
    def from_response(cls, body: object, now: datetime) -> TokenSet:
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ValueError("no access_token in the answer")
        lifetime = int(body.get("expires_in") or 1800)
        return cls(
            access_token=str(body["access_token"]),
            expires_at=now + timedelta(seconds=lifetime),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            scope=str(body.get("scope") or ""),
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class IdentityClient:
    """Xero's identity service: ``<identity_url>/connect/token`` and ``/connect/revocation``."""

    def __init__(
        self,
        identity_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 3,
    ) -> None:
        self.token_url = identity_url.rstrip("/") + "/connect/token"
        self.revocation_url = identity_url.rstrip("/") + "/connect/revocation"
        self.client_id = client_id
        self._secret = client_secret
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._now = now
        self._sleep = sleep
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"IdentityClient(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._http.close()

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        """POST a form with client authentication; retried on broken connections and 5xx.

        A retried refresh reuses the same refresh token: Xero accepts the previous token for 30
        minutes after rotating it, which is exactly the case of an answer lost on the way back.
        """
        headers = {"Accept": "application/json"}
        body = dict(form)
        if self._secret:
            pair = f"{self.client_id}:{self._secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            body["client_id"] = self.client_id
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._http.post(url, data=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.attempts:
                    raise errors.unreachable(exc, "a token") from None
                self._sleep(float(attempt))
                continue
            if response.status_code in errors.RETRYABLE_STATUS and attempt < self.attempts:
                self._sleep(float(attempt))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, form: dict[str, str]) -> TokenSet:
        now = self._now()
        response = self._post(self.token_url, form)
        if response.status_code != 200:
            raise errors.token_error(response)
        try:
            return TokenSet.from_response(response.json(), now)
        except ValueError:
            raise errors.token_error(response) from None

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenSet:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self, scopes: Sequence[str] = ()) -> TokenSet:
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        return self._token(form)

    def revoke(self, refresh_token: str) -> None:
        response = self._post(self.revocation_url, {"token": refresh_token})
        if response.status_code != 200:
            raise errors.token_error(response)


class TokenSource(Protocol):
    def access_token(self, *, stale: str | None = None) -> str:
        """A usable access token; a different one than ``stale`` when that one was refused."""
        ...


class ClientCredentialsSource:
    """Custom Connection tokens: minted with client_credentials, kept in memory until near expiry."""

    def __init__(
        self, identity: IdentityClient, scopes: Sequence[str] = (), *, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.identity = identity
        self.scopes = tuple(scopes)
        self._now = now
        self._tokens: TokenSet | None = None
        self._lock = threading.Lock()

    def access_token(self, *, stale: str | None = None) -> str:
        with self._lock:
            current = self._tokens
            if current is None or not current.usable(self._now()) or current.access_token == stale:
                current = self.identity.client_credentials(self.scopes)
                self._tokens = current
            return current.access_token


class XeroAuth(httpx.Auth):
    """Bearer auth from a ``TokenSource``; on a 401, one more try with a new token.

    A 401 ``AuthorizationUnsuccessful`` means a missing scope, which a new token cannot mend, so it
    is passed on as it is.
    """

    requires_response_body = True

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and b"AuthorizationUnsuccessful" not in response.content:
            request.headers["Authorization"] = f"Bearer {self.source.access_token(stale=token)}"
            yield request

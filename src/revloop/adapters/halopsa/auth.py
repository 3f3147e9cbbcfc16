"""HaloPSA client-credentials auth as an ``httpx.Auth`` flow.

A token is fetched on first use (``POST <auth_url>/token``, form-encoded, with ``?tenant=`` for hosted
tenants), kept until shortly before it expires (``expires_in``, one hour in practice), and fetched
again once when an API call answers 401 (a token can be invalidated early). The token request goes
through the same transport as the API calls, so tests hand both to a simulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from . import errors

REFRESH_MARGIN = 60.0  # seconds before expiry at which a new token is fetched


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # on the auth's monotonic clock


class HaloAuth(httpx.Auth):
    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        tenant: str = "",
        scope: str = "all",
        clock: Callable[[], float] = time.monotonic,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.tenant = tenant
        self.scope = scope
        self._clock = clock
        self._margin = margin
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"HaloAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def _current(self) -> _Token | None:
        token = self._token
        if token is None or self._clock() >= token.expires_at - self._margin:
            return None
        return token

    def token_request(self) -> httpx.Request:
        params = {"tenant": self.tenant} if self.tenant else None
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
            "scope": self.scope,
        }
        return httpx.Request(
            "POST", self.token_url, params=params, data=form, headers={"Accept": "application/json"}
        )

    def _accept(self, response: httpx.Response) -> _Token:
        if response.status_code != 200:
            raise errors.token_error(response)
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise errors.token_error(response) from None
        token = _Token(value, self._clock() + lifetime)
        self._token = token
        self.tokens_fetched += 1
        return token

    def invalidate(self) -> None:
        self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        if token is None:
            with self._lock:
                token = self._current()
                if token is None:
                    token = self._accept((yield self.token_request()))
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        # Once: the token may have been invalidated early. Another thread may already have replaced it.
        with self._lock:
            current = self._token
            if current is None or current.value == token.value:
                current = self._accept((yield self.token_request()))
        request.headers["Authorization"] = f"Bearer {current.value}"
        yield request

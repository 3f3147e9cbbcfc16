"""Xero's identity service (NOTES §1): authorization code with PKCE, rotating refresh tokens with a
30-minute grace for the previous one, client_credentials for Custom Connections, /connections."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ..common import SimClock
from .wire import IdSource, json_response, not_found, parse_timestamp, plain, problem

ACCESS_TOKEN_SECONDS = 1800
REFRESH_TOKEN_DAYS = 60
REFRESH_GRACE_SECONDS = 1800
CODE_SECONDS = 300
DEMO_USER_ID = "7d1c3e58-5a0e-4e6b-9d8a-2f1b6c4a9e01"
ISSUER = "https://identity.xero.com"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def _connection_stamp(dt: datetime) -> str:
    """``2019-12-07T18:46:19.5165400``: seven fractional digits, no zone (UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _oauth_error(error: str, status: int = 400, description: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"error": error}
    if description:
        body["error_description"] = description
    return json_response(status, body)


@dataclass
class TokenInfo:
    """What the API side needs to know about a presented access token."""

    token: str
    client_id: str
    user_id: str | None
    scopes: frozenset[str]
    custom_tenant: str | None
    auth_event_id: str | None


class IdentityServer:
    def __init__(self, clock: SimClock, ids: IdSource, tenants: Callable[[], dict[str, str]]) -> None:
        self.clock = clock
        self.ids = ids
        self._tenants = tenants  # tenant id → organisation name
        self.signing_key = b"revloop-xero-simulator-signing-key"
        self.state: dict[str, Any] = {
            "clients": {},
            "codes": {},
            "access": {},
            "refresh": {},
            "connections": {},
        }

    # --- registration ---------------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uris: list[str],
        *,
        custom_tenant: str | None = None,
        scopes: str = "",
    ) -> None:
        """Register an app. ``custom_tenant`` makes it a Custom Connection bound to that organisation."""
        self.state["clients"][client_id] = {
            "client_secret": client_secret,
            "redirect_uris": list(redirect_uris),
            "custom_tenant": custom_tenant,
            "scopes": scopes,
        }

    def connect(
        self, client_id: str, tenant_id: str, user_id: str = DEMO_USER_ID, auth_event_id: str = ""
    ) -> None:
        """Connect an organisation to an app for a user (what the consent screen does)."""
        now = self.clock.now()
        key = f"{client_id}|{user_id}|{tenant_id}"
        existing = self.state["connections"].get(key)
        if existing:
            existing["updatedDateUtc"] = _connection_stamp(now)
            existing["authEventId"] = auth_event_id or existing["authEventId"]
            return
        self.state["connections"][key] = {
            "id": self.ids.guid(),
            "authEventId": auth_event_id or self.ids.guid(),
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self._tenants().get(tenant_id, ""),
            "createdDateUtc": _connection_stamp(now),
            "updatedDateUtc": _connection_stamp(now),
        }

    def connected_tenants(self, info: TokenInfo) -> list[str]:
        if info.custom_tenant:
            return [info.custom_tenant]
        prefix = f"{info.client_id}|{info.user_id}|"
        return [c["tenantId"] for k, c in self.state["connections"].items() if k.startswith(prefix)]

    # --- /identity/connect/authorize -------------------------------------------------------------

    def authorize(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        client = self.state["clients"].get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or client["custom_tenant"]:
            return plain(400, "Error: unauthorized_client\nInvalid client_id")
        if redirect_uri not in client["redirect_uris"]:
            return plain(400, "Error: invalid_request\nInvalid redirect_uri")
        state = params.get("state")

        def redirect(query: dict[str, str]) -> httpx.Response:
            if state is not None:
                query["state"] = state
            sep = "&" if urlsplit(redirect_uri).query else "?"
            return httpx.Response(302, headers={"Location": f"{redirect_uri}{sep}{urlencode(query)}"})

        if params.get("response_type") != "code":
            return redirect({"error": "unsupported_response_type"})
        scope = params.get("scope", "").strip()
        if not scope:
            return redirect({"error": "invalid_scope"})
        method = params.get("code_challenge_method", "plain" if params.get("code_challenge") else "")
        if method and method not in ("S256", "plain"):
            return redirect({"error": "invalid_request"})
        auth_event_id = self.ids.guid()
        for tenant_id in self._tenants():
            self.connect(params["client_id"], tenant_id, DEMO_USER_ID, auth_event_id)
        code = self.ids.token(24)
        self.state["codes"][code] = {
            "client_id": params["client_id"],
            "redirect_uri": redirect_uri,
            "scope": scope,
            "challenge": params.get("code_challenge"),
            "method": method or None,
            "expires_at": _iso(self.clock.now() + timedelta(seconds=CODE_SECONDS)),
            "auth_event_id": auth_event_id,
            "user_id": DEMO_USER_ID,
        }
        return redirect({"code": code, "scope": scope})

    # --- /identity/connect/token ----------------------------------------------------------------

    def _client_auth(self, request: httpx.Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return None, None
            client_id, _, secret = raw.partition(":")
            return client_id, secret
        return form.get("client_id"), form.get("client_secret")

    def token(self, request: httpx.Request) -> httpx.Response:
        ctype = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" not in ctype:
            return _oauth_error(
                "invalid_request", description="Content-Type must be application/x-www-form-urlencoded"
            )
        form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
        client_id, secret = self._client_auth(request, form)
        client = self.state["clients"].get(client_id or "")
        if client is None:
            return _oauth_error("invalid_client")
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return self._grant_code(client_id or "", client, secret, form)
        if grant == "refresh_token":
            if not self._secret_ok(client, secret, pkce=False):
                return _oauth_error("invalid_client")
            return self._grant_refresh(client_id or "", form)
        if grant == "client_credentials":
            if not self._secret_ok(client, secret, pkce=False):
                return _oauth_error("invalid_client")
            return self._grant_client_credentials(client_id or "", client, form)
        return _oauth_error("unsupported_grant_type")

    @staticmethod
    def _secret_ok(client: dict[str, Any], secret: str | None, *, pkce: bool) -> bool:
        expected = client["client_secret"]
        if expected is None or (pkce and not secret):
            return True  # a PKCE (public) client proves itself with the code verifier
        return secret is not None and hmac.compare_digest(secret, expected)

    def _grant_code(
        self, client_id: str, client: dict[str, Any], secret: str | None, form: dict[str, str]
    ) -> httpx.Response:
        code = self.state["codes"].pop(form.get("code", ""), None)  # single use
        if code is None or code["client_id"] != client_id:
            return _oauth_error("invalid_grant")
        if not self._secret_ok(client, secret, pkce=bool(code["challenge"])):
            return _oauth_error("invalid_client")
        if self.clock.now() > parse_timestamp(code["expires_at"]):
            return _oauth_error("invalid_grant")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _oauth_error("invalid_grant")
        if code["challenge"]:
            verifier = form.get("code_verifier", "")
            if code["method"] == "S256":
                computed = _b64url(hashlib.sha256(verifier.encode()).digest())
            else:
                computed = verifier
            if not verifier or not hmac.compare_digest(computed, code["challenge"]):
                return _oauth_error("invalid_grant")
        elif client["client_secret"] is not None and not secret:
            return _oauth_error("invalid_client")
        return json_response(
            200, self._issue(client_id, code["user_id"], code["scope"], code["auth_event_id"])
        )

    def _grant_refresh(self, client_id: str, form: dict[str, str]) -> httpx.Response:
        token = form.get("refresh_token", "")
        record = self.state["refresh"].get(token)
        now = self.clock.now()
        if record is None or record["client_id"] != client_id:
            return _oauth_error("invalid_grant")
        if now > parse_timestamp(record["expires_at"]):
            return _oauth_error("invalid_grant")
        if record["rotated_at"] is not None and now > parse_timestamp(record["rotated_at"]) + timedelta(
            seconds=REFRESH_GRACE_SECONDS
        ):
            return _oauth_error("invalid_grant")
        if record["rotated_at"] is None:
            record["rotated_at"] = _iso(now)
        body = self._issue(client_id, record["user_id"], record["scope"], record["auth_event_id"])
        return json_response(200, body)

    def _grant_client_credentials(
        self, client_id: str, client: dict[str, Any], form: dict[str, str]
    ) -> httpx.Response:
        if not client["custom_tenant"]:
            return _oauth_error("unauthorized_client")
        allowed = set(client["scopes"].split())
        requested = set(form.get("scope", "").split()) or allowed
        if not requested <= allowed:
            return _oauth_error("invalid_scope")
        body = self._issue(
            client_id, None, " ".join(sorted(requested)), None, custom_tenant=client["custom_tenant"]
        )
        return json_response(200, body)

    def _issue(
        self,
        client_id: str,
        user_id: str | None,
        scope: str,
        auth_event_id: str | None,
        *,
        custom_tenant: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        scopes = scope.split()
        expires = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        claims: dict[str, Any] = {
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "iss": ISSUER,
            "aud": f"{ISSUER}/resources",
            "client_id": client_id,
            "jti": self.ids.guid().replace("-", "").upper(),
            "scope": scopes,
        }
        if user_id:
            claims.update(
                sub=user_id.replace("-", ""), xero_userid=user_id, authentication_event_id=auth_event_id
            )
        access = self._jwt(claims)
        self.state["access"][access] = {
            "client_id": client_id,
            "user_id": user_id,
            "scope": scope,
            "expires_at": _iso(expires),
            "custom_tenant": custom_tenant,
            "auth_event_id": auth_event_id,
        }
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "scope": scope,
        }
        if "offline_access" in scopes and user_id:
            refresh = self.ids.token(32)
            self.state["refresh"][refresh] = {
                "client_id": client_id,
                "user_id": user_id,
                "scope": scope,
                "auth_event_id": auth_event_id,
                "expires_at": _iso(now + timedelta(days=REFRESH_TOKEN_DAYS)),
                "rotated_at": None,
            }
            body["refresh_token"] = refresh
        if "openid" in scopes and user_id:
            body["id_token"] = self._jwt(
                {
                    "iss": ISSUER,
                    "aud": client_id,
                    "sub": user_id.replace("-", ""),
                    "xero_userid": user_id,
                    "exp": int(expires.timestamp()),
                    "iat": int(now.timestamp()),
                    "email": "demo@example.com",
                }
            )
        return body

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    # --- /identity/connect/revocation --------------------------------------------------------------

    def revoke(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        client_id, secret = self._client_auth(request, form)
        client = self.state["clients"].get(client_id or "")
        if client is None or not self._secret_ok(client, secret, pkce=False):
            return _oauth_error("invalid_client")
        record = self.state["refresh"].pop(form.get("token", ""), None)
        if record is not None:
            prefix = f"{client_id}|{record['user_id']}|"
            for key in [k for k in self.state["connections"] if k.startswith(prefix)]:
                del self.state["connections"][key]
        return httpx.Response(200)

    # --- bearer tokens on API calls ------------------------------------------------------------------

    def authenticate(self, request: httpx.Request) -> TokenInfo | httpx.Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        record = self.state["access"].get(token)
        if record is None:
            return problem(
                401,
                "Unauthorized",
                "AuthenticationUnsuccessful",
                self.ids.guid(),
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        expires = parse_timestamp(record["expires_at"])
        if self.clock.now() >= expires:
            stamp = expires.strftime("%m/%d/%Y %H:%M:%S")
            detail = f"The token expired at '{stamp}'"
            return problem(
                401,
                "Unauthorized",
                f"TokenExpired: token expired at {stamp}",
                self.ids.guid(),
                {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'},
            )
        return TokenInfo(
            token=token,
            client_id=record["client_id"],
            user_id=record["user_id"],
            scopes=frozenset(record["scope"].split()),
            custom_tenant=record["custom_tenant"],
            auth_event_id=record["auth_event_id"],
        )

    def expire_all(self) -> None:
        past = _iso(self.clock.now() - timedelta(seconds=1))
        for record in self.state["access"].values():
            record["expires_at"] = past

    # --- /connections -----------------------------------------------------------------------------

    def list_connections(self, info: TokenInfo, auth_event_id: str | None) -> list[dict[str, Any]]:
        if info.custom_tenant:
            tenant = info.custom_tenant
            stamp = _connection_stamp(self.clock.now())
            return [
                {
                    "id": tenant,
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                    "tenantName": self._tenants().get(tenant, ""),
                    "createdDateUtc": stamp,
                    "updatedDateUtc": stamp,
                }
            ]
        prefix = f"{info.client_id}|{info.user_id}|"
        rows = [copy.deepcopy(c) for k, c in self.state["connections"].items() if k.startswith(prefix)]
        if auth_event_id:
            rows = [c for c in rows if c["authEventId"] == auth_event_id]
        return rows

    def delete_connection(self, info: TokenInfo, connection_id: str) -> httpx.Response:
        prefix = f"{info.client_id}|{info.user_id}|"
        for key, conn in list(self.state["connections"].items()):
            if key.startswith(prefix) and conn["id"] == connection_id:
                del self.state["connections"][key]
                return httpx.Response(204)
        return not_found()

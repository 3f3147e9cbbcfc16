"""PKCE, the consent URL, token sets and the client authentication on the token endpoint."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from revloop.adapters.xero.auth import (
    ClientCredentialsSource,
    IdentityClient,
    TokenSet,
    XeroAuth,
    authorize_url,
    new_pkce,
    new_state,
    pkce_challenge,
)
from revloop.domain.issues import AuthError

NOW = datetime(2026, 10, 1, 12, tzinfo=UTC)


def test_pkce_matches_the_rfc_7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pkce_is_fresh_and_well_formed() -> None:
    one, two = new_pkce(), new_pkce()
    assert one.verifier != two.verifier
    assert 43 <= len(one.verifier) <= 128
    assert set(one.verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert one.challenge == pkce_challenge(one.verifier) and "=" not in one.challenge
    assert one.verifier not in repr(one)
    with pytest.raises(ValueError):
        pkce_challenge("short")


def test_the_consent_url_carries_state_and_challenge() -> None:
    pkce, state = new_pkce(), new_state()
    url = authorize_url(
        "https://login.xero.com/identity/connect/authorize",
        client_id="APP",
        redirect_uri="http://localhost:8400/xero/callback",
        state=state,
        code_challenge=pkce.challenge,
        scopes=["offline_access", "accounting.invoices"],
    )
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["state"] == [state]
    assert query["code_challenge"] == [pkce.challenge]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["offline_access accounting.invoices"]
    assert pkce.verifier not in url


def test_token_sets_hide_their_tokens() -> None:
    tokens = TokenSet.from_response(
        {"access_token": "AAA-secret", "refresh_token": "RRR-secret", "expires_in": 1800, "scope": "x"}, NOW
    )
    assert tokens.expires_at == NOW + timedelta(minutes=30)
    assert "secret" not in repr(tokens)
    assert tokens.usable(NOW) and not tokens.usable(NOW + timedelta(minutes=29, seconds=30))


def _identity(handler: httpx.MockTransport, secret: str | None = "s3cret") -> IdentityClient:
    return IdentityClient(
        "http://id", "APP", secret, transport=handler, now=lambda: NOW, sleep=lambda s: None
    )


def test_a_confidential_client_uses_basic_auth_and_a_public_one_sends_its_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "a", "expires_in": 1800, "refresh_token": "r"})

    _identity(httpx.MockTransport(handler)).exchange_code(
        "c", redirect_uri="http://cb", code_verifier="v" * 43
    )
    _identity(httpx.MockTransport(handler), secret=None).refresh("r0")
    basic = base64.b64decode(seen[0].headers["authorization"].split()[1]).decode()
    assert basic == "APP:s3cret"
    form0 = parse_qs(seen[0].content.decode())
    assert form0["grant_type"] == ["authorization_code"] and form0["code_verifier"] == ["v" * 43]
    assert "authorization" not in seen[1].headers
    assert parse_qs(seen[1].content.decode())["client_id"] == ["APP"]


def test_invalid_grant_is_an_auth_error_asking_to_reconnect() -> None:
    identity = _identity(httpx.MockTransport(lambda r: httpx.Response(400, json={"error": "invalid_grant"})))
    with pytest.raises(AuthError) as caught:
        identity.refresh("old")
    assert "invalid_grant" in caught.value.message
    assert "connect Xero again" in caught.value.hint
    assert "old" not in caught.value.one_line().split("(")[0].split()


def test_a_lost_refresh_answer_is_retried_with_the_same_token() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(parse_qs(request.content.decode())["refresh_token"][0])
        if len(sent) == 1:
            raise httpx.RemoteProtocolError("dropped", request=request)
        return httpx.Response(200, json={"access_token": "a2", "expires_in": 1800, "refresh_token": "r2"})

    tokens = _identity(httpx.MockTransport(handler)).refresh("r1")
    assert sent == ["r1", "r1"]
    assert tokens.refresh_token == "r2"


def test_client_credentials_tokens_are_cached_and_replaced_when_refused() -> None:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(200, json={"access_token": f"a{count}", "expires_in": 1800})

    source = ClientCredentialsSource(_identity(httpx.MockTransport(handler)), now=lambda: NOW)
    assert source.access_token() == source.access_token() == "a1"
    assert source.access_token(stale="a1") == "a2"
    assert XeroAuth(source).source is source

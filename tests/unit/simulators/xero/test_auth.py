"""Identity: authorization code (+PKCE), token endpoint, rotation with grace, Custom Connections,
/connections, and the 401/403 answers of the API."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from revloop.simulators.common import SimClock
from revloop.simulators.xero import XeroSimulator

from .support import authorize, exchange, login, refresh

TOKEN = "/identity/connect/token"
ORG = "/api.xro/2.0/Organisation"


def _api(anon: httpx.Client, token: str, tenant: str | None, path: str = ORG) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant:
        headers["xero-tenant-id"] = tenant
    return anon.get(path, headers=headers)


def test_code_flow_issues_tokens_and_redirects_with_state(anon: httpx.Client, sim: XeroSimulator) -> None:
    code, _ = authorize(anon, sim, state="s-1")
    response = exchange(anon, sim, code)
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["expires_in"] == 1800
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"] and tokens["id_token"]
    assert tokens["access_token"].count(".") == 2  # JWT-shaped
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    assert claims["client_id"] == sim.credentials["client_id"]
    assert "authentication_event_id" in claims
    assert _api(anon, tokens["access_token"], sim.credentials["tenant_id"]).status_code == 200


def test_code_is_single_use_and_bound_to_redirect_uri(anon: httpx.Client, sim: XeroSimulator) -> None:
    code, _ = authorize(anon, sim)
    assert exchange(anon, sim, code).status_code == 200
    again = exchange(anon, sim, code)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    code, _ = authorize(anon, sim)
    creds = sim.credentials
    wrong = anon.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://evil.example/cb",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert wrong.json() == {"error": "invalid_grant"}


def test_code_expires_after_five_minutes(anon: httpx.Client, sim: XeroSimulator, clock: SimClock) -> None:
    code, _ = authorize(anon, sim)
    clock.advance(301)
    assert exchange(anon, sim, code).json() == {"error": "invalid_grant"}


def test_basic_client_auth_and_bad_secret(anon: httpx.Client, sim: XeroSimulator) -> None:
    code, _ = authorize(anon, sim)
    assert exchange(anon, sim, code, basic=True).status_code == 200
    code, _ = authorize(anon, sim)
    bad = anon.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": sim.credentials["redirect_uri"],
            "client_id": sim.credentials["client_id"],
            "client_secret": "nope",
        },
    )
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_client"})
    unknown = anon.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert unknown.json() == {"error": "invalid_client"}
    grant = anon.post(
        TOKEN,
        data={
            "grant_type": "password",
            "client_id": sim.credentials["client_id"],
            "client_secret": sim.credentials["client_secret"],
        },
    )
    assert grant.json() == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce(anon: httpx.Client, sim: XeroSimulator, method: str) -> None:
    sim.add_app("PUBLICAPP", None, ["http://localhost:9/cb"])
    sim.credentials = dict(sim.credentials, client_id="PUBLICAPP", redirect_uri="http://localhost:9/cb")
    code, verifier = authorize(anon, sim, pkce=method)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost:9/cb",
        "client_id": "PUBLICAPP",
        "code_verifier": "wrong" + (verifier or ""),
    }
    assert anon.post(TOKEN, data=form).json() == {"error": "invalid_grant"}
    code, verifier = authorize(anon, sim, pkce=method)
    form.update(code=code, code_verifier=verifier)
    response = anon.post(TOKEN, data=form)
    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json()


def test_authorize_rejects_unknown_client_and_redirect(anon: httpx.Client, sim: XeroSimulator) -> None:
    bad_client = anon.get("/identity/connect/authorize", params={"client_id": "nobody", "redirect_uri": "x"})
    assert bad_client.status_code == 400
    bad_redirect = anon.get(
        "/identity/connect/authorize",
        params={
            "client_id": sim.credentials["client_id"],
            "redirect_uri": "http://elsewhere/cb",
            "response_type": "code",
        },
    )
    assert bad_redirect.status_code == 400


def test_refresh_rotates_with_grace_then_invalid_grant(
    anon: httpx.Client, sim: XeroSimulator, clock: SimClock
) -> None:
    first = login(anon, sim)
    second = refresh(anon, sim, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    clock.advance(29 * 60)
    retried = refresh(anon, sim, first["refresh_token"])  # the lost-response retry, within grace
    assert retried.status_code == 200
    clock.advance(2 * 60)
    late = refresh(anon, sim, first["refresh_token"])
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})
    assert refresh(anon, sim, retried.json()["refresh_token"]).status_code == 200
    assert refresh(anon, sim, "garbage").json() == {"error": "invalid_grant"}


def test_unused_refresh_token_expires_after_sixty_days(
    anon: httpx.Client, sim: XeroSimulator, clock: SimClock
) -> None:
    tokens = login(anon, sim)
    clock.advance(59 * 86400)
    fresh = refresh(anon, sim, tokens["refresh_token"]).json()
    clock.advance(60 * 86400 + 1)
    assert refresh(anon, sim, fresh["refresh_token"]).json() == {"error": "invalid_grant"}


def test_no_refresh_token_without_offline_access(anon: httpx.Client, sim: XeroSimulator) -> None:
    tokens = login(anon, sim, scope="accounting.settings.read")
    assert "refresh_token" not in tokens and "id_token" not in tokens


def test_access_token_expires_after_thirty_minutes(
    anon: httpx.Client, sim: XeroSimulator, clock: SimClock
) -> None:
    tokens = login(anon, sim)
    tenant = sim.credentials["tenant_id"]
    clock.advance(1799)
    assert _api(anon, tokens["access_token"], tenant).status_code == 200
    clock.advance(2)
    expired = _api(anon, tokens["access_token"], tenant)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    problem = expired.json()
    assert problem["Title"] == "Unauthorized" and problem["Status"] == 401
    assert problem["Detail"].startswith("TokenExpired: token expired at ")


def test_expire_all_tokens(anon: httpx.Client, sim: XeroSimulator) -> None:
    tokens = login(anon, sim)
    sim.expire_all_tokens()
    assert "TokenExpired" in _api(anon, tokens["access_token"], sim.credentials["tenant_id"]).json()["Detail"]
    assert refresh(anon, sim, tokens["refresh_token"]).status_code == 200


def test_missing_or_unknown_token_is_401(anon: httpx.Client, sim: XeroSimulator) -> None:
    response = anon.get(ORG, headers={"xero-tenant-id": sim.credentials["tenant_id"]})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_missing_scope_is_authorization_unsuccessful(anon: httpx.Client, sim: XeroSimulator) -> None:
    tokens = login(anon, sim, scope="offline_access accounting.contacts.read")
    tenant = sim.credentials["tenant_id"]
    assert _api(anon, tokens["access_token"], tenant, "/api.xro/2.0/Contacts").status_code == 200
    denied = _api(anon, tokens["access_token"], tenant, "/api.xro/2.0/Invoices")
    assert denied.status_code == 401
    assert denied.json()["Detail"] == "AuthorizationUnsuccessful"
    write = anon.put(
        "/api.xro/2.0/Contacts",
        json={"Name": "X"},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": tenant},
    )
    assert write.json()["Detail"] == "AuthorizationUnsuccessful"


def test_tenant_header_is_required_and_checked(anon: httpx.Client, sim: XeroSimulator) -> None:
    tokens = login(anon, sim)
    missing = _api(anon, tokens["access_token"], None)
    assert missing.status_code == 403
    assert missing.json()["Detail"] == "AuthenticationUnsuccessful"
    wrong = _api(anon, tokens["access_token"], "00000000-0000-4000-8000-000000000001")
    assert wrong.status_code == 403


def test_connections_list_filter_and_delete(anon: httpx.Client, sim: XeroSimulator) -> None:
    sim.seed({}, tenant_id="11111111-2222-4333-8444-555555555555", name="Second Org")
    tokens = login(anon, sim)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = anon.get("/connections", headers=auth)
    assert response.status_code == 200
    assert set(response.headers) >= {"x-appminlimit-remaining"}
    assert "x-daylimit-remaining" not in response.headers
    rows = response.json()
    assert {r["tenantName"] for r in rows} == {"Demo MSP Pty Ltd", "Second Org"}
    assert all(r["tenantType"] == "ORGANISATION" for r in rows)
    assert len(rows[0]["createdDateUtc"].split(".")[1]) == 7
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    filtered = anon.get(
        "/connections", params={"authEventId": claims["authentication_event_id"]}, headers=auth
    )
    assert len(filtered.json()) == 2
    second = next(r for r in rows if r["tenantName"] == "Second Org")
    assert _api(anon, tokens["access_token"], second["tenantId"]).status_code == 200
    assert anon.delete(f"/connections/{second['id']}", headers=auth).status_code == 204
    assert anon.delete(f"/connections/{second['id']}", headers=auth).status_code == 404
    assert _api(anon, tokens["access_token"], second["tenantId"]).status_code == 403
    assert len(anon.get("/connections", headers=auth).json()) == 1


def test_custom_connection_client_credentials(anon: httpx.Client, sim: XeroSimulator) -> None:
    creds = sim.credentials
    response = anon.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": creds["custom_client_id"],
            "client_secret": creds["custom_client_secret"],
        },
    )
    assert response.status_code == 200
    tokens = response.json()
    assert "refresh_token" not in tokens and tokens["expires_in"] == 1800
    assert _api(anon, tokens["access_token"], None).status_code == 200  # no tenant header needed
    assert _api(anon, tokens["access_token"], creds["tenant_id"]).status_code == 200
    assert _api(anon, tokens["access_token"], "11111111-2222-4333-8444-555555555555").status_code == 403
    too_wide = anon.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": creds["custom_client_id"],
            "client_secret": creds["custom_client_secret"],
            "scope": "accounting.journals.read",
        },
    )
    assert too_wide.json() == {"error": "invalid_scope"}
    not_custom = anon.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert not_custom.json() == {"error": "unauthorized_client"}


def test_revocation_removes_connections(anon: httpx.Client, sim: XeroSimulator) -> None:
    tokens = login(anon, sim)
    creds = sim.credentials
    response = anon.post(
        "/identity/connect/revocation",
        data={
            "token": tokens["refresh_token"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert response.status_code == 200
    assert refresh(anon, sim, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert _api(anon, tokens["access_token"], creds["tenant_id"]).status_code == 403

"""Token endpoint, discovery, Bearer checks, expiry and scopes."""

from __future__ import annotations

import httpx

from revloop.simulators.common import SimClock
from revloop.simulators.halopsa import DEMO_CREDENTIALS, HaloSimulator

from .support import token_for


def _form(sim: HaloSimulator, **over: str) -> dict[str, str]:
    creds = sim.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "scope": "all",
    }
    form.update(over)
    return form


def test_credentials_are_fixed_demo_values(sim: HaloSimulator) -> None:
    assert sim.credentials == DEMO_CREDENTIALS
    assert set(sim.credentials) == {"client_id", "client_secret", "tenant"}
    assert HaloSimulator().credentials == sim.credentials


def test_token_response_shape(anon: httpx.Client, sim: HaloSimulator) -> None:
    response = anon.post("/auth/token", data=_form(sim))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "all"
    assert token["access_token"]
    assert "refresh_token" not in token


def test_token_is_deterministic() -> None:
    first, second = HaloSimulator(), HaloSimulator()
    tokens = []
    for s in (first, second):
        with httpx.Client(transport=httpx.MockTransport(s.handle), base_url="http://sim") as http:
            tokens.append(token_for(http, s))
    assert tokens[0] == tokens[1]


def test_tenant_parameter(anon: httpx.Client, sim: HaloSimulator) -> None:
    ok = anon.post("/auth/token", params={"tenant": sim.credentials["tenant"]}, data=_form(sim))
    assert ok.status_code == 200
    without = anon.post("/auth/token", data=_form(sim))
    assert without.status_code == 200
    wrong = anon.post("/auth/token", params={"tenant": "someone-else"}, data=_form(sim))
    assert wrong.status_code == 500


def test_invalid_client(anon: httpx.Client, sim: HaloSimulator) -> None:
    response = anon.post("/auth/token", data=_form(sim, client_secret="wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "error_description" in response.json()
    response = anon.post("/auth/token", data=_form(sim, client_id="nobody"))
    assert response.json()["error"] == "invalid_client"


def test_invalid_grant_and_scope(anon: httpx.Client, sim: HaloSimulator) -> None:
    refresh = anon.post("/auth/token", data=_form(sim, grant_type="refresh_token"))
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    odd = anon.post("/auth/token", data=_form(sim, grant_type="magic"))
    assert odd.json()["error"] == "unsupported_grant_type"
    scope = anon.post("/auth/token", data=_form(sim, scope="read:everything"))
    assert scope.status_code == 400
    assert scope.json()["error"] == "invalid_scope"


def test_authinfo(anon: httpx.Client) -> None:
    info = anon.get("/api/authinfo").json()
    assert info["auth_url"] == "http://sim/auth"
    assert info["tenant_id"] == "revloop-demo"


def test_authinfo_under_prefix() -> None:
    sim = HaloSimulator(prefix="/halopsa")
    with httpx.Client(transport=httpx.MockTransport(sim.handle), base_url="http://sim") as http:
        info = http.get("/halopsa/api/AuthInfo").json()
        assert info["auth_url"] == "http://sim/halopsa/auth"
        token = http.post(
            f"{info['auth_url']}/token", params={"tenant": info["tenant_id"]}, data=_form(sim)
        ).json()["access_token"]
        ok = http.get("/halopsa/api/Client", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert http.get("/api/Client").status_code == 404


def test_bearer_required(anon: httpx.Client, sim: HaloSimulator) -> None:
    assert anon.get("/api/Client").status_code == 401
    bad = anon.get("/api/Client", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
    basic = anon.get("/api/Client", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_expire_all_tokens(api: httpx.Client, sim: HaloSimulator) -> None:
    assert api.get("/api/Client").status_code == 200
    sim.expire_all_tokens()
    assert api.get("/api/Client").status_code == 401
    api.headers["Authorization"] = f"Bearer {token_for(api, sim)}"
    assert api.get("/api/Client").status_code == 200


def test_token_lifetime_follows_the_clock(api: httpx.Client, sim: HaloSimulator, clock: SimClock) -> None:
    clock.advance(3599)
    assert api.get("/api/Client").status_code == 200
    clock.advance(2)
    assert api.get("/api/Client").status_code == 401


def test_new_token_keeps_old_ones_valid(api: httpx.Client, sim: HaloSimulator) -> None:
    old = api.headers["Authorization"]
    token_for(api, sim)
    assert api.get("/api/Client", headers={"Authorization": old}).status_code == 200


def test_scopes_limit_access(anon: httpx.Client, sim: HaloSimulator) -> None:
    token = token_for(anon, sim, scope="read:tickets")
    headers = {"Authorization": f"Bearer {token}"}
    assert anon.get("/api/Tickets", headers=headers).status_code == 200
    assert anon.get("/api/Client", headers=headers).status_code == 403
    denied = anon.post("/api/Actions", headers=headers, json=[{"ticket_id": 100, "outcome": "x"}])
    assert denied.status_code == 403
    assert not denied.headers["content-type"].startswith("application/json")
    edit = {"Authorization": f"Bearer {token_for(anon, sim, scope='edit:tickets read:customers')}"}
    assert (
        anon.post("/api/Actions", headers=edit, json=[{"ticket_id": 100, "outcome": "x"}]).status_code == 201
    )
    assert anon.get("/api/Client", headers=edit).status_code == 200


def test_new_token_can_invalidate_old_ones(clock: SimClock) -> None:
    sim = HaloSimulator(clock=clock, invalidate_previous_tokens=True)
    with httpx.Client(transport=httpx.MockTransport(sim.handle), base_url="http://sim") as http:
        old = token_for(http, sim)
        new = token_for(http, sim)
        assert http.get("/api/Item", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert http.get("/api/Item", headers={"Authorization": f"Bearer {new}"}).status_code == 200

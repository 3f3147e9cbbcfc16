"""The API against its own OpenAPI document (schemathesis, in process): every operation, signed in
as a finance user, answers with a documented status, content type and body — never a 500."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth

from revloop.bootstrap import App
from revloop.config import Settings
from revloop.web.app import create_app

from .conftest import PASSWORD

#: the session itself is left out: fuzzing sign-in only feeds the throttle, and signing out would
#: end the session every other case uses (both are tested in test_auth.py)
SESSION_ROUTE = "/api/session"

#: the document does not depend on the store, so it is read from an app over none
DOCUMENT = create_app(App(Settings.model_construct())).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path=SESSION_ROUTE)


def _signed_in(web: FastAPI) -> dict[str, Any]:
    """Finance's session (cookie and CSRF header), kept on the app for the cases of one operation."""
    auth: dict[str, Any] | None = getattr(web.state, "schema_auth", None)
    if auth is None:
        with TestClient(web) as client:
            response = client.post(SESSION_ROUTE, json={"name": "finance", "password": PASSWORD})
            assert response.status_code == 200
            auth = {
                "headers": {"X-CSRF-Token": response.json()["csrf_token"]},
                "cookies": {"revloop_session": client.cookies["revloop_session"]},
            }
        web.state.schema_auth = auth
    return auth


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_matches_its_document(case: Any, web: FastAPI) -> None:
    auth = _signed_in(web)
    try:
        # ignored_auth probes through its own transport, which cannot reach an in-process app;
        # what each role may reach is tested route by route in test_role_matrix.py
        case.call_and_validate(
            app=web, headers=auth["headers"], cookies=auth["cookies"], excluded_checks=[ignored_auth]
        )
    finally:
        web.state.web.poster.join()

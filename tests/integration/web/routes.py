"""Every route of the dashboard, enumerated from its router, with what it needs and a request
that reaches it: new routes are covered by the role matrix and CSRF tests without editing them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from revloop.web.roles import Action

#: routes anyone may call: signing in
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/api/session")}
#: routes that end the caller's session: called last
SIGN_OUT = {("POST", "/logout"), ("DELETE", "/api/session")}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    action: Action | None  # None: any signed-in user

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def unsafe(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def url(self, values: dict[str, str]) -> str:
        path = self.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {self.path}"
        if self.path in ("/invoices/pdf", "/billing/{period}/draft", "/api/billing/{period}/draft"):
            path += "?key=" + values["invoice_key"]
        return path

    def request(self, values: dict[str, str], csrf: str | None) -> dict[str, Any]:
        """Keyword arguments for TestClient.request that reach the route."""
        kw: dict[str, Any] = {"method": self.method, "url": self.url(values)}
        if not self.unsafe:
            return kw
        body = {"reason": "checked with the customer"} if "findings" in self.path else {}
        headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
        if self.is_api:
            kw.update(json=body, headers=headers)
        else:
            kw.update(data={**body, **({"csrf_token": csrf} if csrf is not None else {})})
        return kw


def _requirement(dependant: Dependant) -> tuple[bool, Action | None]:
    """(protected?, the action required) from the route's dependencies."""
    protected, action = False, None
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            protected, action = True, Action(name.removeprefix("require_"))
        elif name == "signed_in":
            protected = True
        sub_protected, sub_action = _requirement(dep)
        protected = protected or sub_protected
        action = action or sub_action
    return protected, action


def routes(app: FastAPI) -> list[Route]:
    found = []
    unprotected = set()
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            protected, action = _requirement(route.dependant)
            if not protected:
                unprotected.add((method, route.path))
                continue
            found.append(Route(method, str(route.path), action))
    assert unprotected == PUBLIC, f"routes without a permission check: {unprotected - PUBLIC}"
    return found

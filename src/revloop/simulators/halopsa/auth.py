"""Client-credentials tokens: ``POST /auth/token`` and Bearer checks on ``/api/*``.

Tokens live one hour (``expires_in: 3600``) on the simulator clock. A new token does not invalidate the
earlier ones unless ``invalidate_previous`` is set (one source suspects Halo does; unconfirmed).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ALL_SCOPES = frozenset(
    {
        "all",
        "all:standard",
        "admin",
        "read:tickets",
        "edit:tickets",
        "read:calendar",
        "edit:calendar",
        "read:customers",
        "edit:customers",
        "read:crm",
        "edit:crm",
        "editMine:timesheets",
        "read:timesheets",
        "edit:timesheets",
        "read:contracts",
        "edit:contracts",
        "read:suppliers",
        "edit:suppliers",
        "read:items",
        "edit:items",
        "read:projects",
        "edit:projects",
        "read:sales",
        "edit:sales",
        "read:quotes",
        "edit:quotes",
        "read:sos",
        "edit:sos",
        "read:pos",
        "edit:pos",
        "read:invoices",
        "edit:invoices",
        "read:reporting",
        "edit:reporting",
        "read:software",
        "edit:software",
        "read:softwarelicensing",
        "edit:softwarelicensing",
        "read:kb",
        "edit:kb",
        "read:assets",
        "edit:assets",
        "access:chat",
        "access:adpasswordreset",
    }
)


@dataclass
class Token:
    value: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime

    def allows(self, scope: str | None, write: bool) -> bool:
        """Whether the token may read (or edit) a resource guarded by ``scope`` (e.g. ``tickets``)."""
        if scope is None or "all" in self.scopes or "all:standard" in self.scopes or "admin" in self.scopes:
            return True
        if f"edit:{scope}" in self.scopes:
            return True
        return not write and f"read:{scope}" in self.scopes


class TokenStore:
    def __init__(
        self, *, client_id: str, client_secret: str, lifetime: int = 3600, invalidate_previous: bool = False
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.invalidate_previous = invalidate_previous
        self._tokens: dict[str, Token] = {}
        self._issued = 0
        self._lock = threading.Lock()

    def issue(self, scope: str, now: datetime) -> Token:
        with self._lock:
            self._issued += 1
            digest = hashlib.sha256(f"{self.client_id}:{self._issued}".encode()).hexdigest()
            token = Token(
                value=f"halo.{self._issued:06d}.{digest[:40]}",
                client_id=self.client_id,
                scopes=frozenset(scope.split()),
                expires_at=now + timedelta(seconds=self.lifetime),
            )
            if self.invalidate_previous:
                self._tokens.clear()
            self._tokens[token.value] = token
            self._prune(now)
            return token

    def check(self, value: str, now: datetime) -> Token | None:
        with self._lock:
            token = self._tokens.get(value)
            if token is None or token.expires_at <= now:
                return None
            return token

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _prune(self, now: datetime) -> None:
        if len(self._tokens) > 1000:
            for key in [k for k, t in self._tokens.items() if t.expires_at <= now]:
                del self._tokens[key]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "issued": self._issued,
                "tokens": [
                    {
                        "value": t.value,
                        "client_id": t.client_id,
                        "scopes": sorted(t.scopes),
                        "expires_at": t.expires_at.isoformat(),
                    }
                    for t in self._tokens.values()
                ],
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._issued = int(data.get("issued", 0))
            self._tokens = {
                t["value"]: Token(
                    t["value"],
                    t["client_id"],
                    frozenset(t["scopes"]),
                    datetime.fromisoformat(t["expires_at"]),
                )
                for t in data.get("tokens", [])
            }

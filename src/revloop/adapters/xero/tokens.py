"""Xero token sets at rest, and refresh-token rotation that never loses a rotated token.

Xero rotates the refresh token on every refresh; a refresher that uses an already-rotated token gets
``invalid_grant`` (NOTES §1.1, §11.1). So each connection's tokens live in one row of
``xero_connections``, encrypted with Fernet, with a ``version`` that grows on every change, and a
refresh runs under that row's lock: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on
PostgreSQL. Under the lock the refresher reads the row again: if another process already rotated the
tokens (the version moved and its access token is good), it uses theirs instead of refreshing. The
new tokens are committed (with ``version = version + 1`` guarded by the version it read) before the
new access token is used. If the answer to a refresh is lost, the refresh is retried with the same
refresh token, which Xero honours for 30 minutes after rotating it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Connection, Engine

from revloop.adapters.db.tables import xero_connections
from revloop.domain.issues import AuthError, SecretError

from .auth import IdentityClient, TokenSet, utc_now


@dataclass(frozen=True)
class StoredConnection:
    name: str
    mode: str
    tenant_id: str | None
    tokens: TokenSet | None
    version: int


class ConnectionStore:
    """The ``xero_connections`` rows; token sets encrypted with the store's Fernet key."""

    def __init__(self, engine: Engine, key: bytes, *, now: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self._fernet = Fernet(key)
        self._now = now

    def __repr__(self) -> str:
        return f"ConnectionStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # --- (de)serialising ---------------------------------------------------------------------------

    def _seal(self, tokens: TokenSet) -> bytes:
        data = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat(),
            "scope": tokens.scope,
        }
        return self._fernet.encrypt(json.dumps(data).encode())

    def _open(self, name: str, sealed: bytes | None) -> TokenSet | None:
        if sealed is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise SecretError(
                f"the stored Xero tokens of connection {name!r} cannot be decrypted with this key",
                hint="set the REVLOOP_SECRET_KEY they were stored with, or connect Xero again",
            ) from None
        return TokenSet(
            access_token=data["access_token"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            refresh_token=data.get("refresh_token"),
            scope=data.get("scope", ""),
        )

    def _row(self, conn: Connection, name: str, *, lock: bool = False) -> StoredConnection | None:
        query = sa.select(xero_connections).where(xero_connections.c.name == name)
        if lock and conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            return None
        return StoredConnection(row.name, row.mode, row.tenant_id, self._open(name, row.tokens), row.version)

    # --- reading and writing -------------------------------------------------------------------------

    def load(self, name: str) -> StoredConnection | None:
        with self.engine.connect() as conn:
            return self._row(conn, name)

    def save(
        self, name: str, tokens: TokenSet | None, *, mode: str = "code", tenant_id: str | None = None
    ) -> int:
        """Store a connection's tokens (after a consent or a reconnect); returns the new version."""
        now = self._now()
        values = {
            "mode": mode,
            "tenant_id": tenant_id,
            "tokens": self._seal(tokens) if tokens else None,
            "access_expires_at": tokens.expires_at if tokens else None,
            "refreshed_at": now,
            "updated_at": now,
        }
        with self.lock(name) as (conn, current):
            if current is None:
                conn.execute(xero_connections.insert().values(name=name, version=1, created_at=now, **values))
                return 1
            conn.execute(
                xero_connections.update()
                .where(xero_connections.c.name == name)
                .values(version=xero_connections.c.version + 1, **values)
            )
            return current.version + 1

    def swap(self, conn: Connection, name: str, expected_version: int, tokens: TokenSet) -> int:
        """Replace the tokens if the row is still at ``expected_version``; the new version.

        Raises ``AuthError`` when the row moved on (a caller that holds the lock never sees that).
        """
        now = self._now()
        done = conn.execute(
            xero_connections.update()
            .where(xero_connections.c.name == name, xero_connections.c.version == expected_version)
            .values(
                tokens=self._seal(tokens),
                access_expires_at=tokens.expires_at,
                refreshed_at=now,
                updated_at=now,
                version=expected_version + 1,
            )
        ).rowcount
        if done != 1:
            raise AuthError(f"the Xero tokens of connection {name!r} changed while they were being refreshed")
        return expected_version + 1

    def set_tenant(self, name: str, tenant_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                xero_connections.update()
                .where(xero_connections.c.name == name)
                .values(tenant_id=tenant_id, updated_at=self._now())
            )

    def delete(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(xero_connections.delete().where(xero_connections.c.name == name)).rowcount
            )

    @contextmanager
    def lock(self, name: str) -> Iterator[tuple[Connection, StoredConnection | None]]:
        """A transaction holding the write lock on the connection's row; commits on a clean exit.

        SQLite has no row locks: ``BEGIN IMMEDIATE`` takes the database's write lock (other writers
        wait up to the busy timeout). PostgreSQL locks the row with ``SELECT … FOR UPDATE``.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                current = self._row(conn, name, lock=True)
                yield conn, current
            except BaseException:
                conn.rollback()
                raise
            conn.commit()


class StoredTokenSource:
    """Access tokens of one code-flow connection, refreshed with rotation under the row lock."""

    def __init__(
        self,
        store: ConnectionStore,
        name: str,
        identity: IdentityClient,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.name = name
        self.identity = identity
        self._now = now
        self._cached: TokenSet | None = None
        self._lock = threading.Lock()
        self.refreshes = 0  # refreshes this source made itself (not those it picked up)

    def __repr__(self) -> str:
        return f"StoredTokenSource(name={self.name!r})"

    def _good(self, tokens: TokenSet | None, stale: str | None) -> bool:
        return tokens is not None and tokens.usable(self._now()) and tokens.access_token != stale

    def access_token(self, *, stale: str | None = None) -> str:
        cached = self._cached
        if self._good(cached, stale):
            assert cached is not None
            return cached.access_token
        with self._lock:
            stored = self.store.load(self.name)
            if stored is None or stored.tokens is None:
                raise AuthError(
                    f"Xero connection {self.name!r} has no stored tokens", hint="connect Xero first"
                )
            if self._good(stored.tokens, stale):
                self._cached = stored.tokens
                return stored.tokens.access_token
            with self.store.lock(self.name) as (conn, current):
                if current is None or current.tokens is None:
                    raise AuthError(f"Xero connection {self.name!r} was removed", hint="connect Xero again")
                if self._good(current.tokens, stale):
                    fresh = current.tokens  # another process refreshed while we waited for the lock
                else:
                    refresh_token = current.tokens.refresh_token
                    if not refresh_token:
                        raise AuthError(
                            f"Xero connection {self.name!r} has no refresh token",
                            hint="connect Xero again, asking for offline_access",
                        )
                    fresh = self.identity.refresh(refresh_token)
                    if fresh.refresh_token is None:
                        fresh = TokenSet(fresh.access_token, fresh.expires_at, refresh_token, fresh.scope)
                    self.store.swap(conn, self.name, current.version, fresh)
                    self.refreshes += 1
            self._cached = fresh
            return fresh.access_token

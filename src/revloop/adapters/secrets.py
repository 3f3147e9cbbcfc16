"""Secrets at rest: API client secrets and OAuth tokens, encrypted with Fernet in the store.

The key comes from ``REVLOOP_SECRET_KEY`` (a Fernet key), else from ``secret.key`` in the data
directory, created on first use with owner-only permissions. Values are never printed or logged:
``SecretStore.names`` lists what is stored, not what it is.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import secrets
from revloop.domain.issues import SecretError

KEY_FILE = "secret.key"


def load_key(home: Path, env_key: str | None) -> bytes:
    if env_key:
        key = env_key.strip().encode()
        try:
            Fernet(key)
        except ValueError:
            raise SecretError(
                "REVLOOP_SECRET_KEY is not a valid key",
                hint="it must be 32 url-safe base64-encoded bytes; `revloop secret new-key` prints one",
            ) from None
        return key
    path = home / KEY_FILE
    if path.exists():
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise SecretError(f"cannot read the key file {path}: {exc.strerror}") from None
    key = Fernet.generate_key()
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
    except OSError as exc:
        raise SecretError(f"cannot create the key file {path}: {exc.strerror}") from None
    return key


class SecretStore:
    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self.fernet = Fernet(key)

    def put(self, name: str, value: str, expires_at: datetime | None = None) -> None:
        token = self.fernet.encrypt(value.encode())
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            updated = conn.execute(
                secrets.update()
                .where(secrets.c.name == name)
                .values(
                    ciphertext=token, version=secrets.c.version + 1, expires_at=expires_at, updated_at=now
                )
            ).rowcount
            if not updated:
                conn.execute(
                    secrets.insert().values(
                        name=name, ciphertext=token, version=1, expires_at=expires_at, updated_at=now
                    )
                )

    def get(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            token = conn.execute(sa.select(secrets.c.ciphertext).where(secrets.c.name == name)).scalar()
        if token is None:
            return None
        try:
            return self.fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretError(
                f"the stored secret {name!r} cannot be decrypted with this key",
                hint="set the REVLOOP_SECRET_KEY it was stored with, or store it again",
            ) from None

    def delete(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(secrets.delete().where(secrets.c.name == name)).rowcount)

    def names(self) -> list[tuple[str, datetime, datetime | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(secrets.c.name, secrets.c.updated_at, secrets.c.expires_at).order_by(secrets.c.name)
            )
            return [(r.name, r.updated_at, r.expires_at) for r in rows]

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from revloop.adapters.db.tables import secrets
from revloop.adapters.secrets import SecretStore, load_key
from revloop.domain.issues import SecretError


def test_secrets_are_encrypted_at_rest(migrated_engine: sa.Engine, tmp_path: Path) -> None:
    store = SecretStore(migrated_engine, load_key(tmp_path, None))
    store.put("xero_refresh_token", "very-secret-value")
    store.put("xero_refresh_token", "rotated-value")
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(secrets)).one()
    assert b"rotated-value" not in row.ciphertext and row.version == 2
    assert store.get("xero_refresh_token") == "rotated-value"
    assert [name for name, *_ in store.names()] == ["xero_refresh_token"]
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_wrong_key_is_a_named_error(migrated_engine: sa.Engine, tmp_path: Path) -> None:
    SecretStore(migrated_engine, Fernet.generate_key()).put("halopsa_client_secret", "abc")
    other = SecretStore(migrated_engine, Fernet.generate_key())
    with pytest.raises(SecretError, match="cannot be decrypted"):
        other.get("halopsa_client_secret")
    with pytest.raises(SecretError, match="not a valid key"):
        load_key(tmp_path, "not-a-key")

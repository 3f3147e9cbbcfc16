"""Passwords: argon2, verified in constant time by argon2-cffi, re-hashed when the parameters change."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from revloop.web import auth
from revloop.web.errors import PasswordRejected


def test_hash_and_verify() -> None:
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert auth.verify_password(stored, "correct horse battery")
    assert not auth.verify_password(stored, "correct horse batterY")
    assert auth.hash_password("correct horse battery") != stored  # salted


def test_garbage_hashes_never_verify() -> None:
    assert not auth.verify_password("not a hash", "anything at all")
    assert auth.needs_rehash("not a hash")


def test_rehash_when_parameters_change() -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    old = weaker.hash("correct horse battery")
    assert auth.needs_rehash(old)
    assert auth.verify_password(old, "correct horse battery")
    assert not auth.needs_rehash(auth.hash_password("correct horse battery"))


@pytest.mark.parametrize("bad", ["", "short", "x" * (auth.MIN_PASSWORD - 1), "x" * 1025])
def test_password_rules(bad: str) -> None:
    with pytest.raises(PasswordRejected):
        auth.check_password(bad)
    auth.check_password("x" * auth.MIN_PASSWORD)

"""CSRF tokens: random, compared in constant time, required on every state-changing method."""

from __future__ import annotations

import pytest

from revloop.web import csrf


def test_tokens_are_random_and_long() -> None:
    tokens = {csrf.new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 40 for t in tokens)


def test_tokens_match() -> None:
    token = csrf.new_token()
    assert csrf.tokens_match(token, token)
    assert not csrf.tokens_match(token, token[:-1])
    assert not csrf.tokens_match(token, token + "x")
    assert not csrf.tokens_match(token, None)
    assert not csrf.tokens_match(token, "")
    assert not csrf.tokens_match(None, token)
    assert not csrf.tokens_match("", "")
    assert not csrf.tokens_match(token, "é" * 300)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post"])
def test_unsafe_methods_are_checked(method: str) -> None:
    assert csrf.needs_check(method)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_not(method: str) -> None:
    assert not csrf.needs_check(method)

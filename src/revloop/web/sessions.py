"""Dashboard sessions in the store. The browser holds an opaque random token (cookie
``revloop_session``: HttpOnly, SameSite=Lax, Secure over HTTPS); the store keeps only its SHA-256,
so a copy of the database signs nobody in. A session ends after ``IDLE`` without a request, after
``LIFETIME`` whatever happens, at sign-out, and when its user is disabled or given a new password.
The user's role is read on every request, so a role change applies at once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from revloop.adapters.db.tables import users, web_sessions
from revloop.web.csrf import new_token
from revloop.web.roles import Role

COOKIE = "revloop_session"
IDLE = timedelta(hours=1)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Session:
    id: str  # the token's hash
    user_id: int
    name: str
    role: Role
    csrf_token: str
    expires_at: datetime


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create(engine: Engine, user_id: int, *, now: datetime, lifetime: timedelta = LIFETIME) -> tuple[str, str]:
    """A new session for the user: returns (cookie token, CSRF token). Expired sessions are swept."""
    token = secrets.token_urlsafe(32)
    csrf = new_token()
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.expires_at <= now))
        conn.execute(
            web_sessions.insert().values(
                id=token_id(token),
                user_id=user_id,
                created_at=now,
                expires_at=now + lifetime,
                last_seen_at=now,
                csrf_token=csrf,
            )
        )
    return token, csrf


def load(engine: Engine, token: str | None, *, now: datetime, idle: timedelta = IDLE) -> Session | None:
    """The live session of this cookie token, or None (unknown, expired, idle too long, user disabled)."""
    if not token or len(token) > 200:
        return None
    sid = token_id(token)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                web_sessions.c.id,
                web_sessions.c.user_id,
                web_sessions.c.csrf_token,
                web_sessions.c.expires_at,
                web_sessions.c.last_seen_at,
                users.c.name,
                users.c.role,
                users.c.active,
            )
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id == sid)
        ).one_or_none()
    if row is None:
        return None
    if not row.active or row.expires_at <= now or row.last_seen_at + idle <= now:
        with engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.id == sid))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(web_sessions.update().where(web_sessions.c.id == sid).values(last_seen_at=now))
    return Session(row.id, row.user_id, row.name, Role(row.role), row.csrf_token, row.expires_at)


def delete(engine: Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.id == session_id))


__all__ = ["COOKIE", "IDLE", "LIFETIME", "Session", "create", "delete", "load", "token_id"]

"""Users and passwords: argon2 hashes (re-hashed when the parameters change), the user store, and
signing in with throttling. Sign-in failures all look the same from outside: one message whether
the name is unknown, the password wrong, the account disabled or locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine

from revloop.adapters.db import audit
from revloop.adapters.db.tables import users, web_sessions
from revloop.domain.issues import InputError, NotFound
from revloop.web.errors import LastAdmin, LoginFailed, PasswordRejected, UserExists
from revloop.web.roles import Role
from revloop.web.throttle import THRESHOLD, AddressThrottle, lockout

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is a denial of service
MAX_NAME = 128
LOGIN_FAILED = "That name and password did not work. Check both and try again in a moment."

_hasher = PasswordHasher()
_dummy: str | None = None


def use_hasher(new: PasswordHasher) -> PasswordHasher:
    """Replace the password hasher (its parameters decide when stored hashes are re-hashed);
    returns the one it replaces."""
    global _hasher, _dummy
    old, _hasher, _dummy = _hasher, new, None
    return old


def _equalise(password: str) -> None:
    """Spend the time a real check takes, so a refusal's speed tells nothing."""
    global _dummy
    if _dummy is None:
        _dummy = _hasher.hash("revloop-timing-equaliser")
    verify_password(_dummy, password)


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected(f"a password may have at most {MAX_PASSWORD} characters")


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    failed_logins: int
    locked_until: datetime | None


def _user(row: Any) -> User:
    return User(
        row.id,
        row.name,
        Role(row.role),
        bool(row.active),
        row.created_at,
        row.last_login_at,
        row.failed_logins,
        row.locked_until,
    )


def _clean_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME or any(ch.isspace() and ch != " " for ch in clean):
        raise InputError(f"not a usable user name: {name!r}", hint=f"1 to {MAX_NAME} characters, one line")
    return clean


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


def count_active(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(users).where(users.c.active.is_(True))
            ).scalar_one()
        )


def add_user(engine: Engine, name: str, role: Role, password: str, *, now: datetime, by: str) -> User:
    clean = _clean_name(name)
    digest = hash_password(password)
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.name == clean)).first() is not None:
            raise UserExists(f"a user named {clean!r} exists already", hint="choose another name")
        conn.execute(
            users.insert().values(
                name=clean,
                role=role.value,
                password_hash=digest,
                active=True,
                created_at=now,
                failed_logins=0,
            )
        )
        audit.record(
            conn, at=now, actor=by, action="user.add", entity="user", entity_id=clean, details={"role": role}
        )
        return _user(conn.execute(sa.select(users).where(users.c.name == clean)).one())


def _find(conn: Connection, name: str) -> Any:
    row = conn.execute(sa.select(users).where(users.c.name == name.strip())).one_or_none()
    if row is None:
        raise NotFound(f"no user named {name!r}", hint="`revloop user list` shows them")
    return row


def _admins_left(conn: Connection, without: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(users)
            .where(users.c.role == Role.ADMIN.value, users.c.active.is_(True), users.c.id != without)
        ).scalar_one()
    )


def set_role(engine: Engine, name: str, role: Role, *, now: datetime, by: str) -> User:
    with engine.begin() as conn:
        row = _find(conn, name)
        if (
            row.role == Role.ADMIN.value
            and role is not Role.ADMIN
            and row.active
            and not _admins_left(conn, row.id)
        ):
            raise LastAdmin(f"{row.name} is the last active admin", hint="make another user admin first")
        conn.execute(users.update().where(users.c.id == row.id).values(role=role.value))
        audit.record(
            conn,
            at=now,
            actor=by,
            action="user.set_role",
            entity="user",
            entity_id=row.name,
            details={"from": row.role, "to": role.value},
        )
        return _user(conn.execute(sa.select(users).where(users.c.id == row.id)).one())


def disable(engine: Engine, name: str, *, now: datetime, by: str) -> User:
    """Disable a user and end their sessions at once."""
    with engine.begin() as conn:
        row = _find(conn, name)
        if row.role == Role.ADMIN.value and row.active and not _admins_left(conn, row.id):
            raise LastAdmin(f"{row.name} is the last active admin", hint="make another user admin first")
        conn.execute(users.update().where(users.c.id == row.id).values(active=False))
        conn.execute(web_sessions.delete().where(web_sessions.c.user_id == row.id))
        audit.record(conn, at=now, actor=by, action="user.disable", entity="user", entity_id=row.name)
        return _user(conn.execute(sa.select(users).where(users.c.id == row.id)).one())


def enable(engine: Engine, name: str, *, now: datetime, by: str) -> User:
    """Let a disabled user sign in again, with the role and password they had; any lockout is
    cleared."""
    with engine.begin() as conn:
        row = _find(conn, name)
        if not row.active:
            conn.execute(
                users.update()
                .where(users.c.id == row.id)
                .values(active=True, failed_logins=0, locked_until=None)
            )
            audit.record(conn, at=now, actor=by, action="user.enable", entity="user", entity_id=row.name)
        return _user(conn.execute(sa.select(users).where(users.c.id == row.id)).one())


def set_password(engine: Engine, name: str, password: str, *, now: datetime, by: str) -> None:
    """A new password; ends the user's sessions and clears any lockout."""
    digest = hash_password(password)
    with engine.begin() as conn:
        row = _find(conn, name)
        conn.execute(
            users.update()
            .where(users.c.id == row.id)
            .values(password_hash=digest, failed_logins=0, locked_until=None)
        )
        conn.execute(web_sessions.delete().where(web_sessions.c.user_id == row.id))
        audit.record(conn, at=now, actor=by, action="user.password", entity="user", entity_id=row.name)


def authenticate(
    engine: Engine, name: str, password: str, *, address: str, now: datetime, throttle: AddressThrottle
) -> User:
    """The user, if the name and password are right and neither the user nor the address is locked
    out; otherwise ``LoginFailed`` with the same message whatever the reason."""
    refused = LoginFailed(LOGIN_FAILED)
    if len(password) > MAX_PASSWORD or len(name) > MAX_NAME * 4:
        throttle.failed(address, now)
        raise refused
    if throttle.locked(address, now):
        _equalise(password)  # the same work as any other attempt
        raise refused
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name.strip())).one_or_none()
    if row is None or not row.active:
        _equalise(password)
        throttle.failed(address, now)
        raise refused
    if row.locked_until is not None and row.locked_until > now:
        _equalise(password)
        throttle.failed(address, now)
        raise refused
    if not verify_password(row.password_hash, password):
        failures = row.failed_logins + 1
        wait = lockout(failures, THRESHOLD)
        with engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == row.id)
                .values(failed_logins=failures, locked_until=now + wait if wait else None)
            )
        throttle.failed(address, now)
        raise refused
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == row.id).values(**values))
        row = conn.execute(sa.select(users).where(users.c.id == row.id)).one()
    throttle.succeeded(address)
    return _user(row)


__all__ = [
    "LOGIN_FAILED",
    "MIN_PASSWORD",
    "User",
    "add_user",
    "authenticate",
    "check_password",
    "count_active",
    "disable",
    "enable",
    "hash_password",
    "list_users",
    "needs_rehash",
    "set_password",
    "set_role",
    "use_hasher",
    "verify_password",
]

"""The users page and API (admins only): who may sign in, their roles, when they last did, whether
they are locked out; add a user, change a role, disable a user, set a new password. The same user
functions as ``revloop user`` (``web/auth.py``): the same password rules, the audit journal, and
the last active admin can be neither disabled nor demoted."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from revloop.bootstrap import App
from revloop.domain.issues import InputError, NotFound
from revloop.web import auth
from revloop.web.api import ERRORS
from revloop.web.deps import csrf_protect, require, web
from revloop.web.errors import PasswordRejected
from revloop.web.models import Model
from revloop.web.pages import render
from revloop.web.roles import LABELS, Action, Role, allowed, parse_role
from revloop.web.sessions import Session

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(prefix="/api", tags=["users"], dependencies=[Depends(csrf_protect)], responses=ERRORS)

UserName = Annotated[str, Path(min_length=1, max_length=auth.MAX_NAME, description="The user's name.")]


class UserOut(Model):
    name: str
    role: Role
    role_label: str
    permissions: list[str]
    active: bool
    locked: bool = Field(description="Locked out for now after failed sign-ins.")
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class UserList(Model):
    users: list[UserOut]
    roles: list[Role]
    min_password: int = Field(description="The fewest characters a password may have.")


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=auth.MAX_NAME)
    role: Role
    password: str = Field(
        max_length=auth.MAX_PASSWORD, json_schema_extra={"format": "password", "writeOnly": True}
    )


class UserPatch(BaseModel):
    role: Role | None = None
    active: bool | None = Field(
        None, description="false disables the user (signing them out everywhere); true enables them again."
    )
    password: str | None = Field(
        None,
        max_length=auth.MAX_PASSWORD,
        description="A new password: ends their sessions, lifts a lockout.",
        json_schema_extra={"format": "password", "writeOnly": True},
    )


def _out(user: auth.User, now: datetime) -> UserOut:
    return UserOut(
        name=user.name,
        role=user.role,
        role_label=LABELS[user.role],
        permissions=allowed(user.role),
        active=user.active,
        locked=user.locked_until is not None and user.locked_until > now,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


def users(app: App, now: datetime) -> UserList:
    return UserList(
        users=[_out(u, now) for u in auth.list_users(app.engine)],
        roles=list(Role),
        min_password=auth.MIN_PASSWORD,
    )


def one(app: App, name: str, now: datetime) -> UserOut:
    found = next((u for u in auth.list_users(app.engine) if u.name == name.strip()), None)
    if found is None:
        raise NotFound(f"no user named {name!r}")
    return _out(found, now)


def _new_password(password: str, again: str | None) -> str:
    auth.check_password(password)
    if again is not None and password != again:
        raise PasswordRejected("the two passwords typed differ", hint="go back and type them again")
    return password


def change(app: App, name: str, patch: UserPatch, *, by: str, now: datetime) -> None:
    """Apply a PATCH: enabling, a new password, a new role, then disabling (each refused as the CLI
    refuses it)."""
    if patch.role is None and patch.active is None and patch.password is None:
        raise InputError("nothing to change", hint="send role, active or password")
    if patch.active is True:
        auth.enable(app.engine, name, now=now, by=by)
    if patch.password is not None:
        auth.set_password(app.engine, name, _new_password(patch.password, None), now=now, by=by)
    if patch.role is not None:
        auth.set_role(app.engine, name, patch.role, now=now, by=by)
    if patch.active is False:
        auth.disable(app.engine, name, now=now, by=by)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


DONE = {
    "added": "User added.",
    "role": "Role changed; it applies to their next request.",
    "disabled": "User disabled and signed out everywhere.",
    "enabled": "User enabled: they can sign in again with their password.",
    "password": "New password set; their sessions were ended.",
}

# -- pages ------------------------------------------------------------------------------------------


@pages.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_USERS))],
    done: Annotated[str, Query(pattern="^(|added|role|disabled|enabled|password)$")] = "",
) -> Response:
    ctx = web(request)
    return render(
        request,
        "users.html",
        session,
        data=users(ctx.app, ctx.clock()),
        labels=LABELS,
        done=DONE.get(done, ""),
        title="Users",
    )


@pages.post("/users")
def add_page(
    request: Request,
    session: Annotated[Session, Depends(require(Action.MANAGE_USERS))],
    name: Annotated[str, Form(max_length=auth.MAX_NAME * 4)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD * 4)] = "",
    password_again: Annotated[str, Form(max_length=auth.MAX_PASSWORD * 4)] = "",
) -> Response:
    chosen = _role(role)
    ctx = web(request)
    auth.add_user(
        ctx.app.engine,
        name,
        chosen,
        _new_password(password, password_again),
        now=ctx.clock(),
        by=session.name,
    )
    return _see_other("/users?done=added")


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except ValueError as exc:
        raise InputError(str(exc), hint="choose a role from the list") from None


@pages.post("/users/{name}/role")
def role_page(
    request: Request,
    name: UserName,
    session: Annotated[Session, Depends(require(Action.MANAGE_USERS))],
    role: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    ctx = web(request)
    auth.set_role(ctx.app.engine, name, _role(role), now=ctx.clock(), by=session.name)
    return _see_other("/users?done=role")


@pages.post("/users/{name}/disable")
def disable_page(
    request: Request, name: UserName, session: Annotated[Session, Depends(require(Action.MANAGE_USERS))]
) -> Response:
    ctx = web(request)
    auth.disable(ctx.app.engine, name, now=ctx.clock(), by=session.name)
    if name.strip() == session.name:
        return _see_other("/login")
    return _see_other("/users?done=disabled")


@pages.post("/users/{name}/enable")
def enable_page(
    request: Request, name: UserName, session: Annotated[Session, Depends(require(Action.MANAGE_USERS))]
) -> Response:
    ctx = web(request)
    auth.enable(ctx.app.engine, name, now=ctx.clock(), by=session.name)
    return _see_other("/users?done=enabled")


@pages.post("/users/{name}/password")
def password_page(
    request: Request,
    name: UserName,
    session: Annotated[Session, Depends(require(Action.MANAGE_USERS))],
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD * 4)] = "",
    password_again: Annotated[str, Form(max_length=auth.MAX_PASSWORD * 4)] = "",
) -> Response:
    ctx = web(request)
    auth.set_password(
        ctx.app.engine, name, _new_password(password, password_again), now=ctx.clock(), by=session.name
    )
    if name.strip() == session.name:
        return _see_other("/login")
    return _see_other("/users?done=password")


# -- API ----------------------------------------------------------------------------------------------


@api.get("/users", response_model=UserList)
def users_api(
    request: Request, _session: Annotated[Session, Depends(require(Action.MANAGE_USERS))]
) -> UserList:
    """Every user: role, permissions, active, locked out, last sign-in (never a password or hash)."""
    ctx = web(request)
    return users(ctx.app, ctx.clock())


@api.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_api(
    request: Request, body: UserIn, session: Annotated[Session, Depends(require(Action.MANAGE_USERS))]
) -> UserOut:
    """Add a user with a role and an initial password (at least 10 characters, as ``revloop user add``)."""
    ctx = web(request)
    now = ctx.clock()
    user = auth.add_user(
        ctx.app.engine, body.name, body.role, _new_password(body.password, None), now=now, by=session.name
    )
    return _out(user, now)


@api.patch("/users/{name}", response_model=UserOut)
def change_api(
    request: Request,
    name: UserName,
    body: UserPatch,
    session: Annotated[Session, Depends(require(Action.MANAGE_USERS))],
) -> UserOut:
    """Change a role, disable (``"active": false``) or set a new password. The last active admin can be
    neither demoted nor disabled (409 user.last_admin)."""
    ctx = web(request)
    change(ctx.app, name, body, by=session.name, now=ctx.clock())
    return one(ctx.app, name, ctx.clock())


router = APIRouter()
router.include_router(pages)
router.include_router(api)

__all__ = ["UserList", "UserOut", "change", "router", "users"]

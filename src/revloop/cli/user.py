"""``revloop user``: the people who may sign in to the web dashboard, and their roles.

Passwords are read from standard input, never from the command line (where other users of the
machine could see them): typed twice at a terminal, or one line piped in by a script.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build
from revloop.domain.issues import InputError
from revloop.web import auth
from revloop.web.errors import PasswordRejected
from revloop.web.roles import LABELS, MATRIX, Action, Role, parse_role

app = typer.Typer(
    help="Users of the web dashboard: add, list, change roles, disable and enable.", no_args_is_help=True
)
out = Console()

ROLE_HELP = "admin, finance, service_manager or technician."


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def read_password(prompt: str = "Password") -> str:
    """A new password: typed twice without echo at a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        auth.check_password(first)
        second = getpass.getpass(f"{prompt} again: ")
        if first != second:
            raise PasswordRejected("the two passwords typed differ", hint="run the command again")
        return first
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if password.endswith("\r"):
        password = password[:-1]
    if not password:
        raise PasswordRejected(
            "no password on standard input",
            hint="pipe it in, e.g. `printf '%s\\n' \"$PW\" | revloop user add ...`",
        )
    auth.check_password(password)
    return password


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name they sign in with.")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
) -> None:
    """Add a user; the password is read from standard input (typed twice at a terminal)."""
    chosen = _role(role)
    application = build()
    try:
        require_current(application.engine)
        password = read_password()
        user = auth.add_user(application.engine, name, chosen, password, now=datetime.now(UTC), by="cli")
    finally:
        application.close()
    out.print(f"Added {user.name} ({LABELS[user.role]}). They can sign in at `revloop serve`'s address.")


@app.command("list")
def list_users() -> None:
    """List users, their roles and when they last signed in."""
    application = build()
    try:
        require_current(application.engine)
        users = auth.list_users(application.engine)
    finally:
        application.close()
    if not users:
        out.print("No users yet: `revloop user add NAME --role admin`.")
        return
    table = Table(title=f"{len(users)} users")
    for column in ("name", "role", "active", "last sign-in", "locked until"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name,
            LABELS[u.role],
            "yes" if u.active else "no",
            u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "never",
            u.locked_until.strftime("%Y-%m-%d %H:%M UTC") if u.locked_until else "",
        )
    out.print(table)
    sees_money = ", ".join(LABELS[r] for r in Role if Action.VIEW_MONEY in MATRIX[r])
    out.print(f"Roles that see money: {sees_money}.", highlight=False)


def _change(change: Callable[..., auth.User], name: str, *args: Any) -> auth.User:
    """``change(engine, name, *args, now=..., by="cli")`` on a store at the current schema."""
    application = build()
    try:
        require_current(application.engine)
        return change(application.engine, name, *args, now=datetime.now(UTC), by="cli")
    finally:
        application.close()


@app.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument(help="The user.")],
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
) -> None:
    """Change a user's role (it applies to their next request)."""
    user = _change(auth.set_role, name, _role(role))
    out.print(f"{user.name} is now {LABELS[user.role]}.")


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Disable a user: they cannot sign in, and their open sessions end now."""
    user = _change(auth.disable, name)
    out.print(f"{user.name} is disabled and signed out everywhere.")


@app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Let a disabled user sign in again, with the role and password they had."""
    user = _change(auth.enable, name)
    out.print(f"{user.name} is enabled again as {LABELS[user.role]}.")


@app.command("set-password")
def set_password(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Give a user a new password (read from standard input); ends their sessions and any lockout."""
    application = build()
    try:
        require_current(application.engine)
        password = read_password("New password")
        auth.set_password(application.engine, name, password, now=datetime.now(UTC), by="cli")
    finally:
        application.close()
    out.print(f"New password set for {name}; their sessions were ended.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="user")


__all__ = ["app", "read_password", "register"]

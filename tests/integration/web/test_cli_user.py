"""``revloop user`` and ``revloop serve`` as an admin meets them: passwords from standard input
only, roles by name, the last admin protected, and serve saying what to do with no user yet."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from revloop.adapters.db import tables as t
from revloop.adapters.db.engine import make_engine
from revloop.cli.main import app, main
from revloop.web import auth

PASSWORD = "a long enough password"


@pytest.fixture
def home(isolated_home: Path) -> Path:
    assert main(["db", "upgrade"]) == 0
    return isolated_home


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """``revloop ARGS`` in process with ``stdin`` piped in: (exit code, everything printed)."""

    def invoke(*args: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return invoke


def test_add_list_set_role_disable(home: Path, run: Callable[..., tuple[int, str]]) -> None:
    code, out = run("user", "add", "Ann", "--role", "finance", stdin=PASSWORD + "\n")
    assert code == 0, out
    assert "Added Ann (Finance)" in out
    code, out = run("user", "add", "Bob", "--role", "Service-Manager", stdin=PASSWORD + "\n")
    assert code == 0, out
    code, out = run("user", "list")
    assert code == 0 and "Ann" in out and "Service manager" in out and PASSWORD not in out
    engine = make_engine(f"sqlite:///{home / 'revloop.db'}")
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(t.users.c.password_hash).where(t.users.c.name == "Ann")
            ).scalar_one()
        assert auth.verify_password(stored, PASSWORD)
        code, out = run("user", "set-role", "Bob", "technician")
        assert code == 0 and "Bob is now Technician" in out
        code, out = run("user", "disable", "Bob")
        assert code == 0 and "disabled" in out
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(t.users.c.name, t.users.c.active)).all())
        assert rows == {"Ann": True, "Bob": False}
        code, out = run("user", "enable", "Bob")
        assert code == 0 and "Bob is enabled again as Technician" in out
        with engine.connect() as conn:
            assert conn.execute(sa.select(t.users.c.active).where(t.users.c.name == "Bob")).scalar_one()
        with engine.connect() as conn:
            entries = list(
                conn.execute(sa.select(t.audit_journal.c.action).order_by(t.audit_journal.c.id)).scalars()
            )
        assert [e for e in entries if e.startswith("user.")] == [
            "user.add",
            "user.add",
            "user.set_role",
            "user.disable",
            "user.enable",
        ]
    finally:
        engine.dispose()


def test_errors_are_one_line_with_codes(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "add", "Ann", "--role", "owner"]) == 4
    assert "error [input.invalid]: unknown role 'owner'" in capsys.readouterr().err
    assert main(["user", "set-role", "Nobody", "admin"]) == 4
    assert "error [not_found]" in capsys.readouterr().err


def test_password_rules_and_duplicates(home: Path, run: Callable[..., tuple[int, str]]) -> None:
    code, out = run("user", "add", "Ann", "--role", "admin", stdin="short\n")
    assert code == 4 and "at least" in out
    code, out = run("user", "add", "Ann", "--role", "admin", stdin="")
    assert code == 4 and "no password on standard input" in out
    assert run("user", "add", "Ann", "--role", "admin", stdin=PASSWORD + "\n")[0] == 0
    code, out = run("user", "add", "Ann", "--role", "finance", stdin=PASSWORD + "\n")
    assert code == 4 and "exists already" in out


def test_the_last_admin_stays(home: Path, run: Callable[..., tuple[int, str]]) -> None:
    assert run("user", "add", "Root", "--role", "admin", stdin=PASSWORD + "\n")[0] == 0
    code, out = run("user", "set-role", "Root", "finance")
    assert code == 4 and "last active admin" in out
    code, out = run("user", "disable", "Root")
    assert code == 4 and "last active admin" in out


def test_the_password_is_never_an_argument(home: Path, run: Callable[..., tuple[int, str]]) -> None:
    code, _ = run("user", "add", "Ann", "--role", "admin", "--password", PASSWORD)
    assert code != 0


def test_serve_prints_its_address_and_the_first_step(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(app=self.config.app))
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "revloop dashboard: http://127.0.0.1:" in result.output
    assert "revloop user add NAME --role admin" in result.output
    assert seen["app"] is not None

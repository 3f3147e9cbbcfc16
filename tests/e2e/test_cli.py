"""The command line as a new user meets it: real processes, real files, real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def revloop(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    full_env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "revloop", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error [{code}]"), lines[0]


def test_help_lists_the_commands() -> None:
    result = revloop("--help")
    assert result.returncode == 0
    for command in ("init", "status", "db", "secret", "config", "version"):
        assert command in result.stdout


def test_init_then_status(tmp_path: Path) -> None:
    env = {"REVLOOP_HOME": str(tmp_path / "data")}
    first = revloop("init", env=env)
    assert first.returncode == 0, first.stderr
    assert "created, revision" in first.stdout
    assert (tmp_path / "data" / "revloop.toml").exists()
    assert (tmp_path / "data" / "revloop.db").exists()
    again = revloop("init", env=env)
    assert again.returncode == 0 and "exists, kept" in again.stdout
    status = revloop("status", "--json", env=env)
    state = json.loads(status.stdout)
    assert state["up_to_date"] and state["counts"]["customers"] == 0
    assert state["journal"] == {"intact": True, "entries": 1}


def test_init_strict_refuses_existing(tmp_path: Path) -> None:
    env = {"REVLOOP_HOME": str(tmp_path)}
    assert revloop("init", "--no-store", env=env).returncode == 0
    assert_one_line_error(revloop("init", "--strict", env=env), "config.settings_exist")


@pytest.mark.parametrize(
    ("env", "args", "code"),
    [
        ({"REVLOOP_HOME": "/proc/revloop-home"}, ("init",), "config.home"),
        ({"REVLOOP_CONFIG": "/proc/revloop.toml"}, ("init",), "config.settings_file"),
        ({"REVLOOP_DATABASE_URL": "mysql://root@localhost/x"}, ("db", "upgrade"), "config.database_url"),
        ({"REVLOOP_DATABASE_URL": "::not a url::"}, ("status",), "config.database_url"),
        ({"REVLOOP_DATABASE_URL": "sqlite:////proc/revloop/x.db"}, ("db", "upgrade"), "store.unreachable"),
        (
            {"REVLOOP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
            ("db", "upgrade"),
            "store.unreachable",
        ),
        ({"REVLOOP_CURRENCY": "POUNDS"}, ("status",), "config.invalid"),
        ({}, ("db", "downgrade", "nosuchrevision"), "store.migration"),
        ({}, ("secret", "list"), "store.not_initialised"),
    ],
)
def test_error_paths_are_one_line(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], code: str
) -> None:
    full = {"REVLOOP_HOME": str(tmp_path / "home"), **env}
    assert_one_line_error(revloop(*args, env=full), code)


def test_home_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert_one_line_error(revloop("init", env={"REVLOOP_HOME": str(target)}), "config.home")


def test_unreadable_settings_as_directory(tmp_path: Path) -> None:
    (tmp_path / "revloop.toml").mkdir()
    assert_one_line_error(revloop("status", env={"REVLOOP_HOME": str(tmp_path)}), "config.settings_file")


def test_secret_round_trip_never_prints_value(tmp_path: Path) -> None:
    env = {"REVLOOP_HOME": str(tmp_path)}
    assert revloop("init", env=env).returncode == 0
    stored = revloop("secret", "set", "halopsa_client_secret", env=env, stdin="hunter2-value\n")
    assert stored.returncode == 0, stored.stderr
    listing = revloop("secret", "list", env=env)
    assert "halopsa_client_secret" in listing.stdout and "hunter2" not in listing.stdout
    assert b"hunter2-value" not in (tmp_path / "revloop.db").read_bytes()
    shown = revloop("config", "show", env={**env, "REVLOOP_XERO_CLIENT_SECRET": "zzz-secret"})
    assert "zzz-secret" not in shown.stdout and "xero_client_secret = (set)" in shown.stdout


@pytest.mark.postgres
def test_init_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    env = {"REVLOOP_HOME": str(tmp_path), "REVLOOP_DATABASE_URL": postgres_url}
    result = revloop("init", env=env)
    assert result.returncode == 0, result.stderr
    state = json.loads(revloop("status", "--json", env=env).stdout)
    assert state["dialect"] == "postgresql" and state["up_to_date"]


def test_connections_lists_without_secrets(tmp_path: Path) -> None:
    env = {"REVLOOP_HOME": str(tmp_path), "REVLOOP_HALOPSA_CLIENT_SECRET": "halo-secret-value"}
    assert revloop("init", env=env).returncode == 0
    shown = revloop("connections", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "halopsa" in shown.stdout and "not configured" in shown.stdout
    assert "halo-secret-value" not in shown.stdout
    unconfigured = revloop("connect", "xero", "--no-browser", env=env)
    assert_one_line_error(unconfigured, "connector.error")


def test_init_against_a_running_simulator(tmp_path: Path) -> None:
    """`revloop simulate` in one process, `revloop init --simulator` and `connect` in others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    env.update({"REVLOOP_HOME": str(tmp_path / "sim-home"), "NO_COLOR": "1"})
    server = subprocess.Popen(
        [sys.executable, "-m", "revloop", "simulate", "--port", "0", "--size", "small"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        home = {"REVLOOP_HOME": str(tmp_path / "home")}
        result = revloop("init", "--simulator", info["admin_url"], env=home)
        assert result.returncode == 0, result.stderr
        settings = (tmp_path / "home" / "revloop.toml").read_text()
        assert info["halopsa"]["base_url"] + "/api" in settings
        assert info["halopsa"]["client_secret"] not in settings
        assert info["xero"]["client_secret"] not in settings
        connected = revloop("connect", "xero", "--custom", env=home)
        assert connected.returncode == 0, connected.stderr
        assert info["xero"]["tenant_id"] in connected.stdout
        listing = revloop("connections", env=home)
        assert "not configured" not in listing.stdout and "custom connection" in listing.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()

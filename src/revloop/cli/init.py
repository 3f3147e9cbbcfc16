"""``revloop init``: create the data directory, a commented settings file, and the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from revloop.bootstrap import App
from revloop.config import (
    ENV_PREFIX,
    SECRET_FIELDS,
    SECTIONS,
    describe_fields,
    load_settings,
    resolve_home,
    settings_path,
)
from revloop.domain.issues import HomeError, InputError, SettingsExistError, SettingsFileError
from revloop.services import store as store_service

out = Console()

HEADER = """\
# revloop settings.
#
# Every option is listed below with its default, commented out: uncomment a line to change it.
# Each option can also be set in the environment as REVLOOP_<NAME> (upper case; a [section]
# key is REVLOOP_<SECTION>_<KEY>), and the environment wins over this file.
# Secrets (client secrets, tokens, keys) never go in this file: set them in the environment
# (e.g. REVLOOP_XERO_CLIENT_SECRET) or store them encrypted with `revloop secret set NAME`.
# The data directory is REVLOOP_HOME; the store is REVLOOP_DATABASE_URL.
"""


def render_settings() -> str:
    top: list[str] = []
    sections: dict[str, list[str]] = {name: [] for name in SECTIONS}
    for name, default, description in describe_fields():
        section = next((s for s in SECTIONS if name.startswith(f"{s}_")), None)
        key = name[len(section) + 1 :] if section else name
        lines = [f"# {description}"]
        if default == "":
            if name in SECRET_FIELDS:
                lines.append(f"# ({ENV_PREFIX}{name.upper()} in the environment)")
            else:
                lines.append(f'# {key} = ""')
        else:
            lines.append(f"# {key} = {default}")
        (sections[section] if section else top).extend([*lines, ""])
    text = HEADER + "\n" + "\n".join(top)
    for section, lines in sections.items():
        if lines:
            text += f"\n[{section}]\n" + "\n".join(lines)
    return text.rstrip() + "\n"


def _make_home(home: Path) -> None:
    if home.exists() and not home.is_dir():
        raise HomeError(f"the data directory {home} is a file, not a directory")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise HomeError(f"cannot create the data directory {home}: permission denied") from None
    except OSError as exc:
        raise HomeError(f"cannot create the data directory {home}: {exc.strerror or exc}") from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise HomeError(f"the data directory {home} is not writable")


def write_settings(path: Path, force: bool, sections: dict[str, dict[str, Any]] | None = None) -> bool:
    """Write the commented settings file; returns False when it exists and is kept."""
    if path.exists() and not force:
        return False
    if path.is_dir():
        raise SettingsFileError(f"{path} is a directory, not a settings file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render_settings()
        path.write_text(_with_sections(text, sections) if sections else text, encoding="utf-8")
    except PermissionError:
        raise SettingsFileError(f"cannot write {path}: permission denied") from None
    except OSError as exc:
        raise SettingsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True


def simulator_settings(admin_url: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(settings sections, secrets) that point revloop at a running ``revloop simulate``."""
    url = admin_url.rstrip("/") + "/info"
    try:
        response = httpx.get(url, timeout=10)
        response.raise_for_status()
        info = response.json()
        halo, xero = info["halopsa"], info["xero"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"cannot read the simulator's connection details from {url}: {exc}",
            hint="start it with `revloop simulate` and pass the admin_url it prints",
        ) from None
    sections = {
        "halopsa": {
            "base_url": halo["base_url"].rstrip("/") + "/api",
            "auth_url": halo["auth_url"],
            "client_id": halo["client_id"],
            "tenant": halo["tenant"],
            **({"rate_limit": halo["rate_limit"]} if "rate_limit" in halo else {}),
        },
        "xero": {
            "api_url": xero["api_url"],
            "identity_url": xero["identity_url"],
            "authorize_url": xero["authorize_url"],
            "connections_url": xero["connections_url"],
            "client_id": xero["client_id"],
            "tenant_id": xero["tenant_id"],
        },
    }
    secrets = {"halopsa_client_secret": halo["client_secret"], "xero_client_secret": xero["client_secret"]}
    return sections, secrets


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _with_sections(text: str, sections: dict[str, dict[str, Any]]) -> str:
    """Set the given keys in the rendered settings (uncommented), leaving the rest as they are."""
    lines = text.splitlines()
    for section, values in sections.items():
        start = lines.index(f"[{section}]")
        for key, value in values.items():
            quoted = _toml_value(value)
            for index in range(start + 1, len(lines)):
                if lines[index].startswith("["):
                    lines.insert(index, f"{key} = {quoted}")
                    break
                if lines[index].startswith(f"# {key} = "):
                    lines[index] = f"{key} = {quoted}"
                    break
            else:
                lines.append(f"{key} = {quoted}")
    return "\n".join(lines) + "\n"


def init_command(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing settings file.")] = False,
    simulator: Annotated[
        str | None,
        typer.Option("--simulator", help="Point revloop at a running `revloop simulate` (its admin_url)."),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Write settings only; create no store.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail if the settings file exists (instead of keeping it).")
    ] = False,
) -> None:
    """Create the data directory, a commented settings file, and the store."""
    home = resolve_home()
    _make_home(home)
    path = settings_path(home)
    if strict and path.exists() and not force:
        raise SettingsExistError(f"{path} already exists", hint="use --force to overwrite it")
    sections, secrets = simulator_settings(simulator) if simulator else (None, {})
    written = write_settings(path, force or bool(simulator), sections)
    out.print(f"Settings: {path} ({'written' if written else 'exists, kept'})")
    if no_store:
        return
    application = App(load_settings())
    try:
        before, after = store_service.upgrade(application, actor="init")
        url = application.engine.url.render_as_string(hide_password=True)
        for name, value in secrets.items():
            application.secrets.put(name, value)
    finally:
        application.close()
    if before == after:
        out.print(f"Store: {url} (already at revision {after})")
    else:
        out.print(f"Store: {url} (created, revision {after})")
    if simulator:
        out.print(f"Connected to the simulator at {simulator} (client secrets stored encrypted).")
    out.print("Next: `revloop status` shows what the store holds.")

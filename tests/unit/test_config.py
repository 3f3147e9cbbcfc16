from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from revloop.cli.init import render_settings
from revloop.config import SECRET_FIELDS, Settings, describe_fields, load_settings
from revloop.domain.issues import ConfigError, SettingsFileError


def test_defaults_use_home(isolated_home: Path) -> None:
    settings = load_settings()
    assert settings.home == isolated_home
    assert settings.effective_database_url == f"sqlite:///{isolated_home / 'revloop.db'}"
    assert settings.billing_mileage_rate == Decimal("0.45")


def test_file_sections_and_environment(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_home.mkdir()
    (isolated_home / "revloop.toml").write_text(
        'currency = "AUD"\n[halopsa]\nbase_url = "https://msp.halopsa.com/api"\n'
        '[billing]\nmileage_rate = "0.85"\n'
    )
    settings = load_settings()
    assert settings.currency == "AUD"
    assert settings.halopsa_base_url == "https://msp.halopsa.com/api"
    assert settings.billing_mileage_rate == Decimal("0.85")
    monkeypatch.setenv("REVLOOP_HALOPSA_BASE_URL", "http://127.0.0.1:9/halopsa/api")
    monkeypatch.setenv("REVLOOP_DATABASE_URL", "postgresql://postgres@db/revloop")
    settings = load_settings()
    assert settings.halopsa_base_url == "http://127.0.0.1:9/halopsa/api"
    assert settings.effective_database_url == "postgresql://postgres@db/revloop"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[xero]\nclient_secret = "s3cret"\n', "must not be written in the settings file"),
        ("secret_key = 'k'\n", "must not be written"),
        ("nonsense = 1\n", "unknown setting"),
        ("[nowhere]\na = 1\n", "unknown section"),
        ("[billing]\nmileage_rate = 0.45\n", "is a float"),
        ("currency = \n", "not valid TOML"),
    ],
)
def test_bad_settings_file(isolated_home: Path, content: str, message: str) -> None:
    isolated_home.mkdir()
    (isolated_home / "revloop.toml").write_text(content)
    with pytest.raises(SettingsFileError, match=message):
        load_settings()


def test_bad_values_are_one_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="timezone"):
        load_settings()


def test_secrets_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_XERO_CLIENT_SECRET", "from-env")
    settings = load_settings()
    assert settings.xero_client_secret is not None
    assert settings.xero_client_secret.get_secret_value() == "from-env"
    assert "from-env" not in repr(settings)


def test_rendered_file_documents_every_option_and_parses() -> None:
    text = render_settings()
    for name, _default, description in describe_fields():
        assert description in text, name
    assert all(value == {} for value in tomllib.loads(text).values())  # every option commented out
    uncommented = "\n".join(
        line[2:] if re.match(r"^# [a-z_]+ = ", line) else line for line in text.splitlines()
    )
    data = tomllib.loads(uncommented)
    flat = set()
    for key, value in data.items():
        flat |= {f"{key}_{sub}" for sub in value} if isinstance(value, dict) else {key}
    assert flat <= set(Settings.model_fields)
    assert len(flat) == len(describe_fields()) - len(SECRET_FIELDS)  # every option but the secrets

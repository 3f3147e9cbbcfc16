"""The composition root: settings in, engine and stores out. Tests build their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from revloop.adapters.db.engine import make_engine
from revloop.adapters.secrets import SecretStore, load_key
from revloop.config import Settings, load_settings

CONNECTOR_SECRETS = ("halopsa_client_secret", "xero_client_secret", "xero_webhook_key")


@dataclass
class App:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @cached_property
    def secrets(self) -> SecretStore:
        env_key = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
        return SecretStore(self.engine, load_key(self.settings.home, env_key))

    def connector_settings(self) -> Settings:
        """The settings with API client secrets filled in from the encrypted store where the
        environment gives none (``revloop secret set`` or ``revloop init --simulator`` put them there)."""
        updates: dict[str, SecretStr] = {}
        for name in CONNECTOR_SECRETS:
            if getattr(self.settings, name) is None:
                stored = self.secrets.get(name)
                if stored:
                    updates[name] = SecretStr(stored)
        return self.settings.model_copy(update=updates) if updates else self.settings

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def build(settings: Settings | None = None) -> App:
    return App(settings or load_settings())

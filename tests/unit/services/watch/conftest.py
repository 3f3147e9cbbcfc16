from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import make_engine
from revloop.bootstrap import App
from revloop.config import load_settings


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    made = make_engine(sqlite_url)
    migrations.upgrade(made)
    yield made
    made.dispose()


@pytest.fixture
def app(engine: Engine, sqlite_url: str) -> App:
    return App(load_settings(database_url=sqlite_url), _engine=engine)

"""Alembic environment: the engine comes from revloop (``config.attributes['engine']``)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from revloop.adapters.db.tables import metadata
from revloop.adapters.db.types import Scaled, UtcDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render exact-number columns as the plain BIGINT they are stored as."""
    if type_ == "type" and isinstance(obj, Scaled):
        return "sa.BigInteger()"
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run()

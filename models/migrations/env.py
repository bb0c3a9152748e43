"""Alembic environment: runs migrations on a blocking connection with our engine settings."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext

import models
from models.db import create_sync_engine
from models.types import UtcDateTime

config = context.config
target_metadata = models.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write our column types as plain SQLAlchemy types so revisions don't import app code."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set (models.migrate.alembic_config does it)"
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()

"""Apply Alembic migrations programmatically (used by `clone-gateway migrate|serve` and tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from models.db import normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = normalize_url(database_url, asynchronous=False).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)

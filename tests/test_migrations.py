"""The schema comes only from Alembic, and it matches the models on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from models.migrate import upgrade


# SQLite cannot reflect expression indexes (the fact-rank index), so Alembic skips comparing
# that one there, saying so; PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrated_schema_matches_the_models(maintenance_engine):
    with maintenance_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, models.metadata) == []


def test_upgrade_is_idempotent(database_url, maintenance_engine):
    upgrade(database_url)
    with maintenance_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None

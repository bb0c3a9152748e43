"""SQLModel tables, the async engine, and the Alembic migrations that create them.

Importing this package registers every table on `SQLModel.metadata` (Alembic compares the
migrated database against it in the tests).
"""

from sqlmodel import SQLModel

# Deterministic constraint names, identical on PostgreSQL and SQLite, so migrations can refer
# to them by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from models import access, accounts, jobs, memory, news, predictions, recording, sources  # noqa: E402

metadata = SQLModel.metadata

__all__ = [
    "access",
    "accounts",
    "jobs",
    "memory",
    "metadata",
    "news",
    "predictions",
    "recording",
    "sources",
]

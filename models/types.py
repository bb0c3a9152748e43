"""Column types shared by every table, so both databases store and return the same values."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so the value is stored as naive
    UTC text (which still sorts correctly) and made aware again on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """None on PostgreSQL: its sessions run with TimeZone=UTC (models/db.py), so psycopg
        already returns aware UTC datetimes, and a dashboard reads thousands of them."""
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDocument: Any = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind the tables accept)."""
    return datetime.now(UTC)

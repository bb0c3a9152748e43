"""Sources: one webhook connection per user and provider, and the deliveries it received."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UtcDateTime, utcnow

PROVIDERS = ("github", "slack", "linear", "notion", "drive")


class SourceConnection(SQLModel, table=True):
    """A connected provider; the webhook token is stored only as its SHA-256 hash."""

    __tablename__ = "source_connections"
    __table_args__ = (sa.UniqueConstraint("user_id", "provider"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    provider: str = Field(sa_type=sa.String(32))
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_delivery_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SourceDelivery(SQLModel, table=True):
    """A webhook delivery already stored: a replay with the same delivery id stores nothing.

    Keyed by user and provider rather than connection, so a replay stays a replay after the
    user reconnects (and the token changes).
    """

    __tablename__ = "source_deliveries"
    __table_args__ = (sa.UniqueConstraint("user_id", "provider", "delivery_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    provider: str = Field(sa_type=sa.String(32))
    delivery_id: str = Field(sa_type=sa.String(200))
    raw_count: int = 0
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

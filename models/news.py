"""News: short product announcements, public to read, written by staff."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import JsonDocument, UtcDateTime, utcnow


class NewsItem(SQLModel, table=True):
    __tablename__ = "news_items"
    __table_args__ = (sa.Index("ix_news_items_published", "published_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    title: str = Field(sa_type=sa.String(300))
    url: str | None = Field(default=None, sa_type=sa.String(2000))
    summary: str = Field(default="", sa_type=sa.Text)
    tags: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

"""Memory: four tiers, each citing the one below it.

RawMemory (append-only) ← EpisodicMemory (via raw.episode_id) ← SemanticMemory (facts, via the
fact_episodes relation); UserProfile is one row per user.
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import JsonDocument, UtcDateTime, utcnow


def _owner() -> Any:
    return Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")


class RawMemory(SQLModel, table=True):
    __tablename__ = "raw_memories"
    __table_args__ = (
        sa.Index("ix_raw_memories_user_time", "user_id", "occurred_at", "id"),
        sa.Index("ix_raw_memories_user_session", "user_id", "session_id", "occurred_at"),
        # One raw row per recorded event: what makes sync idempotent, even when concurrent.
        sa.Index(
            "uq_raw_memories_user_event",
            "user_id",
            "recording_event_id",
            unique=True,
            postgresql_where=sa.text("recording_event_id IS NOT NULL"),
            sqlite_where=sa.text("recording_event_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = _owner()
    source: str = Field(sa_type=sa.String(32))
    source_detail: str | None = Field(default=None, sa_type=sa.Text)
    kind: str = Field(sa_type=sa.String(64))
    content: str = Field(default="", sa_type=sa.Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    session_id: str | None = Field(default=None, sa_type=sa.String(200))
    recording_event_id: str | None = Field(default=None, sa_type=sa.String(200))
    episode_id: uuid.UUID | None = Field(
        default=None,
        sa_type=sa.Uuid,
        foreign_key="episodic_memories.id",
        ondelete="SET NULL",
        index=True,
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class EpisodicMemory(SQLModel, table=True):
    __tablename__ = "episodic_memories"
    __table_args__ = (sa.Index("ix_episodic_memories_user_time", "user_id", "ended_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = _owner()
    title: str = Field(sa_type=sa.String(300))
    summary: str = Field(default="", sa_type=sa.Text)
    started_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime = Field(sa_type=UtcDateTime)
    sources: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    tags: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SemanticMemory(SQLModel, table=True):
    __tablename__ = "semantic_memories"
    __table_args__ = (
        sa.Index("ix_semantic_memories_user_updated", "user_id", "updated_at", "id"),
        # Promotion deduplicates on normalized text.
        sa.Index("ix_semantic_memories_user_norm", "user_id", "normalized_text"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = _owner()
    text: str = Field(sa_type=sa.Text)
    normalized_text: str = Field(sa_type=sa.Text)
    kind: str = Field(default="other", sa_type=sa.String(16))
    importance: float = 0.5
    confidence: float = 0.5
    tags: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# The context bundle's fact order (importance x confidence, then recency): the top facts are
# the head of this index instead of a sort over all of the user's facts.
# Written as the databases print it back, so Alembic's comparison sees no difference.
sa.Index(
    "ix_semantic_memories_user_rank",
    SemanticMemory.user_id,
    sa.text("(importance * confidence) DESC"),
    SemanticMemory.updated_at.desc(),
    SemanticMemory.id,
)


class FactEpisode(SQLModel, table=True):
    """Provenance: which episodes a fact cites."""

    __tablename__ = "fact_episodes"

    fact_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="semantic_memories.id", ondelete="CASCADE", primary_key=True
    )
    episode_id: uuid.UUID = Field(
        sa_type=sa.Uuid,
        foreign_key="episodic_memories.id",
        ondelete="CASCADE",
        primary_key=True,
        index=True,
    )


class UserProfile(SQLModel, table=True):
    __tablename__ = "user_profiles"

    user_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE", primary_key=True
    )
    display_name: str = Field(default="", sa_type=sa.String(150))
    summary: str = Field(default="", sa_type=sa.Text)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ForgottenEvent(SQLModel, table=True):
    """A recorded event whose derived memory the user deleted: sync must not bring it back."""

    __tablename__ = "forgotten_events"

    user_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE", primary_key=True
    )
    recording_event_id: str = Field(sa_type=sa.String(200), primary_key=True)

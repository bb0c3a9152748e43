"""Job records: one row per call to an outside model or voice service, success or failure."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UtcDateTime, utcnow

JOB_KINDS = ("predict", "continuation", "promote_episodes", "promote_facts", "voice")
JOB_STATUSES = ("running", "succeeded", "failed")


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_user_created", "user_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(sa_type=sa.String(32))
    status: str = Field(default="running", sa_type=sa.String(16))
    model: str | None = Field(default=None, sa_type=sa.String(100))
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    related_id: str | None = Field(default=None, sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)

"""Predictions: what Clone answered for the user, with its candidates, context and outcome."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import JsonDocument, UtcDateTime, utcnow

PREDICTION_STATUSES = ("pending", "auto", "escalated", "accepted", "edited", "rejected")
FEEDBACK_STATUSES = ("accepted", "edited", "rejected")


class Prediction(SQLModel, table=True):
    __tablename__ = "predictions"
    __table_args__ = (
        sa.Index("ix_predictions_user_created", "user_id", "created_at", "id"),
        sa.Index("ix_predictions_user_status", "user_id", "status"),
        sa.Index("ix_predictions_user_agent", "user_id", "agent", "created_at"),
        sa.Index("ix_predictions_user_session", "user_id", "session_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    user_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    # "predict" (a reply) or "continuation" (should an agent loop go on?)
    kind: str = Field(default="predict", sa_type=sa.String(16))
    agent: str = Field(sa_type=sa.String(200))
    agent_input: str = Field(sa_type=sa.Text)
    session_id: str | None = Field(default=None, sa_type=sa.String(200))
    model: str = Field(sa_type=sa.String(100))
    k: int = 1
    threshold: float = 0.8
    status: str = Field(default="pending", sa_type=sa.String(16))
    predicted_response: str = Field(default="", sa_type=sa.Text)
    confidence: float = 0.0
    raw_confidence: float = 0.0
    reasoning: str = Field(default="", sa_type=sa.Text)
    stop_recommended: bool = False
    should_continue: bool | None = None
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonDocument)
    latency_ms: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    context_snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    actual_response: str | None = Field(default=None, sa_type=sa.Text)
    acted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

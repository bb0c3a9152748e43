"""Recording: sessions and the raw CloneEvents ingested into them.

A session's id is the producer's `session_id`; the first event locks it to its user. Events are
unique per (user, event id), which is what makes ingest idempotent per caller.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UtcDateTime, utcnow


class RecordingSession(SQLModel, table=True):
    # A trigger on this table deletes a deleted session's events (migration 0008). On SQLite a
    # batch migration of this table rebuilds it and drops the trigger: such a migration must
    # create it again (the deletion tests in tests/test_recording_rest.py would fail).
    __tablename__ = "recording_sessions"
    __table_args__ = (
        sa.Index("ix_recording_sessions_user_started", "user_id", "started_at", "id"),
    )

    id: str = Field(primary_key=True, sa_type=sa.String(200))
    user_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    source: str | None = Field(default=None, sa_type=sa.String(32))
    source_detail: str | None = Field(default=None, sa_type=sa.Text)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Whether a `session.started` has set `started_at` (else it is the earliest event seen).
    has_started_event: bool = False
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    event_count: int = 0
    last_event_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class RecordingEvent(SQLModel, table=True):
    """One accepted CloneEvent. `payload` is the event's JSON text exactly as accepted.

    It is kept as text rather than JSON/JSONB: it is never queried into, storing text is the
    cheapest write, and reads splice it into responses without parsing it again.
    Indexes are few on purpose (each costs every ingested row): the `type` filter of a
    session's events walks that session's range of the time index (migration 0007 dropped
    the index that served it, for a sixth more ingest throughput).
    """

    __tablename__ = "recording_events"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "id", name="uq_recording_events_user_id_id"),
        sa.Index("ix_recording_events_session_time", "session_id", "occurred_at", "seq"),
    )

    seq: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite")
    )
    # Arrival order, the tie-break after occurred_at: the batch's receive time in microseconds
    # times 1024 plus the event's position in its batch. (seq cannot serve: ingest inserts in
    # event-id order so that concurrent batches lock rows in one order.)
    arrival: int = Field(sa_type=sa.BigInteger)
    # No foreign key to users: an event reaches its user through its session (whose owner
    # ingest checks, and whose deletion cascades to its events). A per-row check would also
    # lock the one user row from every concurrent batch of that user (migration 0007).
    user_id: uuid.UUID = Field(sa_type=sa.Uuid)
    id: str = Field(sa_type=sa.String(200))
    # No foreign key either: a per-row check at the commit of every batch cost about a quarter
    # of the database's ingest work. Ingest writes each event's session in the same transaction,
    # and a trigger on the sessions removes a deleted session's events (migration 0008).
    session_id: str = Field(sa_type=sa.String(200))
    type: str = Field(sa_type=sa.String(32))
    source: str = Field(sa_type=sa.String(32))
    source_detail: str | None = Field(default=None, sa_type=sa.Text)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    payload: str = Field(sa_type=sa.Text)

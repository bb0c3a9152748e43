"""Monitoring: is this instance able to serve, and how much does it hold (staff)?"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

import gateway
from gateway.errors import Forbidden
from models.accounts import User
from models.db import Database
from models.jobs import Job
from models.predictions import Prediction
from models.recording import RecordingEvent, RecordingSession
from models.types import utcnow

HEALTH_DB_TIMEOUT_S = 3.0
RECENT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Health:
    database_ok: bool
    version: str = gateway.__version__

    @property
    def ok(self) -> bool:
        return self.database_ok


async def health(database: Database) -> Health:
    """Round-trip to the database, bounded so a hung server cannot hang the probe."""
    try:
        with anyio.fail_after(HEALTH_DB_TIMEOUT_S):
            async with database.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return Health(database_ok=False)
    return Health(database_ok=True)


@dataclass(frozen=True)
class Stats:
    """Counts across all accounts."""

    users: int
    sessions: int
    events: int
    predictions: int  # replies predicted (kind `predict`), as the predictions list counts them
    continuations: int  # continuation checks, stored beside predictions
    jobs_running: int
    jobs_succeeded: int
    jobs_failed: int
    events_last_hour: int  # events *received* (ingested) within the last hour
    window_start: datetime


def _count(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """`count(*)`, or the number of rows meeting a condition (portable: no FILTER clause)."""
    if not where:
        return sa.func.count()
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*where), 1), else_=0)), 0)


async def stats(db: AsyncSession, actor: User, *, now: datetime | None = None) -> Stats:
    """Staff only. One statement, one aggregate per table (events: one pass for both counts).

    "Ingested in the last hour" uses the events' `received_at` (the batch's arrival time),
    not `occurred_at`, which is the producer's clock and may lie in the past.
    """
    if not actor.is_staff:
        raise Forbidden("staff only")
    since = (now or utcnow()) - RECENT_WINDOW
    users = sa.select(_count().label("n")).select_from(User).subquery()
    sessions = sa.select(_count().label("n")).select_from(RecordingSession).subquery()
    events = (
        sa.select(
            _count().label("n"),
            _count(RecordingEvent.received_at >= since).label("recent"),
        )
        .select_from(RecordingEvent)
        .subquery()
    )
    predictions = (
        sa.select(
            _count(Prediction.kind == "predict").label("predict"),
            _count(Prediction.kind == "continuation").label("continuation"),
        )
        .select_from(Prediction)
        .subquery()
    )
    jobs = (
        sa.select(
            _count(Job.status == "running").label("running"),
            _count(Job.status == "succeeded").label("succeeded"),
            _count(Job.status == "failed").label("failed"),
        )
        .select_from(Job)
        .subquery()
    )
    statement = sa.select(
        users.c.n,
        sessions.c.n,
        events.c.n,
        events.c.recent,
        predictions.c.predict,
        predictions.c.continuation,
        jobs.c.running,
        jobs.c.succeeded,
        jobs.c.failed,
    ).select_from(
        users.join(sessions, sa.true())
        .join(events, sa.true())
        .join(predictions, sa.true())
        .join(jobs, sa.true())
    )
    row = (await db.execute(statement)).one()
    return Stats(
        users=int(row[0]),
        sessions=int(row[1]),
        events=int(row[2]),
        events_last_hour=int(row[3]),
        predictions=int(row[4]),
        continuations=int(row[5]),
        jobs_running=int(row[6]),
        jobs_succeeded=int(row[7]),
        jobs_failed=int(row[8]),
        window_start=since,
    )

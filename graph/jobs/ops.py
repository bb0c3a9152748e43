"""Jobs domain: the record every call to an outside model or voice service leaves behind.

A job is written in its own short session and committed at once, before the call and again
after it, so the record survives whatever the caller's transaction does (a prediction that
fails validation and rolls back still leaves its failed or succeeded call on record). Callers
must therefore not hold an open write transaction (or `serialized_writes`) while recording a
call: on SQLite the job's write would wait for theirs. Holding a transaction across a model
call of up to a minute is a bad idea anyway.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import ApiError, Invalid, NotFound
from gateway.llm import ToolCall
from gateway.services import Services
from graph.ids import try_uuid
from graph.pagination import Page, PageSpec, paginate
from models.accounts import User
from models.jobs import JOB_KINDS, JOB_STATUSES, Job
from models.types import utcnow

JOBS_PAGE = PageSpec(default=50, maximum=200)
ERROR_MAX_LENGTH = 2000
CANCELLED_ERROR = "cancelled before the call finished"
logger = logging.getLogger(__name__)


# --- writing ----------------------------------------------------------------------------------


def _check_kind(kind: object) -> str:
    if kind not in JOB_KINDS:
        raise Invalid(f"kind must be one of: {', '.join(JOB_KINDS)}")
    return kind  # type: ignore[return-value]


def _check_status(status: object) -> str:
    if status not in JOB_STATUSES:
        raise Invalid(f"status must be one of: {', '.join(JOB_STATUSES)}")
    return status  # type: ignore[return-value]


async def start_job(
    services: Services,
    user: User,
    *,
    kind: str,
    model: str | None = None,
    related_id: str | None = None,
) -> Job:
    """A `running` job, committed at once in its own session."""
    job = Job(user_id=user.id, kind=_check_kind(kind), model=model, related_id=related_id)
    async with services.database.serialized_writes(), services.database.sessions() as db:
        db.add(job)
        await db.commit()
    return job


async def finish_job(
    services: Services,
    job_id: uuid.UUID,
    *,
    error: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    latency_ms: int | None = None,
    related_id: str | None = None,
    model: str | None = None,
) -> Job:
    """Close a job: `failed` when `error` is given (never empty), else `succeeded`.

    Without `latency_ms` the time since the job started is recorded. Fields left as None keep
    their value. One UPDATE … RETURNING, committed at once.
    """
    finished = utcnow()
    values: dict[str, object] = {"finished_at": finished}
    if error is not None:
        values.update(status="failed", error=(error.strip() or "failed")[:ERROR_MAX_LENGTH])
    else:
        values.update(status="succeeded", error=None)
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("related_id", related_id),
        ("model", model),
        ("latency_ms", latency_ms),
    ):
        if value is not None:
            values[name] = value
    async with services.database.serialized_writes(), services.database.sessions() as db:
        job = (
            await db.execute(
                sa.update(Job).where(Job.id == job_id).values(**values).returning(Job),
                execution_options={"synchronize_session": False},
            )
        ).scalar_one_or_none()
        if job is None:
            raise NotFound("job not found")
        if latency_ms is None:
            job.latency_ms = max(0, round((finished - job.created_at).total_seconds() * 1000))
        await db.commit()
    return job


async def record_model_call(
    services: Services,
    user: User,
    *,
    kind: str,
    model: str,
    call: Callable[[], Awaitable[ToolCall]],
    related_id: str | None = None,
    then: Callable[[ToolCall], Awaitable[object]] | None = None,
) -> tuple[ToolCall, Job]:
    """Run one model call with its job record: `running` while it runs, closed after, either way.

    The `running` row is written concurrently with the call rather than before it: the record
    appears within milliseconds of the call starting, and a prediction's latency does not pay
    for a commit the model's own time easily hides. `related_id` names what a successful call
    produces (a prediction's id, chosen before the call so no further write is needed); a
    failed job keeps none. `then` (storing what the call produced) runs concurrently with
    closing the job, on its own connection. The call's own error (an ApiError, or anything
    unexpected) is re-raised unchanged after the job is marked failed.
    """
    starting = asyncio.ensure_future(start_job(services, user, kind=kind, model=model))
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        result = await call()
    except ApiError as exc:
        await _record_failure(services, starting, exc.message or exc.code, elapsed_ms())
        raise
    except asyncio.CancelledError:
        # The request went away mid-call. Close the record in a task of its own, since
        # awaiting in a cancelled task may be cancelled again; a job never stays `running`.
        closing = asyncio.ensure_future(
            _record_failure(services, starting, CANCELLED_ERROR, elapsed_ms())
        )
        _background.add(closing)
        closing.add_done_callback(_background.discard)
        raise
    except Exception as exc:
        await _record_failure(services, starting, type(exc).__name__, elapsed_ms())
        raise
    closing = finish_job(
        services,
        (await starting).id,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        latency_ms=result.latency_ms,
        model=result.model,
        related_id=related_id,
    )
    if then is None:
        return result, await closing
    job, _ = await asyncio.gather(closing, then(result))
    return result, job


_background: set[asyncio.Future[None]] = set()  # strong references until the tasks finish


async def _record_failure(
    services: Services, starting: Awaitable[Job], error: str, latency: int
) -> None:
    """Mark the job failed; if even that fails, log it and let the call's own error through."""
    try:
        job = await starting
        await finish_job(services, job.id, error=error, latency_ms=latency)
    except Exception:
        logger.exception("could not record the failure of a %s", "model call")


# --- reading ----------------------------------------------------------------------------------


async def list_jobs(
    db: AsyncSession,
    user: User,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[Job]:
    """The user's jobs, newest first (served by the (user_id, created_at, id) index)."""
    stmt = sa.select(Job).where(Job.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(Job.kind == _check_kind(kind))
    if status is not None:
        stmt = stmt.where(Job.status == _check_status(status))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc())
    return await paginate(db, stmt, JOBS_PAGE, limit, offset, after=after)


async def get_job(db: AsyncSession, user: User, job_id: uuid.UUID | str) -> Job:
    """One of the user's jobs; another user's job is as missing as an unknown id."""
    parsed = try_uuid(job_id)
    job = await db.get(Job, parsed) if parsed is not None else None
    if job is None or job.user_id != user.id:
        raise NotFound("job not found")
    return job


async def jobs_by_id(db: AsyncSession, user: User, job_ids: Sequence[object]) -> dict[object, Job]:
    """The user's jobs among `job_ids` (UUIDs or their text), in one query: the node loader.

    The result is keyed by the keys as given; malformed and foreign ids are simply absent.
    """
    parsed = {key: value for key in job_ids if (value := try_uuid(key)) is not None}
    if not parsed:
        return {}
    # execute().scalars(), not db.scalars(): SerialAsyncSession.scalars re-enters its lock.
    rows = (
        await db.execute(
            sa.select(Job).where(Job.user_id == user.id, Job.id.in_(set(parsed.values())))
        )
    ).scalars()
    by_uuid = {row.id: row for row in rows}
    return {key: by_uuid[value] for key, value in parsed.items() if value in by_uuid}


async def jobs_related_to(
    db: AsyncSession, user: User, related_ids: Sequence[str]
) -> dict[str, list[Job]]:
    """The user's jobs of each related row (a prediction's calls), newest first, one query."""
    if not related_ids:
        return {}
    stmt = (
        sa.select(Job)
        .where(Job.user_id == user.id, Job.related_id.in_(set(related_ids)))
        .order_by(Job.created_at.desc(), Job.id.desc())
    )
    rows = (await db.execute(stmt)).scalars()
    grouped: dict[str, list[Job]] = {}
    for row in rows:
        grouped.setdefault(row.related_id or "", []).append(row)
    return grouped

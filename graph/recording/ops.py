"""Recording domain: idempotent batch ingest of CloneEvents, sessions, reads and live follow.

Ingest is set-based: whatever the batch size, one ingest issues the same handful of statements
(read the sessions' owners, look for already stored ids, insert the new events, fold them into
the session rows, announce them), so the database, not Python, sets the pace.
"""

import functools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import metrics
from gateway.broadcast import Subscription
from gateway.errors import Forbidden, Invalid, NotFound
from gateway.services import Services
from graph.pagination import Page, PageSpec, count_per_parent, page_per_parent, paginate
from graph.validate import holds_nul
from models.accounts import User
from models.recording import RecordingEvent, RecordingSession
from models.types import utcnow
from schema.validator import EVENT_TYPES, MAX_ERRORS_PER_ITEM, validate_event

MAX_BATCH_SIZE = 1000
# A session's events: by occurrence, ties by arrival (SPEC §10).
EVENT_ORDER = (RecordingEvent.occurred_at, RecordingEvent.arrival, RecordingEvent.seq)
SESSIONS_PAGE = PageSpec(default=50, maximum=200)
SESSION_EVENTS_PAGE = PageSpec(default=500, maximum=2000)
FOREIGN_SESSION = "session belongs to another user"
# SPEC §3: the producer should not send these; the server makes sure they are never stored.
KEYSTROKE_PRIVATE_FIELDS = ("keychar", "keycode")
# Sequence numbers per announcement, so one message stays small whatever the batch size.
ANNOUNCE_CHUNK = 400


@dataclass(frozen=True)
class ItemError:
    index: int
    errors: list[str]


class StoredEvent(NamedTuple):
    """A newly stored event, as ingest needs it (cheaper than an ORM object per row)."""

    seq: int
    id: str
    session_id: str
    type: str
    source: str
    source_detail: str | None
    occurred_at: datetime


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    invalid: list[ItemError] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)  # the newly stored ones


class _Candidate(NamedTuple):
    index: int
    event: dict[str, Any]
    occurred_at: datetime
    payload: str


# --- ingest -----------------------------------------------------------------------------------


def _prepare(index: int, item: object) -> _Candidate | list[str]:
    """Validate one item; the candidate to store, or its error messages."""
    if (
        isinstance(item, dict)
        and item.get("type") == "input.keystroke"
        and any(name in item for name in KEYSTROKE_PRIVATE_FIELDS)
    ):
        item = {k: v for k, v in item.items() if k not in KEYSTROKE_PRIVATE_FIELDS}
    errors = validate_event(item)
    if errors:
        return errors
    assert isinstance(item, dict)
    payload = orjson.dumps(item).decode()
    if "\\u0000" in payload and holds_nul(item):
        return ["text contains a NUL character (\\u0000), which cannot be stored"]
    try:
        occurred_at = datetime.fromisoformat(item["occurred_at"])
        if occurred_at.tzinfo is not UTC:
            occurred_at = occurred_at.astimezone(UTC)
    except (ValueError, OverflowError):
        return ["occurred_at: out of the representable range once converted to UTC"]
    return _Candidate(index, item, occurred_at, payload)


async def ingest_events(
    db: AsyncSession, services: Services, user: User, items: object
) -> IngestResult:
    """Store the valid, new events of a batch; report duplicates and per-item errors.

    The whole batch is refused (400/403, nothing stored) only for a bad body or an account
    that does not record; otherwise each item stands on its own.
    """
    if not isinstance(items, list):
        raise Invalid("the body must be a JSON array of CloneEvents")
    if not items:
        raise Invalid("the batch is empty: send 1 to 1000 CloneEvents")
    if len(items) > MAX_BATCH_SIZE:
        raise Invalid(f"the batch has {len(items)} events; at most {MAX_BATCH_SIZE} are accepted")
    if not user.recording_opt_in:
        raise Forbidden("recording is turned off for this account", code="recording_disabled")

    result = IngestResult()
    invalid: dict[int, list[str]] = {}
    candidates: dict[str, _Candidate] = {}
    for index, item in enumerate(items):
        prepared = _prepare(index, item)
        if isinstance(prepared, list):
            invalid[index] = prepared[:MAX_ERRORS_PER_ITEM]
        elif prepared.event["id"] in candidates:
            result.duplicates += 1  # the same id twice in one batch is stored once
        else:
            candidates[prepared.event["id"]] = prepared

    if candidates:
        async with services.database.serialized_writes():
            await _store(db, services, user, candidates, invalid, result)
    result.invalid = [ItemError(index, invalid[index]) for index in sorted(invalid)]
    metrics.count_ingest(result.accepted, result.duplicates, len(result.invalid))
    return result


async def _store(
    db: AsyncSession,
    services: Services,
    user: User,
    candidates: dict[str, _Candidate],
    invalid: dict[int, list[str]],
    result: IngestResult,
) -> None:
    """The write half of ingest: one transaction, a constant number of statements."""
    now = utcnow()
    by_session: dict[str, list[_Candidate]] = defaultdict(list)
    for candidate in candidates.values():
        by_session[candidate.event["session_id"]].append(candidate)
    owners = await _session_owners(db, list(by_session))
    for session_id, owner in owners.items():
        if owner != user.id:
            for candidate in by_session.pop(session_id):
                invalid[candidate.index] = [FOREIGN_SESSION]
    stored = await _insert_events(db, user, by_session, now)
    if stored:
        lost = await _fold_into_sessions(db, user, stored, now)
        if lost:  # another user created one of these sessions a moment ago
            stored = await _withdraw(db, user, stored, lost, invalid, candidates)
        await _announce(db, services, stored)
    result.events = stored
    result.accepted = len(stored)
    foreign = sum(1 for c in candidates.values() if c.index in invalid)
    result.duplicates += len(candidates) - len(stored) - foreign
    await db.commit()


async def _session_owners(db: AsyncSession, session_ids: list[str]) -> dict[str, uuid.UUID]:
    """The owner of each of these sessions that exists already."""
    owned = await db.execute(
        sa.select(RecordingSession.id, RecordingSession.user_id).where(
            RecordingSession.id.in_(session_ids)
        )
    )
    return {row.id: row.user_id for row in owned}


async def _withdraw(
    db: AsyncSession,
    user: User,
    stored: list[StoredEvent],
    lost: set[str],
    invalid: dict[int, list[str]],
    candidates: dict[str, _Candidate],
) -> list[StoredEvent]:
    """Take back events stored into sessions that turned out to be someone else's."""
    withdrawn = [event for event in stored if event.session_id in lost]
    await db.execute(
        sa.delete(RecordingEvent).where(
            RecordingEvent.user_id == user.id,
            RecordingEvent.seq.in_([event.seq for event in withdrawn]),
        )
    )
    for event in withdrawn:
        invalid[candidates[event.id].index] = [FOREIGN_SESSION]
    return [event for event in stored if event.session_id not in lost]


def arrival_base(received_at: datetime) -> int:
    """The arrival key of position 0 of a batch received at `received_at` (see the model)."""
    return int(received_at.timestamp() * 1_000_000) * 1024


EVENTS = RecordingEvent.__table__
SESSIONS = RecordingSession.__table__
_EVENT_COLUMNS = (
    "arrival",
    "user_id",
    "id",
    "session_id",
    "type",
    "source",
    "source_detail",
    "occurred_at",
    "received_at",
    "payload",
)


@functools.cache
def _stored_ids_statement(dialect: str) -> Any:
    """Which of a list of event ids a user has stored: one unique-index probe per id.

    The ids go as one array parameter on PostgreSQL, one JSON text on SQLite, so the statement
    is the same whatever the batch size. On PostgreSQL each probe is a LATERAL subquery with
    LIMIT 1, which the planner cannot turn into a join: as a join it sometimes chose to hash
    the ids and scan the whole table (statistics lag behind a burst of ingest), stalling
    batches for most of a second (seen with bench/ingest.py). The plans are tested.
    """
    ids = sa.bindparam("ids")
    user_id = sa.bindparam("user_id")
    if dialect == "postgresql":
        unnest = sa.func.unnest(sa.type_coerce(ids, postgresql.ARRAY(sa.String)))
        listed = unnest.table_valued("value").render_derived(name="listed")
        hit = (
            sa.select(EVENTS.c.id)
            .where(EVENTS.c.user_id == user_id, EVENTS.c.id == listed.c.value)
            .limit(sa.literal_column("1"))  # a constant, so no generic plan guesses it
            .lateral("hit")
        )
        return sa.select(hit.c.id).select_from(listed).join(hit, sa.true())
    # SQLite: an IN list, probed in the index; as a join it walked all of the user's rows.
    listed = sa.func.json_each(sa.type_coerce(ids, sa.JSON)).table_valued("value")
    return sa.select(EVENTS.c.id).where(
        EVENTS.c.user_id == user_id, EVENTS.c.id.in_(sa.select(listed.c.value))
    )


async def _stored_ids(db: AsyncSession, user: User, event_ids: list[str]) -> set[str]:
    statement = _stored_ids_statement(db.bind.dialect.name)
    rows = await db.execute(statement, {"user_id": user.id, "ids": event_ids})
    return set(rows.scalars())


async def _known_ids(db: AsyncSession, user: User, event_ids: list[str]) -> set[str]:
    """The ids of a batch (sorted) that are stored already, when it looks like a re-send.

    A re-sent batch then costs one indexed read instead of shipping every row to the insert
    only to have each one conflict. New batches are the common case and should not pay a
    thousand probes for nothing, so first, whether the batch's first, middle or last id is
    known: a re-send is recognised by that, and a new batch pays three probes. A batch that
    overlaps stored ones only elsewhere is still correct: the insert's ON CONFLICT DO NOTHING
    settles it (and any race with a concurrent batch).
    """
    sample = list(dict.fromkeys((event_ids[0], event_ids[len(event_ids) // 2], event_ids[-1])))
    if not await _stored_ids(db, user, sample):
        return set()
    return await _stored_ids(db, user, event_ids)


async def _insert_events(
    db: AsyncSession, user: User, by_session: dict[str, list[_Candidate]], now: datetime
) -> list[StoredEvent]:
    """Insert the batch with ON CONFLICT DO NOTHING; return only the events that are new.

    Rows go in event-id order, so concurrent batches with shared ids lock them in one order.
    """
    ordered = sorted(
        (c for group in by_session.values() for c in group), key=lambda c: c.event["id"]
    )
    if ordered:
        known = await _known_ids(db, user, [c.event["id"] for c in ordered])
        ordered = [c for c in ordered if c.event["id"] not in known]
    if not ordered:
        return []
    base = arrival_base(now)
    if db.bind.dialect.name == "postgresql":
        inserted = await _copy_insert_events(db, user, ordered, now, base)
    else:
        inserted = await _sqlite_insert_events(db, user, ordered, now, base)
    return [
        StoredEvent(
            inserted[event["id"]],
            event["id"],
            event["session_id"],
            event["type"],
            event["source"],
            event["source_detail"],
            c.occurred_at,
        )
        for c in ordered
        if (event := c.event)["id"] in inserted
    ]


def _sqlite_time(value: datetime) -> str:
    """A UTC datetime as UtcDateTime stores it on SQLite (naive, always six fractional digits),
    without SQLAlchemy's per-value processing; a test holds the two to the same text."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


async def _sqlite_insert_events(
    db: AsyncSession, user: User, ordered: list[_Candidate], now: datetime, base: int
) -> dict[str, int]:
    """SQLite: one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, its values passed to
    the driver as they are stored. SQLite writes one transaction at a time, so the time this
    takes is the time every other writer waits. Through SQLAlchemy's per-value processing a
    1000-event batch took 24 ms of the server's CPU, this way 16 ms."""
    row = "(" + ", ".join("?" * len(_EVENT_COLUMNS)) + ")"
    sql = (
        f"INSERT INTO recording_events ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES {', '.join([row] * len(ordered))} "
        "ON CONFLICT (user_id, id) DO NOTHING RETURNING seq, id"
    )
    user_id, received_at = user.id.hex, _sqlite_time(now)
    values: list[Any] = []
    for c in ordered:
        event = c.event
        values += (
            base + c.index,
            user_id,
            event["id"],
            event["session_id"],
            event["type"],
            event["source"],
            event["source_detail"],
            _sqlite_time(c.occurred_at),
            received_at,
            c.payload,
        )
    connection = await db.connection()
    rows = await connection.exec_driver_sql(sql, tuple(values))
    return {event_id: seq for seq, event_id in rows}


_NEXT_SEQS = "SELECT array_agg(nextval('recording_events_seq_seq')) FROM generate_series(1, %s)"
_COPY_COLUMNS = ", ".join(("seq", *_EVENT_COLUMNS))
_DIRECT_COPY = f"COPY recording_events ({_COPY_COLUMNS}) FROM STDIN"
_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS recording_events_staging (
    seq bigint, arrival bigint, user_id uuid, id varchar(200), session_id varchar(200),
    type varchar(32), source varchar(32), source_detail text, occurred_at timestamptz,
    received_at timestamptz, payload text
) ON COMMIT DELETE ROWS
"""
_STAGING_COPY = f"COPY recording_events_staging ({_COPY_COLUMNS}) FROM STDIN"
_STAGING_INSERT_SQL = (
    f"INSERT INTO recording_events ({_COPY_COLUMNS}) "
    f"SELECT {_COPY_COLUMNS} FROM recording_events_staging ORDER BY seq "
    "ON CONFLICT (user_id, id) DO NOTHING RETURNING id"
)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escape(text: str) -> str:
    """A text field in COPY's text format (backslash escapes for the four special chars)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


# The longest RFC 3339 texts with at most six fractional digits: 2026-05-05T12:00:00.123456Z,
# and the same with an offset (+05:30) instead of the Z.
_MAX_MICROSECOND_ZULU = len("YYYY-MM-DDTHH:MM:SS.ffffffZ")
_MAX_MICROSECOND = len("YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM")


def _copy_text(
    user: User, ordered: list[_Candidate], seqs: list[int], now: datetime, base: int
) -> str:
    """The batch as COPY text, one line per event, in `_COPY_COLUMNS` order.

    `type` and `source` are schema enums and timestamps are RFC 3339 text, so they need no
    escaping. The payload is orjson output, which writes a backslash for each of COPY's special
    characters anywhere in the event: a payload without one vouches for the event's id,
    session id and source detail as well, and the row goes out as it is.
    `occurred_at` goes as the producer wrote it (the schema's pattern admits only RFC 3339,
    which PostgreSQL reads as the same instant as Python did) unless it has more than six
    fractional digits, which PostgreSQL would round: then as our parsed value, truncated
    exactly as on SQLite. That saves formatting a thousand datetimes per batch.
    """
    user_id, received_at = str(user.id), now.isoformat()
    null, backslash, doubled = "\\N", "\\", "\\\\"
    lines = []
    for c, seq in zip(ordered, seqs, strict=True):
        event, payload = c.event, c.payload
        detail = event["source_detail"]
        if backslash in payload:
            event_id, session_id = _escape(event["id"]), _escape(event["session_id"])
            detail = None if detail is None else _escape(detail)
            payload = payload.replace(backslash, doubled)
        else:
            event_id, session_id = event["id"], event["session_id"]
        occurred = event["occurred_at"]
        if len(occurred) > (_MAX_MICROSECOND_ZULU if occurred[-1] == "Z" else _MAX_MICROSECOND):
            occurred = c.occurred_at.isoformat()
        lines.append(
            f"{seq}\t{base + c.index}\t{user_id}\t{event_id}\t{session_id}\t{event['type']}\t"
            f"{event['source']}\t{null if detail is None else detail}\t"
            f"{occurred}\t{received_at}\t{payload}\n"
        )
    return "".join(lines)


async def _copy_insert_events(
    db: AsyncSession, user: User, ordered: list[_Candidate], now: datetime, base: int
) -> dict[str, int]:
    """PostgreSQL: the batch's new rows by COPY; the seq of each event that was stored.

    COPY skips building and parsing a statement with thousands of parameters (MEASURED.md,
    bench/ingest.py). The batch's seqs are drawn first, in one round trip and in event-id
    order, so the rows can go straight into the table: after the known-id check nearly every
    batch is new, and this is the cheapest write there is (about a fifth less database work
    per batch than through a staging table, measured on this machine). Should a row collide
    after all (a concurrent batch, or an overlap the check did not sample), the COPY is
    undone to its savepoint and the batch goes the careful way: COPY into a per-connection
    temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING in seq (= id) order.
    """
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    async with driver.cursor() as cursor:
        await cursor.execute(_NEXT_SEQS, (len(ordered),))
        row = await cursor.fetchone()
        seqs: list[int] = row[0]
        data = _copy_text(user, ordered, seqs, now, base)
        seq_of = {c.event["id"]: seq for c, seq in zip(ordered, seqs, strict=True)}
        await cursor.execute("SAVEPOINT recording_copy")
        try:
            async with cursor.copy(_DIRECT_COPY) as copy:
                await copy.write(data)
        except psycopg.errors.UniqueViolation:
            await cursor.execute("ROLLBACK TO SAVEPOINT recording_copy")
        else:
            await cursor.execute("RELEASE SAVEPOINT recording_copy")
            return seq_of
        if not raw.info.get("recording_staging"):
            await cursor.execute(_STAGING_DDL)
            raw.info["recording_staging"] = True
        async with cursor.copy(_STAGING_COPY) as copy:
            await copy.write(data)
        await cursor.execute(_STAGING_INSERT_SQL)
        return {event_id: seq_of[event_id] for (event_id,) in await cursor.fetchall()}


@functools.cache
def _session_fold_statement(dialect: str) -> Any:
    """The sessions upsert of `_fold_into_sessions`, built once per dialect (it is large)."""
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(SESSIONS)
    new, old = insert.excluded, SESSIONS.c
    postgres = dialect == "postgresql"
    greatest = sa.func.greatest if postgres else sa.func.max  # SQLite's 2-argument max/min
    least = sa.func.least if postgres else sa.func.min
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "event_count": old.event_count + new.event_count,
            "last_event_at": greatest(
                sa.func.coalesce(old.last_event_at, new.last_event_at), new.last_event_at
            ),
            "started_at": sa.case(
                (new.has_started_event, new.started_at),
                (old.has_started_event, old.started_at),
                else_=least(sa.func.coalesce(old.started_at, new.started_at), new.started_at),
            ),
            "has_started_event": sa.or_(old.has_started_event, new.has_started_event),
            "source": sa.case((new.has_started_event, new.source), else_=old.source),
            "source_detail": sa.case(
                (new.has_started_event, new.source_detail), else_=old.source_detail
            ),
            "ended_at": sa.case(
                (
                    sa.and_(
                        new.ended_at.is_not(None),
                        sa.or_(old.ended_at.is_(None), new.ended_at > old.ended_at),
                    ),
                    new.ended_at,
                ),
                else_=old.ended_at,
            ),
        },
        where=old.user_id == new.user_id,
    ).returning(SESSIONS.c.id)


async def _fold_into_sessions(
    db: AsyncSession, user: User, events: Sequence[StoredEvent], now: datetime
) -> set[str]:
    """Create or update the sessions of the new events, in one statement.

    `session.started` sets started_at/source/source_detail whenever it arrives; without one,
    started_at is the earliest event seen; `session.stopped` only ever moves ended_at later.
    A session is created only once it really gains an event, and locked to its first user.
    Returns the session ids that turned out to belong to another user (a lost race).
    Rows are written in id order, so concurrent batches lock sessions in the same order.
    """
    folded: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.seq):
        row = folded.get(event.session_id)
        if row is None:
            row = folded[event.session_id] = {
                "id": event.session_id,
                "user_id": user.id,
                "source": event.source,
                "source_detail": event.source_detail,
                "started_at": event.occurred_at,
                "has_started_event": False,
                "ended_at": None,
                "event_count": 0,
                "last_event_at": event.occurred_at,
                "created_at": now,
            }
        row["event_count"] += 1
        if event.occurred_at > row["last_event_at"]:
            row["last_event_at"] = event.occurred_at
        if event.type == "session.started":
            row.update(
                has_started_event=True,
                started_at=event.occurred_at,
                source=event.source,
                source_detail=event.source_detail,
            )
        elif not row["has_started_event"]:
            row["started_at"] = min(row["started_at"], event.occurred_at)
        if event.type == "session.stopped" and (
            row["ended_at"] is None or event.occurred_at > row["ended_at"]
        ):
            row["ended_at"] = event.occurred_at

    upsert = _session_fold_statement(db.bind.dialect.name)
    written = await db.execute(upsert, [folded[key] for key in sorted(folded)])
    return set(folded) - set(written.scalars())


def session_topic(session_id: str) -> str:
    return f"recording.session:{session_id}"


async def _announce(db: AsyncSession, services: Services, events: Sequence[StoredEvent]) -> None:
    """Tell live followers which rows are new (delivered when the transaction commits)."""
    by_session: dict[str, list[int]] = defaultdict(list)
    for event in events:
        by_session[event.session_id].append(event.seq)
    messages = []
    for session_id, seqs in by_session.items():
        seqs.sort()
        for start in range(0, len(seqs), ANNOUNCE_CHUNK):
            chunk = seqs[start : start + ANNOUNCE_CHUNK]
            messages.append((session_topic(session_id), {"seqs": chunk}))
    await services.broadcast.publish(db, messages)


# --- reads ------------------------------------------------------------------------------------


async def list_sessions(
    db: AsyncSession,
    user: User,
    *,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[RecordingSession]:
    """Most recent first: by start time, then id for a stable order."""
    stmt = (
        sa.select(RecordingSession)
        .where(RecordingSession.user_id == user.id)
        .order_by(RecordingSession.started_at.desc(), RecordingSession.id.desc())
    )
    return await paginate(db, stmt, SESSIONS_PAGE, limit, offset, after=after)


async def get_session(db: AsyncSession, user: User, session_id: str) -> RecordingSession:
    session = await db.get(RecordingSession, session_id)
    if session is None or session.user_id != user.id:
        raise NotFound("session not found")
    return session


def check_event_type(event_type: str | None) -> str | None:
    if event_type is not None and event_type not in EVENT_TYPES:
        raise Invalid(f"type must be one of {', '.join(sorted(EVENT_TYPES))}")
    return event_type


async def list_session_events(
    db: AsyncSession,
    user: User,
    session_id: str,
    *,
    event_type: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[RecordingEvent]:
    """Oldest first (ties by arrival). The session's own counter gives the unfiltered total."""
    session = await get_session(db, user, session_id)
    stmt = (
        sa.select(RecordingEvent)
        .where(RecordingEvent.session_id == session.id)
        .order_by(*EVENT_ORDER)
    )
    total = session.event_count
    if check_event_type(event_type) is not None:
        stmt = stmt.where(RecordingEvent.type == event_type)
        total = None
    return await paginate(db, stmt, SESSION_EVENTS_PAGE, limit, offset, total=total, after=after)


async def get_event(db: AsyncSession, user: User, event_id: str) -> RecordingEvent:
    event = (
        await db.execute(
            sa.select(RecordingEvent).where(
                RecordingEvent.user_id == user.id, RecordingEvent.id == event_id
            )
        )
    ).scalar_one_or_none()
    if event is None:
        raise NotFound("event not found")
    return event


# --- live -------------------------------------------------------------------------------------


class SessionFollower:
    """New events of one session, in batches as they are committed."""

    def __init__(self, services: Services, user: User, session_id: str, sub: Subscription) -> None:
        self._services = services
        self._user_id = user.id
        self._session_id = session_id
        self._subscription = sub

    async def next_batch(self) -> list[RecordingEvent]:
        message = await self._subscription.next()
        seqs = [int(seq) for seq in message.get("seqs", [])]
        async with self._services.database.sessions() as db:
            rows = await db.execute(
                sa.select(RecordingEvent)
                .where(
                    RecordingEvent.seq.in_(seqs),
                    RecordingEvent.user_id == self._user_id,
                    RecordingEvent.session_id == self._session_id,
                )
                .order_by(*EVENT_ORDER)
            )
            return list(rows.scalars())


@asynccontextmanager
async def follow_session(
    services: Services, user: User, session_id: str
) -> AsyncIterator[SessionFollower]:
    """Subscribe to a session's new events; 404 for an unknown or foreign session.

    The subscription is in place before this yields, so nothing committed afterwards is missed.
    It holds no database connection while waiting.
    """
    async with services.database.sessions() as db:
        await get_session(db, user, session_id)
    async with services.broadcast.subscribe(session_topic(session_id)) as subscription:
        yield SessionFollower(services, user, session_id, subscription)


# --- batched lookups (the DataLoaders behind the graph's edges) --------------------------------


async def sessions_by_id(
    db: AsyncSession, user: User, session_ids: Sequence[str]
) -> dict[str, RecordingSession]:
    rows = await db.execute(
        sa.select(RecordingSession).where(
            RecordingSession.id.in_(list(session_ids)), RecordingSession.user_id == user.id
        )
    )
    return {session.id: session for session in rows.scalars()}


async def events_by_seq(
    db: AsyncSession, user: User, seqs: Sequence[int]
) -> dict[int, RecordingEvent]:
    rows = await db.execute(
        sa.select(RecordingEvent).where(
            RecordingEvent.seq.in_(list(seqs)), RecordingEvent.user_id == user.id
        )
    )
    return {event.seq: event for event in rows.scalars() if event.seq is not None}


def _session_events_filter(user: User, event_type: str | None) -> list[Any]:
    where = [RecordingEvent.user_id == user.id]
    if check_event_type(event_type) is not None:
        where.append(RecordingEvent.type == event_type)
    return where


async def events_of_sessions(
    db: AsyncSession,
    user: User,
    session_ids: Sequence[str],
    *,
    event_type: str | None,
    limit: int | None,
    offset: int | None = None,
    after: str | None = None,
    last: bool = False,
) -> dict[str, Page[RecordingEvent]]:
    """One page of events for each of many sessions, in one query (a window per session);
    with `last`, each session's most recent `limit` events."""
    return await page_per_parent(
        db,
        RecordingEvent,
        RecordingEvent.session_id,
        session_ids,
        EVENT_ORDER,
        SESSION_EVENTS_PAGE,
        limit,
        offset,
        *_session_events_filter(user, event_type),
        after=after,
        from_end=last,
    )


async def event_counts_of_sessions(
    db: AsyncSession, user: User, session_ids: Sequence[str], *, event_type: str | None
) -> dict[str, int]:
    """How many events (of a type) each session holds, in one statement."""
    return await count_per_parent(
        db, RecordingEvent.session_id, session_ids, *_session_events_filter(user, event_type)
    )


async def events_by_id(
    db: AsyncSession, user: User, event_ids: Sequence[str]
) -> dict[str, RecordingEvent]:
    rows = await db.execute(
        sa.select(RecordingEvent).where(
            RecordingEvent.id.in_(list(event_ids)), RecordingEvent.user_id == user.id
        )
    )
    return {event.id: event for event in rows.scalars()}

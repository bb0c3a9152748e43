"""The database engine: one async engine per app, PostgreSQL (psycopg 3) or SQLite (aiosqlite)."""

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Every PostgreSQL session runs in UTC: psycopg then returns timestamps as aware UTC datetimes
# that need no conversion on the way out (models/types.py, UtcDateTime).
POSTGRES_UTC = {"options": "-c TimeZone=UTC"}


def normalize_url(url: str, *, asynchronous: bool) -> URL:
    """Accept the URLs people write (`postgresql://`, `sqlite:///x.db`) and pick our drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite+pysqlite")
    raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite:///")


def is_sqlite(url: str | URL) -> bool:
    return make_url(str(url) if isinstance(url, URL) else url).get_backend_name() == "sqlite"


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def fold_case(db: AsyncSession, expression: Any) -> Any:
    """SQL that case-folds text the same way on both databases (compare with `str.casefold`).

    PostgreSQL's lower() is Unicode-aware under UTF-8 locales; SQLite's is ASCII-only, so
    SQLite connections get a `casefold` function (registered in `_configure_sqlite`).
    """
    if db.bind.dialect.name == "sqlite":
        return sa.func.casefold(expression)
    return sa.func.lower(expression)


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL lets readers run beside the writer; foreign keys are off by default in SQLite."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's lower() folds ASCII only; case-insensitive search needs Unicode folding.
        dbapi_connection.create_function(  # type: ignore[attr-defined]
            "casefold", 1, _casefold, deterministic=True
        )


def create_sync_engine(url: str) -> sa.Engine:
    """A blocking engine for migrations and maintenance commands."""
    normalized = normalize_url(url, asynchronous=False)
    if normalized.get_backend_name() != "sqlite":
        return sa.create_engine(normalized, pool_pre_ping=True, connect_args=POSTGRES_UTC)
    engine = sa.create_engine(normalized, pool_pre_ping=True)
    _configure_sqlite(engine)
    return engine


class SerialAsyncSession(AsyncSession):
    """An AsyncSession that concurrent coroutines of one request may share.

    GraphQL resolves sibling fields concurrently, but a session (one connection) can only run
    one statement at a time; a lock makes each call wait its turn instead of failing. The lock
    is reentrant per task, since some methods delegate to others (`scalars` calls `execute`).
    Mutations run serially per the GraphQL spec, so a write's statements are never interleaved
    with another write's.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serial = asyncio.Lock()
        self._serial_owner: asyncio.Task[Any] | None = None

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._serial_owner is task:
            yield  # already ours: a method calling another one
            return
        async with self._serial:
            self._serial_owner = task
            try:
                yield
            finally:
                self._serial_owner = None


def _serialized(name: str) -> Callable[..., Any]:
    method = getattr(AsyncSession, name)

    @functools.wraps(method)
    async def call(self: SerialAsyncSession, *args: Any, **kwargs: Any) -> Any:
        async with self._turn():
            return await method(self, *args, **kwargs)

    return call


for _name in (
    "execute",
    "scalar",
    "scalars",
    "get",
    "get_one",
    "delete",
    "merge",
    "flush",
    "refresh",
    "commit",
    "rollback",
    "close",
    "connection",
    "run_sync",
):
    setattr(SerialAsyncSession, _name, _serialized(_name))


@dataclass(frozen=True)
class Database:
    """The app's engine and the factory for per-request sessions."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def serialized_writes(self) -> AsyncIterator[None]:
        """On SQLite, let one write transaction of this process run at a time.

        SQLite has a single writer; concurrent writers on separate connections would otherwise
        meet its busy handler, which backs off in sleeps of up to 100 ms (seconds of tail
        latency under load). Queueing here is fair and costs nothing. PostgreSQL: a no-op.
        """
        if self.engine.dialect.name != "sqlite":
            yield
            return
        async with self._write_lock:
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_database(url: str, *, pool_size: int = 10) -> Database:
    normalized = normalize_url(url, asynchronous=True)
    # JSON columns (candidates, snapshots, payloads) through orjson: a dashboard decodes
    # hundreds of them per request, several times faster than with the standard library.
    json_codec = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if normalized.get_backend_name() == "sqlite":
        engine = create_async_engine(normalized, **json_codec)
        _configure_sqlite(engine.sync_engine)
    else:
        engine = create_async_engine(
            normalized,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=POSTGRES_UTC,
            **json_codec,
        )
    sessions = async_sessionmaker(
        engine, class_=SerialAsyncSession, expire_on_commit=False, autoflush=False
    )
    return Database(engine=engine, sessions=sessions)


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT construct, which carries ON CONFLICT support on both databases."""
    if session.bind.dialect.name == "postgresql":
        return postgresql_insert
    return sqlite_insert

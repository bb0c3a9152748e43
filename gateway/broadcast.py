"""Fan-out of small JSON messages to live subscribers (SSE streams, GraphQL subscriptions).

On PostgreSQL a message is a `NOTIFY` sent in the publisher's transaction, so it is delivered
(to every server process that LISTENs) only if and when the data it announces is committed.
On SQLite, which has no such channel, delivery is in-process after the commit: one server
process, the embedded default's deployment. Messages only announce; subscribers read the data
itself from the database, so a message stays far below NOTIFY's 8000-byte payload limit.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

CHANNEL = "clone_broadcast"
SUBSCRIBER_QUEUE_SIZE = 1000
MAX_MESSAGE_BYTES = 7900  # NOTIFY payloads must stay under 8000 bytes
RECONNECT_DELAY_S = 1.0

Message = dict[str, Any]


_PENDING_KEY = "clone_broadcast_pending"


def _forget_pending(session: Session) -> None:
    session.info.get(_PENDING_KEY, []).clear()


class SubscriberLagged(Exception):
    """A subscriber fell more than SUBSCRIBER_QUEUE_SIZE messages behind and was cut off."""


class Subscription:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.lagged = False

    def deliver(self, message: Message) -> None:
        if self.lagged:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.lagged = True
            self._queue.get_nowait()
            self._queue.put_nowait(None)  # wake the reader so it can see it was cut off

    async def next(self) -> Message:
        message = await self._queue.get()
        if message is None:
            raise SubscriberLagged("the subscriber fell too far behind")
        return message


class Broadcast:
    """In-process fan-out; the base of the PostgreSQL variant."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscription]] = defaultdict(set)

    async def publish(self, db: AsyncSession, messages: Sequence[tuple[str, Message]]) -> None:
        """Announce (topic, message) pairs when `db`'s transaction commits; a rollback forgets.

        However many messages, this costs at most one statement.
        """
        pending = db.info.get(_PENDING_KEY)
        if pending is None:
            pending = db.info[_PENDING_KEY] = []
            sa.event.listen(db.sync_session, "after_commit", self._flush_pending)
            sa.event.listen(db.sync_session, "after_rollback", _forget_pending)
        pending.extend(messages)

    def _flush_pending(self, session: Session) -> None:
        pending = session.info.get(_PENDING_KEY, [])
        for topic, message in pending:
            self._dispatch(topic, message)
        pending.clear()

    def _dispatch(self, topic: str, message: Message) -> None:
        for subscription in list(self._topics.get(topic, ())):
            subscription.deliver(message)

    async def _ready(self) -> None:
        """Hook: the PostgreSQL variant waits until its LISTEN is in place."""

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._topics[topic].add(subscription)
        try:
            await self._ready()
            yield subscription
        finally:
            self._topics[topic].discard(subscription)
            if not self._topics[topic]:
                del self._topics[topic]

    async def aclose(self) -> None:
        self._topics.clear()


_NOTIFY_MANY = sa.text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)


class PostgresBroadcast(Broadcast):
    """LISTEN on one dedicated connection per process, opened with the first subscriber."""

    def __init__(self, url: URL) -> None:
        super().__init__()
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def publish(self, db: AsyncSession, messages: Sequence[tuple[str, Message]]) -> None:
        payloads = [
            orjson.dumps({"t": topic, "m": message}).decode() for topic, message in messages
        ]
        for payload in payloads:
            if len(payload.encode()) > MAX_MESSAGE_BYTES:
                raise ValueError(f"broadcast message too large ({len(payload)} bytes)")
        if payloads:
            await db.execute(_NOTIFY_MANY, {"channel": CHANNEL, "payloads": payloads})

    async def _ready(self) -> None:
        if self._listener is None or self._listener.done():
            self._listening.clear()
            self._listener = asyncio.create_task(self._listen(), name="broadcast-listener")
        await self._listening.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    async for notify in conn.notifies():
                        self._on_notify(notify.payload)
            except asyncio.CancelledError:
                raise
            except psycopg.Error:
                logger.exception("broadcast listener lost its connection; reconnecting")
                self._listening.clear()
                await asyncio.sleep(RECONNECT_DELAY_S)

    def _on_notify(self, payload: str) -> None:
        try:
            envelope = orjson.loads(payload)
            self._dispatch(envelope["t"], envelope["m"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            logger.warning("ignoring malformed broadcast payload")

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await super().aclose()


def create_broadcast(url: URL) -> Broadcast:
    if url.get_backend_name() == "postgresql":
        return PostgresBroadcast(url)
    return Broadcast()

"""Recording in GraphQL: thin resolvers over `graph.recording.ops`."""

from collections.abc import AsyncGenerator

import strawberry
from strawberry.scalars import JSON

from gateway.errors import NotFound
from graph.connections import Connection, from_page
from graph.info import Info
from graph.recording import ops
from graph.recording.types import (
    Event,
    IngestItemError,
    IngestResult,
    RecordingSessionType,
    event_from_row,
)


@strawberry.type
class RecordingQuery:
    @strawberry.field(description="Your recording sessions, most recent first.")
    async def recording_sessions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RecordingSessionType]:
        ctx = info.context
        page = await ops.list_sessions(ctx.db, await ctx.require_reader(), limit=first, after=after)
        return from_page(page, RecordingSessionType.from_row, after)

    @strawberry.field(description="One of your sessions by its producer id, or null.")
    async def recording_session(self, info: Info, session_id: str) -> RecordingSessionType | None:
        ctx = info.context
        try:
            session = await ops.get_session(ctx.db, await ctx.require_reader(), session_id)
        except NotFound:
            return None
        return RecordingSessionType.from_row(session)

    @strawberry.field(description="One of your events by its producer id, or null.")
    async def event(self, info: Info, event_id: str) -> Event | None:
        ctx = info.context
        try:
            row = await ops.get_event(ctx.db, await ctx.require_reader(), event_id)
        except NotFound:
            return None
        return event_from_row(row)


@strawberry.type
class RecordingMutation:
    @strawberry.mutation(description="Batch ingest of 1 to 1000 CloneEvents (REST: POST events/).")
    async def ingest_events(self, info: Info, events: list[JSON]) -> IngestResult:
        ctx = info.context
        result = await ops.ingest_events(ctx.db, ctx.services, await ctx.require_user(), events)
        return IngestResult(
            accepted=result.accepted,
            duplicates=result.duplicates,
            invalid=[IngestItemError(index=i.index, errors=i.errors) for i in result.invalid],
        )


@strawberry.type
class RecordingSubscription:
    @strawberry.subscription(description="Each event ingested into the session from now on.")
    async def event_ingested(self, info: Info, session_id: str) -> AsyncGenerator[Event, None]:
        ctx = info.context
        user = await ctx.require_reader()
        await ctx.aclose()  # hold no connection while waiting
        async with ops.follow_session(ctx.services, user, session_id) as follower:
            while True:
                for row in await follower.next_batch():
                    yield event_from_row(row)

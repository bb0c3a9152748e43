"""`/api/recording/*`: SPEC §3."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway import jsonio
from gateway.broadcast import SubscriberLagged
from graph.context import RequestContext
from graph.recording import ops
from models.recording import RecordingEvent, RecordingSession
from rest_compat.http import (
    EncodedIdRoute,
    JSONResponse,
    endpoint,
    page_body,
    page_params,
    read_json,
)

HEARTBEAT_S = 15.0
LAGGED_FRAME = b'event: error\ndata: {"error": "stream fell behind", "code": "lagged"}\n\n'


def event_json(event: RecordingEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "session_id": event.session_id,
        "type": event.type,
        "source": event.source,
        "source_detail": event.source_detail,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "payload": orjson.Fragment(event.payload),  # stored as accepted: no re-parsing
    }


def session_json(session: RecordingSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "source": session.source,
        "source_detail": session.source_detail,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "event_count": session.event_count,
        "last_event_at": session.last_event_at,
        "created_at": session.created_at,
    }


@endpoint()
async def ingest(request: Request, ctx: RequestContext) -> Response:
    result = await ops.ingest_events(
        ctx.db, ctx.services, await ctx.require_user(), await read_json(request)
    )
    body = {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "invalid": [{"index": item.index, "errors": item.errors} for item in result.invalid],
    }
    return JSONResponse(body, status_code=201 if result.accepted else 200)


@endpoint()
async def event_detail(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_reader()
    event = await ops.get_event(ctx.db, user, request.path_params["event_id"])
    return JSONResponse(event_json(event))


@endpoint()
async def sessions(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, ops.SESSIONS_PAGE)
    page = await ops.list_sessions(ctx.db, await ctx.require_reader(), limit=limit, offset=offset)
    return JSONResponse(page_body(request, page, session_json))


@endpoint()
async def session_detail(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_reader()
    return JSONResponse(session_json(await ops.get_session(ctx.db, user, _session_id(request))))


@endpoint()
async def session_events(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, ops.SESSION_EVENTS_PAGE)
    page = await ops.list_session_events(
        ctx.db,
        await ctx.require_reader(),
        _session_id(request),
        event_type=request.query_params.get("type") or None,
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, event_json))


@endpoint()
async def session_stream(request: Request, ctx: RequestContext) -> Response:
    """Server-Sent Events: each newly ingested event as an `event: clone_event` frame.

    The stream ends after the `session.stopped` frame; a comment line every HEARTBEAT_S keeps
    proxies from closing an idle connection.
    """
    user = await ctx.require_reader()
    session_id = _session_id(request)
    await ops.get_session(ctx.db, user, session_id)  # 404 now, before the response starts
    await ctx.aclose()  # the stream outlives the request's session: give the connection back

    async def frames() -> AsyncIterator[bytes]:
        async with ops.follow_session(ctx.services, user, session_id) as follower:
            yield b": stream open\n\n"  # the subscription is in place from here on
            while True:
                try:
                    batch = await asyncio.wait_for(follower.next_batch(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                except SubscriberLagged:
                    yield LAGGED_FRAME
                    return
                for event in batch:
                    data = jsonio.dumps(event_json(event))
                    yield b"event: clone_event\ndata: " + data + b"\n\n"
                    if event.type == "session.stopped":
                        return

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _session_id(request: Request) -> str:
    return request.path_params["session_id"]


routes = [
    Route("/events/", ingest, methods=["POST"]),
    EncodedIdRoute("/events/", "event_id", {"": event_detail}),
    Route("/sessions/", sessions, methods=["GET"]),
    EncodedIdRoute(
        "/sessions/",
        "session_id",
        {"": session_detail, "events": session_events, "stream": session_stream},
    ),
]

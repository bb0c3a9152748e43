"""Live recording: the SSE stream and the `eventIngested` subscription, over real servers."""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import PASSWORD, unique_email

SESSION = "live-session"


def event(event_id: str, event_type: str = "agent.prompt", session: str = SESSION, **extra):
    base = {
        "id": event_id,
        "session_id": session,
        "occurred_at": "2026-05-05T12:00:00Z",
        "source": "cli",
        "source_detail": "claude-code",
        "type": event_type,
    }
    if event_type == "agent.prompt":
        base.update(agent="claude", prompt=f"prompt {event_id}")
    base.update(extra)
    return base


async def _account(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base) as client:
        tokens = (
            await client.post(
                "/api/auth/signup/", json={"email": unique_email(), "password": PASSWORD}
            )
        ).json()
        key = (
            await client.post(
                "/api/auth/keys/",
                json={"name": "live"},
                headers={"Authorization": f"Bearer {tokens['access']}"},
            )
        ).json()["key"]
    return {"X-Clone-API-Key": key}


async def _ingest(base: str, headers: dict[str, str], events: list[dict]) -> dict:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/recording/events/", json=events, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()


async def _read_stream(base: str, headers: dict[str, str], opened: asyncio.Event) -> list[dict]:
    """Collect `clone_event` frames until the server ends the stream."""
    frames: list[dict] = []
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        client.stream("GET", f"/api/recording/sessions/{SESSION}/stream/", headers=headers) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in r.aiter_lines():
            if line.startswith(": stream open"):
                opened.set()
            elif line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert name == "clone_event"
                frames.append(json.loads(line.removeprefix("data: ")))
    return frames


async def _stream_sees_ingest(ingest_base: str, stream_base: str) -> None:
    headers = await _account(ingest_base)
    await _ingest(ingest_base, headers, [event("before")])  # creates the session
    opened = asyncio.Event()
    reader = asyncio.create_task(_read_stream(stream_base, headers, opened))
    await asyncio.wait_for(opened.wait(), 10)
    await _ingest(ingest_base, headers, [event("a1"), event("a2"), event("before")])
    await _ingest(
        ingest_base, headers, [event("a3", "session.stopped", occurred_at="2026-05-05T13:00:00Z")]
    )
    frames = await asyncio.wait_for(reader, 20)
    assert [frame["id"] for frame in frames] == ["a1", "a2", "a3"]
    assert frames[0]["payload"]["prompt"] == "prompt a1"
    assert set(frames[0]) == {
        "id",
        "session_id",
        "type",
        "source",
        "source_detail",
        "occurred_at",
        "received_at",
        "payload",
    }
    assert frames[-1]["type"] == "session.stopped"


async def test_sse_stream_delivers_new_events_and_ends_after_stop(start_server):
    base = start_server()
    await _stream_sees_ingest(base, base)


@pytest.mark.postgresql_only  # fan-out across processes is PostgreSQL's LISTEN/NOTIFY
async def test_sse_stream_across_two_server_processes(start_server):
    first, second = start_server(), start_server()
    await _stream_sees_ingest(first, second)


async def test_sse_stream_of_unknown_or_foreign_session_is_404(start_server):
    base = start_server()
    owner = await _account(base)
    stranger = await _account(base)
    await _ingest(base, owner, [event("x")])
    async with httpx.AsyncClient(base_url=base) as client:
        for headers, session in ((owner, "nope"), (stranger, SESSION)):
            response = await client.get(
                f"/api/recording/sessions/{session}/stream/", headers=headers
            )
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


async def _subscription_sees_ingest(ingest_base: str, ws_base: str) -> None:
    headers = await _account(ingest_base)
    await _ingest(ingest_base, headers, [event("before")])
    url = ws_base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = (
            "subscription ($s: String!) { eventIngested(sessionId: $s) "
            "{ eventId type ... on AgentPromptEvent { prompt } session { sessionId } } }"
        )
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": {"s": SESSION}},
                }
            )
        )
        # graphql-transport-ws has no "subscribed" acknowledgement: probe until one arrives.
        for probe in range(50):
            await _ingest(ingest_base, headers, [event(f"probe{probe}")])
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.3))
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("the subscription never delivered an event")
        assert message["payload"]["data"]["eventIngested"]["eventId"].startswith("probe")
        await _ingest(ingest_base, headers, [event("w1"), event("w2")])
        received = []
        while len(received) < 2:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "next", message
            data = message["payload"]["data"]["eventIngested"]
            if not data["eventId"].startswith("probe"):
                received.append(data)
    assert received == [
        {
            "eventId": "w1",
            "type": "agent.prompt",
            "prompt": "prompt w1",
            "session": {"sessionId": SESSION},
        },
        {
            "eventId": "w2",
            "type": "agent.prompt",
            "prompt": "prompt w2",
            "session": {"sessionId": SESSION},
        },
    ]


async def test_graphql_subscription_event_ingested(start_server):
    base = start_server()
    await _subscription_sees_ingest(base, base)


@pytest.mark.postgresql_only  # fan-out across processes is PostgreSQL's LISTEN/NOTIFY
async def test_graphql_subscription_across_two_server_processes(start_server):
    first, second = start_server(), start_server()
    await _subscription_sees_ingest(first, second)


async def test_websocket_without_credentials_is_rejected(start_server):
    base = start_server()
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(Exception) as closed:  # noqa: PT011 - websockets' ConnectionClosed
            await asyncio.wait_for(ws.recv(), 10)
    assert "4403" in str(closed.value)

"""gateway/keepalive.py: a busy worker now and then ends a keep-alive connection."""

import asyncio
import contextlib

import httpx

from gateway.keepalive import KeepAliveRecycler


class Held:
    """An ASGI app whose requests wait until released; `/stream` starts its answer first."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.arrived = 0

    async def __call__(self, scope, receive, send) -> None:
        self.arrived += 1
        streaming = scope["path"] == "/stream"
        if streaming:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] != "/quick":
            await self.release.wait()
        if not streaming:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _until(condition) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the requests never got under way")


@contextlib.asynccontextmanager
async def _busy(app: Held, recycler: KeepAliveRecycler):
    """A client, with one request of it waiting in the app for the whole block."""
    async with _client(recycler) as http:
        slow = asyncio.ensure_future(http.get("/slow"))
        await _until(lambda: app.arrived == 1)
        yield http
        app.release.set()
        assert "connection" not in (await slow).headers  # by then it was alone
    assert recycler.waiting == 0


async def test_a_lone_request_keeps_its_connection():
    app = Held()
    recycler = KeepAliveRecycler(app, probability=1.0, chance=lambda: 0.0)
    async with _client(recycler) as http:
        for _ in range(5):
            assert "connection" not in (await http.get("/quick")).headers
    assert recycler.waiting == 0


async def test_a_busy_worker_ends_the_connection_it_answers():
    app = Held()
    recycler = KeepAliveRecycler(app, probability=1.0, chance=lambda: 0.0)
    async with _busy(app, recycler) as http:
        quick = await http.get("/quick")  # answered while /slow still waits
        assert quick.headers["connection"] == "close"


async def test_the_chance_is_taken_per_busy_answer():
    app = Held()
    draws = iter([0.9, 0.01])  # above the probability, then below; /slow, alone, draws none
    recycler = KeepAliveRecycler(app, probability=0.05, chance=lambda: next(draws))
    async with _busy(app, recycler) as http:
        assert "connection" not in (await http.get("/quick")).headers
        assert (await http.get("/quick")).headers["connection"] == "close"


async def test_an_open_stream_is_no_load():
    """Driven at the ASGI level: httpx's ASGI transport waits for a whole response."""
    app = Held()
    recycler = KeepAliveRecycler(app, probability=1.0, chance=lambda: 0.0)
    sent: dict[str, list[dict]] = {"/stream": [], "/quick": []}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    def call(path: str):
        async def send(message: dict) -> None:
            sent[path].append(message)

        scope = {"type": "http", "path": path, "method": "GET", "headers": []}
        return recycler(scope, receive, send)

    stream = asyncio.ensure_future(call("/stream"))
    await _until(lambda: sent["/stream"])  # the stream's answer has started
    await call("/quick")
    assert (b"connection", b"close") not in sent["/quick"][0]["headers"]
    app.release.set()
    await stream
    assert recycler.waiting == 0


async def test_probability_zero_turns_it_off():
    app = Held()
    recycler = KeepAliveRecycler(app, probability=0.0, chance=lambda: 0.0)
    async with _busy(app, recycler) as http:
        assert "connection" not in (await http.get("/quick")).headers

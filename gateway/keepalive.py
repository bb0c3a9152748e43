"""Spreading long-lived keep-alive connections over the server's worker processes.

The workers share one listening socket and the kernel hands each new connection to whichever
worker accepts first. A few clients that connect at once and then keep their connections open
(recorders posting batch after batch) can end up mostly on one worker: its requests queue
while the other worker idles, and the tail latency of every request on it grows. Nothing
rebalances an open connection.

So a worker that is busy (another request waiting for its answer beside this one) ends a
connection now and then by answering with `Connection: close`. The client reconnects; the
connection goes to whichever worker accepts first, and an idle worker, waiting on the socket,
usually does. A worker that is not busy never ends a connection, so a lone client keeps its
connection for good; a busier worker sheds connections faster than a less busy one, which is
the point. A request counts until its response starts: an open event stream is no load. The
cost is one TCP handshake per `1 / probability` requests on a busy worker (about 0.1 ms on the
same host, against a 1000-event batch's 100+ ms). Measured with bench/ingest.py (2 workers,
8 clients): without it one worker often served five or six of the eight connections.
"""

import random
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = (b"connection", b"close")


class KeepAliveRecycler:
    def __init__(
        self, app: ASGIApp, probability: float, chance: Callable[[], float] = random.random
    ) -> None:
        self.app = app
        self.probability = probability
        self.chance = chance
        self.waiting = 0  # HTTP requests of this process whose response has not started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.probability <= 0:
            await self.app(scope, receive, send)
            return
        self.waiting += 1
        started = False

        async def answer(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                busy = self.waiting > 1
                self.waiting -= 1
                if busy and self.chance() < self.probability:
                    message = {**message, "headers": [*message.get("headers", ()), CLOSE]}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            if not started:
                self.waiting -= 1

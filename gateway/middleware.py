"""The request scope: body size limit and one RequestContext (with its DB session) per request."""

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import PayloadTooLarge
from gateway.services import Services
from graph.context import RequestContext

MAX_BODY_BYTES = 10 * 1024 * 1024


def _url_holds_nul(scope: Scope) -> bool:
    """No stored value may contain U+0000 (PostgreSQL refuses it), so no URL may carry one."""
    raw = scope.get("raw_path") or b""
    return "\x00" in scope.get("path", "") or b"%00" in raw or b"%00" in scope["query_string"]


async def _reply_too_large(send: Send) -> None:
    await _reply(send, 413, f"request body exceeds {MAX_BODY_BYTES} bytes", "payload_too_large")


async def _reply(send: Send, status: int, message: str, code: str) -> None:
    body = orjson.dumps({"error": message, "code": code})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestScopeMiddleware:
    """Pure ASGI (no response buffering), so streaming responses pass straight through."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["type"] == "http" and _url_holds_nul(scope):
            await _reply(send, 400, "the URL contains a NUL character (%00)", "invalid")
            return
        if scope["type"] == "http":
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                await _reply_too_large(send)
                return
            receive = _limited(receive)
        ctx = RequestContext(services=self.services, headers=headers)
        scope.setdefault("state", {})["ctx"] = ctx
        try:
            await self.app(scope, receive, send)
        finally:
            await ctx.aclose()


def _limited(receive: Receive) -> Receive:
    """Count streamed (chunked) bodies too; the handler turns the error into a 413."""
    received = 0

    async def wrapped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES} bytes")
        return message

    return wrapped

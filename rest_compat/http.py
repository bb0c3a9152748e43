"""Shared pieces of the REST face: JSON in and out, errors, pagination, the endpoint wrapper."""

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, get_route_path
from starlette.types import Receive, Scope, Send

from gateway import jsonio
from gateway.errors import ApiError, Forbidden, Invalid, UnsupportedMediaType
from graph.context import RequestContext
from graph.pagination import Page, PageSpec

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class JSONResponse(Response):
    """orjson-encoded: several times faster than the standard library on large pages."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(
    status: int, message: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


async def api_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.code, exc.headers)


async def http_error_handler(_request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) in our error shape."""
    assert isinstance(exc, HTTPException)
    message = {404: "no such endpoint", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    return error_response(
        exc.status_code, message, _HTTP_CODES.get(exc.status_code, "error"), exc.headers
    )


async def internal_error_handler(_request: Request, _exc: Exception) -> Response:
    """Never a stack trace: the details go to the server log (uvicorn logs the exception)."""
    return error_response(500, "internal server error", "internal_error")


# --- request parsing --------------------------------------------------------------------------


async def read_json(request: Request) -> Any:
    """The decoded JSON body; 415 for another media type, 400 for malformed JSON.

    The 10 MiB limit is enforced earlier, by the request-scope middleware, for every route.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected application/json, got {media_type}")
    body = await request.body()
    if not body.strip():
        raise Invalid("request body is empty; expected JSON", code="malformed_json")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"malformed JSON: {exc}", code="malformed_json") from None


async def read_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise Invalid("request body must be a JSON object")
    return data


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer, not {raw!r}") from None


def query_datetime(request: Request, name: str) -> datetime | None:
    """An ISO-8601 `since`/`until`; a naive value is refused rather than guessed."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO-8601 datetime, not {raw!r}") from None
    if value.tzinfo is None:
        raise Invalid(f"{name} must carry a time zone (for example 2026-05-05T12:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{name} is out of range once converted to UTC") from None


def page_params(request: Request, spec: PageSpec) -> tuple[int, int]:
    return spec.clamp(query_int(request, "limit"), query_int(request, "offset"))


def page_body(request: Request, page: Page[Any], serialize: Callable[[Any], Any]) -> dict[str, Any]:
    """The DRF-compatible limit/offset page, with next/previous links."""

    def link(offset: int) -> str:
        params = dict(request.query_params)
        params.update(limit=str(page.limit), offset=str(offset))
        return f"{request.url.replace(query='')}?{urlencode(params)}"

    has_next = page.limit > 0 and page.offset + page.limit < page.total
    return {
        "results": [serialize(item) for item in page.items],
        "count": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next": link(page.offset + page.limit) if has_next else None,
        "previous": link(max(0, page.offset - page.limit)) if page.offset > 0 else None,
    }


# --- the endpoint wrapper ---------------------------------------------------------------------

Handler = Callable[[Request, RequestContext], Awaitable[Response]]


def context_of(request: Request) -> RequestContext:
    return request.state.ctx


def endpoint(
    *, public: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Non-public endpoints resolve the caller before the handler runs (401 without one).

    Public endpoints ignore credentials, so a client that always sends its (perhaps expired)
    access token can still refresh it or log in again. In member mode (`X-Clone-Account`)
    every request but a GET is a write, and refused here, before any handler runs.
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            ctx = context_of(request)
            if not public:
                await ctx.caller()
                if request.method not in ("GET", "HEAD") and await ctx.reads_another_account():
                    raise Forbidden("X-Clone-Account gives read-only access: GET requests only")
            return await handler(request, ctx)

        return run

    return wrap


class EncodedIdRoute(BaseRoute):
    """`<prefix><id>/[<action>/]`, matched on the still-encoded path.

    Producer ids may hold any character: "/" (sent as %2F) or a newline would be decoded before
    Starlette's regex routes see them, misrouting "run/events" or matching nothing at all.
    `views` maps the action ("" for the resource itself) to its endpoint.
    """

    def __init__(
        self,
        prefix: str,
        param: str,
        views: Mapping[str, Callable[[Request], Awaitable[Response]]],
        methods: Sequence[str] = ("GET",),
    ) -> None:
        self.prefix = prefix
        self.param = param
        self.views = dict(views)
        self.methods = {method.upper() for method in methods} | (
            {"HEAD"} if "GET" in {m.upper() for m in methods} else set()
        )

    def _resolve(self, scope: Scope) -> tuple[str, str] | None:
        route_path = get_route_path(scope)
        if not route_path.startswith(self.prefix):
            return None
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        marker = scope.get("root_path", "") + self.prefix
        start = raw.find(marker)
        if start < 0:
            return None
        parts = raw[start + len(marker) :].split("?", 1)[0].split("/")
        if len(parts) not in (2, 3) or parts[-1] != "" or not parts[0]:
            return None
        action = parts[1] if len(parts) == 3 else ""
        if action not in self.views:
            return None
        return unquote(parts[0]), action

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        resolved = self._resolve(scope)
        if resolved is None:
            return Match.NONE, {}
        identifier, action = resolved
        child = {"path_params": {**scope.get("path_params", {}), self.param: identifier}}
        child["endpoint"] = self.views[action]
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(self.methods))})
        response = await scope["endpoint"](Request(scope, receive))
        await response(scope, receive, send)

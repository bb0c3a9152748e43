"""`/api/sources/*`: SPEC §7, connectors for integrations and their webhooks."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.context import RequestContext
from graph.pagination import Page, PageSpec
from graph.sources import ops
from models.sources import PROVIDERS
from rest_compat.http import JSONResponse, endpoint, no_content, page_body, page_params

# The list is the fixed set of providers: one page holds them all, but limit/offset still work.
SOURCES_PAGE = PageSpec(default=len(PROVIDERS), maximum=len(PROVIDERS))


def base_url(request: Request, ctx: RequestContext) -> str:
    """CLONE_PUBLIC_URL when set, else the address this request reached the gateway at."""
    return ctx.settings.public_url or str(request.base_url)


def source_json(state: ops.SourceState, base: str) -> dict[str, Any]:
    connection = state.connection
    return {
        "provider": state.provider,
        "connected": state.connected,
        "id": connection.id if connection else None,
        "connected_at": connection.created_at if connection else None,
        "last_delivery_at": connection.last_delivery_at if connection else None,
        "webhook_url": ops.webhook_url(base, state.provider),
    }


@endpoint()
async def sources(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, SOURCES_PAGE)
    states = await ops.list_sources(ctx.db, await ctx.require_user())
    page = Page(states[offset : offset + limit], len(states), limit, offset)
    base = base_url(request, ctx)
    return JSONResponse(page_body(request, page, lambda state: source_json(state, base)))


@endpoint()
async def source_detail(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    provider = request.path_params["provider"]
    if request.method == "DELETE":
        await ops.disconnect_source(ctx.db, user, provider)
        return no_content()
    state = await ops.get_source(ctx.db, user, provider)
    return JSONResponse(source_json(state, base_url(request, ctx)))


@endpoint()
async def connect(request: Request, ctx: RequestContext) -> Response:
    connection, token = await ops.connect_source(
        ctx.db, await ctx.require_user(), request.path_params["provider"]
    )
    return JSONResponse(
        {
            "id": connection.id,
            "provider": connection.provider,
            "webhook_url": ops.webhook_url(base_url(request, ctx), connection.provider),
            "token": token,
            "connected_at": connection.created_at,
        },
        status_code=201,
    )


@endpoint(public=True)  # authenticated by the connection's token, inside the operation
async def webhook(request: Request, ctx: RequestContext) -> Response:
    result = await ops.receive_webhook(
        ctx.db,
        ctx.services.database,
        request.path_params["provider"],
        request.headers.get(ops.TOKEN_HEADER),
        await request.body(),
        request.headers,
    )
    if result.handshake is not None:
        return JSONResponse(result.handshake)
    return JSONResponse(
        {
            "stored": result.stored,
            "duplicate": result.duplicate,
            "raw_ids": result.raw_ids,
            "delivery_id": result.delivery_id,
        },
        status_code=201 if result.stored else 200,
    )


routes = [
    Route("/", sources, methods=["GET"]),
    Route("/{provider}/", source_detail, methods=["GET", "DELETE"]),
    Route("/{provider}/connect/", connect, methods=["POST"]),
    Route("/{provider}/webhook/", webhook, methods=["POST"]),
]

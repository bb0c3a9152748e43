"""`/api/access/*`: SPEC §7, sharing your Clone read-only with another account."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.access import ops
from graph.context import RequestContext
from rest_compat.http import (
    JSONResponse,
    endpoint,
    no_content,
    page_body,
    page_params,
    read_object,
)


def membership_json(membership: ops.Membership) -> dict[str, Any]:
    row = membership.member
    return {
        "id": row.id,
        "owner_id": row.owner_id,
        "owner_email": membership.owner_email,
        "email": row.email,
        "member_id": row.member_id,
        "status": row.status,
        "role": membership.role,
        "created_at": row.created_at,
        "responded_at": row.responded_at,
    }


@endpoint()
async def members(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, ops.MEMBERS_PAGE)
    page = await ops.list_members(ctx.db, await ctx.require_user(), limit=limit, offset=offset)
    return JSONResponse(page_body(request, page, membership_json))


@endpoint()
async def invite(request: Request, ctx: RequestContext) -> Response:
    membership = await ops.invite(ctx.db, await ctx.require_user(), await read_object(request))
    return JSONResponse(membership_json(membership), status_code=201)


async def _respond(request: Request, ctx: RequestContext, status: str) -> Response:
    membership = await ops.respond(
        ctx.db, await ctx.require_user(), request.path_params["member_id"], status
    )
    return JSONResponse(membership_json(membership))


@endpoint()
async def approve(request: Request, ctx: RequestContext) -> Response:
    return await _respond(request, ctx, "approved")


@endpoint()
async def decline(request: Request, ctx: RequestContext) -> Response:
    return await _respond(request, ctx, "declined")


@endpoint()
async def revoke(request: Request, ctx: RequestContext) -> Response:
    await ops.revoke(ctx.db, await ctx.require_user(), request.path_params["member_id"])
    return no_content()


routes = [
    Route("/members/", members, methods=["GET"]),
    Route("/invite/", invite, methods=["POST"]),
    Route("/{member_id:uuid}/approve/", approve, methods=["POST"]),
    Route("/{member_id:uuid}/decline/", decline, methods=["POST"]),
    Route("/{member_id:uuid}/", revoke, methods=["DELETE"]),
]

"""`/api/auth/*`: SPEC §2."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.accounts import ops
from graph.context import RequestContext
from models.accounts import ApiKey, User
from rest_compat.http import (
    JSONResponse,
    endpoint,
    no_content,
    page_body,
    page_params,
    read_object,
)


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "is_staff": user.is_staff,
        "date_joined": user.date_joined,
        "recording_opt_in": user.recording_opt_in,
        "session_timeout_min": user.session_timeout_min,
    }


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


def auth_json(result: ops.AuthResult) -> dict[str, Any]:
    return {
        "user": user_json(result.user),
        "access": result.tokens.access,
        "refresh": result.tokens.refresh,
    }


@endpoint(public=True)
async def signup(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    result = await ops.signup(
        ctx.db,
        ctx.services,
        email=body.get("email"),
        password=body.get("password"),
        display_name=body.get("display_name"),
        invite_code=body.get("invite_code"),
    )
    return JSONResponse(auth_json(result), status_code=201)


@endpoint(public=True)
async def login(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    result = await ops.login(
        ctx.db, ctx.services, email=body.get("email"), password=body.get("password")
    )
    return JSONResponse(auth_json(result))


@endpoint()
async def logout(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    await ops.logout(ctx.db, ctx.services, await ctx.require_user(), body.get("refresh"))
    return no_content()


@endpoint(public=True)
async def token_refresh(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    tokens = await ops.refresh_tokens(ctx.db, ctx.services, body.get("refresh"))
    return JSONResponse({"access": tokens.access, "refresh": tokens.refresh})


@endpoint()
async def me(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    if request.method == "PATCH":
        user = await ops.update_me(ctx.db, user, await read_object(request))
    return JSONResponse(user_json(user))


@endpoint(public=True)
async def invite_validate(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    return JSONResponse({"valid": await ops.invite_is_valid(ctx.db, body.get("code"))})


@endpoint(public=True)
async def waitlist(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    entry, created = await ops.join_waitlist(ctx.db, body.get("email"))
    return JSONResponse(
        {"email": entry.email, "created_at": entry.created_at}, status_code=201 if created else 200
    )


@endpoint()
async def keys(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    if request.method == "POST":
        body = await read_object(request)
        key, plaintext = await ops.create_api_key(ctx.db, user, body.get("name"))
        return JSONResponse(
            {
                "id": key.id,
                "name": key.name,
                "key": plaintext,
                "prefix": key.prefix,
                "created_at": key.created_at,
            },
            status_code=201,
        )
    limit, offset = page_params(request, ops.API_KEYS_PAGE)
    page = await ops.list_api_keys(ctx.db, user, limit=limit, offset=offset)
    return JSONResponse(page_body(request, page, api_key_json))


@endpoint()
async def key_detail(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    key_id = request.path_params["key_id"]
    if request.method == "DELETE":
        await ops.revoke_api_key(ctx.db, user, key_id)
        return no_content()
    return JSONResponse(api_key_json(await ops.get_api_key(ctx.db, user, key_id)))


@endpoint(public=True)
async def magic_link(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    token = await ops.request_magic_link(
        ctx.db, ctx.services, email=body.get("email"), invite_code=body.get("invite_code")
    )
    # No mail transport exists yet, so development hands the token to the caller (the
    # operation refuses in production rather than leak a sign-in token to whoever asks).
    return JSONResponse({"sent": True, "magic_token": token}, status_code=202)


@endpoint(public=True)
async def magic_link_verify(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request)
    result = await ops.verify_magic_link(ctx.db, ctx.services, body.get("token"))
    return JSONResponse(auth_json(result))


@endpoint()
async def invites(request: Request, ctx: RequestContext) -> Response:
    staff = await ctx.require_staff()
    body = await read_object(request)
    codes = await ops.create_invites(
        ctx.db, staff, count=body.get("count", 1), note=body.get("note", "")
    )
    return JSONResponse({"codes": codes}, status_code=201)


routes = [
    Route("/signup/", signup, methods=["POST"]),
    Route("/login/", login, methods=["POST"]),
    Route("/logout/", logout, methods=["POST"]),
    Route("/token/refresh/", token_refresh, methods=["POST"]),
    Route("/me/", me, methods=["GET", "PATCH"]),
    Route("/invite/validate/", invite_validate, methods=["POST"]),
    Route("/waitlist/", waitlist, methods=["POST"]),
    Route("/keys/", keys, methods=["GET", "POST"]),
    Route("/keys/{key_id:uuid}/", key_detail, methods=["GET", "DELETE"]),
    Route("/magic-link/", magic_link, methods=["POST"]),
    Route("/magic-link/verify/", magic_link_verify, methods=["POST"]),
    Route("/invites/", invites, methods=["POST"]),
]

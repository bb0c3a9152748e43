"""`/api/memory/*`: SPEC §5."""

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.errors import Invalid
from graph.context import RequestContext
from graph.memory import ops, promote
from graph.memory.export import knowledge_json, knowledge_markdown
from graph.memory.shapes import (
    context_json,
    episode_view_json,
    fact_view_json,
    profile_json,
    raw_json,
)
from rest_compat.http import (
    JSONResponse,
    endpoint,
    no_content,
    page_body,
    page_params,
    query_datetime,
    read_object,
)


def _float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise Invalid(f"{name} must be a number, not {raw!r}") from None


@endpoint()
async def raw_list(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.account_for(request.method)
    if request.method == "POST":
        row = await ops.create_raw(ctx.db, user, await read_object(request))
        return JSONResponse(raw_json(row), status_code=201)
    limit, offset = page_params(request, ops.RAW_PAGE)
    params = request.query_params
    page = await ops.list_raw(
        ctx.db,
        user,
        source=params.get("source") or None,
        session_id=params.get("session_id") or None,
        since=query_datetime(request, "since"),
        until=query_datetime(request, "until"),
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, raw_json))


@endpoint()
async def raw_detail(request: Request, ctx: RequestContext) -> Response:
    user, raw_id = await ctx.account_for(request.method), request.path_params["raw_id"]
    if request.method == "DELETE":
        await ops.delete_raw(ctx.db, user, raw_id)
        return no_content()
    return JSONResponse(raw_json(await ops.get_raw(ctx.db, user, raw_id)))


@endpoint()
async def episode_list(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.account_for(request.method)
    if request.method == "POST":
        view = await ops.create_episode(ctx.db, user, await read_object(request))
        return JSONResponse(episode_view_json(view), status_code=201)
    limit, offset = page_params(request, ops.EPISODES_PAGE)
    page = await ops.list_episodes(
        ctx.db,
        user,
        since=query_datetime(request, "since"),
        until=query_datetime(request, "until"),
        tag=request.query_params.get("tag") or None,
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, episode_view_json))


@endpoint()
async def episode_detail(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.account_for(request.method)
    episode_id = request.path_params["episode_id"]
    if request.method == "DELETE":
        await ops.delete_episode(ctx.db, user, episode_id)
        return no_content()
    if request.method == "PATCH":
        view = await ops.update_episode(ctx.db, user, episode_id, await read_object(request))
    else:
        view = await ops.get_episode(ctx.db, user, episode_id)
    return JSONResponse(episode_view_json(view))


@endpoint()
async def fact_list(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.account_for(request.method)
    if request.method == "POST":
        view = await ops.create_fact(ctx.db, user, await read_object(request))
        return JSONResponse(fact_view_json(view), status_code=201)
    limit, offset = page_params(request, ops.FACTS_PAGE)
    params = request.query_params
    page = await ops.list_facts(
        ctx.db,
        user,
        kind=params.get("kind") or None,
        tag=params.get("tag") or None,
        q=params.get("q") or None,
        min_confidence=_float(request, "min_confidence"),
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, fact_view_json))


@endpoint()
async def fact_detail(request: Request, ctx: RequestContext) -> Response:
    user, fact_id = await ctx.account_for(request.method), request.path_params["fact_id"]
    if request.method == "DELETE":
        await ops.delete_fact(ctx.db, user, fact_id)
        return no_content()
    if request.method == "PATCH":
        view = await ops.update_fact(ctx.db, user, fact_id, await read_object(request))
    else:
        view = await ops.get_fact(ctx.db, user, fact_id)
    return JSONResponse(fact_view_json(view))


@endpoint()
async def profile(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.account_for(request.method)
    if request.method == "DELETE":
        await ops.delete_profile(ctx.db, user)
        return no_content()
    if request.method == "POST":
        row, created = await ops.upsert_profile(ctx.db, user, await read_object(request))
        return JSONResponse(profile_json(row), status_code=201 if created else 200)
    return JSONResponse(profile_json(await ops.get_profile(ctx.db, user)))


@endpoint()
async def context(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request) if await request.body() else {}
    bundle = await ops.build_context(
        ctx.db, await ctx.require_user(), ops.ContextRequest.parse(body)
    )
    return JSONResponse(context_json(bundle))


@endpoint()
async def sync(_request: Request, ctx: RequestContext) -> Response:
    result = await ops.sync_from_recording(ctx.db, await ctx.require_user())
    return JSONResponse({"created": result.created, "skipped": result.skipped})


@endpoint()
async def stats(_request: Request, ctx: RequestContext) -> Response:
    return JSONResponse(await ops.stats(ctx.db, await ctx.require_reader()))


@endpoint()
async def export(request: Request, ctx: RequestContext) -> Response:
    form = request.query_params.get("format", "json")
    if form not in ("json", "markdown"):
        raise Invalid("format must be json or markdown")
    known = await ops.knowledge(ctx.db, await ctx.require_reader())
    if form == "markdown":
        return PlainTextResponse(knowledge_markdown(known), media_type="text/markdown")
    return JSONResponse(knowledge_json(known))


routes = [
    Route("/raw/", raw_list, methods=["GET", "POST"]),
    Route("/raw/{raw_id:uuid}/", raw_detail, methods=["GET", "DELETE"]),
    Route("/episodes/", episode_list, methods=["GET", "POST"]),
    Route("/episodes/{episode_id:uuid}/", episode_detail, methods=["GET", "PATCH", "DELETE"]),
    Route("/facts/", fact_list, methods=["GET", "POST"]),
    Route("/facts/{fact_id:uuid}/", fact_detail, methods=["GET", "PATCH", "DELETE"]),
    Route("/profile/", profile, methods=["GET", "POST", "DELETE"]),
    Route("/context/", context, methods=["POST"]),
    Route("/sync/", sync, methods=["POST"]),
    Route("/stats/", stats, methods=["GET"]),
    Route("/export/", export, methods=["GET"]),
]


@endpoint()
async def promote_episodes(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request) if await request.body() else {}
    promote.promotion_options(body, {"window_minutes", "max_raw", "model"})
    result = await promote.promote_episodes(
        ctx.db,
        ctx.services,
        await ctx.require_user(),
        window_minutes=body.get("window_minutes"),
        max_raw=body.get("max_raw"),
        model=body.get("model"),
    )
    return JSONResponse(
        {"episodes": [episode_view_json(e) for e in result.episodes], "job_id": result.job_id},
        status_code=201,
    )


@endpoint()
async def promote_facts(request: Request, ctx: RequestContext) -> Response:
    body = await read_object(request) if await request.body() else {}
    promote.promotion_options(body, {"window_minutes", "max_episodes", "model"})
    result = await promote.promote_facts(
        ctx.db,
        ctx.services,
        await ctx.require_user(),
        window_minutes=body.get("window_minutes"),
        max_episodes=body.get("max_episodes"),
        model=body.get("model"),
    )
    return JSONResponse(
        {"facts": [fact_view_json(f) for f in result.facts], "job_id": result.job_id},
        status_code=201,
    )


routes += [
    Route("/promote/episodes/", promote_episodes, methods=["POST"]),
    Route("/promote/facts/", promote_facts, methods=["POST"]),
]

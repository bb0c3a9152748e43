"""`/api/news/*`: SPEC §7, announcements: public reads, staff writes."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.context import RequestContext
from graph.news import ops
from models.news import NewsItem
from rest_compat.http import JSONResponse, endpoint, no_content, page_body, page_params, read_object


def news_json(item: NewsItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "summary": item.summary,
        "tags": item.tags,
        "published_at": item.published_at,
    }


@endpoint(public=True)
async def news_list(request: Request, ctx: RequestContext) -> Response:
    if request.method == "POST":
        staff = await ctx.require_staff()  # 401/403 before the body is even read
        item = await ops.create_news(ctx.db, staff, await read_object(request))
        return JSONResponse(news_json(item), status_code=201)
    limit, offset = page_params(request, ops.NEWS_PAGE)
    page = await ops.list_news(ctx.db, limit=limit, offset=offset)
    return JSONResponse(page_body(request, page, news_json))


@endpoint(public=True)
async def news_detail(request: Request, ctx: RequestContext) -> Response:
    news_id = request.path_params["news_id"]
    if request.method == "GET":
        return JSONResponse(news_json(await ops.get_news(ctx.db, news_id)))
    staff = await ctx.require_staff()
    if request.method == "DELETE":
        await ops.delete_news(ctx.db, staff, news_id)
        return no_content()
    item = await ops.update_news(ctx.db, staff, news_id, await read_object(request))
    return JSONResponse(news_json(item))


routes = [
    Route("/", news_list, methods=["GET", "POST"]),
    Route("/{news_id:uuid}/", news_detail, methods=["GET", "PATCH", "DELETE"]),
]

"""`/api/monitoring/*`: SPEC §7."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.context import RequestContext
from graph.monitoring import ops
from rest_compat.http import JSONResponse, endpoint


@endpoint(public=True)
async def health(_request: Request, ctx: RequestContext) -> Response:
    result = await ops.health(ctx.services.database)
    return JSONResponse(
        {
            "status": "ok" if result.ok else "unavailable",
            "database": "ok" if result.database_ok else "unreachable",
            "version": result.version,
        },
        status_code=200 if result.ok else 503,
    )


def stats_json(stats: ops.Stats) -> dict[str, Any]:
    return {
        "users": stats.users,
        "sessions": stats.sessions,
        "events": stats.events,
        "predictions": stats.predictions,
        "continuations": stats.continuations,
        "jobs": {
            "running": stats.jobs_running,
            "succeeded": stats.jobs_succeeded,
            "failed": stats.jobs_failed,
        },
        "events_last_hour": stats.events_last_hour,
    }


@endpoint()
async def stats(_request: Request, ctx: RequestContext) -> Response:
    return JSONResponse(stats_json(await ops.stats(ctx.db, await ctx.require_staff())))


routes = [
    Route("/health/", health, methods=["GET"]),
    Route("/stats/", stats, methods=["GET"]),
]

"""`/api/monitoring/*`: SPEC §7."""

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


routes = [Route("/health/", health, methods=["GET"])]

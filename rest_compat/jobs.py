"""`/api/jobs/*`: SPEC §7, the caller's job records, newest first."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.context import RequestContext
from graph.jobs import ops
from models.jobs import Job
from rest_compat.http import JSONResponse, endpoint, page_body, page_params


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "model": job.model,
        "input_tokens": job.input_tokens,
        "output_tokens": job.output_tokens,
        "latency_ms": job.latency_ms,
        "error": job.error,
        "related_id": job.related_id,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@endpoint()
async def jobs(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, ops.JOBS_PAGE)
    page = await ops.list_jobs(
        ctx.db,
        await ctx.require_user(),
        kind=request.query_params.get("kind") or None,
        status=request.query_params.get("status") or None,
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, job_json))


@endpoint()
async def job_detail(request: Request, ctx: RequestContext) -> Response:
    job = await ops.get_job(ctx.db, await ctx.require_user(), request.path_params["job_id"])
    return JSONResponse(job_json(job))


routes = [
    Route("/", jobs, methods=["GET"]),
    Route("/{job_id:uuid}/", job_detail, methods=["GET"]),
]

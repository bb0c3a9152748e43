"""`/api/predictions/*`: SPEC §6."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.context import RequestContext
from graph.predictions import ops
from models.predictions import Prediction
from rest_compat.http import (
    JSONResponse,
    endpoint,
    page_body,
    page_params,
    query_datetime,
    read_object,
)


def prediction_json(prediction: Prediction) -> dict[str, Any]:
    """The SPEC §6 response, plus the outcome fields and the context snapshot (detail view)."""
    return {
        "id": prediction.id,
        "predicted_response": prediction.predicted_response,
        "confidence": prediction.confidence,
        "raw_confidence": prediction.raw_confidence,
        "reasoning": prediction.reasoning,
        "stop_recommended": prediction.stop_recommended,
        "candidates": prediction.candidates,
        "k": prediction.k,
        "status": prediction.status,
        "threshold": prediction.threshold,
        "model": prediction.model,
        "latency_ms": prediction.latency_ms,
        "usage": {
            "input_tokens": prediction.input_tokens,
            "output_tokens": prediction.output_tokens,
        },
        "agent": prediction.agent,
        "agent_input": prediction.agent_input,
        "session_id": prediction.session_id,
        "created_at": prediction.created_at,
        "acted_at": prediction.acted_at,
        "answered_at": prediction.answered_at,
        "actual_response": prediction.actual_response,
    }


def prediction_detail_json(prediction: Prediction) -> dict[str, Any]:
    return prediction_json(prediction) | {"context_snapshot": prediction.context_snapshot}


@endpoint()
async def predict(request: Request, ctx: RequestContext) -> Response:
    body = ops.PredictRequest.parse(await read_object(request))
    prediction = await ops.predict(ctx.db, ctx.services, await ctx.require_user(), body)
    return JSONResponse(prediction_json(prediction), status_code=201)


@endpoint()
async def feedback(request: Request, ctx: RequestContext) -> Response:
    prediction = await ops.submit_feedback(
        ctx.db,
        await ctx.require_user(),
        request.path_params["prediction_id"],
        await read_object(request),
    )
    return JSONResponse(prediction_json(prediction))


@endpoint()
async def detail(request: Request, ctx: RequestContext) -> Response:
    prediction = await ops.get_prediction(
        ctx.db, await ctx.require_reader(), request.path_params["prediction_id"]
    )
    return JSONResponse(prediction_detail_json(prediction))


@endpoint()
async def listing(request: Request, ctx: RequestContext) -> Response:
    limit, offset = page_params(request, ops.PREDICTIONS_PAGE)
    params = request.query_params
    page = await ops.list_predictions(
        ctx.db,
        await ctx.require_reader(),
        status=params.get("status") or None,
        agent=params.get("agent") or None,
        session_id=params.get("session_id") or None,
        since=query_datetime(request, "since"),
        until=query_datetime(request, "until"),
        limit=limit,
        offset=offset,
    )
    return JSONResponse(page_body(request, page, prediction_json))


@endpoint()
async def stats(request: Request, ctx: RequestContext) -> Response:
    result = await ops.prediction_stats(
        ctx.db,
        await ctx.require_reader(),
        since=query_datetime(request, "since"),
        until=query_datetime(request, "until"),
    )
    return JSONResponse(
        {
            "total": result.total,
            "by_status": result.by_status,
            "precision": result.precision,
            "automation_rate": result.automation_rate,
            "calibration": result.calibration,
        }
    )


routes = [
    Route("/", listing, methods=["GET"]),
    Route("/predict/", predict, methods=["POST"]),
    Route("/stats/", stats, methods=["GET"]),
    Route("/{prediction_id:uuid}/", detail, methods=["GET"]),
    Route("/{prediction_id:uuid}/feedback/", feedback, methods=["POST"]),
]


@endpoint()
async def batch(request: Request, ctx: RequestContext) -> Response:
    result = await ops.predict_batch(
        ctx.db, ctx.services, await ctx.require_user(), await read_object(request)
    )
    return JSONResponse(
        {"results": [prediction_json(p) for p in result.results], "errors": result.errors},
        status_code=201,
    )


@endpoint()
async def continuation(request: Request, ctx: RequestContext) -> Response:
    prediction = await ops.predict_continuation(
        ctx.db, ctx.services, await ctx.require_user(), await read_object(request)
    )
    return JSONResponse(
        {
            "id": prediction.id,
            "should_continue": prediction.should_continue,
            "confidence": prediction.confidence,
            "reasoning": prediction.reasoning,
            "status": prediction.status,
            "threshold": prediction.threshold,
        },
        status_code=201,
    )


routes += [
    Route("/predict/batch/", batch, methods=["POST"]),
    Route("/continuation/", continuation, methods=["POST"]),
]

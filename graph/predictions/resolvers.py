"""Predictions in GraphQL: thin resolvers over `graph.predictions.ops`.

Inputs are typed (codegen-friendly); each is turned into the same mapping REST passes, so the
validation, defaults and ranges are the domain operation's, once.
"""

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from graph.connections import Connection, from_page
from graph.ids import parse_uuid
from graph.info import Info, or_none
from graph.predictions import ops
from graph.predictions.types import (
    PredictionBatchError,
    PredictionBatchResult,
    PredictionStatsType,
    PredictionType,
)
from graph.validate import timestamp


def _given(value: object) -> dict[str, Any]:
    """The fields a client set (snake_case, as the domain operations read them)."""
    return {
        field.name: getattr(value, field.name)
        for field in dataclasses.fields(value)  # type: ignore[arg-type]
        if getattr(value, field.name) is not None
    }


@strawberry.input(description="One prompt to predict the user's reply to (SPEC §6 defaults).")
class PredictInput:
    agent: str
    agent_input: str
    k: int | None = None
    threshold: float | None = None
    model: str | None = None
    recency_minutes: int | None = None
    session_id: str | None = None


@strawberry.input(description="One prompt of a batch; the options are the batch's.")
class PredictBatchItemInput:
    agent: str
    agent_input: str
    session_id: str | None = None


@strawberry.input(description="Up to 100 prompts sharing one memory bundle.")
class PredictBatchInput:
    items: list[PredictBatchItemInput]
    k: int | None = None
    threshold: float | None = None
    model: str | None = None
    recency_minutes: int | None = None


@strawberry.input(description="Should an autonomous agent loop keep going?")
class ContinuationInput:
    agent: str
    agent_input: str
    threshold: float | None = None
    model: str | None = None
    recency_minutes: int | None = None
    session_id: str | None = None


@strawberry.type
class PredictionsQuery:
    @strawberry.field(description="Your predictions, newest first (filters as in REST).")
    async def predictions(
        self,
        info: Info,
        status: str | None = None,
        agent: str | None = None,
        session_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PredictionType]:
        ctx = info.context
        page = await ops.list_predictions(
            ctx.db,
            await ctx.require_reader(),
            status=status,
            agent=agent,
            session_id=session_id,
            since=timestamp(since, "since") if since else None,
            until=timestamp(until, "until") if until else None,
            limit=first,
            after=after,
        )
        return from_page(page, PredictionType.from_row, after)

    @strawberry.field(description="One of your predictions by its UUID, or null.")
    async def prediction(self, info: Info, prediction_id: strawberry.ID) -> PredictionType | None:
        ctx = info.context
        row = await or_none(
            ops.get_prediction(
                ctx.db, await ctx.require_reader(), parse_uuid(prediction_id, "prediction")
            )
        )
        return PredictionType.from_row(row) if row else None

    @strawberry.field(description="Precision, automation rate and calibration over a window.")
    async def prediction_stats(
        self, info: Info, since: str | None = None, until: str | None = None
    ) -> PredictionStatsType:
        return await prediction_stats(info, since, until)


async def prediction_stats(info: Info, since: str | None, until: str | None) -> PredictionStatsType:
    """Shared by `Query.predictionStats` and `User.predictionStats`."""
    ctx = info.context
    stats = await ops.prediction_stats(
        ctx.db,
        await ctx.require_reader(),
        since=timestamp(since, "since") if since else None,
        until=timestamp(until, "until") if until else None,
        with_calibration=False,  # its own field resolver computes it, when asked
    )
    return PredictionStatsType.from_stats(stats)


@strawberry.type
class PredictionsMutation:
    @strawberry.mutation(description="Predict the user's reply to one agent prompt.")
    async def predict(self, info: Info, input: PredictInput) -> PredictionType:
        ctx = info.context
        request = ops.PredictRequest.parse(_given(input))
        row = await ops.predict(ctx.db, ctx.services, await ctx.require_user(), request)
        return PredictionType.from_row(row)

    @strawberry.mutation(description="Up to 100 prompts; failed items are reported beside.")
    async def predict_batch(self, info: Info, input: PredictBatchInput) -> PredictionBatchResult:
        ctx = info.context
        data = _given(input) | {"items": [_given(item) for item in input.items]}
        result = await ops.predict_batch(ctx.db, ctx.services, await ctx.require_user(), data)
        return PredictionBatchResult(
            results=[PredictionType.from_row(row) for row in result.results],
            errors=[PredictionBatchError(**error) for error in result.errors],
        )

    @strawberry.mutation(description="Should an autonomous agent loop keep going?")
    async def predict_continuation(self, info: Info, input: ContinuationInput) -> PredictionType:
        ctx = info.context
        row = await ops.predict_continuation(
            ctx.db, ctx.services, await ctx.require_user(), _given(input)
        )
        return PredictionType.from_row(row)

    @strawberry.mutation(description="What the user actually did: accepted, edited or rejected.")
    async def submit_feedback(
        self,
        info: Info,
        prediction_id: strawberry.ID,
        status: str,
        actual_response: str | None = None,
    ) -> PredictionType:
        ctx = info.context
        data: dict[str, Any] = {"status": status}
        if actual_response is not None:
            data["actual_response"] = actual_response
        row = await ops.submit_feedback(
            ctx.db, await ctx.require_user(), parse_uuid(prediction_id, "prediction"), data
        )
        return PredictionType.from_row(row)


@strawberry.type
class PredictionsSubscription:
    @strawberry.subscription(description="Each of your predictions as it is made (any client).")
    async def prediction_created(self, info: Info) -> AsyncGenerator[PredictionType, None]:
        ctx = info.context
        user = await ctx.require_reader()
        await ctx.aclose()  # hold no connection while waiting
        async with ops.follow_predictions(ctx.services, user) as follower:
            while True:
                for row in await follower.next_batch():
                    yield PredictionType.from_row(row)

"""Prediction domain: what would the user reply? Ask the model with the memory bundle, decide
auto or escalated, record the outcome, and report precision and automation.

Every model call goes through the shared client and leaves a job record; the exact context
bundle the model saw is stored with the prediction.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from gateway.broadcast import Subscription
from gateway.errors import ApiError, Invalid, NotFound, UpstreamError
from gateway.jsonio import jsonable
from gateway.llm import ToolCall
from gateway.services import Services
from graph import validate as v
from graph.ids import try_uuid
from graph.jobs.ops import record_model_call
from graph.memory.ops import ContextBundle, ContextRequest, build_context
from graph.memory.shapes import context_json
from graph.pagination import Page, PageSpec, count_per_parent, page_per_parent, paginate
from graph.predictions.prompts import (
    CONTINUATION_TOOL,
    PREDICTIONS_TOOL,
    continuation_message,
    system_prompt,
    user_message,
)
from models.accounts import User
from models.predictions import FEEDBACK_STATUSES, PREDICTION_STATUSES, Prediction
from models.types import utcnow

PREDICTIONS_PAGE = PageSpec(default=50, maximum=200)
SESSION_PREDICTIONS_PAGE = PageSpec(default=50, maximum=200)
NEWEST_FIRST = (Prediction.created_at.desc(), Prediction.id.desc())
K_DEFAULT, K_MAX = 1, 10
THRESHOLD_DEFAULT = 0.8
AGENT_MAX, INPUT_MAX, RESPONSE_MAX, REASONING_MAX = 200, 100_000, 20_000, 4_000
PREDICT_FIELDS = {
    "agent",
    "agent_input",
    "k",
    "threshold",
    "model",
    "recency_minutes",
    "session_id",
}


@dataclass(frozen=True)
class PredictRequest:
    agent: str
    agent_input: str
    k: int = K_DEFAULT
    threshold: float = THRESHOLD_DEFAULT
    model: str | None = None
    recency_minutes: int = 60
    session_id: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "PredictRequest":
        """SPEC §6 defaults and ranges; anything out of range is a 400."""
        v.check_fields(data, PREDICT_FIELDS, "a prediction request")
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            raise Invalid("model must be a string")
        return cls(
            agent=v.text(data.get("agent"), "agent", max_length=AGENT_MAX, required=True),
            agent_input=v.text(
                data.get("agent_input"), "agent_input", max_length=INPUT_MAX, required=True
            ),
            k=K_DEFAULT if data.get("k") is None else v.integer(data["k"], "k", 1, K_MAX),
            threshold=THRESHOLD_DEFAULT
            if data.get("threshold") is None
            else v.unit_interval(data["threshold"], "threshold"),
            model=model,
            recency_minutes=60
            if data.get("recency_minutes") is None
            else v.integer(data["recency_minutes"], "recency_minutes", 1, 10080),
            session_id=v.optional_text(data.get("session_id"), "session_id", max_length=200),
        )


@dataclass
class Candidate:
    response: str
    confidence: float
    raw_confidence: float
    reasoning: str
    stop_recommended: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "response": self.response,
            "confidence": self.confidence,
            "raw_confidence": self.raw_confidence,
            "reasoning": self.reasoning,
            "stop_recommended": self.stop_recommended,
        }


# A model call's outcome: the prediction's id (chosen before the call), its candidates, the call.
Answer = tuple[uuid.UUID, list[Candidate], ToolCall]


def _clamp(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0.0
    return min(1.0, max(0.0, float(value)))


def parse_candidates(answer: Mapping[str, Any], k: int) -> list[Candidate]:
    """The model's candidates, cleaned, ranked by confidence, at most k; none usable → 502."""
    proposed = answer.get("candidates")
    candidates = []
    for item in proposed if isinstance(proposed, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("response"), str):
            continue
        confidence = _clamp(item.get("confidence"))
        reasoning = item.get("reasoning")
        candidates.append(
            Candidate(
                response=item["response"][:RESPONSE_MAX],
                confidence=confidence,
                raw_confidence=confidence,
                reasoning=reasoning[:REASONING_MAX] if isinstance(reasoning, str) else "",
                stop_recommended=item.get("stop_recommended") is True,
            )
        )
    if not candidates:
        raise UpstreamError(
            "the model's answer held no usable candidate", code="invalid_model_answer"
        )
    candidates.sort(key=lambda c: c.confidence, reverse=True)
    return candidates[:k]


async def _ask_model(
    services: Services,
    user: User,
    request: PredictRequest,
    model: str,
    bundle: ContextBundle,
    then: Callable[[Answer], Awaitable[object]] | None = None,
) -> Answer:
    """One model call with its job; an unusable answer fails the job like an upstream error.

    The prediction's id is chosen first, so the job names it when it closes; `then` (storing
    the prediction) overlaps with closing the job.
    """
    prediction_id = uuid.uuid4()
    candidates: list[Candidate] = []

    async def call() -> ToolCall:
        answer = await services.llm.call_tool(
            model=model,
            system=system_prompt(user, bundle),
            messages=[user_message(request.agent, request.agent_input, request.k)],
            tool_name=PREDICTIONS_TOOL["name"],
            tool_description=PREDICTIONS_TOOL["description"],
            input_schema=PREDICTIONS_TOOL["input_schema"],
        )
        candidates.extend(parse_candidates(answer.input, request.k))
        return answer

    def answer(call: ToolCall) -> Answer:
        return prediction_id, candidates, call

    async def store(call: ToolCall) -> object:
        return await then(answer(call)) if then is not None else None

    result, _job = await record_model_call(
        services,
        user,
        kind="predict",
        model=model,
        call=call,
        related_id=str(prediction_id),
        then=store if then is not None else None,
    )
    return answer(result)


async def _context(
    db: AsyncSession, user: User, recency_minutes: int
) -> tuple[ContextBundle, dict[str, Any]]:
    """The memory bundle and its JSON snapshot; ends the read transaction before the (slow)
    model call, so no connection waits on the model with a transaction open."""
    bundle = await build_context(db, user, ContextRequest(recency_minutes=recency_minutes))
    snapshot = jsonable(context_json(bundle))
    await db.commit()
    return bundle, snapshot


def _new_prediction(
    prediction_id: uuid.UUID,
    user: User,
    request: PredictRequest,
    *,
    kind: str,
    model: str,
    confidence: float,
    answer: ToolCall,
    snapshot: dict[str, Any],
    **fields: Any,
) -> Prediction:
    """A prediction row with the SPEC §6 decision: auto (acted now) at confidence ≥ threshold."""
    now = utcnow()
    automatic = confidence >= request.threshold
    return Prediction(
        id=prediction_id,
        user_id=user.id,
        kind=kind,
        agent=request.agent,
        agent_input=request.agent_input,
        session_id=request.session_id,
        model=model,
        threshold=request.threshold,
        status="auto" if automatic else "escalated",
        confidence=confidence,
        latency_ms=answer.latency_ms,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        context_snapshot=snapshot,
        acted_at=now if automatic else None,
        created_at=now,
        **fields,
    )


async def predict(
    db: AsyncSession, services: Services, user: User, request: PredictRequest
) -> Prediction:
    """Build the memory bundle, ask for top-k replies, calibrate, decide auto or escalated."""
    model = services.llm.resolve_model(request.model)
    calibration, (bundle, snapshot) = await asyncio.gather(
        _calibration(services, user), _context(db, user, request.recency_minutes)
    )
    stored: list[Prediction] = []

    async def store(answer: Answer) -> None:
        stored.append(
            await _store(db, services, user, request, model, answer, snapshot, calibration)
        )

    await _ask_model(services, user, request, model, bundle, then=store)
    return stored[0]


async def _calibration(services: Services, user: User) -> Any:
    """`calibration_for` on a connection of its own, so it overlaps with the bundle's reads."""
    async with services.database.sessions() as db:
        return await calibration_for(db, user)


async def _store(
    db: AsyncSession,
    services: Services,
    user: User,
    request: PredictRequest,
    model: str,
    answer: Answer,
    snapshot: dict[str, Any],
    calibration: Any,
) -> Prediction:
    """Store one prediction (and announce it) in a transaction of its own."""
    prediction = _calibrated_row(user, request, model, answer, snapshot, calibration)
    db.add(prediction)
    await services.broadcast.publish(db, [(predictions_topic(user.id), {"id": str(prediction.id)})])
    await db.commit()
    return prediction


def _calibrated_row(
    user: User,
    request: PredictRequest,
    model: str,
    answer: Answer,
    snapshot: dict[str, Any],
    calibration: Any,
) -> Prediction:
    """The prediction row: candidates calibrated and ranked, the best one deciding."""
    prediction_id, candidates, call = answer
    if calibration is not None:
        for candidate in candidates:
            candidate.confidence = calibration.apply(candidate.raw_confidence)
        candidates.sort(key=lambda c: c.confidence, reverse=True)
    best = candidates[0]
    prediction = _new_prediction(
        prediction_id,
        user,
        request,
        kind="predict",
        model=model,
        confidence=best.confidence,
        answer=call,
        snapshot=snapshot,
        k=request.k,
        predicted_response=best.response,
        raw_confidence=best.raw_confidence,
        reasoning=best.reasoning,
        stop_recommended=best.stop_recommended,
        candidates=[candidate.as_json() for candidate in candidates],
    )
    return prediction


def predictions_topic(user_id: uuid.UUID) -> str:
    return f"predictions.user:{user_id}"


class PredictionFollower:
    """The user's new predictions, as they are committed (by any process)."""

    def __init__(self, services: Services, user: User, subscription: Subscription) -> None:
        self._services = services
        self._user = user
        self._subscription = subscription

    async def next_batch(self) -> list[Prediction]:
        message = await self._subscription.next()
        prediction_id = try_uuid(message.get("id"))
        async with self._services.database.sessions() as db:
            found = await predictions_by_id(
                db, self._user, [prediction_id] if prediction_id else []
            )
        return list(found.values())


@asynccontextmanager
async def follow_predictions(services: Services, user: User) -> AsyncIterator[PredictionFollower]:
    """Subscribe to the user's predictions; in place before this yields, so nothing committed
    afterwards is missed. Holds no database connection while waiting."""
    async with services.broadcast.subscribe(predictions_topic(user.id)) as subscription:
        yield PredictionFollower(services, user, subscription)


# --- reads ------------------------------------------------------------------------------------


async def get_prediction(db: AsyncSession, user: User, prediction_id: uuid.UUID) -> Prediction:
    prediction = await db.get(Prediction, prediction_id)
    if prediction is None or prediction.user_id != user.id:
        raise NotFound("prediction not found")
    return prediction


def _window(stmt: sa.Select[Any], since: datetime | None, until: datetime | None) -> Any:
    v.check_window(since, until)
    if since is not None:
        stmt = stmt.where(Prediction.created_at >= since)
    if until is not None:
        stmt = stmt.where(Prediction.created_at <= until)
    return stmt


async def list_predictions(
    db: AsyncSession,
    user: User,
    *,
    status: str | None = None,
    agent: str | None = None,
    session_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[Prediction]:
    """Newest first; without the context snapshots (each the size of a whole memory bundle),
    which only the detail view shows."""
    stmt = (
        sa.select(Prediction)
        .options(defer(Prediction.context_snapshot, raiseload=True))
        .where(Prediction.user_id == user.id, Prediction.kind == "predict")
    )
    if status is not None:
        stmt = stmt.where(Prediction.status == v.choice(status, "status", PREDICTION_STATUSES))
    if agent is not None:
        stmt = stmt.where(Prediction.agent == agent)
    if session_id is not None:
        stmt = stmt.where(Prediction.session_id == session_id)
    stmt = _window(stmt, since, until).order_by(*NEWEST_FIRST)
    return await paginate(db, stmt, PREDICTIONS_PAGE, limit, offset, after=after)


# --- batched lookups (the DataLoaders behind the graph's edges) --------------------------------


async def predictions_by_id(
    db: AsyncSession, user: User, prediction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Prediction]:
    rows = await db.execute(
        sa.select(Prediction).where(
            Prediction.id.in_(list(prediction_ids)), Prediction.user_id == user.id
        )
    )
    return {prediction.id: prediction for prediction in rows.scalars()}


async def snapshots_by_id(
    db: AsyncSession, user: User, prediction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Context snapshots on their own: lists leave them out, the graph loads them when asked."""
    rows = await db.execute(
        sa.select(Prediction.id, Prediction.context_snapshot).where(
            Prediction.id.in_(list(prediction_ids)), Prediction.user_id == user.id
        )
    )
    return {prediction_id: snapshot for prediction_id, snapshot in rows}


def _session_predictions_filter(user: User) -> tuple[Any, ...]:
    return (Prediction.user_id == user.id, Prediction.kind == "predict")


async def predictions_of_sessions(
    db: AsyncSession,
    user: User,
    session_ids: Sequence[str],
    *,
    limit: int | None,
    offset: int | None = None,
    after: str | None = None,
) -> dict[str, Page[Prediction]]:
    """One page of predictions (newest first) for each of many sessions, in one statement."""
    return await page_per_parent(
        db,
        Prediction,
        Prediction.session_id,
        session_ids,
        NEWEST_FIRST,
        SESSION_PREDICTIONS_PAGE,
        limit,
        offset,
        *_session_predictions_filter(user),
        after=after,
        omit=(Prediction.context_snapshot,),
    )


async def prediction_counts_of_sessions(
    db: AsyncSession, user: User, session_ids: Sequence[str]
) -> dict[str, int]:
    """How many predictions each session holds, in one statement."""
    return await count_per_parent(
        db, Prediction.session_id, session_ids, *_session_predictions_filter(user)
    )


# --- feedback ---------------------------------------------------------------------------------


async def submit_feedback(
    db: AsyncSession, user: User, prediction_id: uuid.UUID, data: Mapping[str, Any]
) -> Prediction:
    """What the user actually did. `accepted` defaults the reply to the prediction's;
    `edited` requires it; the prediction takes the feedback's status."""
    v.check_fields(data, {"status", "actual_response"}, "feedback")
    status = v.choice(data.get("status"), "status", FEEDBACK_STATUSES)
    actual = v.optional_text(data.get("actual_response"), "actual_response", max_length=INPUT_MAX)
    prediction = await get_prediction(db, user, prediction_id)
    if status == "edited" and not actual:
        raise Invalid("actual_response is required when status is edited")
    if status == "accepted" and actual is None:
        actual = prediction.predicted_response
    prediction.status = status
    prediction.actual_response = actual
    prediction.answered_at = utcnow()
    await db.commit()
    return prediction


# --- stats and calibration --------------------------------------------------------------------

RIGHT, WRONG = ("auto", "accepted"), ("edited", "rejected")
CALIBRATION_HISTORY = 5000  # most recent outcomes a fit uses: recent behaviour matters most


@dataclass
class PredictionStats:
    total: int
    by_status: dict[str, int]
    precision: float | None
    automation_rate: float | None
    calibration: dict[str, Any] = field(default_factory=dict)


async def _history(db: AsyncSession, user: User) -> tuple[list[float], list[bool]]:
    rows = await db.execute(
        sa.select(Prediction.raw_confidence, Prediction.status)
        .where(
            Prediction.user_id == user.id,
            Prediction.kind == "predict",
            Prediction.status.in_(RIGHT + WRONG),
        )
        .order_by(Prediction.created_at.desc())
        .limit(CALIBRATION_HISTORY)
    )
    raw, outcomes = [], []
    for confidence, status in rows:
        raw.append(confidence)
        outcomes.append(status in RIGHT)
    return raw, outcomes


async def calibration_for(db: AsyncSession, user: User) -> Any:
    """The user's fitted Platt model, or None before enough known outcomes exist.

    Fitted on demand from the latest outcomes (a few milliseconds), so every feedback counts
    at the next prediction without any cache to keep in step.
    """
    from graph.predictions.calibration import fit_platt

    raw, outcomes = await _history(db, user)
    return fit_platt(raw, outcomes)


async def prediction_stats(
    db: AsyncSession,
    user: User,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    with_calibration: bool = True,
) -> PredictionStats:
    """The SPEC's counts over a window; `calibration` (a fit over the user's outcomes, the
    costly part) only when asked for."""
    stmt = _window(
        sa.select(Prediction.status, sa.func.count())
        .where(Prediction.user_id == user.id, Prediction.kind == "predict")
        .group_by(Prediction.status),
        since,
        until,
    )
    by_status = dict.fromkeys(PREDICTION_STATUSES, 0)
    for status, count in await db.execute(stmt):
        by_status[status] = count
    total = sum(by_status.values())
    answered = sum(by_status[s] for s in ("auto", "accepted", "edited", "rejected"))
    right = by_status["auto"] + by_status["accepted"]
    return PredictionStats(
        total=total,
        by_status=by_status,
        precision=right / answered if answered else None,
        automation_rate=answered / total if total else None,
        calibration=await calibration_report(db, user) if with_calibration else {},
    )


async def calibration_report(db: AsyncSession, user: User) -> dict[str, Any]:
    """`{fitted, samples, ece_raw, ece_calibrated}` over the user's known outcomes."""
    from graph.predictions.calibration import report

    raw, outcomes = await _history(db, user)
    calibration = report(raw, outcomes)
    return {
        "fitted": calibration.fitted,
        "samples": calibration.samples,
        "ece_raw": calibration.ece_raw,
        "ece_calibrated": calibration.ece_calibrated,
    }


# --- batch ------------------------------------------------------------------------------------

BATCH_MAX = 100
BATCH_FIELDS = {"items", "k", "threshold", "model", "recency_minutes"}
ITEM_FIELDS = {"agent", "agent_input", "session_id"}


@dataclass
class BatchResult:
    results: list[Prediction]
    errors: list[dict[str, Any]]


async def predict_batch(
    db: AsyncSession, services: Services, user: User, data: Mapping[str, Any]
) -> BatchResult:
    """Up to 100 prompts sharing one memory bundle; model calls run CLONE_LLM_CONCURRENCY at a
    time, and one item's failure (bad input or upstream error) is reported beside the others."""
    v.check_fields(data, BATCH_FIELDS, "a batch request")
    items = data.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= BATCH_MAX:
        raise Invalid(f"items must be a list of 1 to {BATCH_MAX} prompts")
    shared = {
        name: data[name] for name in ("k", "threshold", "model", "recency_minutes") if name in data
    }
    requests: list[PredictRequest | None] = []
    errors: dict[int, str] = {}
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise Invalid("each item must be an object")
            v.check_fields(item, ITEM_FIELDS, "a batch item")
            requests.append(PredictRequest.parse({**shared, **item}))
        except Invalid as exc:
            requests.append(None)
            errors[index] = exc.message
    first = next((r for r in requests if r is not None), None)
    if first is None:
        return BatchResult(results=[], errors=_errors(errors))
    model = services.llm.resolve_model(first.model)
    calibration = await calibration_for(db, user)
    bundle, snapshot = await _context(db, user, first.recency_minutes)
    gate = asyncio.Semaphore(services.settings.llm_concurrency)

    async def one(index: int, request: PredictRequest) -> Any:
        async with gate:
            try:
                return await _ask_model(services, user, request, model, bundle)
            except ApiError as exc:
                errors[index] = exc.message
                return None

    answers = await asyncio.gather(*(one(i, r) for i, r in enumerate(requests) if r is not None))
    results = []
    pending = [(i, r) for i, r in enumerate(requests) if r is not None]
    for (_index, request), answer in zip(pending, answers, strict=True):
        if answer is not None:
            results.append(_calibrated_row(user, request, model, answer, snapshot, calibration))
    # One transaction for the whole batch: a hundred commits would add tenths of a second.
    db.add_all(results)
    topic = predictions_topic(user.id)
    await services.broadcast.publish(db, [(topic, {"id": str(row.id)}) for row in results])
    await db.commit()
    return BatchResult(results=results, errors=_errors(errors))


def _errors(errors: dict[int, str]) -> list[dict[str, Any]]:
    return [{"index": index, "error": errors[index]} for index in sorted(errors)]


# --- continuation -----------------------------------------------------------------------------

CONTINUATION_FIELDS = {
    "agent",
    "agent_input",
    "threshold",
    "session_id",
    "model",
    "recency_minutes",
}


async def predict_continuation(
    db: AsyncSession, services: Services, user: User, data: Mapping[str, Any]
) -> Prediction:
    """Should an autonomous agent loop keep going? Same auto/escalated rule as predict."""
    v.check_fields(data, CONTINUATION_FIELDS, "a continuation request")
    request = PredictRequest.parse(data)
    model = services.llm.resolve_model(request.model)
    bundle, snapshot = await _context(db, user, request.recency_minutes)
    decided: list[tuple[bool, float, str]] = []

    async def call() -> ToolCall:
        answer = await services.llm.call_tool(
            model=model,
            system=system_prompt(user, bundle),
            messages=[continuation_message(request.agent, request.agent_input)],
            tool_name=CONTINUATION_TOOL["name"],
            tool_description=CONTINUATION_TOOL["description"],
            input_schema=CONTINUATION_TOOL["input_schema"],
        )
        should = answer.input.get("should_continue")
        if not isinstance(should, bool):
            raise UpstreamError(
                "the model's answer held no should_continue decision",
                code="invalid_model_answer",
            )
        reasoning = answer.input.get("reasoning")
        decided.append(
            (
                should,
                _clamp(answer.input.get("confidence")),
                reasoning[:REASONING_MAX] if isinstance(reasoning, str) else "",
            )
        )
        return answer

    prediction_id = uuid.uuid4()
    answer, _job = await record_model_call(
        services, user, kind="continuation", model=model, call=call, related_id=str(prediction_id)
    )
    should, confidence, reasoning = decided[0]
    prediction = _new_prediction(
        prediction_id,
        user,
        request,
        kind="continuation",
        model=model,
        confidence=confidence,
        answer=answer,
        snapshot=snapshot,
        should_continue=should,
        raw_confidence=confidence,
        reasoning=reasoning,
    )
    db.add(prediction)
    await db.commit()
    return prediction

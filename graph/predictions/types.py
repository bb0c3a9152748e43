"""GraphQL types of the prediction domain: a prediction with its candidates, the session it
belongs to, the model calls that produced it, and the stats over a window."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from graph.ids import uuids_or_no_row
from graph.info import Info
from graph.jobs import ops as jobs_ops
from graph.jobs.types import JobType
from graph.loaders import grouped_by_key_loader, grouped_loader, keyed_loader, load_nodes
from graph.predictions import ops
from graph.recording.types import RecordingSessionType, session_loader
from models.predictions import Prediction


def prediction_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.predictions_by_id)


def prediction_snapshot_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.snapshots_by_id)


def prediction_jobs_loader(ctx: Any) -> Any:
    return grouped_by_key_loader(ctx, jobs_ops.jobs_related_to)


def session_predictions_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.predictions_of_sessions)


def session_prediction_counts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.prediction_counts_of_sessions)


@strawberry.type(description="One candidate reply, ranked by calibrated confidence.")
class PredictionCandidate:
    response: str
    confidence: float = strawberry.field(description="Calibrated confidence, 0..1.")
    raw_confidence: float = strawberry.field(description="The model's own stated confidence.")
    reasoning: str
    stop_recommended: bool = strawberry.field(description="The reply says the work is done.")


@strawberry.type(description="Tokens the model call used.")
class PredictionUsage:
    input_tokens: int
    output_tokens: int


@strawberry.type(name="Prediction", description="What the user would reply to an agent prompt.")
class PredictionType(relay.Node):
    node_key: relay.NodeID[str]
    row: strawberry.Private[Prediction]
    prediction_id: strawberry.ID = strawberry.field(description="The UUID, as REST shows it.")
    kind: str = strawberry.field(description="predict, or continuation for a loop decision.")
    agent: str
    agent_input: str
    session_id: str | None = strawberry.field(description="The free grouping string, if any.")
    status: str = strawberry.field(
        description="pending, auto, escalated, accepted, edited or rejected."
    )
    predicted_response: str
    confidence: float
    raw_confidence: float
    reasoning: str
    stop_recommended: bool
    should_continue: bool | None = strawberry.field(description="Continuation decisions only.")
    k: int
    threshold: float
    model: str
    latency_ms: int
    usage: PredictionUsage
    created_at: datetime
    acted_at: datetime | None = strawberry.field(description="Set when the status is auto.")
    answered_at: datetime | None = strawberry.field(description="Set when feedback arrives.")
    actual_response: str | None

    @classmethod
    def from_row(cls, row: Prediction) -> "PredictionType":
        return cls(
            node_key=str(row.id),
            row=row,
            prediction_id=strawberry.ID(str(row.id)),
            kind=row.kind,
            agent=row.agent,
            agent_input=row.agent_input,
            session_id=row.session_id,
            status=row.status,
            predicted_response=row.predicted_response,
            confidence=row.confidence,
            raw_confidence=row.raw_confidence,
            reasoning=row.reasoning,
            stop_recommended=row.stop_recommended,
            should_continue=row.should_continue,
            k=row.k,
            threshold=row.threshold,
            model=row.model,
            latency_ms=row.latency_ms,
            usage=PredictionUsage(input_tokens=row.input_tokens, output_tokens=row.output_tokens),
            created_at=row.created_at,
            acted_at=row.acted_at,
            answered_at=row.answered_at,
            actual_response=row.actual_response,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["PredictionType | None"]:
        return await load_nodes(info, prediction_loader, uuids_or_no_row(node_ids), cls.from_row)

    @strawberry.field(description="The candidate replies, best first (at most k).")
    def candidates(self) -> list[PredictionCandidate]:
        return [
            PredictionCandidate(
                response=item.get("response", ""),
                confidence=item.get("confidence", 0.0),
                raw_confidence=item.get("raw_confidence", item.get("confidence", 0.0)),
                reasoning=item.get("reasoning", ""),
                stop_recommended=bool(item.get("stop_recommended", False)),
            )
            for item in self.row.candidates
        ]

    @strawberry.field(description="The exact context bundle the model saw.")
    async def context_snapshot(self, info: Info) -> JSON:
        return await info.context.loader(prediction_snapshot_loader).load(self.row.id)

    @strawberry.field(description="The recorded session named by sessionId, if one exists.")
    async def session(self, info: Info) -> RecordingSessionType | None:
        if self.session_id is None:
            return None
        row = await info.context.loader(session_loader).load(self.session_id)
        return RecordingSessionType.from_row(row) if row else None

    @strawberry.field(description="The model calls behind this prediction, newest first.")
    async def jobs(self, info: Info) -> list[JobType]:
        rows = await info.context.loader(prediction_jobs_loader).load(self.node_key)
        return [JobType.from_row(row) for row in rows]


@strawberry.type(description="Predictions per status.")
class PredictionsByStatus:
    pending: int
    auto: int
    escalated: int
    accepted: int
    edited: int
    rejected: int


@strawberry.type(description="How well the calibrated confidence matches outcomes.")
class CalibrationReport:
    fitted: bool
    samples: int
    ece_raw: float | None = strawberry.field(description="Expected calibration error, raw.")
    ece_calibrated: float | None = strawberry.field(description="The same after calibration.")


@strawberry.type(description="Precision and automation rate over a window.")
class PredictionStatsType:
    total: int
    by_status: PredictionsByStatus
    precision: float | None = strawberry.field(description="(auto + accepted) / answered.")
    automation_rate: float | None = strawberry.field(description="answered / total.")

    @classmethod
    def from_stats(cls, stats: ops.PredictionStats) -> "PredictionStatsType":
        return cls(
            total=stats.total,
            by_status=PredictionsByStatus(**stats.by_status),
            precision=stats.precision,
            automation_rate=stats.automation_rate,
        )

    @strawberry.field(
        description="The calibration fit over your known outcomes (computed only when asked for)."
    )
    async def calibration(self, info: Info) -> CalibrationReport:
        ctx = info.context
        return CalibrationReport(**await ops.calibration_report(ctx.db, await ctx.require_reader()))


@strawberry.type(description="A batch's predictions, and the items that failed beside them.")
class PredictionBatchResult:
    results: list[PredictionType]
    errors: list["PredictionBatchError"]


@strawberry.type(description="Why one batch item produced no prediction.")
class PredictionBatchError:
    index: int
    error: str

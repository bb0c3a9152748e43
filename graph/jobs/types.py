"""GraphQL type of the jobs domain: one model or voice call, as a Relay node."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from graph.info import Info
from graph.jobs import ops
from graph.loaders import keyed_loader, load_nodes
from models.jobs import Job


def job_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.jobs_by_id)


@strawberry.type(name="Job", description="One call to an outside model or voice service.")
class JobType(relay.Node):
    node_key: relay.NodeID[str]
    job_id: strawberry.ID = strawberry.field(description="The job's UUID, as REST shows it.")
    kind: str = strawberry.field(
        description="predict, continuation, promote_episodes, promote_facts or voice."
    )
    status: str = strawberry.field(description="running, succeeded or failed.")
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: int | None
    error: str | None = strawberry.field(description="Why the call failed (failed jobs only).")
    related_id: str | None = strawberry.field(description="What the call produced, if anything.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, job: Job) -> "JobType":
        return cls(
            node_key=str(job.id),
            job_id=strawberry.ID(str(job.id)),
            kind=job.kind,
            status=job.status,
            model=job.model,
            input_tokens=job.input_tokens,
            output_tokens=job.output_tokens,
            latency_ms=job.latency_ms,
            error=job.error,
            related_id=job.related_id,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["JobType | None"]:
        return await load_nodes(info, job_loader, node_ids, cls.from_row)

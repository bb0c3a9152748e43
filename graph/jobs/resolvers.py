"""Jobs in GraphQL: thin resolvers over `graph.jobs.ops` (read-only; jobs are written by the
calls they record)."""

import strawberry

from graph.connections import Connection, from_page
from graph.info import Info, or_none
from graph.jobs import ops
from graph.jobs.types import JobType


@strawberry.type
class JobsQuery:
    @strawberry.field(description="Your job records, newest first, optionally by kind or status.")
    async def jobs(
        self,
        info: Info,
        kind: str | None = None,
        status: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[JobType]:
        ctx = info.context
        page = await ops.list_jobs(
            ctx.db, await ctx.require_user(), kind=kind, status=status, limit=first, after=after
        )
        return from_page(page, JobType.from_row, after)

    @strawberry.field(description="One of your jobs by its UUID, or null.")
    async def job(self, info: Info, job_id: strawberry.ID) -> JobType | None:
        ctx = info.context
        job = await or_none(ops.get_job(ctx.db, await ctx.require_user(), job_id))
        return JobType.from_row(job) if job else None

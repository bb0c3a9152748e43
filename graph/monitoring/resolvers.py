"""Monitoring in GraphQL: thin resolvers over `graph.monitoring.ops`."""

import strawberry

from graph.info import Info
from graph.monitoring import ops
from graph.monitoring.types import MonitoringStats


@strawberry.type
class MonitoringQuery:
    @strawberry.field(description="Staff: counts of users, sessions, events, predictions, jobs.")
    async def monitoring_stats(self, info: Info) -> MonitoringStats:
        ctx = info.context
        return MonitoringStats.from_stats(await ops.stats(ctx.db, await ctx.require_staff()))

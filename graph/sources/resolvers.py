"""Sources in GraphQL: thin resolvers over `graph.sources.ops` (webhooks are REST only)."""

import strawberry

from graph.info import Info
from graph.sources import ops
from graph.sources.types import ConnectedSource, SourceType, base_url


@strawberry.type
class SourcesQuery:
    @strawberry.field(description="Every integration with your connection state.")
    async def sources(self, info: Info) -> list[SourceType]:
        ctx = info.context
        states = await ops.list_sources(ctx.db, await ctx.require_user())
        base = base_url(info)
        return [SourceType.from_state(state, base) for state in states]


@strawberry.type
class SourcesMutation:
    @strawberry.mutation(
        description="Connect an integration, or rotate its token if connected already."
    )
    async def connect_source(self, info: Info, provider: str) -> ConnectedSource:
        ctx = info.context
        connection, token = await ops.connect_source(ctx.db, await ctx.require_user(), provider)
        state = ops.SourceState(connection.provider, connection)
        return ConnectedSource(source=SourceType.from_state(state, base_url(info)), token=token)

    @strawberry.mutation(description="Disconnect an integration: its token stops working.")
    async def disconnect_source(self, info: Info, provider: str) -> SourceType:
        ctx = info.context
        await ops.disconnect_source(ctx.db, await ctx.require_user(), provider)
        return SourceType.from_state(ops.SourceState(ops.check_provider(provider)), base_url(info))

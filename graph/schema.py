"""The one GraphQL schema: root types composed from each domain's resolvers."""

import asyncio

import strawberry
from strawberry import relay

from gateway.settings import Settings
from graph.access.resolvers import AccessMutation, AccessQuery
from graph.accounts.resolvers import AccountsMutation, AccountsQuery
from graph.errors import ApiErrorExtension
from graph.execution import CloneExecutionContext
from graph.info import Info
from graph.jobs.resolvers import JobsQuery
from graph.memory.resolvers import MemoryMutation, MemoryQuery
from graph.monitoring.resolvers import MonitoringQuery
from graph.news.resolvers import NewsMutation, NewsQuery
from graph.predictions.resolvers import (
    PredictionsMutation,
    PredictionsQuery,
    PredictionsSubscription,
)
from graph.protection import protection_extensions
from graph.recording.resolvers import RecordingMutation, RecordingQuery, RecordingSubscription
from graph.recording.types import EVENT_TYPES
from graph.sources.resolvers import SourcesMutation, SourcesQuery
from graph.voice.resolvers import VoiceMutation, VoiceQuery


@strawberry.type
class Query(
    AccountsQuery,
    AccessQuery,
    RecordingQuery,
    MemoryQuery,
    PredictionsQuery,
    JobsQuery,
    SourcesQuery,
    NewsQuery,
    VoiceQuery,
    MonitoringQuery,
):
    # Plain resolvers rather than `relay.node()`, whose field extension can be applied to one
    # schema only, while each app (and each test) builds its own.
    @strawberry.field(description="Any object by its global id; null when missing or not yours.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await id.resolve_node(info, required=False)

    @strawberry.field(
        description="Objects by global ids, in order; null where missing or not yours."
    )
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        # Concurrent lookups: each type's DataLoader gathers its ids into one statement.
        return list(await asyncio.gather(*(id.resolve_node(info, required=False) for id in ids)))


@strawberry.type
class Mutation(
    AccountsMutation,
    AccessMutation,
    RecordingMutation,
    MemoryMutation,
    PredictionsMutation,
    SourcesMutation,
    NewsMutation,
    VoiceMutation,
):
    pass


@strawberry.type
class Subscription(RecordingSubscription, PredictionsSubscription):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    # Protections also switch introspection off when settings say so (graph/protection.py).
    extensions: list[object] = [ApiErrorExtension, *protection_extensions(settings)]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=EVENT_TYPES,
        extensions=extensions,
        execution_context_class=CloneExecutionContext,
    )

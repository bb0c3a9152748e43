"""The one GraphQL schema: root types composed from each domain's resolvers."""

import strawberry
from strawberry.extensions import DisableIntrospection

from gateway.settings import Settings
from graph.access.resolvers import AccessMutation, AccessQuery
from graph.accounts.resolvers import AccountsMutation, AccountsQuery
from graph.errors import ApiErrorExtension
from graph.jobs.resolvers import JobsQuery
from graph.memory.resolvers import MemoryMutation, MemoryQuery
from graph.predictions.resolvers import (
    PredictionsMutation,
    PredictionsQuery,
    PredictionsSubscription,
)
from graph.recording.resolvers import RecordingMutation, RecordingQuery, RecordingSubscription
from graph.recording.types import EVENT_TYPES
from graph.sources.resolvers import SourcesMutation, SourcesQuery


@strawberry.type
class Query(
    AccountsQuery,
    AccessQuery,
    RecordingQuery,
    MemoryQuery,
    PredictionsQuery,
    JobsQuery,
    SourcesQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountsMutation,
    AccessMutation,
    RecordingMutation,
    MemoryMutation,
    PredictionsMutation,
    SourcesMutation,
):
    pass


@strawberry.type
class Subscription(RecordingSubscription, PredictionsSubscription):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[object] = [ApiErrorExtension]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=EVENT_TYPES,
        extensions=extensions,
    )

"""The one GraphQL schema: root types composed from each domain's resolvers."""

import strawberry
from strawberry.extensions import DisableIntrospection

from gateway.settings import Settings
from graph.accounts.resolvers import AccountsMutation, AccountsQuery
from graph.errors import ApiErrorExtension


@strawberry.type
class Query(AccountsQuery):
    pass


@strawberry.type
class Mutation(AccountsMutation):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[object] = [ApiErrorExtension]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)

"""Strawberry's ASGI view wired to our request context."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.settings import Settings
from graph.context import RequestContext
from graph.schema import build_schema


class CloneGraphQL(GraphQL):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return request.state.ctx


def create_graphql_app(settings: Settings) -> CloneGraphQL:
    return CloneGraphQL(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphql_introspection else None,
        allow_queries_via_get=True,
    )

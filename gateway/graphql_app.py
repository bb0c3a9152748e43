"""Strawberry's ASGI view wired to our request context."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from gateway.errors import ApiError
from gateway.settings import Settings
from graph.context import RequestContext
from graph.schema import build_schema


class CloneGraphQL(GraphQL):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return request.state.ctx

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """WebSocket clients authenticate in `connection_init`'s payload, not in headers."""
        if context.connection_params:
            context.use_credentials(context.connection_params)
        try:
            await context.require_user()
        except ApiError as exc:
            raise ConnectionRejectionError({"error": exc.message, "code": exc.code}) from None
        finally:
            await context.aclose()  # a subscription may live for hours: hold no connection
        return UNSET


def create_graphql_app(settings: Settings) -> CloneGraphQL:
    return CloneGraphQL(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphql_introspection else None,
        allow_queries_via_get=True,
    )

"""Strawberry's ASGI view wired to our request context, with batching, persisted queries and
our own GraphiQL page."""

from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.base import BaseRequestProtocol
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway import jsonio
from gateway.errors import ApiError
from gateway.graphiql import GRAPHIQL_HTML
from gateway.settings import Settings
from graph.context import RequestContext
from graph.persisted import PersistedQueries, PersistedQueryError
from graph.schema import build_schema


class GraphQLRequestRejected(HTTPException):
    """A request refused before any operation runs, answered as a GraphQL error body."""

    def __init__(self, status_code: int, message: str, code: str, **details: object) -> None:
        super().__init__(status_code, message)
        self.body = {
            "data": None,
            "errors": [
                {"message": message, "extensions": {"code": code, "status": status_code, **details}}
            ],
        }


class CloneGraphQL(GraphQL):
    def __init__(self, schema: Any, *, max_batch: int, apq_cache_size: int, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.max_batch = max_batch
        self.persisted_queries = PersistedQueries(apq_cache_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except GraphQLRequestRejected as exc:
            response = Response(
                orjson.dumps(exc.body), status_code=exc.status_code, media_type="application/json"
            )
        except HTTPException as exc:  # strawberry's own refusals keep their plain-text form
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """orjson: several times faster than the standard library on a dashboard's response.
        Text, not bytes: WebSocket messages of graphql-transport-ws must be text frames."""
        return jsonio.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

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

    # --- GraphiQL -------------------------------------------------------------------------

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's plain GET; not a GET carrying an operation (Apollo's persisted-query GET
        has `extensions` and no `query`)."""
        params = request.query_params
        return super().should_render_graphql_ide(request) and params.get("extensions") is None

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_HTML)

    # --- batching: a JSON array of operations in one POST ---------------------------------

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: GraphQLRequestProtocol
    ) -> None:
        """Called by strawberry's body parser for an array, before anything is executed."""
        if not request_data:
            raise GraphQLRequestRejected(400, "an empty batch holds no operation", "EMPTY_BATCH")
        if len(request_data) > self.max_batch:
            raise GraphQLRequestRejected(
                400,
                f"a batch may hold at most {self.max_batch} operations, not {len(request_data)}",
                "TOO_MANY_OPERATIONS",
                operations=len(request_data),
                maxOperations=self.max_batch,
            )
        if protocol != "http":
            raise GraphQLRequestRejected(400, "batches are not streamed", "BATCH_NOT_STREAMED")
        # Strawberry checks the members' shapes for a single operation only.
        for index, item in enumerate(cast("list[object]", request_data)):
            problem = _batch_item_problem(item)
            if problem:
                raise GraphQLRequestRejected(
                    400, f"operation {index} of the batch: {problem}", "INVALID_BATCH", index=index
                )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: RequestContext,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        """A batch runs its operations one after another, each as if it were its own request
        (own database session and DataLoaders), so a mutation's effect is visible to the next
        operation and no two operations share a connection concurrently."""
        if not isinstance(request_data, list):
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        results = []
        for data in request_data:
            own = RequestContext(services=context.services, headers=context.headers)
            try:
                results.append(
                    await self.execute_single(
                        request, request_adapter, sub_response, own, root_value, data
                    )
                )
            finally:
                await own.aclose()
        return results

    # --- Automatic Persisted Queries ------------------------------------------------------

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            resolved = self.persisted_queries.resolve(request_data.query, request_data.extensions)
        except PersistedQueryError as exc:
            if exc.status != 200:
                sub_response.status_code = exc.status
            return ExecutionResult(data=None, errors=[exc.graphql_error()])
        if resolved.query is not request_data.query:
            request_data = GraphQLRequestData(
                query=resolved.query,
                variables=request_data.variables,
                operation_name=request_data.operation_name,
                extensions=request_data.extensions,
                protocol=request_data.protocol,
            )
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        # Errors without a path come from parsing, validation (protections included) or
        # variable coercion: such a document is not worth keeping.
        valid = all(error.path is not None for error in result.errors or ())
        if resolved.register_hash is not None and resolved.query is not None and valid:
            self.persisted_queries.put(resolved.register_hash, resolved.query)
        return result


def _batch_item_problem(item: object) -> str | None:
    if not isinstance(item, dict):
        return "must be a JSON object"
    for member, kinds, label in (
        ("query", (str,), "a string"),
        ("operationName", (str,), "a string"),
        ("variables", (dict,), "an object"),
        ("extensions", (dict,), "an object"),
    ):
        if item.get(member) is not None and not isinstance(item[member], kinds):
            return f"`{member}` must be {label} or null"
    return None


def create_graphql_app(settings: Settings) -> CloneGraphQL:
    return CloneGraphQL(
        build_schema(settings),
        max_batch=settings.graphql_max_batch,
        apq_cache_size=settings.graphql_apq_cache_size,
        graphql_ide="graphiql" if settings.graphql_introspection else None,
        allow_queries_via_get=True,
    )

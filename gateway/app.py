"""The app factory: one Starlette app serving `/graphql` and the `/api/*` REST routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.errors import ApiError
from gateway.graphql_app import create_graphql_app
from gateway.middleware import RequestScopeMiddleware
from gateway.services import Services
from gateway.settings import Settings
from rest_compat import auth, monitoring, recording
from rest_compat.http import api_error_handler, http_error_handler, internal_error_handler


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; with no settings they are read from the environment (uvicorn's factory)."""
    settings = settings or Settings.from_env()
    services = Services.create(settings)
    graphql = create_graphql_app(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await services.aclose()

    middleware = [Middleware(RequestScopeMiddleware, services=services)]
    if settings.cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Clone-API-Key",
                    "X-Clone-Account",
                ],
            ),
        )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount(
            "/api",
            routes=[
                Mount("/auth", routes=auth.routes),
                Mount("/monitoring", routes=monitoring.routes),
                Mount("/recording", routes=recording.routes),
            ],
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: api_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    return app

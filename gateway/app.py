"""The app factory: one Starlette app serving `/graphql` and the `/api/*` REST routes."""

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from gateway.errors import ApiError
from gateway.graphiql import graphiql_routes
from gateway.graphql_app import create_graphql_app
from gateway.keepalive import KeepAliveRecycler
from gateway.metrics import MetricsMiddleware, metrics_endpoint
from gateway.middleware import RequestScopeMiddleware
from gateway.services import Services
from gateway.settings import Settings
from rest_compat import (
    access,
    auth,
    jobs,
    memory,
    monitoring,
    news,
    predictions,
    recording,
    sources,
    voice,
)
from rest_compat.http import api_error_handler, http_error_handler, internal_error_handler

GC_GEN0_THRESHOLD = 50_000  # the default is 700 (2,000 on Python 3.13)


def _mount(path: str, routes: list[BaseRoute]) -> Mount:
    """A Mount whose pattern also matches paths holding a newline (decoded from %0A).

    Producer ids may contain any character; Starlette's `.*` would stop at a newline and the
    request would fall through to a 404 before our id routes could see it.
    """
    mount = Mount(path, routes=routes)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def _tune_garbage_collector() -> None:
    """Fewer, cheaper cyclic collections: an ingest batch allocates tens of thousands of
    short-lived objects, which with the default thresholds triggers collections that walk every
    long-lived object too. Freezing what startup created takes it out of those walks.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; with no settings they are read from the environment (uvicorn's factory)."""
    settings = settings or Settings.from_env()
    services = Services.create(settings)
    graphql = create_graphql_app(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        _tune_garbage_collector()
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
    # Outermost: every request is counted, refusals made before routing included.
    middleware.insert(0, Middleware(MetricsMiddleware))
    middleware.insert(
        0, Middleware(KeepAliveRecycler, probability=settings.keepalive_recycle_probability)
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *graphiql_routes(settings),
        _mount(
            "/api",
            [
                _mount("/auth", auth.routes),
                _mount("/access", access.routes),
                _mount("/jobs", jobs.routes),
                _mount("/monitoring", monitoring.routes),
                _mount("/recording", recording.routes),
                _mount("/memory", memory.routes),
                _mount("/predictions", predictions.routes),
                _mount("/news", news.routes),
                _mount("/voice", voice.routes),
                _mount("/sources", sources.routes),
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

"""Prometheus metrics: requests per route template, ingest outcomes, calls to outside services.

Labels are bounded by construction, because every distinct label set is a time series kept
forever: requests are labelled by the matched route's *template* (`/api/jobs/{job_id}/`, never
the raw path), methods outside the usual few become `OTHER`, and model names are the
allow-listed ones (Anthropic) or a known voice model (anything else is `other`).

The request middleware is pure ASGI and does a few dictionary look-ups, two clock reads, one
counter increment and one histogram observation per request (label children are cached), so
the ingest path keeps its throughput.

Several worker processes (`clone-gateway serve --workers N`): the CLI points
`PROMETHEUS_MULTIPROC_DIR` at a fresh directory before the workers start, each worker writes
its values there, and `/metrics`, whichever worker answers, reports the sum over all of them.
"""

import asyncio
import atexit
import functools
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ApiError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Decided once, like prometheus_client's own choice of value storage (made at its import).
MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))

UNMATCHED = "<unmatched>"  # no route handled the request (unknown path, or refused before routing)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "OTHER"
TEMPLATE_CACHE_LIMIT = 10_000  # routes x mount roots: far below this unless something is off
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "clone_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "clone_http_request_duration_seconds",
    "Time from the request's arrival until its response was sent in full (a stream's whole "
    "life), by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
INGESTED = Counter(
    "clone_ingest_events",
    "CloneEvents in ingest batches, by outcome: accepted (newly stored), duplicate, rejected.",
    ["outcome"],
)
MODEL_CALLS = Counter(
    "clone_model_calls",
    "Calls to outside model and voice services, success or failure.",
    ["provider", "operation", "model"],
)
MODEL_ERRORS = Counter(
    "clone_model_call_errors",
    "Failed calls to outside model and voice services, by the error code clients receive.",
    ["provider", "operation", "model", "code"],
)
MODEL_SECONDS = Histogram(
    "clone_model_call_duration_seconds",
    "Duration of calls to outside model and voice services.",
    ["provider", "operation"],
    buckets=LATENCY_BUCKETS,
)

_ACCEPTED = INGESTED.labels("accepted")
_DUPLICATE = INGESTED.labels("duplicate")
_REJECTED = INGESTED.labels("rejected")


# --- requests ---------------------------------------------------------------------------------


class MetricsMiddleware:
    """Counts and times every HTTP request by the template of the route that handled it.

    Outermost, so refusals made before routing (413, NUL in the URL) are counted too (as
    `<unmatched>`). The route is read after the app ran: Starlette's routers record the
    matched route in the (shared) scope.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[tuple[int, int, str], str] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started becomes a 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else OTHER
        route = self._template(scope)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[(method, route, status)] = REQUESTS.labels(
                method, route, str(status)
            )
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self._histograms[(method, route)] = REQUEST_SECONDS.labels(method, route)
        counter.inc()
        histogram.observe(seconds)

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        root = scope.get("root_path", "")
        key = (id(route), id(scope.get("endpoint")), root)
        template = self._templates.get(key)
        if template is None:
            template = route_template(scope)
            if len(self._templates) < TEMPLATE_CACHE_LIMIT:
                self._templates[key] = template
        return template


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters as `{name}`, mounts included."""
    from rest_compat.http import EncodedIdRoute  # the REST face's id routes (no import cycle)

    route = scope["route"]
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", "")
    prefix = root[len(app_root) :] if root.startswith(app_root) else root
    if isinstance(route, Mount):
        if route.routes:
            return UNMATCHED  # a router's prefix matched, but none of its routes did
        # A mounted app (static files): one label for all it serves. Its own path is already
        # part of the root path (static mounts only: the gateway has no others).
        return f"{prefix}/{{path}}"
    if isinstance(route, EncodedIdRoute):
        endpoint = scope.get("endpoint")
        action = next((name for name, view in route.views.items() if view is endpoint), "")
        return f"{prefix}{route.prefix}{{{route.param}}}/" + (f"{action}/" if action else "")
    path = getattr(route, "path_format", None)
    return f"{prefix}{path}" if isinstance(path, str) else UNMATCHED


# --- domain counters --------------------------------------------------------------------------


def count_ingest(accepted: int, duplicates: int, rejected: int) -> None:
    """One ingest batch's outcome (called by the ingest operation)."""
    if accepted:
        _ACCEPTED.inc(accepted)
    if duplicates:
        _DUPLICATE.inc(duplicates)
    if rejected:
        _REJECTED.inc(rejected)


def count_model_call(
    provider: str, operation: str, model: str | None, error_code: str | None, seconds: float
) -> None:
    """One call to an outside service; `error_code` is None on success."""
    model_label = model or "none"
    MODEL_CALLS.labels(provider, operation, model_label).inc()
    if error_code is not None:
        MODEL_ERRORS.labels(provider, operation, model_label, error_code).inc()
    MODEL_SECONDS.labels(provider, operation).observe(seconds)


def error_code_of(exc: BaseException) -> str:
    """The code a failed call is counted under: the client's error code where there is one."""
    if isinstance(exc, ApiError):
        return exc.code
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "internal_error"


P = ParamSpec("P")
R = TypeVar("R")


def counted_model_call(
    provider: str, *, operation_arg: str, model_arg: str = "model"
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Count and time a keyword-only client method: operation and model come from its kwargs."""

    def wrap(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(method)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            operation = str(kwargs.get(operation_arg, "unknown"))
            model = kwargs.get(model_arg)
            try:
                result = await method(*args, **kwargs)
            except BaseException as exc:
                count_model_call(
                    provider,
                    operation,
                    model if isinstance(model, str) else None,
                    error_code_of(exc),
                    time.perf_counter() - started,
                )
                raise
            count_model_call(
                provider,
                operation,
                model if isinstance(model, str) else None,
                None,
                time.perf_counter() - started,
            )
            return result

        return run

    return wrap


# --- exposition -------------------------------------------------------------------------------


def render(accept: str | None) -> tuple[bytes, str]:
    """The exposition (Prometheus text unless the scraper asks for OpenMetrics)."""
    encoder, content_type = choose_encoder(accept or "")
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return encoder(registry), content_type
    return encoder(REGISTRY), content_type


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`, public (restrict it at the proxy if the figures are sensitive)."""
    body, content_type = render(request.headers.get("accept"))
    return Response(body, media_type=content_type)


# --- several workers --------------------------------------------------------------------------


def prepare_multiprocess(
    workers: int, environ: MutableMapping[str, str] | None = None
) -> str | None:
    """Before uvicorn starts its workers: give them one shared, empty metrics directory.

    An operator's `PROMETHEUS_MULTIPROC_DIR` is used (its stale value files are removed: values
    from a previous run would otherwise be added in); with several workers and none set, a
    temporary directory is created and removed at exit. One worker needs neither. Returns the
    directory in use, if any.
    """
    env = os.environ if environ is None else environ
    configured = env.get(MULTIPROC_ENV)
    if configured:
        os.makedirs(configured, exist_ok=True)
        for stale in glob.glob(os.path.join(configured, "*.db")):
            os.remove(stale)
        return configured
    if workers <= 1:
        return None
    directory = tempfile.mkdtemp(prefix="clone-metrics-")
    env[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory

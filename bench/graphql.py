"""The dashboard query: one GraphQL round trip against the REST calls it replaces.

Run: ``.venv/bin/python bench/graphql.py [--databases sqlite,postgresql] [--requests 100]
[--warmup 10] [--concurrency 8] [--pg-admin-url postgresql://...]``.

For each database: a fresh database and a real ``clone-gateway serve`` (bench/ingest.py's
helpers). One user gets 1,000 recording sessions of 200 events each (200,000 events, ingested
through the API in 1,000-event batches) and 5,000 predictions spread over those sessions, each
with three candidates and the job record of its model call (seeded directly: making them
through the model would only measure the fake model). Another user gets a tenth as much, so
every query must scope by user.

The dashboard: the 50 most recent sessions, each with its last 20 events and its (up to 10)
predictions with candidates, plus the user's prediction stats (the issue's dashboard).

- GraphQL: that in one ``POST /graphql`` (query below), timed over HTTP by one client.
- REST: what a client would otherwise call: ``GET sessions/?limit=50``, then per session
  ``GET sessions/<id>/events/?limit=20&offset=<count - 20>`` and
  ``GET predictions/?session_id=<id>&limit=10``, then ``GET predictions/stats/`` (102
  requests). Timed sequentially and with ``--concurrency`` requests in flight.
- SQL statements per request: the GraphQL query run in-process (httpx's ASGI transport on the
  app) with the engine's cursor events counted.

Target on PostgreSQL: GraphQL p50 under 60 ms, and faster than the REST calls it replaces.
This is a measuring script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import _bench_path  # noqa: F401  (first: see the module)
import httpx
import psycopg
import sqlalchemy as sa
from ingest import (
    LABELS,
    REQUEST_TIMEOUT_S,
    _account,
    _interrupt,
    background_load,
    fresh_database,
    running_server,
)

from gateway.app import create_app
from gateway.settings import Settings
from models.jobs import Job
from models.predictions import Prediction

SESSIONS, EVENTS_PER_SESSION, PREDICTIONS = 1_000, 200, 5_000
OTHER_SHARE = 10  # the other user holds a tenth as much
BATCH = 1_000
TARGET_P50_MS = 60.0  # GraphQL, PostgreSQL
ME = "/api/auth/me/"

DASHBOARD = """
query Dashboard {
  recordingSessions(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      sessionId eventCount startedAt endedAt
      events(last: 20) {
        nodes { eventId type occurredAt ... on AgentPromptEvent { agent prompt } }
      }
      predictions(first: 10) {
        totalCount
        nodes {
          predictionId status confidence predictedResponse createdAt
          candidates { response confidence stopRecommended }
        }
      }
    }
  }
  predictionStats { total precision automationRate byStatus { auto escalated accepted } }
}
"""


# --- seeding --------------------------------------------------------------------------------


def _events(user_tag: str, sessions: int, start: datetime) -> list[list[dict[str, Any]]]:
    """Batches of CloneEvents: each session a 200-event stretch, sessions a minute apart."""
    batch: list[dict[str, Any]] = []
    batches = []
    for s in range(sessions):
        session = f"{user_tag}-s{s:04d}"
        began = start + timedelta(minutes=s)
        for e in range(EVENTS_PER_SESSION):
            batch.append(
                {
                    "id": f"{session}-e{e:03d}",
                    "session_id": session,
                    "occurred_at": (began + timedelta(milliseconds=250 * e)).isoformat(),
                    "source": "agent",
                    "source_detail": "claude-code",
                    "type": "agent.prompt",
                    "agent": "claude-code",
                    "prompt": f"step {e} of {session}",
                }
            )
            if len(batch) == BATCH:
                batches.append(batch)
                batch = []
    if batch:
        batches.append(batch)
    return batches


async def _ingest(base_url: str, key: str, batches: list[list[dict[str, Any]]]) -> None:
    headers = {"X-Clone-API-Key": key}
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        gate = asyncio.Semaphore(4)

        async def send(batch: list[dict[str, Any]]) -> None:
            async with gate:
                response = await http.post("/api/recording/events/", json=batch, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"ingest: HTTP {response.status_code} {response.text[:200]}")

        await asyncio.gather(*(send(batch) for batch in batches))


def _prediction_rows(
    user_id: uuid.UUID, user_tag: str, sessions: int, count: int, start: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(f"graphql-bench-{user_tag}")
    predictions, jobs = [], []
    statuses = ("auto", "escalated", "accepted", "edited", "rejected", "pending")
    for index in range(count):
        session = f"{user_tag}-s{rng.randrange(sessions):04d}"
        created = start + timedelta(seconds=index)
        confidences = sorted((round(rng.random(), 3) for _ in range(3)), reverse=True)
        candidates = [
            {
                "response": f"reply {rank} to prompt {index}",
                "confidence": confidence,
                "raw_confidence": confidence,
                "reasoning": "as usual",
                "stop_recommended": rank == 2,
            }
            for rank, confidence in enumerate(confidences)
        ]
        prediction_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        predictions.append(
            {
                "id": prediction_id,
                "user_id": user_id,
                "kind": "predict",
                "agent": "claude-code",
                "agent_input": f"prompt {index}: shall I go on?",
                "session_id": session,
                "model": "claude-sonnet-4-6",
                "k": 3,
                "threshold": 0.8,
                "status": rng.choice(statuses),
                "predicted_response": candidates[0]["response"],
                "confidence": confidences[0],
                "raw_confidence": confidences[0],
                "reasoning": "as usual",
                "stop_recommended": False,
                "candidates": candidates,
                "latency_ms": 900,
                "input_tokens": 4000,
                "output_tokens": 120,
                "context_snapshot": {"facts": [], "episodes": [], "raw": [], "profile": None},
                "created_at": created,
            }
        )
        jobs.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "user_id": user_id,
                "kind": "predict",
                "status": "succeeded",
                "model": "claude-sonnet-4-6",
                "input_tokens": 4000,
                "output_tokens": 120,
                "latency_ms": 900,
                "related_id": str(prediction_id),
                "created_at": created,
                "finished_at": created + timedelta(milliseconds=900),
            }
        )
    return predictions, jobs


async def _seed_predictions(url: str, rows: list[tuple[list[Any], list[Any]]]) -> None:
    app = create_app(Settings(database_url=url, secret_key="x" * 48))
    engine = app.state.services.database
    async with engine.sessions() as db:
        for predictions, jobs in rows:
            for start in range(0, len(predictions), 1000):
                await db.execute(sa.insert(Prediction), predictions[start : start + 1000])
                await db.execute(sa.insert(Job), jobs[start : start + 1000])
        await db.commit()
    await app.state.services.aclose()


def seed(base_url: str, url: str) -> str:
    """Two users through the API, their events through ingest, predictions directly."""
    keys = [asyncio.run(_account(base_url)) for _ in range(2)]
    ids = []
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        for key in keys:
            ids.append(uuid.UUID(http.get(ME, headers={"X-Clone-API-Key": key}).json()["id"]))
    start = datetime.now(UTC) - timedelta(days=2)
    plan = [
        (keys[0], ids[0], "main", SESSIONS, PREDICTIONS),
        (keys[1], ids[1], "other", SESSIONS // OTHER_SHARE, PREDICTIONS // OTHER_SHARE),
    ]
    started = time.perf_counter()
    for key, _user_id, tag, sessions, _count in plan:
        asyncio.run(_ingest(base_url, key, _events(tag, sessions, start)))
    print(f"  ingested events in {time.perf_counter() - started:.1f} s", flush=True)
    rows = [
        _prediction_rows(user_id, tag, sessions, count, start)
        for _key, user_id, tag, sessions, count in plan
    ]
    asyncio.run(_seed_predictions(url, rows))
    if url.startswith("postgresql"):
        with psycopg.connect(url) as connection:
            connection.autocommit = True
            connection.execute("ANALYZE")
    return keys[0]


# --- measuring ------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_graphql(base_url: str, key: str, args: argparse.Namespace) -> tuple[list[float], int]:
    latencies, size = [], 0
    headers = {"X-Clone-API-Key": key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
        for i in range(args.warmup + args.requests):
            started = time.perf_counter()
            response = http.post("/graphql", json={"query": DASHBOARD})
            elapsed = time.perf_counter() - started
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"graphql: {response.status_code} {response.text[:300]}")
            if i >= args.warmup:
                latencies.append(elapsed * 1000)
                size = len(response.content)
    return latencies, size


async def _rest_dashboard(http: httpx.AsyncClient, concurrency: int) -> int:
    """The REST calls replacing one dashboard query; returns the number of requests."""
    sessions = (await http.get("/api/recording/sessions/?limit=50")).json()["results"]
    gate = asyncio.Semaphore(concurrency)

    async def get(path: str) -> Any:
        async with gate:
            response = await http.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
            return response.json()

    calls = []
    for session in sessions:
        sid = session["id"]
        offset = max(0, session["event_count"] - 20)
        calls.append(get(f"/api/recording/sessions/{sid}/events/?limit=20&offset={offset}"))
        calls.append(get(f"/api/predictions/?session_id={sid}&limit=10"))
    calls.append(get("/api/predictions/stats/"))
    await asyncio.gather(*calls)
    return 1 + len(calls)


def measure_rest(base_url: str, key: str, args: argparse.Namespace, concurrency: int) -> Any:
    async def run() -> tuple[list[float], int]:
        latencies, requests = [], 0
        headers = {"X-Clone-API-Key": key}
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as http:
            for i in range(args.warmup + args.requests):
                started = time.perf_counter()
                requests = await _rest_dashboard(http, concurrency)
                if i >= args.warmup:
                    latencies.append((time.perf_counter() - started) * 1000)
        return latencies, requests

    return asyncio.run(run())


async def count_statements(url: str, key: str) -> int:
    """Statements one dashboard query sends, in-process on the same database."""
    app = create_app(Settings(database_url=url, secret_key="x" * 48))
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    engine = app.state.services.database.engine.sync_engine
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        headers = {"X-Clone-API-Key": key}
        await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)  # warm
        sa.event.listen(engine, "before_cursor_execute", count)
        response = await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)
        sa.event.remove(engine, "before_cursor_execute", count)
        if response.json().get("errors"):
            raise RuntimeError(f"graphql in-process: {response.text[:300]}")
    await app.state.services.aclose()
    return statements


def run_database(kind: str, args: argparse.Namespace) -> None:
    label = LABELS[kind]
    with fresh_database(kind, args.pg_admin_url) as url, running_server(url, 1) as server:
        print(f"  server up at {server.base_url}; seeding ...", flush=True)
        key = seed(server.base_url, url)
        statements = asyncio.run(count_statements(url, key))
        print("  measuring GraphQL ...", flush=True)
        graph, size = measure_graphql(server.base_url, key, args)
        print("  measuring REST, sequential and concurrent ...", flush=True)
        serial, requests = measure_rest(server.base_url, key, args, 1)
        parallel, _ = measure_rest(server.base_url, key, args, args.concurrency)
    p50 = _percentile(graph, 0.5)
    print(f"\n  [{label}] dashboard ({SESSIONS} sessions, {SESSIONS * EVENTS_PER_SESSION} events,")
    print(f"  {PREDICTIONS} predictions for the user), {args.requests} timed requests each:")
    print(
        f"    GraphQL, 1 request:        p50 {p50:6.1f} ms  p99 {_percentile(graph, 0.99):6.1f} ms"
        f"  ({statements} SQL statements, {size / 1024:.0f} KiB)"
    )
    print(
        f"    REST, {requests} requests, serial:   p50 {_percentile(serial, 0.5):6.1f} ms"
        f"  p99 {_percentile(serial, 0.99):6.1f} ms"
    )
    print(
        f"    REST, {requests} requests, {args.concurrency} at once: "
        f"p50 {_percentile(parallel, 0.5):6.1f} ms  p99 {_percentile(parallel, 0.99):6.1f} ms"
    )
    if kind == "postgresql":
        faster = p50 < min(_percentile(serial, 0.5), _percentile(parallel, 0.5))
        verdict = "met" if p50 < TARGET_P50_MS and faster else "MISSED"
        print(f"    target: GraphQL p50 < {TARGET_P50_MS:.0f} ms and faster than REST: {verdict}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    args.databases = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    return args


def main() -> int:
    args = _args()
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    for kind in args.databases:
        print(f"\n[{LABELS[kind]}] preparing database and server ...", flush=True)
        try:
            load = background_load()
            print(f"  machine busy before start: {load:.0f}% of one core", end="")
            print("  (WARNING: other work is running; figures will be high)" if load > 20 else "")
            run_database(kind, args)
        except KeyboardInterrupt:
            print("\ninterrupted; server stopped and database removed")
            return 130
        except (RuntimeError, psycopg.Error, sqlite3.Error, OSError) as exc:
            print(f"  {LABELS[kind]} run failed: {type(exc).__name__}: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Prediction overhead and batch concurrency against a local fake model with a fixed delay.

Run: ``.venv/bin/python bench/predict.py [--databases sqlite,postgresql] [--requests 200]
[--warmup 20] [--delay-ms 100] [--batch-delay-ms 200] [--pg-admin-url postgresql://...]``.

For each database: a fresh database and a real ``clone-gateway serve`` pointed at a local fake
Anthropic server (tests/fakes/anthropic.py: the real SDK talks HTTP to it) that answers every
call with a forced ``submit_predictions`` tool call after a fixed delay. The measured user's
memory is seeded exactly as in bench/context.py (100,000 raw rows, 1,000 episodes, 5,000 facts,
a profile; two other users with half as much), so each prediction builds a full-size bundle.

(a) Overhead: N sequential ``POST /api/predictions/predict/`` (k=3) on one keep-alive client.
    Overhead = client latency - the fake's own time for the call (measured inside the fake from
    request received to answer sent), i.e. everything the gateway adds: auth, the context bundle,
    the SDK round trip, calibration, storing the prediction, its snapshot and its job record.
    Target on PostgreSQL: p50 < 25 ms.
(b) Batch: ``POST /api/predictions/predict/batch/`` with 100 items, a 200 ms model delay and
    CLONE_LLM_CONCURRENCY=8: wall time. Serial would be 20 s; ideal is ceil(100/8) x 0.2 = 2.6 s.
    Target: < 3.5 s.

This is a measuring script, not a test.
"""

from __future__ import annotations

import argparse
import math
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _bench_path  # noqa: F401  (first: see the module)
import httpx
import psycopg
from context import build_seed, make_accounts, seed_postgres, seed_sqlite
from ingest import LABELS, REQUEST_TIMEOUT_S, _interrupt, background_load, fresh_database
from ingest import running_server as start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.fakes
from tests.fakes.anthropic import Answer, FakeAnthropic, RecordedRequest, tool_answer

PREDICT = "/api/predictions/predict/"
BATCH = "/api/predictions/predict/batch/"
TARGET_OVERHEAD_P50_MS = 25.0  # PostgreSQL
TARGET_BATCH_S = 3.5
BATCH_SIZE = 100
CONCURRENCY = 8
CANDIDATES = {
    "candidates": [
        {"response": "Yes, run them.", "confidence": 0.91, "reasoning": "always does"},
        {"response": "Run only the fast ones.", "confidence": 0.52, "reasoning": "when busy"},
        {"response": "Ship it.", "confidence": 0.2, "reasoning": "rare", "stop_recommended": True},
    ]
}


class TimedFake(FakeAnthropic):
    """The test fake, answering every call after a fixed delay and timing its own share."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.service_times: list[float] = []
        self._times_lock = threading.Lock()
        answer = tool_answer("submit_predictions", CANDIDATES, input_tokens=4000)

        def delayed(request: RecordedRequest) -> Answer:
            built = answer(request)
            return Answer(built.status, built.body, built.headers, self.delay_s)

        self.set_default(delayed)

    def _handle(self, handler: Any) -> None:
        started = time.perf_counter()
        super()._handle(handler)
        with self._times_lock:
            self.service_times.append(time.perf_counter() - started)


@dataclass
class Figures:
    overhead_ms: list[float]
    latency_ms: list[float]
    statuses: dict[str, int]
    batch_s: float
    batch_results: int
    batch_errors: int
    batch_peak: int


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else math.nan


def measure_overhead(
    base_url: str, key: str, fake: TimedFake, args: argparse.Namespace
) -> tuple[list[float], list[float], dict[str, int]]:
    headers = {"X-Clone-API-Key": key}
    overhead: list[float] = []
    latency: list[float] = []
    statuses: dict[str, int] = {}
    body = {"agent": "claude-code", "agent_input": "Shall I run the tests now?", "k": 3}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
        for i in range(args.warmup + args.requests):
            fake.service_times.clear()
            started = time.perf_counter()
            response = http.post(PREDICT, json=body)
            elapsed = time.perf_counter() - started
            if response.status_code != 201:
                raise RuntimeError(f"predict: HTTP {response.status_code} {response.text[:300]}")
            if i < args.warmup:
                continue
            (model_time,) = fake.service_times
            latency.append(elapsed * 1000)
            overhead.append((elapsed - model_time) * 1000)
            status = response.json()["status"]
            statuses[status] = statuses.get(status, 0) + 1
    return overhead, latency, statuses


def measure_batch(base_url: str, key: str, fake: TimedFake) -> tuple[float, int, int, int]:
    """One batch of 100; also the peak number of model calls the fake saw at once."""
    items = [{"agent": "codex", "agent_input": f"Step {i}: continue?"} for i in range(BATCH_SIZE)]
    in_flight = peak = 0
    lock = threading.Lock()
    original = fake._handle

    def counting(handler: Any) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            original(handler)
        finally:
            with lock:
                in_flight -= 1

    fake._handle = counting  # type: ignore[method-assign]
    try:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
            started = time.perf_counter()
            response = http.post(
                BATCH, json={"items": items, "k": 3}, headers={"X-Clone-API-Key": key}
            )
            wall = time.perf_counter() - started
    finally:
        fake._handle = original  # type: ignore[method-assign]
    if response.status_code != 201:
        raise RuntimeError(f"batch: HTTP {response.status_code} {response.text[:300]}")
    body = response.json()
    return wall, len(body["results"]), len(body["errors"]), peak


def run_database(kind: str, args: argparse.Namespace) -> Figures:
    fake = TimedFake(args.delay_ms / 1000).start()
    try:
        env = {
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": fake.url,
            "CLONE_LLM_CONCURRENCY": str(CONCURRENCY),
        }
        with (
            fresh_database(kind, args.pg_admin_url) as url,
            start_server(url, 1, env) as server,
        ):
            print(f"  server up at {server.base_url}; signing up users ...", flush=True)
            accounts = make_accounts(server.base_url)
            seed = build_seed(kind, accounts.main, accounts.others, datetime.now(UTC))
            print("  seeding the context benchmark's memory ...", flush=True)
            seed_postgres(url, seed) if kind == "postgresql" else seed_sqlite(url, seed)
            print(f"  (a) {args.requests} predictions, model delay {args.delay_ms} ms ...")
            overhead, latency, statuses = measure_overhead(
                server.base_url, accounts.key, fake, args
            )
            fake.delay_s = args.batch_delay_ms / 1000
            print(f"  (b) batch of {BATCH_SIZE}, model delay {args.batch_delay_ms} ms ...")
            wall, results, errors, peak = measure_batch(server.base_url, accounts.key, fake)
    finally:
        fake.stop()
    return Figures(overhead, latency, statuses, wall, results, errors, peak)


def report(label: str, figures: Figures, args: argparse.Namespace, kind: str) -> None:
    p50, p99 = _percentile(figures.overhead_ms, 0.5), _percentile(figures.overhead_ms, 0.99)
    print(f"\n  [{label}] (a) overhead beyond the model's {args.delay_ms} ms, k=3:")
    print(
        f"    overhead p50 {p50:.1f} ms, p90 {_percentile(figures.overhead_ms, 0.9):.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(figures.overhead_ms):.1f} ms"
    )
    print(
        f"    client latency p50 {_percentile(figures.latency_ms, 0.5):.1f} ms, "
        f"p99 {_percentile(figures.latency_ms, 0.99):.1f} ms; statuses {figures.statuses}"
    )
    if kind == "postgresql":
        verdict = "met" if p50 < TARGET_OVERHEAD_P50_MS else "MISSED"
        print(f"    target p50 < {TARGET_OVERHEAD_P50_MS:.0f} ms: {verdict}")
    ideal = math.ceil(BATCH_SIZE / CONCURRENCY) * args.batch_delay_ms / 1000
    serial = BATCH_SIZE * args.batch_delay_ms / 1000
    print(f"  [{label}] (b) batch of {BATCH_SIZE}, concurrency {CONCURRENCY}:")
    print(
        f"    wall {figures.batch_s:.2f} s (serial {serial:.1f} s, ideal {ideal:.1f} s); "
        f"{figures.batch_results} results, {figures.batch_errors} errors; "
        f"peak concurrent model calls {figures.batch_peak}"
    )
    verdict = "met" if figures.batch_s < TARGET_BATCH_S else "MISSED"
    print(f"    target < {TARGET_BATCH_S} s: {verdict}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200, help="timed predictions")
    parser.add_argument("--warmup", type=int, default=20, help="untimed predictions before")
    parser.add_argument("--delay-ms", type=int, default=100, help="model delay for (a)")
    parser.add_argument("--batch-delay-ms", type=int, default=200, help="model delay for (b)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    args.databases = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    return args


def main() -> int:
    args = _args()
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    for kind in args.databases:
        label = LABELS[kind]
        print(f"\n[{label}] preparing database, fake model and server ...", flush=True)
        try:
            load = background_load()
            print(f"  machine busy before start: {load:.0f}% of one core", end="")
            print("  (WARNING: other work is running; figures will be high)" if load > 20 else "")
            report(label, run_database(kind, args), args, kind)
        except KeyboardInterrupt:
            print("\ninterrupted; server stopped and database removed")
            return 130
        except (RuntimeError, psycopg.Error, sqlite3.Error, OSError) as exc:
            print(f"  {label} run failed: {type(exc).__name__}: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

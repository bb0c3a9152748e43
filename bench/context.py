"""Context bundle latency (``POST /api/memory/context/``) over a realistically sized memory.

Run: ``.venv/bin/python bench/context.py [--databases sqlite,postgresql] [--requests 300]
[--warmup 20] [--workers 1] [--explain] [--pg-admin-url postgresql://...]``.

For each database it reuses bench/ingest.py to prepare a fresh database (a temp SQLite file, or
a throw-away ``clone_bench_<random>`` PostgreSQL database dropped at the end, even on error or
Ctrl-C) and to start ``clone-gateway serve`` (which migrates), signs up three users, then seeds
the memory tables directly (COPY on PostgreSQL, executemany on SQLite; going through the API
would take far longer than the measurement): the measured user gets 100,000 raw rows, 1,000
episodes, 5,000 facts and a profile; two other users get half as much each, interleaved in time,
so every query must scope by user. Activity is 8 hours a day over 30 days, the last 8 hours
ending now, so the default 60-minute window holds about 400 raw rows and about 4 episodes.

Four requests are measured, N times each after a warm-up, one client, sequentially:
``{}``, ``{"goal": "tests"}`` (~5 % of facts), ``{"tags": [two tags]}`` (~19 %), and both.

- REST: client-side latency over loopback against the real server (includes HTTP, API-key
  auth, JSON rendering).
- In-process: ``graph.memory.ops.build_context`` on the app's own ``Services`` (no HTTP): the
  server-side cost the targets are about, with the SQL statement count per bundle and the
  driver time of each statement (from the engine's cursor events), and the rendering time
  (``context_json`` + the gateway's JSON encoder) beside it.

On PostgreSQL the targets are p50 < 15 ms and p99 < 40 ms server-side (in-process). When one is
missed (or with ``--explain``) the script prints EXPLAIN ANALYZE for the statements of one
bundle. This is a measuring script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import _bench_path  # noqa: F401  (first: see the module)
import httpx
import psycopg
import sqlalchemy as sa
from ingest import (
    CORES,
    HEALTH,
    LABELS,
    REQUEST_TIMEOUT_S,
    PhaseResult,
    _account,
    _interrupt,
    background_load,
    fresh_database,
    running_server,
)
from psycopg import sql

from gateway.jsonio import dumps
from gateway.services import Services
from gateway.settings import Settings
from graph.memory.ops import ContextRequest, build_context
from graph.memory.shapes import context_json
from graph.validate import FACT_KINDS, normalize_fact_text
from models.accounts import User

CONTEXT = "/api/memory/context/"
ME = "/api/auth/me/"
TARGET_P50_MS = 15.0  # server-side, PostgreSQL
TARGET_P99_MS = 40.0

# --- data shape -----------------------------------------------------------------------------------

DAYS = 30
ACTIVE_HOURS = 8  # per day; day 0's active hours end now, so the window sits in busy time
LINKED_SHARE = 0.8  # raw rows of an episode's stretch that the episode cites
MAIN_SIZE = (100_000, 1_000, 5_000)  # raw rows, episodes, facts of the measured user
OTHER_SIZE = (50_000, 500, 2_500)  # each of the two other users
OTHER_USERS = 2
# No topic is a substring of another word used in texts, so `goal` matches exactly 1/20.
TOPICS = (
    "tests", "docker", "rust", "vim", "coffee", "meetings", "python", "postgres", "terraform",
    "kubernetes", "slack", "linear", "figma", "typescript", "emacs", "tmux", "deploys", "lunch",
    "standups", "benchmarks",
)  # fmt: skip
TAGS = (
    "work", "coding", "tooling", "focus", "health", "food", "team", "infra", "frontend", "backend",
    "writing", "reading", "music", "travel", "family", "finance", "learning", "ops", "design",
    "habits",
)  # fmt: skip
FACT_TEMPLATES = (
    "Prefers {t} early in the day",
    "Usually checks {t} before shipping",
    "Spends a lot of time on {t}",
    "Asks for help with {t} on Fridays",
    "Writes short notes about {t}",
    "Wants {t} to be fast",
    "Avoids {t} during focus hours",
    "Talks about {t} with the team weekly",
)
PROJECTS = ("clone", "gateway", "mobile app", "website", "billing", "onboarding", "data pipeline")
RAW_KINDS = (
    ("agent", "agent.prompt", "asked the agent about {t}"),
    ("agent", "agent.response", "agent answered about {t}"),
    ("desktop", "app.focused", "focused the editor on {t}"),
    ("cli", "shell.command", "ran a command for {t}"),
    ("desktop", "browser.visit", "read a page on {t}"),
)
APPS = ("Terminal", "Code", "Firefox", "Slack", "Linear")
GOAL = "tests"
TAG_QUERY = ["coding", "infra"]
REQUESTS: dict[str, dict[str, Any]] = {
    "default {}": {},
    f"goal {GOAL!r}": {"goal": GOAL},
    f"tags {'+'.join(TAG_QUERY)}": {"tags": TAG_QUERY},
    "goal + tags": {"goal": GOAL, "tags": TAG_QUERY},
}

RAW_COLUMNS = (
    "id", "user_id", "source", "source_detail", "kind", "content", "payload", "occurred_at",
    "session_id", "recording_event_id", "episode_id", "created_at",
)  # fmt: skip
EPISODE_COLUMNS = (
    "id", "user_id", "title", "summary", "started_at", "ended_at", "sources", "tags",
    "created_at", "updated_at",
)  # fmt: skip
FACT_COLUMNS = (
    "id", "user_id", "text", "normalized_text", "kind", "importance", "confidence", "tags",
    "created_at", "updated_at",
)  # fmt: skip
LINK_COLUMNS = ("fact_id", "episode_id")
PROFILE_COLUMNS = ("user_id", "display_name", "summary", "attributes", "updated_at")


@dataclass(frozen=True)
class Codec:
    """How a column value is written: SQLAlchemy's storage format for each database.

    SQLite keeps UUIDs as 32 hex digits and timestamps as naive UTC text with microseconds;
    psycopg adapts Python UUIDs and aware datetimes itself. JSON is text on both (JSONB parses).
    """

    ident: Callable[[uuid.UUID], Any]
    when: Callable[[datetime], Any]


SQLITE_CODEC = Codec(lambda u: u.hex, lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f"))
POSTGRES_CODEC = Codec(lambda u: u, lambda t: t)


@dataclass
class Seed:
    """Rows of every memory table, already in the target database's format."""

    raw: list[tuple[Any, ...]] = field(default_factory=list)
    episodes: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    profiles: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
        """In foreign-key order: episodes before the raw rows and facts that cite them."""
        yield "episodic_memories", EPISODE_COLUMNS, self.episodes
        yield "raw_memories", RAW_COLUMNS, self.raw
        yield "semantic_memories", FACT_COLUMNS, self.facts
        yield "fact_episodes", LINK_COLUMNS, self.links
        yield "user_profiles", PROFILE_COLUMNS, self.profiles


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _user_rows(
    rng: random.Random,
    seed: Seed,
    codec: Codec,
    user_id: uuid.UUID,
    size: tuple[int, int, int],
    now: datetime,
) -> None:
    """Append one user's raw rows, episodes (each over a stretch of raw rows), facts, profile."""
    n_raw, n_episodes, n_facts = size
    ident, when = codec.ident, codec.when
    owner = ident(user_id)
    span = ACTIVE_HOURS * 3600
    times = sorted(
        (now - timedelta(days=rng.randrange(DAYS), seconds=rng.random() * span)
         for _ in range(n_raw)),
    )  # fmt: skip
    stretch = n_raw // n_episodes
    episode_ids: list[uuid.UUID] = []
    for e in range(n_episodes + 1):  # the last "episode" is the leftover rows, uncited
        rows = times[e * stretch : (e + 1) * stretch] if e < n_episodes else times[e * stretch :]
        if not rows:
            continue
        topic = rng.choice(TOPICS)
        episode_id = _uuid(rng) if e < n_episodes else None
        sources: set[str] = set()
        for occurred in rows:
            source, kind, content = rng.choice(RAW_KINDS)
            sources.add(source)
            cited = episode_id is not None and rng.random() < LINKED_SHARE
            seed.raw.append(
                (
                    ident(_uuid(rng)),
                    owner,
                    source,
                    "claude-code" if source == "agent" else None,
                    kind,
                    content.format(t=topic),
                    json.dumps({"app": rng.choice(APPS), "topic": topic}),
                    when(occurred),
                    f"{user_id.hex[:8]}-{occurred:%Y%m%d%H}",
                    None,
                    ident(episode_id) if cited and episode_id else None,
                    when(occurred + timedelta(seconds=2)),
                )
            )
        if episode_id is None:
            continue
        episode_ids.append(episode_id)
        written = min(now, rows[-1] + timedelta(minutes=5))
        seed.episodes.append(
            (
                ident(episode_id),
                owner,
                f"Working on {topic}",
                f"A stretch of {len(rows)} events around {topic} in {rng.choice(PROJECTS)}.",
                when(rows[0]),
                when(rows[-1]),
                json.dumps(sorted(sources)),
                json.dumps(rng.sample(TAGS, rng.randint(1, 2))),
                when(written),
                when(written),
            )
        )
    for i in range(n_facts):
        text = (
            rng.choice(FACT_TEMPLATES).format(t=rng.choice(TOPICS))
            + f" in {rng.choice(PROJECTS)} (note {i})"
        )
        created = now - timedelta(seconds=rng.random() * DAYS * 86400)
        updated = min(now, created + timedelta(seconds=rng.random() * 5 * 86400))
        fact_id = _uuid(rng)
        seed.facts.append(
            (
                ident(fact_id),
                owner,
                text,
                normalize_fact_text(text),
                rng.choice(FACT_KINDS),
                round(rng.betavariate(2, 2), 3),
                round(rng.uniform(0.2, 1.0), 3),
                json.dumps(rng.sample(TAGS, rng.randint(1, 3))),
                when(created),
                when(updated),
            )
        )
        for episode_id in rng.sample(episode_ids, rng.randint(1, 3)):
            seed.links.append((ident(fact_id), ident(episode_id)))
    seed.profiles.append(
        (
            owner,
            f"Bench user {user_id.hex[:6]}",
            "# About\nBuilds Clone; prefers small pull requests and fast feedback.",
            json.dumps({"timezone": "Europe/Paris", "languages": ["en", "fr"], "editor": "vim"}),
            when(now),
        )
    )


def build_seed(kind: str, main: uuid.UUID, others: list[uuid.UUID], now: datetime) -> Seed:
    """All users' rows; raw rows sorted by time across users, as they would have arrived."""
    codec = POSTGRES_CODEC if kind == "postgresql" else SQLITE_CODEC
    rng = random.Random(f"context-bench-{main}")
    seed = Seed()
    _user_rows(rng, seed, codec, main, MAIN_SIZE, now)
    for other in others:
        _user_rows(rng, seed, codec, other, OTHER_SIZE, now)
    seed.raw.sort(key=lambda row: row[7])
    return seed


def seed_sqlite(url: str, seed: Seed) -> dict[str, float]:
    """executemany per table in one transaction; seconds per table."""
    timings: dict[str, float] = {}
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    try:
        for table, columns, rows in seed.tables():
            started = time.perf_counter()
            marks = ", ".join("?" * len(columns))
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
            timings[table] = time.perf_counter() - started
        started = time.perf_counter()
        connection.commit()
        timings["commit"] = time.perf_counter() - started
    finally:
        connection.close()
    return timings


def seed_postgres(url: str, seed: Seed) -> dict[str, float]:
    """COPY per table in one transaction, then ANALYZE; seconds per step."""
    timings: dict[str, float] = {}
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            for table, columns, rows in seed.tables():
                started = time.perf_counter()
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                timings[table] = time.perf_counter() - started
        started = time.perf_counter()
        connection.commit()
        timings["commit"] = time.perf_counter() - started
        connection.autocommit = True
        started = time.perf_counter()
        connection.execute("ANALYZE")
        timings["ANALYZE"] = time.perf_counter() - started
    return timings


# --- accounts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    key: str  # the measured user's API key
    main: uuid.UUID
    others: list[uuid.UUID]
    version: str


def make_accounts(base_url: str) -> Accounts:
    """Sign up the measured user and the others through the API (ingest's helper), get ids."""
    keys = [asyncio.run(_account(base_url)) for _ in range(1 + OTHER_USERS)]
    ids: list[uuid.UUID] = []
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        for key in keys:
            me = http.get(ME, headers={"X-Clone-API-Key": key})
            if me.status_code != 200:
                raise RuntimeError(f"{ME} failed: HTTP {me.status_code} {me.text[:300]}")
            ids.append(uuid.UUID(me.json()["id"]))
        version = http.get(HEALTH).json().get("version", "?")
    return Accounts(keys[0], ids[0], ids[1:], version)


# --- REST -----------------------------------------------------------------------------------------


@dataclass
class RestResult:
    timing: PhaseResult
    meta: dict[str, Any]
    returned: dict[str, int]  # items in the last bundle per section, and cited raw ids


def measure_rest(base_url: str, key: str, args: argparse.Namespace) -> dict[str, RestResult]:
    """One keep-alive client, requests back to back: latency as a caller on the host sees it."""
    results: dict[str, RestResult] = {}
    headers = {"X-Clone-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
        for name, body in REQUESTS.items():
            content = json.dumps(body).encode()
            timing = PhaseResult(name)
            started_all = 0.0
            for i in range(args.warmup + args.requests):
                started = time.perf_counter()
                if i == args.warmup:
                    started_all = started
                response = http.post(CONTEXT, content=content)
                latency = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
                if i >= args.warmup:
                    timing.latencies.append(latency)
                    timing.requests += 1
            timing.elapsed = time.perf_counter() - started_all
            last = response.json()
            returned = {section: len(last[section]) for section in ("facts", "episodes", "raw")}
            returned["cited raw ids"] = sum(len(e["raw_ids"]) for e in last["episodes"])
            results[name] = RestResult(timing, last["meta"], returned)
    return results


# --- in-process -----------------------------------------------------------------------------------


def _label(statement: str) -> str:
    """A short name for a statement: its main table, "+count" when it is a capped query."""
    match = re.search(r"\bFROM\s+(\w+)", statement)
    table = match.group(1) if match else statement.split(None, 1)[0]
    return table + (" (capped)" if " OVER " in statement.upper() else "")


class StatementLog:
    """Counts and times the statements the engine sends (cursor events, driver time only)."""

    def __init__(self) -> None:
        self.count = 0
        self.times: list[tuple[str, float]] = []
        self.captured: list[tuple[str, Any]] = []
        self.capture = False
        self._started = 0.0

    def reset(self) -> None:
        self.count = 0
        self.times = []
        self.captured = []

    def before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.count += 1
        if self.capture:
            self.captured.append((statement, parameters))
        self._started = time.perf_counter()

    def after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.times.append((_label(statement), time.perf_counter() - self._started))


@dataclass
class InProcessResult:
    timing: PhaseResult
    render: list[float]  # seconds: context_json + JSON encoding
    statements: list[int]  # per bundle
    driver: dict[str, list[float]]  # seconds per statement label
    plans: list[tuple[str, float, list[str]]] = field(default_factory=list)


async def measure_in_process(
    url: str, user_id: uuid.UUID, args: argparse.Namespace, kind: str
) -> dict[str, InProcessResult]:
    """build_context on the app's Services, a fresh session per bundle (as per request).

    The user is loaded before the clock starts (the server authenticates before the domain
    call), so the session already holds its connection when build_context runs.
    """
    services = Services.create(Settings(database_url=url, secret_key="x" * 48))
    log = StatementLog()
    engine = services.database.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", log.before)
    sa.event.listen(engine, "after_cursor_execute", log.after)
    results: dict[str, InProcessResult] = {}
    try:
        for name, body in REQUESTS.items():
            request = ContextRequest.parse(body)
            result = InProcessResult(PhaseResult(name), [], [], defaultdict(list))
            started_all = 0.0
            for i in range(args.warmup + args.requests):
                if i == args.warmup:
                    started_all = time.perf_counter()
                async with services.database.sessions() as db:
                    user = await db.get(User, user_id)
                    assert user is not None
                    log.reset()
                    started = time.perf_counter()
                    bundle = await build_context(db, user, request)
                    built = time.perf_counter()
                    dumps(context_json(bundle))
                    rendered = time.perf_counter()
                if i < args.warmup:
                    continue
                result.timing.latencies.append(built - started)
                result.timing.requests += 1
                result.render.append(rendered - built)
                result.statements.append(log.count)
                for label, seconds in log.times:
                    result.driver[label].append(seconds)
            result.timing.elapsed = time.perf_counter() - started_all
            results[name] = result
        for name, result in results.items():
            missed = kind == "postgresql" and (
                result.timing.percentile(0.5) >= TARGET_P50_MS
                or result.timing.percentile(0.99) >= TARGET_P99_MS
            )
            if args.explain or missed:
                result.plans = await _explain(services, log, user_id, REQUESTS[name], kind)
    finally:
        sa.event.remove(engine, "before_cursor_execute", log.before)
        sa.event.remove(engine, "after_cursor_execute", log.after)
        await services.aclose()
    return results


async def _explain(
    services: Services, log: StatementLog, user_id: uuid.UUID, body: dict[str, Any], kind: str
) -> list[tuple[str, float, list[str]]]:
    """EXPLAIN ANALYZE (PostgreSQL) / EXPLAIN QUERY PLAN (SQLite) of each statement of a bundle.

    The statements and their bound parameters are captured from one real build_context call,
    then re-run with the EXPLAIN prefix on the same driver.
    """
    async with services.database.sessions() as db:
        user = await db.get(User, user_id)
        assert user is not None
        log.reset()
        log.capture = True
        try:
            await build_context(db, user, ContextRequest.parse(body))
        finally:
            log.capture = False
        captured = list(log.captured)
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgresql" else "EXPLAIN QUERY PLAN "
    plans: list[tuple[str, float, list[str]]] = []
    async with services.database.engine.connect() as connection:
        for statement, parameters in captured:
            started = time.perf_counter()
            rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
            elapsed = time.perf_counter() - started
            lines = [str(row[0]) if kind == "postgresql" else str(row[-1]) for row in rows]
            plans.append((statement, elapsed, lines))
    return plans


# --- report ---------------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> float:
    return PhaseResult("", latencies=values).percentile(q)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(
    label: str,
    accounts: Accounts,
    seed: Seed,
    seeding: dict[str, float],
    rest: dict[str, RestResult],
    in_process: dict[str, InProcessResult],
    args: argparse.Namespace,
) -> None:
    """Data size, the latency table, per-statement driver times, targets and any plans."""
    print(f"\n== {label} ==  (gateway {accounts.version}, {args.workers} server worker(s))")
    sizes = {table: len(rows) for table, _, rows in seed.tables()}
    print(
        "seeded: "
        + ", ".join(f"{table} {count:,}" for table, count in sizes.items())
        + f" (measured user: {MAIN_SIZE[0]:,} raw, {MAIN_SIZE[1]:,} episodes, "
        f"{MAIN_SIZE[2]:,} facts; {OTHER_USERS} other users: {OTHER_SIZE[0]:,} / "
        f"{OTHER_SIZE[1]:,} / {OTHER_SIZE[2]:,} each)"
    )
    steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in seeding.items())
    print(f"seeding: {sum(seeding.values()):.1f} s  ({steps} s)")
    default = rest["default {}"]
    counts, caps, window = default.meta["counts"], default.meta["caps"], default.meta["window"]
    print(
        f"default bundle meta.counts (before caps): facts {counts['facts']:,}, episodes "
        f"{counts['episodes']:,}, raw {counts['raw']:,} in the last {window['recency_minutes']} "
        f"min; caps {caps}; returned " + ", ".join(f"{k} {v}" for k, v in default.returned.items())
    )
    print(
        f"{args.requests} sequential requests per row after {args.warmup} warm-up, one client; "
        "times in ms"
    )
    header = (
        f"{'request':<20}{'facts':>7} | {'REST over loopback':^34} | "
        f"{'in-process build_context':^34} | {'SQL':>4}{'render':>8}"
    )
    sub = (
        f"{'':<20}{'match':>7} | {'p50':>7}{'p90':>7}{'p99':>7}{'req/s':>9}{'':>4} | "
        f"{'p50':>7}{'p90':>7}{'p99':>7}{'ops/s':>9}{'':>4} | {'/req':>4}{'p50':>8}"
    )
    print(header)
    print(sub)
    print("-" * len(sub))
    for name in REQUESTS:
        r, p = rest[name].timing, in_process[name]
        t = p.timing
        statements = sorted(set(p.statements))
        count = "-".join(str(s) for s in (statements[0], statements[-1])) if statements else "?"
        if len(statements) == 1:
            count = str(statements[0])
        print(
            f"{name:<20}{rest[name].meta['counts']['facts']:>7,} | "
            f"{r.percentile(0.5):>7.2f}{r.percentile(0.9):>7.2f}{r.percentile(0.99):>7.2f}"
            f"{r.rps:>9.1f}{'':>4} | "
            f"{t.percentile(0.5):>7.2f}{t.percentile(0.9):>7.2f}{t.percentile(0.99):>7.2f}"
            f"{t.rps:>9.1f}{'':>4} | {count:>4}{_ms(p.render, 0.5):>8.2f}"
        )
    print("driver time per statement, p50 / p99 ms (execute + fetch in the driver, no ORM):")
    labels: list[str] = []
    for result in in_process.values():
        labels += [label for label in result.driver if label not in labels]
    print(f"  {'statement':<30}" + "".join(f"{name:>22}" for name in REQUESTS))
    for statement in labels:
        cells = []
        for result in in_process.values():
            values = result.driver.get(statement)
            cells.append(
                f"{_ms(values, 0.5):>10.2f} /{_ms(values, 0.99):>8.2f}  "
                if values
                else f"{'-':>22}"
            )
        print(f"  {statement:<30}" + "".join(cells))
    print("targets (server-side = in-process build_context):")
    for name, result in in_process.items():
        p50, p99 = result.timing.percentile(0.5), result.timing.percentile(0.99)
        if label == "PostgreSQL":
            print(
                f"  {name:<20} p50 {p50:6.2f} < {TARGET_P50_MS:.0f} -> "
                f"{_verdict(p50 < TARGET_P50_MS)};  p99 {p99:6.2f} < {TARGET_P99_MS:.0f} -> "
                f"{_verdict(p99 < TARGET_P99_MS)}"
            )
        else:
            print(
                f"  {name:<20} p50 {p50:6.2f}, p99 {p99:6.2f}  (targets p50 < "
                f"{TARGET_P50_MS:.0f}, p99 < {TARGET_P99_MS:.0f} are for PostgreSQL)"
            )
    for name, result in in_process.items():
        if not result.plans:
            continue
        print(f"plans for {name} (one bundle's statements, re-run with EXPLAIN):")
        for statement, elapsed, lines in result.plans:
            print(f"  -- {_label(statement)}: {elapsed * 1000:.2f} ms to explain")
            print("     " + " ".join(statement.split())[:400])
            for line in lines:
                print(f"     {line}")


# --- entry point ----------------------------------------------------------------------------------


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per row")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--explain", action="store_true", help="print every statement's plan")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - set(LABELS)
    if unknown:
        parser.error(f"unknown database(s) {sorted(unknown)}: choose from sqlite, postgresql")
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be >= 1 and --warmup >= 0")
    return args


def run_database(kind: str, args: argparse.Namespace) -> None:
    """Fresh database, real server, accounts, seed, then both measurements and the report."""
    label = LABELS[kind]
    with (
        fresh_database(kind, args.pg_admin_url) as url,
        running_server(url, args.workers) as server,
    ):
        print(f"  server up at {server.base_url}; signing up users ...", flush=True)
        accounts = make_accounts(server.base_url)
        started = time.perf_counter()
        seed = build_seed(kind, accounts.main, accounts.others, datetime.now(UTC))
        generated = time.perf_counter() - started
        print(f"  generated rows in {generated:.1f} s; seeding ...", flush=True)
        seeding = {"generate": generated}
        seeding.update(seed_postgres(url, seed) if kind == "postgresql" else seed_sqlite(url, seed))
        print("  measuring REST ...", flush=True)
        rest = measure_rest(server.base_url, accounts.key, args)
        print("  measuring in-process ...", flush=True)
        in_process = asyncio.run(measure_in_process(url, accounts.main, args, kind))
        report(label, accounts, seed, seeding, rest, in_process, args)


def main() -> int:
    args = _args()
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"machine: {CORES} usable cores; Python {sys.version.split()[0]}; "
        f"SQLAlchemy {sa.__version__}, psycopg {psycopg.__version__}, httpx {httpx.__version__}"
    )
    status = 0
    for kind in args.databases:
        label = LABELS[kind]
        print(f"\n[{label}] preparing database and starting the server ...", flush=True)
        try:
            load = background_load()
            print(f"  machine busy before start: {load:.0f}% of one core", end="")
            print("  (WARNING: other work is running; figures will be high)" if load > 20 else "")
            run_database(kind, args)
        except KeyboardInterrupt:
            print("\ninterrupted; server stopped and database removed")
            return 130
        except (RuntimeError, psycopg.Error, sqlite3.Error, OSError) as exc:
            print(f"  {label} run failed: {type(exc).__name__}: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

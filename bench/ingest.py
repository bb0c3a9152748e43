"""Recording ingest and reads against the real server: requests/s, events/s, latency.

Run: ``.venv/bin/python bench/ingest.py [--duration 10] [--workers 2] [--clients 8]
[--batch 1000] [--databases sqlite,postgresql] [--pg-admin-url postgresql://...]``.

For each database it prepares a fresh database (a temp SQLite file, or a throw-away
``clone_bench_<random>`` PostgreSQL database that is dropped at the end, even on error or
Ctrl-C), starts ``clone-gateway serve`` as a subprocess (which applies the migrations), signs up
a user, creates an API key, and drives three timed phases from C concurrent clients:

- ``fresh``: batches of B new events to ``POST /api/recording/events/`` (expect 201, accepted=B);
- ``duplicates``: the same batches again (expect 200, duplicates=B);
- ``reads``: ``GET /api/recording/sessions/<id>/events/?limit=500`` on sessions with >= 500
  events (expect 200 and 500 results).

The load generator shares the machine's cores with the server and the database, so it is kept
cheap: each client pre-encodes a few batch bodies with placeholders before the clock starts,
and a batch is made unique by two ``bytes.replace`` calls (id prefix, time prefix). The CPU
used by the client, the server's processes and PostgreSQL is measured per phase from ``/proc``
so the figures say where the time went. Measured on 2 cores, the client (asyncio, one
httpx.AsyncClient per client task, in this process) uses about 10-30 % of one core, so it is
not the bottleneck and separate client processes are not needed. This is a measuring script,
not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import psycopg
from psycopg import sql

INGEST = "/api/recording/events/"
HEALTH = "/api/monitoring/health/"
READ_LIMIT = 500
SESSIONS_PER_CLIENT = 10
TEMPLATES_PER_CLIENT = 4  # distinct pre-encoded bodies per client, reused with fresh ids
HEALTH_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0
# Placeholders baked into the pre-encoded bodies; replaced per batch so every batch is new.
ID_MARK = b"~ID~"
TIME_MARK = b"~TS~"
TIME_BASE = datetime(2026, 1, 1, tzinfo=UTC)
# Mostly the high-volume types, as real producers send them (session.started added per session).
EVENT_MIX = (("agent.prompt", 30), ("agent.response", 30), ("app.focused", 20), ("input.click", 20))
APPS = ("Terminal", "Code", "Firefox", "Slack", "Linear")
WORDS = ("run", "the", "tests", "again", "fix", "failing", "import", "ship", "it", "check", "logs")
TARGET_FRESH_PG = 25_000  # events/s, PostgreSQL
TARGET_DUP_RATIO = 1.5  # duplicates events/s over fresh events/s
TARGET_P99_MS = 250.0  # one 1000-event batch


# --- load shape ---------------------------------------------------------------------------------


def _event(
    rng: random.Random, index: int, session_id: str, prompt_id: str | None
) -> dict[str, Any]:
    """One valid CloneEvent of a random type from EVENT_MIX, with placeholder id and time."""
    types, weights = zip(*EVENT_MIX, strict=True)
    event_type = rng.choices(types, weights)[0]
    if event_type == "agent.response" and prompt_id is None:
        event_type = "agent.prompt"
    # 1000 events spread over one minute: 60 ms apart, the minute is the time placeholder.
    offset_ms = index * 60
    event: dict[str, Any] = {
        "id": f"{ID_MARK.decode()}-{index:04d}",
        "session_id": session_id,
        "occurred_at": f"{TIME_MARK.decode()}:{offset_ms // 1000:02d}.{offset_ms % 1000:03d}Z",
        "type": event_type,
    }
    if event_type.startswith("agent."):
        event.update(source="agent", source_detail="claude-code", agent="claude-code")
        text = " ".join(rng.choices(WORDS, k=rng.randint(8, 40)))
        if event_type == "agent.prompt":
            event["prompt"] = text
        else:
            event.update(response=text, in_response_to=prompt_id)
    elif event_type == "app.focused":
        event.update(source="desktop", source_detail=None, app=rng.choice(APPS))
        event["window_title"] = rng.choice([None, "~/src/clone — zsh", "PR #1234 · review"])
    else:
        event.update(source="desktop", source_detail=None, button=rng.choice(["left", "right"]))
        event.update(x=rng.randrange(1920), y=rng.randrange(1080))
    return event


def _template(rng: random.Random, sessions: list[str], size: int, starts: bool) -> bytes:
    """A pre-encoded batch body with ID_MARK/TIME_MARK placeholders.

    With ``starts`` the batch opens each session with a ``session.started`` (only the client's
    first batch does, so sessions get one bookend and many ordinary events).
    """
    events: list[dict[str, Any]] = []
    if starts:
        for session_id in sessions[:size]:
            index = len(events)
            events.append(
                {
                    "id": f"{ID_MARK.decode()}-{index:04d}",
                    "session_id": session_id,
                    "occurred_at": f"{TIME_MARK.decode()}:00.{index:03d}Z",
                    "source": "desktop",
                    "source_detail": None,
                    "type": "session.started",
                }
            )
    last_prompt: dict[str, str] = {}
    while len(events) < size:
        session_id = rng.choice(sessions)
        event = _event(rng, len(events), session_id, last_prompt.get(session_id))
        if event["type"] == "agent.prompt":
            last_prompt[session_id] = event["id"]
        events.append(event)
    return orjson.dumps(events)


class BatchSource:
    """One client's batches: batch n is a template with its own id prefix and minute.

    Deterministic, so the duplicates phase re-sends exactly the bytes the fresh phase sent.
    """

    def __init__(self, run: str, client: int, size: int) -> None:
        rng = random.Random(f"{run}-{client}")
        self.sessions = [f"{run}-c{client:02d}-s{j:02d}" for j in range(SESSIONS_PER_CLIENT)]
        self.prefix = f"{run}-c{client:02d}-b"
        self.first = _template(rng, self.sessions, size, starts=True)
        self.rest = [
            _template(rng, self.sessions, size, starts=False) for _ in range(TEMPLATES_PER_CLIENT)
        ]
        self.client = client
        self.next_fresh = 0
        self.sent: list[int] = []  # batch numbers stored in full (201, accepted == size)

    def body(self, n: int) -> bytes:
        template = self.first if n == 0 else self.rest[n % len(self.rest)]
        minute = TIME_BASE + timedelta(days=self.client * 100, minutes=n)
        return template.replace(ID_MARK, f"{self.prefix}{n:07d}".encode()).replace(
            TIME_MARK, minute.strftime("%Y-%m-%dT%H:%M").encode()
        )

    def take_fresh(self) -> int:
        n = self.next_fresh
        self.next_fresh += 1
        return n


# --- measuring --------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))
CLIENT_BACKEND = re.compile(r"\(\d+\)|\[local\]")  # "host(port)" in a backend's title


@dataclass(frozen=True)
class Target:
    """The system under test, for CPU accounting: the server's group and its database."""

    server_pgid: int
    database: str | None  # PostgreSQL database name; None for SQLite (inside the server)
    alive: Callable[[], bool]


def _cmdline(pid: str) -> str:
    try:
        return Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, minus idle and iowait)."""
    cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(cpu) - cpu[3] - cpu[4]) / CLOCK_TICKS


def background_load(seconds: float = 2.0) -> float:
    """% of one core the machine is busy before we start: other work skews every figure."""
    before, start = _machine_busy(), time.monotonic()
    time.sleep(seconds)
    return 100 * (_machine_busy() - before) / (time.monotonic() - start)


@dataclass
class CpuSnapshot:
    """CPU seconds so far of the client (this process), the server, its database, the machine.

    ``database`` counts the backends of the benchmark database plus PostgreSQL's shared
    processes (WAL writer, checkpointer...), not other databases' backends (a concurrent test
    suite's, say), which land in "other". Per-process times are kept by pid, so a backend that
    exits during a phase loses only its last interval, not its whole history.
    """

    client: float
    server: dict[int, float]
    database: dict[int, float]
    machine: float  # busy time summed over all cores

    @classmethod
    def take(cls, target: Target) -> CpuSnapshot:
        times = os.times()
        server: dict[int, float] = {}
        database: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                raw = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            if int(fields[2]) == target.server_pgid:
                server[int(entry.name)] = seconds
            elif comm == "postgres" and target.database is not None:
                title = _cmdline(entry.name)
                if target.database in title or not CLIENT_BACKEND.search(title):
                    database[int(entry.name)] = seconds
        return cls(times.user + times.system, server, database, _machine_busy())

    def since(self, before: CpuSnapshot) -> tuple[dict[str, float], list[float]]:
        """CPU seconds spent by each party since ``before``, and by each server process.

        The per-process split shows whether the workers share the load: keep-alive
        connections stay with the worker that accepted them.
        """

        def each(now: dict[int, float], then: dict[int, float]) -> list[float]:
            return [max(0.0, t - then.get(pid, 0.0)) for pid, t in now.items()]

        server = sorted(each(self.server, before.server), reverse=True)
        totals = {
            "client": self.client - before.client,
            "server": sum(server),
            "database": sum(each(self.database, before.database)),
            "machine": self.machine - before.machine,
        }
        return totals, server


@dataclass
class PhaseResult:
    name: str
    batch: int = 0  # events per request for ingest phases, 0 for reads
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core (all cores: CORES*100)
    server_processes: list[float] = field(default_factory=list)  # % of one core, busiest first
    note: str = ""

    def fail(self, detail: str) -> None:
        self.errors += 1
        if len(self.samples) < 5 and detail not in self.samples:
            self.samples.append(detail)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def eps(self) -> float:
        """Events/s of successful requests (failed ones are not counted)."""
        ok = self.requests - self.errors
        return ok * self.batch / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


Check = Callable[[httpx.Response], str | None]  # an error description, or None when as expected
Request = Callable[[], Awaitable[tuple[httpx.Response, Check]]]


async def _drive(result: PhaseResult, request: Request, deadline: float, target: Target) -> None:
    """Send requests back to back until the deadline; record latency and check each answer."""
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            response, check = await request()
        except httpx.HTTPError as exc:
            result.requests += 1
            result.fail(f"{type(exc).__name__}: {exc}")
            if not target.alive():
                result.note = "server process exited during the phase"
                return
            await asyncio.sleep(0.05)
            continue
        result.latencies.append(time.perf_counter() - started)
        result.requests += 1
        problem = check(response)
        if problem is not None:
            result.fail(problem)


async def _phase(
    name: str, batch: int, requests: list[Request], duration: float, target: Target
) -> PhaseResult:
    """Run one request loop per client for ``duration`` seconds; elapsed ends at the last answer."""
    result = PhaseResult(name=name, batch=batch)
    before = CpuSnapshot.take(target)
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(_drive(result, r, deadline, target) for r in requests))
    result.elapsed = time.perf_counter() - start
    after = CpuSnapshot.take(target)
    totals, per_process = after.since(before)
    for key, seconds in totals.items():
        result.cpu[key] = 100 * seconds / result.elapsed
    result.server_processes = [100 * seconds / result.elapsed for seconds in per_process]
    ours = result.cpu["client"] + result.cpu["server"] + result.cpu["database"]
    result.cpu["other"] = max(0.0, result.cpu["machine"] - ours)
    result.cpu["idle"] = max(0.0, 100 * CORES - result.cpu["machine"])
    return result


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:300]}"


def _ingest_check(status: int, field_name: str, size: int) -> Check:
    """Expect ``status`` with ``field_name`` == size and nothing else counted."""

    def check(response: httpx.Response) -> str | None:
        if response.status_code != status:
            return _describe(response)
        body = orjson.loads(response.content)
        other = "duplicates" if field_name == "accepted" else "accepted"
        if body.get(field_name) != size or body.get(other) != 0 or body.get("invalid"):
            return _describe(response)
        return None

    return check


def _reads_check(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return _describe(response)
    got = len(orjson.loads(response.content).get("results", ()))
    return None if got == READ_LIMIT else f"HTTP 200 with {got} results, expected {READ_LIMIT}"


# --- server and database lifecycle --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(kind: str, admin_url: str) -> Iterator[str]:
    """Yield the URL of an empty database that is removed afterwards, whatever happens."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="clone-bench-")
        try:
            yield f"sqlite:///{directory}/bench.db"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    name = f"clone_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        print(f"  dropped database {name}")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    command: list[str]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _executable() -> str:
    found = shutil.which("clone-gateway", path=str(Path(sys.executable).parent))
    if found is None:
        sys.exit("clone-gateway is not installed next to this Python: pip install -e .")
    return found


@contextmanager
def running_server(
    database_url: str, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start ``clone-gateway serve`` in its own process group; stop the whole group afterwards."""
    port = _free_port()
    command = [_executable(), "serve", "--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLONE_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url, CLONE_SECRET_KEY=secrets.token_urlsafe(48))
    env.update(extra_env or {})
    log_dir = Path(tempfile.mkdtemp(prefix="clone-bench-log-"))
    log = log_dir / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", command, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        _stop(process)
        tail = server.log_tail()
        if tail.strip():
            print("  server output (last lines):")
            print("    " + tail.replace("\n", "\n    "))
        shutil.rmtree(log_dir, ignore_errors=True)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while True:
        if not server.alive():
            raise RuntimeError(f"server exited early (code {server.process.returncode})")
        try:
            if httpx.get(server.base_url + HEALTH, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not answer {HEALTH} with 200 within 60 s")
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group is left (a worker can outlive its master)."""
    return any(_pgrp(e.path) == pgid for e in os.scandir("/proc") if e.name.isdigit())


def _pgrp(proc_dir: str) -> int | None:
    try:
        raw = Path(proc_dir, "stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[2])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (master and workers); SIGKILL whatever lingers."""
    pgid = process.pid
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    if process.poll() is None or _group_alive(pgid):
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    process.wait()


# --- one database -------------------------------------------------------------------------------


@dataclass
class DatabaseRun:
    label: str
    database_url: str
    command: list[str]
    version: str
    body_bytes: int
    phases: list[PhaseResult]


async def _account(base_url: str) -> str:
    """Sign up a fresh user and return a new API key for the load."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        email = f"bench-{secrets.token_hex(4)}@example.com"
        signup = await http.post(
            "/api/auth/signup/", json={"email": email, "password": secrets.token_urlsafe(16)}
        )
        if signup.status_code != 201:
            raise RuntimeError(f"signup failed: {_describe(signup)}")
        access = signup.json()["access"]
        key = await http.post(
            "/api/auth/keys/", json={"name": "bench"}, headers={"Authorization": f"Bearer {access}"}
        )
        if key.status_code != 201:
            raise RuntimeError(f"API key creation failed: {_describe(key)}")
        return key.json()["key"]


async def _readable_sessions(http: httpx.AsyncClient) -> list[str]:
    """Ids of the caller's sessions holding at least READ_LIMIT events."""
    found: list[str] = []
    offset = 0
    while True:
        page = await http.get("/api/recording/sessions/", params={"limit": 200, "offset": offset})
        if page.status_code != 200:
            raise RuntimeError(f"listing sessions failed: {_describe(page)}")
        results = page.json()["results"]
        found += [s["id"] for s in results if s["event_count"] >= READ_LIMIT]
        if len(results) < 200:
            return found
        offset += 200


async def bench_database(label: str, server: Server, database_url: str, args: Any) -> DatabaseRun:
    """Account, warm-up, then the three timed phases against one running server."""
    key = await _account(server.base_url)
    run = secrets.token_hex(3)
    sources = [BatchSource(run, c, args.batch) for c in range(args.clients)]
    headers = {"X-Clone-API-Key": key, "Content-Type": "application/json"}
    clients = [
        httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        for _ in sources
    ]
    database = urlsplit(database_url).path.lstrip("/") if label == "PostgreSQL" else None
    target = Target(server.process.pid, database, server.alive)
    try:
        version = (await clients[0].get(HEALTH)).json().get("version", "?")
        fresh_ok = _ingest_check(201, "accepted", args.batch)
        dup_ok = _ingest_check(200, "duplicates", args.batch)

        # Warm-up, untimed: each client's first batch opens its sessions and its connection.
        async def warm(http: httpx.AsyncClient, source: BatchSource) -> None:
            n = source.take_fresh()
            response = await http.post(INGEST, content=source.body(n))
            if (problem := fresh_ok(response)) is not None:
                raise RuntimeError(f"warm-up batch rejected: {problem}")
            source.sent.append(n)

        await asyncio.gather(*(warm(h, s) for h, s in zip(clients, sources, strict=True)))

        def fresh(http: httpx.AsyncClient, source: BatchSource) -> Request:
            async def request() -> tuple[httpx.Response, Check]:
                n = source.take_fresh()
                response = await http.post(INGEST, content=source.body(n))
                if fresh_ok(response) is None:
                    source.sent.append(n)
                return response, fresh_ok

            return request

        def duplicate(http: httpx.AsyncClient, source: BatchSource) -> Request:
            position = iter(range(1 << 62))

            async def request() -> tuple[httpx.Response, Check]:
                n = source.sent[next(position) % len(source.sent)]
                return await http.post(INGEST, content=source.body(n)), dup_ok

            return request

        pairs = list(zip(clients, sources, strict=True))
        phases = [
            await _phase(
                "fresh",
                args.batch,
                [fresh(h, s) for h, s in pairs],
                args.duration,
                target,
            ),
            await _phase(
                "duplicates",
                args.batch,
                [duplicate(h, s) for h, s in pairs],
                args.duration,
                target,
            ),
        ]

        readable = await _readable_sessions(clients[0])
        if readable:

            def read(http: httpx.AsyncClient, client: int) -> Request:
                position = iter(range(client, 1 << 62, len(clients)))
                paths = [f"/api/recording/sessions/{s}/events/" for s in readable]

                async def request() -> tuple[httpx.Response, Check]:
                    path = paths[next(position) % len(paths)]
                    return await http.get(path, params={"limit": READ_LIMIT}), _reads_check

                return request

            reads = await _phase(
                "reads",
                0,
                [read(h, i) for i, h in enumerate(clients)],
                args.duration,
                target,
            )
            reads.note = f"{len(readable)} sessions with >= {READ_LIMIT} events"
        else:
            reads = PhaseResult("reads", note=f"skipped: no session has {READ_LIMIT} events")
        phases.append(reads)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    body_bytes = len(sources[0].body(1))
    return DatabaseRun(label, database_url, server.command, version, body_bytes, phases)


# --- report -------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(result: DatabaseRun, args: Any) -> None:
    """The table of one database, the CPU split, error samples and the targets."""
    print(f"\n== {result.label} ==")
    print(f"database: {result.database_url}")
    print(f"server:   {' '.join(result.command)}  (gateway {result.version})")
    print(
        f"load:     {args.clients} clients (asyncio, one httpx.AsyncClient each, in this "
        f"process), batches of {args.batch} events ({result.body_bytes:,} bytes), "
        f"{args.duration:g} s per phase"
    )
    header = (
        f"{'phase':<11}{'requests':>9}{'req/s':>9}{'events/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for phase in result.phases:
        if not phase.elapsed:
            print(f"{phase.name:<11}  {phase.note}")
            continue
        events = f"{phase.eps:>11,.0f}" if phase.batch else f"{'-':>11}"
        print(
            f"{phase.name:<11}{phase.requests:>9,}{phase.rps:>9,.1f}{events}"
            f"{phase.percentile(0.5):>9.1f}{phase.percentile(0.99):>9.1f}{phase.errors:>8,}"
            + (f"  ({phase.note})" if phase.note else "")
        )
    database = "postgres" if result.label == "PostgreSQL" else "(in server)"
    print(f"CPU during each phase, % of one core ({CORES} cores = {CORES * 100}):")
    columns = ("client", "server", database, "other", "idle")
    print(f"{'phase':<11}" + "".join(f"{c:>12}" for c in columns) + "   server by process")
    for phase in result.phases:
        if phase.elapsed:
            cpu = phase.cpu
            values = [cpu["client"], cpu["server"], cpu["database"], cpu["other"], cpu["idle"]]
            split = " + ".join(f"{v:.0f}" for v in phase.server_processes if v >= 0.5)
            cells = [f"{v:>12.0f}" for v in values]
            if result.label != "PostgreSQL":
                cells[2] = f"{'-':>12}"  # SQLite runs inside the server processes
            print(f"{phase.name:<11}" + "".join(cells) + f"   {split}")
    for phase in result.phases:
        for sample in phase.samples:
            print(f"  {phase.name} error: {sample}")

    by_name = {p.name: p for p in result.phases}
    fresh, dups = by_name["fresh"], by_name["duplicates"]
    print("targets:")
    print(
        f"  (closed loop: {args.clients} requests always in flight, so mean latency is about "
        f"{args.clients} / req/s; a p99 under {TARGET_P99_MS:.0f} ms needs well over "
        f"{args.clients / TARGET_P99_MS * 1000:.0f} req/s)"
    )
    if result.label == "PostgreSQL":
        print(
            f"  fresh >= {TARGET_FRESH_PG:,} events/s on PostgreSQL: {fresh.eps:,.0f} "
            f"-> {_verdict(fresh.eps >= TARGET_FRESH_PG)}"
        )
    else:
        print(f"  fresh >= {TARGET_FRESH_PG:,} events/s: PostgreSQL only (here {fresh.eps:,.0f})")
    ratio = dups.eps / fresh.eps if fresh.eps else float("nan")
    print(
        f"  duplicates >= {TARGET_DUP_RATIO}x fresh: {ratio:.2f}x "
        f"-> {_verdict(ratio >= TARGET_DUP_RATIO)}"
    )
    if args.batch == 1000:
        for phase in (fresh, dups):
            p99 = phase.percentile(0.99)
            print(
                f"  p99 of a 1000-event batch < {TARGET_P99_MS:.0f} ms ({phase.name}): "
                f"{p99:.1f} ms -> {_verdict(p99 < TARGET_P99_MS)}"
            )
    else:
        print(
            f"  p99 < {TARGET_P99_MS:.0f} ms applies to 1000-event batches (run with --batch 1000)"
        )


# --- entry point --------------------------------------------------------------------------------

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client tasks")
    parser.add_argument("--batch", type=int, default=1000, help="events per ingest request")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - set(LABELS)
    if unknown:
        parser.error(f"unknown database(s) {sorted(unknown)}: choose from sqlite, postgresql")
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1..1000 (the server refuses larger batches)")
    if args.batch < SESSIONS_PER_CLIENT:
        parser.error(f"--batch must be at least {SESSIONS_PER_CLIENT} (one start per session)")
    return args


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM behaves like Ctrl-C, so the finally blocks stop the server and drop the DB."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = _args()
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"machine: {os.cpu_count()} cores ({CORES} usable by this process); Python "
        f"{sys.version.split()[0]}; httpx {httpx.__version__}, orjson {orjson.__version__}"
    )
    status = 0
    for kind in args.databases:
        label = LABELS[kind]
        print(f"\n[{label}] preparing database and starting the server ...", flush=True)
        try:
            load = background_load()
            print(f"  machine busy before start: {load:.0f}% of one core", end="")
            print("  (WARNING: other work is running; figures will be low)" if load > 20 else "")
            with (
                fresh_database(kind, args.pg_admin_url) as url,
                running_server(url, args.workers) as server,
            ):
                print(f"  server up at {server.base_url}; running phases ...", flush=True)
                result = asyncio.run(bench_database(label, server, url, args))
            report(result, args)
            if any(p.errors for p in result.phases):
                status = 1
        except KeyboardInterrupt:
            print("\ninterrupted; server stopped and database removed")
            return 130
        except (RuntimeError, psycopg.Error, OSError) as exc:
            print(f"  {label} run failed: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures: every test runs against a real, freshly migrated database.

SQLite always; PostgreSQL too when TEST_DATABASE_URL names a server (CI sets it). Each backend
gets its own newly created database for the session (dropped afterwards), and every test
starts from empty tables.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

import models
from gateway.app import create_app
from gateway.settings import Settings
from models.db import create_sync_engine
from models.migrate import upgrade

TEST_SECRET_KEY = "test-secret-key-" + "k" * 40
EXECUTABLE = shutil.which("clone-gateway", path=str(Path(sys.executable).parent))
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_only: runs only on the PostgreSQL backend (a PostgreSQL feature)"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: runs only on the SQLite backend (slow, and the same on both)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (rather than skip) single-backend tests in the other backend's parametrization."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("database_url") if params else None
        if (item.get_closest_marker("postgresql_only") and backend != "postgresql") or (
            item.get_closest_marker("sqlite_only") and backend not in (None, "sqlite")
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _create_postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    admin = make_url(admin_url)
    name = f"clone_test_{uuid.uuid4().hex[:12]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'clone-test.db'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731 - the temp dir goes away by itself
    else:
        url, drop = _create_postgres_database(os.environ["TEST_DATABASE_URL"])
    try:
        upgrade(url)
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def maintenance_engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def clean_database(maintenance_engine: sa.Engine) -> None:
    tables = list(reversed(models.metadata.sorted_tables))
    with maintenance_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def make_settings(database_url: str, clean_database: None) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "secret_key": TEST_SECRET_KEY,
            "env": "development",
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def make_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Any]]:
    """Build an in-process app with overridden settings and an httpx client for it."""
    opened: list[tuple[Starlette, httpx.AsyncClient]] = []

    async def build(**overrides: Any) -> httpx.AsyncClient:
        app = create_app(make_settings(**overrides))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        )
        opened.append((app, client))
        return client

    yield build
    for app, client in opened:
        await client.aclose()
        await app.state.services.aclose()


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> httpx.AsyncClient:
    return await make_client()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLONE_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url, CLONE_SECRET_KEY=TEST_SECRET_KEY, **extra)
    return env


QUIET = ("--log-level", "warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start_server(database_url: str, clean_database: None) -> Iterator[Callable[..., str]]:
    """Start real `clone-gateway serve` processes on the test database; stopped afterwards."""
    assert EXECUTABLE, "clone-gateway is not installed in this environment"
    processes: list[subprocess.Popen[str]] = []

    def start(workers: int = 1, **env: str) -> str:
        port = _free_port()
        process = subprocess.Popen(
            [EXECUTABLE, "serve", "--port", str(port), "--workers", str(workers), *QUIET],
            env=server_env(database_url, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"server exited early:\n{output}")
            try:
                if httpx.get(f"{base}/api/monitoring/health/", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer within 30 s")
            time.sleep(0.1)

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def fake_anthropic() -> Iterator[Any]:
    """A local fake of the Anthropic Messages API for the real SDK (see tests/fakes/anthropic.py).

    Use it with `make_client(anthropic_api_key="test-key", anthropic_base_url=fake.url)`.
    """
    from tests.fakes.anthropic import FakeAnthropic

    fake = FakeAnthropic().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_elevenlabs() -> Iterator[Any]:
    """A local fake of the ElevenLabs API for the real SDK (see tests/fakes/elevenlabs.py).

    Use it with `make_client(elevenlabs_api_key="test-key", elevenlabs_base_url=fake.url)`.
    """
    from tests.fakes.elevenlabs import FakeElevenLabs

    fake = FakeElevenLabs().start()
    try:
        yield fake
    finally:
        fake.stop()

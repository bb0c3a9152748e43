"""Fixtures: every test runs against a real, freshly migrated database.

SQLite always; PostgreSQL too when TEST_DATABASE_URL names a server (CI sets it). Each backend
gets its own newly created database for the session (dropped afterwards), and every test
starts from empty tables.
"""

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
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
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


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

"""The real `clone-gateway` executable: operator commands, and `serve` over real HTTP."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.helpers import PASSWORD

EXECUTABLE = shutil.which("clone-gateway", path=str(Path(sys.executable).parent))


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLONE_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url, CLONE_SECRET_KEY=TEST_SECRET_KEY, **extra)
    return env


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert EXECUTABLE, "clone-gateway is not installed in this environment"
    return subprocess.run(
        [EXECUTABLE, *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(database_url: str, clean_database: None) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [EXECUTABLE, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{process.stdout.read()}")
            try:
                if httpx.get(f"{base}/api/monitoring/health/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_answers_health_rest_and_graphql_over_http(server):
    health = httpx.get(f"{server}/api/monitoring/health/")
    assert health.json()["status"] == "ok"
    signup = httpx.post(
        f"{server}/api/auth/signup/", json={"email": "live@example.com", "password": PASSWORD}
    )
    assert signup.status_code == 201
    key = httpx.post(
        f"{server}/api/auth/keys/",
        json={"name": "live"},
        headers={"Authorization": f"Bearer {signup.json()['access']}"},
    ).json()["key"]
    # Several requests so both workers (which share the database and the key) serve some.
    for _ in range(6):
        answer = httpx.post(
            f"{server}/graphql",
            json={"query": "{ me { email } }"},
            headers={"X-Clone-API-Key": key},
        )
        assert answer.json() == {"data": {"me": {"email": "live@example.com"}}}
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"})
    assert "graphiql" in page.text.lower()


def test_operator_commands(database_url, clean_database):
    migrated = _cli(database_url, "migrate")
    assert migrated.returncode == 0, migrated.stderr

    created = _cli(
        database_url, "createuser", "--email", "Op@Example.com", "--password", PASSWORD, "--staff"
    )
    assert created.returncode == 0, created.stderr
    assert "staff user op@example.com" in created.stdout

    duplicate = _cli(
        database_url, "createuser", "--email", "op@example.com", "--password", PASSWORD
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr

    key = _cli(database_url, "apikey", "create", "--email", "op@example.com", "--name", "cli")
    assert key.returncode == 0, key.stderr
    plaintext = key.stdout.strip()
    assert plaintext.startswith("clone_")

    unknown = _cli(database_url, "apikey", "create", "--email", "no@example.com", "--name", "x")
    assert unknown.returncode == 1

    invites = _cli(database_url, "invite", "create", "--count", "3")
    assert invites.returncode == 0, invites.stderr
    codes = invites.stdout.split()
    assert len(codes) == 3

    from gateway.app import create_app
    from gateway.settings import Settings

    async def check() -> None:
        app = create_app(Settings(database_url=database_url, secret_key=TEST_SECRET_KEY))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            me = await client.get("/api/auth/me/", headers={"X-Clone-API-Key": plaintext})
            assert me.json()["is_staff"] is True
            valid = await client.post("/api/auth/invite/validate/", json={"code": codes[0]})
            assert valid.json() == {"valid": True}
        await app.state.services.aclose()

    import asyncio

    asyncio.run(check())


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = _env(f"sqlite:///{tmp_path}/p.db", CLONE_ENV="production")
    del env["CLONE_SECRET_KEY"]
    result = subprocess.run(
        [EXECUTABLE, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "CLONE_SECRET_KEY is required" in result.stderr

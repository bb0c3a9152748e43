"""The real `clone-gateway` executable: operator commands, and `serve` over real HTTP."""

import subprocess

import httpx
import pytest

from tests.conftest import EXECUTABLE, TEST_SECRET_KEY, server_env
from tests.helpers import PASSWORD


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert EXECUTABLE, "clone-gateway is not installed in this environment"
    return subprocess.run(
        [EXECUTABLE, *args],
        env=server_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def server(start_server) -> str:
    return start_server(workers=2)


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
    env = server_env(f"sqlite:///{tmp_path}/p.db", CLONE_ENV="production")
    del env["CLONE_SECRET_KEY"]
    result = subprocess.run(
        [EXECUTABLE, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "CLONE_SECRET_KEY is required" in result.stderr

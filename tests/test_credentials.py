"""Credentials are verified strictly (SPEC §2) and never stored in clear."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import OctKey

from gateway.auth import TokenSigner
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import PASSWORD, bearer, graphql, signup


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: str, token_type: str = "access", **overrides) -> dict:
    import time

    now = int(time.time())
    claims = {
        "sub": user_id,
        "type": token_type,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return claims


async def _status(client, token: str) -> int:
    return (
        await client.get("/api/auth/me/", headers={"Authorization": f"Bearer {token}"})
    ).status_code


async def test_a_valid_access_token_is_accepted(client):
    tokens = await signup(client)
    key = OctKey.import_key(TEST_SECRET_KEY)
    forged_ok = jwt.encode({"alg": "HS256"}, _claims(tokens["user"]["id"]), key)
    assert await _status(client, forged_ok) == 200


async def test_alg_none_is_401(client):
    tokens = await signup(client)
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(tokens['user']['id']))}."
    assert await _status(client, token) == 401


async def test_another_algorithm_is_401(client):
    tokens = await signup(client)
    key = OctKey.import_key(TEST_SECRET_KEY)
    token = jwt.encode({"alg": "HS512"}, _claims(tokens["user"]["id"]), key, algorithms=["HS512"])
    assert await _status(client, token) == 401


async def test_signed_with_another_key_is_401(client):
    tokens = await signup(client)
    other = OctKey.import_key("another-secret-key-" + "z" * 40)
    token = jwt.encode({"alg": "HS256"}, _claims(tokens["user"]["id"]), other)
    assert await _status(client, token) == 401


async def test_expired_is_401(client):
    tokens = await signup(client)
    signer = TokenSigner(
        TEST_SECRET_KEY, access_ttl=timedelta(seconds=-5), refresh_ttl=timedelta(days=1)
    )
    expired = signer.issue(uuid.UUID(tokens["user"]["id"]), "access").token
    assert await _status(client, expired) == 401


@pytest.mark.parametrize("missing", ["exp", "sub", "jti", "type"])
async def test_missing_claims_are_401(client, missing):
    tokens = await signup(client)
    claims = _claims(tokens["user"]["id"])
    del claims[missing]
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(TEST_SECRET_KEY))
    assert await _status(client, token) == 401


async def test_refresh_token_used_as_access_is_401(client):
    tokens = await signup(client)
    assert await _status(client, tokens["refresh"]) == 401


async def test_token_of_a_deleted_user_is_401(client, maintenance_engine):
    tokens = await signup(client)
    with maintenance_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users"))
    assert await _status(client, tokens["access"]) == 401


@pytest.mark.parametrize(
    "header", ["Token abc", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"]
)
async def test_malformed_authorization_is_401(client, header):
    response = await client.get("/api/auth/me/", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()) == {"error", "code"}


async def test_unknown_api_key_is_401(client):
    response = await client.get("/api/auth/me/", headers={"X-Clone-API-Key": "clone_nope"})
    assert response.status_code == 401


async def test_revoked_api_key_is_401_on_next_request_graphql_too(client):
    tokens = await signup(client)
    key = (await client.post("/api/auth/keys/", json={"name": "k"}, headers=bearer(tokens))).json()
    headers = {"X-Clone-API-Key": key["key"]}
    assert (await graphql(client, "{ me { email } }", headers=headers))["data"]["me"]
    await client.delete(f"/api/auth/keys/{key['id']}/", headers=bearer(tokens))
    body = await graphql(client, "{ me { email } }", headers=headers)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_no_secret_is_stored_in_clear(client, maintenance_engine):
    from tests.helpers import unique_email

    email = unique_email()
    tokens = await signup(client, email=email)
    key = (await client.post("/api/auth/keys/", json={"name": "k"}, headers=bearer(tokens))).json()
    rotated = (
        await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    ).json()
    magic = (await client.post("/api/auth/magic-link/", json={"email": email})).json()
    secrets = {
        "password": PASSWORD,
        "api key": key["key"],
        "api key secret part": key["key"].removeprefix("clone_"),
        "refresh token": tokens["refresh"],
        "rotated refresh token": rotated["refresh"],
        "magic link token": magic["magic_token"],
    }
    with maintenance_engine.connect() as conn:
        dump = []
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                dump.extend(str(value) for value in row)
    everything = "\n".join(dump)
    assert tokens["user"]["id"].replace("-", "") in everything.replace("-", "")  # the dump works
    for name, secret in secrets.items():
        assert secret not in everything, f"{name} stored in clear"
    with maintenance_engine.connect() as conn:
        stored_hash = conn.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
    assert stored_hash.startswith("$argon2id$")

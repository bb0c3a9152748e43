"""One error shape for every failure (SPEC §1), and no stack trace ever reaches a client."""

import pytest
from starlette.routing import Route

from gateway.middleware import MAX_BODY_BYTES
from tests.helpers import bearer, signup


async def test_unknown_route_is_json_404(client):
    response = await client.get("/api/nope/")
    assert response.status_code == 404
    assert response.json() == {"error": "no such endpoint", "code": "not_found"}


async def test_wrong_method_is_json_405(client):
    response = await client.delete("/api/auth/login/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2"])
async def test_malformed_json_is_400(client, body):
    response = await client.post(
        "/api/auth/login/", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


async def test_json_that_is_not_an_object_is_400(client):
    response = await client.post("/api/auth/login/", json=["a", "b"])
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


async def test_non_json_body_is_415(client):
    response = await client.post(
        "/api/auth/login/", content=b"email=a", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


async def test_body_over_10_mib_is_413(client):
    big = b'{"email": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = await client.post(
        "/api/auth/login/", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_streamed_body_over_10_mib_is_413(client):
    async def chunks():
        for _ in range(11):
            yield b"a" * (1024 * 1024)

    response = await client.post(
        "/api/auth/login/", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_graphql_body_over_10_mib_is_413(client):
    big = b'{"query": "' + b" " * MAX_BODY_BYTES + b'{ __typename }"}'
    response = await client.post(
        "/graphql", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_internal_errors_are_masked(client):
    app = client._transport.app

    async def boom(_request):
        raise RuntimeError("secret internals: password=hunter2")

    app.router.routes.insert(0, Route("/api/boom/", boom))
    response = await client.get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "code": "internal_error"}
    assert "hunter2" not in response.text


async def test_graphql_masks_internal_errors_but_types_expected_ones(client, monkeypatch):
    from graph.accounts import ops

    tokens = await signup(client)

    async def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ops, "list_api_keys", broken)
    response = await client.post(
        "/graphql", json={"query": "{ apiKeys { nodes { id } } }"}, headers=bearer(tokens)
    )
    error = response.json()["errors"][0]
    assert error["message"] == "internal server error"
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text

    anonymous = await client.post("/graphql", json={"query": "{ me { id } }"})
    error = anonymous.json()["errors"][0]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "status": 401}

"""The accounts part of the graph: the same operations as REST, through GraphQL."""

from tests.helpers import PASSWORD, bearer, graphql, signup, unique_email

SIGNUP = """
mutation ($email: String!, $password: String!) {
  signup(email: $email, password: $password, displayName: "Gee") {
    access refresh user { id email displayName recordingOptIn sessionTimeoutMin isStaff }
  }
}
"""


async def test_signup_login_me_in_graphql(client):
    email = unique_email()
    body = await graphql(client, SIGNUP, {"email": email.upper(), "password": PASSWORD})
    payload = body["data"]["signup"]
    assert payload["user"]["email"] == email
    assert payload["user"]["displayName"] == "Gee"
    assert payload["user"]["sessionTimeoutMin"] == 30

    login = await graphql(
        client,
        "mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { access } }",
        {"e": email, "p": PASSWORD},
    )
    access = login["data"]["login"]["access"]
    me = await graphql(client, "{ me { id email } }", headers={"Authorization": f"Bearer {access}"})
    assert me["data"]["me"] == {"id": payload["user"]["id"], "email": email}


async def test_graphql_signup_errors_are_typed(client):
    await signup(client, email="taken@example.com")
    body = await graphql(client, SIGNUP, {"email": "TAKEN@example.com", "password": PASSWORD})
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "EMAIL_TAKEN", "status": 400}
    assert error["path"] == ["signup"]

    short = await graphql(client, SIGNUP, {"email": unique_email(), "password": "short"})
    assert short["errors"][0]["extensions"]["code"] == "INVALID"


async def test_refresh_and_logout_in_graphql(client):
    tokens = await signup(client)
    rotated = await graphql(
        client,
        "mutation ($r: String!) { refresh(refresh: $r) { access refresh } }",
        {"r": tokens["refresh"]},
    )
    new = rotated["data"]["refresh"]
    reused = await graphql(
        client,
        "mutation ($r: String!) { refresh(refresh: $r) { access } }",
        {"r": tokens["refresh"]},
    )
    assert reused["errors"][0]["extensions"]["status"] == 401
    out = await graphql(
        client,
        "mutation ($r: String!) { logout(refresh: $r) }",
        {"r": new["refresh"]},
        headers={"Authorization": f"Bearer {new['access']}"},
    )
    assert out["data"] == {"logout": True}
    refused = await client.post("/api/auth/token/refresh/", json={"refresh": new["refresh"]})
    assert refused.status_code == 401


async def test_update_me_in_graphql_matches_rest(client):
    tokens = await signup(client)
    body = await graphql(
        client,
        'mutation { updateMe(input: {displayName: "Q", sessionTimeoutMin: 45}) '
        "{ displayName sessionTimeoutMin recordingOptIn } }",
        headers=bearer(tokens),
    )
    assert body["data"]["updateMe"] == {
        "displayName": "Q",
        "sessionTimeoutMin": 45,
        "recordingOptIn": True,
    }
    rest = (await client.get("/api/auth/me/", headers=bearer(tokens))).json()
    assert (rest["display_name"], rest["session_timeout_min"]) == ("Q", 45)
    bad = await graphql(
        client,
        "mutation { updateMe(input: {sessionTimeoutMin: 2}) { id } }",
        headers=bearer(tokens),
    )
    assert bad["errors"][0]["extensions"]["status"] == 400


async def test_api_keys_in_graphql(client):
    tokens = await signup(client)
    created = await graphql(
        client,
        'mutation { createApiKey(name: "ci") { key apiKey { id name prefix revokedAt } } }',
        headers=bearer(tokens),
    )
    payload = created["data"]["createApiKey"]
    assert payload["key"].startswith("clone_")
    key_headers = {"X-Clone-API-Key": payload["key"]}
    listed = await graphql(
        client,
        "{ apiKeys { nodes { id name } } me { apiKeys { nodes { id } } } }",
        headers=key_headers,
    )
    assert listed["data"]["apiKeys"]["nodes"] == [{"id": payload["apiKey"]["id"], "name": "ci"}]
    assert listed["data"]["me"]["apiKeys"]["nodes"] == [{"id": payload["apiKey"]["id"]}]

    other = await signup(client)
    foreign = await graphql(
        client,
        "mutation ($id: ID!) { revokeApiKey(id: $id) { id } }",
        {"id": payload["apiKey"]["id"]},
        headers=bearer(other),
    )
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    garbage = await graphql(
        client, 'mutation { revokeApiKey(id: "not-a-uuid") { id } }', headers=bearer(tokens)
    )
    assert garbage["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    revoked = await graphql(
        client,
        "mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        {"id": payload["apiKey"]["id"]},
        headers=bearer(tokens),
    )
    assert revoked["data"]["revokeApiKey"]["revokedAt"] is not None
    refused = await client.get("/api/auth/me/", headers=key_headers)
    assert refused.status_code == 401


async def test_graphiql_is_served_to_browsers(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_introspection_and_graphiql_can_be_switched_off(make_client):
    client = await make_client(graphql_introspection=False)
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    body = await graphql(client, "{ __schema { types { name } } }")
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()
    # Ordinary queries still work.
    assert (await graphql(client, "{ __typename }"))["data"] == {"__typename": "Query"}

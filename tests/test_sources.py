"""Sources: connecting providers (token shown once, rotation, disconnect), webhooks
authenticated by the connection token, idempotent deliveries, and the GraphQL face."""

import asyncio
import urllib.parse
import uuid

import orjson
import pytest
import sqlalchemy as sa
import strawberry
from strawberry import relay

from gateway.settings import Settings, SettingsError
from graph.context import RequestContext
from graph.sources.resolvers import SourcesQuery
from graph.sources.types import SourceType
from models.accounts import User
from tests.helpers import bearer, graphql, signup

PROVIDERS = ["github", "slack", "linear", "notion", "drive"]
SOURCE_KEYS = {"provider", "connected", "id", "connected_at", "last_delivery_at", "webhook_url"}

PUSH = {
    "ref": "refs/heads/main",
    "repository": {"full_name": "acme/web"},
    "pusher": {"name": "alice"},
    "sender": {"login": "alice"},
    "commits": [{"message": "Fix login"}, {"message": "Add tests"}],
    "head_commit": {"timestamp": "2026-05-05T14:03:00+02:00"},
}
SLACK_MESSAGE = {
    "type": "event_callback",
    "event_id": "Ev0001",
    "event_time": 1778000000,
    "event": {
        "type": "message",
        "channel": "C024BE91L",
        "user": "U2147483697",
        "text": "Shipping at 5pm",
        "ts": "1778000000.000200",
    },
}


async def connect(client, tokens, provider="github"):
    response = await client.post(f"/api/sources/{provider}/connect/", headers=bearer(tokens))
    assert response.status_code == 201, response.text
    return response.json()


async def deliver(client, provider, token, payload=None, *, headers=None, content=None):
    sent = {"X-Clone-Source-Token": token} if token is not None else {}
    sent.update(headers or {})
    if content is not None:
        return await client.post(f"/api/sources/{provider}/webhook/", content=content, headers=sent)
    return await client.post(f"/api/sources/{provider}/webhook/", json=payload, headers=sent)


def github_headers(delivery="d-1", event="push"):
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}


async def raw_rows(client, tokens):
    response = await client.get("/api/memory/raw/?limit=200", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def sources_of(client, tokens):
    response = await client.get("/api/sources/", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    return {item["provider"]: item for item in response.json()["results"]}


# --- connections --------------------------------------------------------------------------------


async def test_list_shows_every_provider_unconnected(client):
    tokens = await signup(client)
    response = await client.get("/api/sources/", headers=bearer(tokens))
    assert response.status_code == 200
    body = response.json()
    assert [item["provider"] for item in body["results"]] == PROVIDERS
    assert body["count"] == 5
    assert body["next"] is None
    for item in body["results"]:
        assert set(item) == SOURCE_KEYS
        assert item["connected"] is False
        assert item["id"] is None
        assert item["webhook_url"] == f"http://testserver/api/sources/{item['provider']}/webhook/"
    paged = (await client.get("/api/sources/?limit=2&offset=2", headers=bearer(tokens))).json()
    assert [item["provider"] for item in paged["results"]] == ["linear", "notion"]
    assert paged["next"] is not None
    assert (await client.get("/api/sources/")).status_code == 401


async def test_connect_shows_the_token_once(client):
    tokens = await signup(client)
    response = await client.post("/api/sources/github/connect/", headers=bearer(tokens))
    assert response.status_code == 201
    created = response.json()
    assert created["provider"] == "github"
    assert created["webhook_url"] == "http://testserver/api/sources/github/webhook/"
    assert created["token"].startswith("clone_src_")
    assert len(created["token"]) > 40
    uuid.UUID(created["id"])

    listing = await client.get("/api/sources/", headers=bearer(tokens))
    detail = await client.get("/api/sources/github/", headers=bearer(tokens))
    for response in (listing, detail):
        assert created["token"] not in response.text
        assert "token" not in response.text
    github = detail.json()
    assert github["connected"] is True
    assert github["id"] == created["id"]
    assert github["connected_at"] == created["connected_at"]
    assert github["last_delivery_at"] is None
    assert (await sources_of(client, tokens))["slack"]["connected"] is False


async def test_reconnecting_rotates_the_token(client):
    tokens = await signup(client)
    first = await connect(client, tokens)
    second = await connect(client, tokens)
    assert second["id"] == first["id"]
    assert second["token"] != first["token"]

    old = await deliver(client, "github", first["token"], PUSH, headers=github_headers("d-1"))
    assert old.status_code == 401
    assert old.json()["code"] == "source_token_invalid"
    assert await raw_rows(client, tokens) == []
    new = await deliver(client, "github", second["token"], PUSH, headers=github_headers("d-1"))
    assert new.status_code == 201, new.text
    assert len(await raw_rows(client, tokens)) == 1


async def test_concurrent_connects_leave_one_connection_and_one_token(client):
    tokens = await signup(client)
    created = await asyncio.gather(*(connect(client, tokens, "notion") for _ in range(4)))
    assert len({item["id"] for item in created}) == 1
    statuses = []
    for n, item in enumerate(created):
        payload = {"n": n}
        statuses.append((await deliver(client, "notion", item["token"], payload)).status_code)
    assert sorted(statuses) == [201, 401, 401, 401]


async def test_disconnect(client):
    tokens = await signup(client)
    created = await connect(client, tokens, "slack")
    response = await client.delete("/api/sources/slack/", headers=bearer(tokens))
    assert response.status_code == 204
    again = await client.delete("/api/sources/slack/", headers=bearer(tokens))
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"
    assert (await sources_of(client, tokens))["slack"]["connected"] is False
    late = await deliver(client, "slack", created["token"], SLACK_MESSAGE)
    assert late.status_code == 401
    assert await raw_rows(client, tokens) == []


async def test_unknown_provider_is_404(client):
    tokens = await signup(client)
    for method, path in (
        ("POST", "/api/sources/gitlab/connect/"),
        ("DELETE", "/api/sources/gitlab/"),
        ("GET", "/api/sources/gitlab/"),
        ("POST", "/api/sources/gitlab/webhook/"),
    ):
        response = await client.request(method, path, headers=bearer(tokens))
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"


async def test_users_never_see_each_others_connections(client):
    alice, bob = await signup(client), await signup(client)
    await connect(client, alice, "linear")
    assert (await sources_of(client, bob))["linear"]["connected"] is False
    missing = await client.delete("/api/sources/linear/", headers=bearer(bob))
    assert missing.status_code == 404
    assert (await sources_of(client, alice))["linear"]["connected"] is True


# --- webhook authentication ---------------------------------------------------------------------


async def test_webhook_refuses_missing_wrong_and_foreign_provider_tokens(client):
    tokens = await signup(client)
    await connect(client, tokens, "github")
    slack = await connect(client, tokens, "slack")
    cases = {
        "source_token_missing": None,
        "source_token_invalid": "clone_src_" + "x" * 43,
    }
    for code, token in cases.items():
        response = await deliver(client, "github", token, PUSH, headers=github_headers())
        assert response.status_code == 401
        assert response.json() == {"error": response.json()["error"], "code": code}
    # A valid token of another provider's connection opens nothing here.
    foreign = await deliver(client, "github", slack["token"], PUSH, headers=github_headers())
    assert foreign.status_code == 401
    # A user credential is no substitute for the source token.
    with_user = await client.post(
        "/api/sources/github/webhook/", json=PUSH, headers={**bearer(tokens), **github_headers()}
    )
    assert with_user.status_code == 401
    assert await raw_rows(client, tokens) == []
    assert (await sources_of(client, tokens))["github"]["last_delivery_at"] is None


async def test_another_users_token_cannot_write_into_my_account(client):
    alice, bob = await signup(client), await signup(client)
    await connect(client, alice, "github")
    bob_source = await connect(client, bob, "github")
    response = await deliver(client, "github", bob_source["token"], PUSH, headers=github_headers())
    assert response.status_code == 201
    assert await raw_rows(client, alice) == []
    assert [row["id"] for row in await raw_rows(client, bob)] == response.json()["raw_ids"]


async def test_a_deactivated_users_token_is_refused(client, maintenance_engine):
    tokens = await signup(client)
    source = await connect(client, tokens)
    with maintenance_engine.begin() as conn:
        user_id = uuid.UUID(tokens["user"]["id"])
        conn.execute(sa.update(User).where(User.id == user_id).values(is_active=False))
    response = await deliver(client, "github", source["token"], PUSH, headers=github_headers())
    assert response.status_code == 401


# --- storing deliveries -------------------------------------------------------------------------


async def test_delivery_becomes_raw_memory(client):
    tokens = await signup(client)
    source = await connect(client, tokens)
    response = await deliver(client, "github", source["token"], PUSH, headers=github_headers("g1"))
    assert response.status_code == 201
    body = response.json()
    assert body["stored"] == 1
    assert body["duplicate"] is False
    assert body["delivery_id"] == "g1"
    [row] = await raw_rows(client, tokens)
    assert row["id"] == body["raw_ids"][0]
    assert row["source"] == "integration"
    assert row["source_detail"] == "github"
    assert row["kind"] == "github.push"
    assert row["content"] == "alice pushed 2 commits to acme/web (main): Fix login; Add tests"
    assert row["occurred_at"] == "2026-05-05T12:03:00Z"
    assert row["payload"] == PUSH
    assert row["session_id"] is None
    assert row["recording_event_id"] is None
    state = (await sources_of(client, tokens))["github"]
    assert state["last_delivery_at"] is not None
    filtered = await client.get("/api/memory/raw/?source=integration", headers=bearer(tokens))
    assert filtered.json()["count"] == 1


async def test_replays_store_nothing_new(client):
    tokens = await signup(client)
    source = await connect(client, tokens)
    first = await deliver(client, "github", source["token"], PUSH, headers=github_headers("r1"))
    assert first.status_code == 201
    replay = await deliver(client, "github", source["token"], PUSH, headers=github_headers("r1"))
    assert replay.status_code == 200
    assert replay.json() == {"stored": 0, "duplicate": True, "raw_ids": [], "delivery_id": "r1"}
    assert len(await raw_rows(client, tokens)) == 1

    # Still a replay after the token was rotated (deliveries are keyed by user and provider).
    rotated = await connect(client, tokens)
    again = await deliver(client, "github", rotated["token"], PUSH, headers=github_headers("r1"))
    assert again.json()["duplicate"] is True
    other = await deliver(client, "github", rotated["token"], PUSH, headers=github_headers("r2"))
    assert other.status_code == 201
    assert len(await raw_rows(client, tokens)) == 2

    # Slack: the body's event_id identifies the delivery (Slack retries keep it).
    slack = await connect(client, tokens, "slack")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await deliver(client, "slack", slack["token"], SLACK_MESSAGE)).status_code == 201
    retried = await deliver(client, "slack", slack["token"], SLACK_MESSAGE, headers=retry)
    assert retried.json()["duplicate"] is True
    assert len(await raw_rows(client, tokens)) == 3


async def test_two_users_may_share_a_delivery_id(client):
    alice, bob = await signup(client), await signup(client)
    for tokens in (alice, bob):
        source = await connect(client, tokens)
        response = await deliver(client, "github", source["token"], PUSH, headers=github_headers())
        assert response.status_code == 201
        assert len(await raw_rows(client, tokens)) == 1


async def test_without_a_delivery_id_the_body_identifies_the_delivery(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "notion")
    payload = {"something": "new", "n": 1}
    first = await deliver(client, "notion", source["token"], payload)
    assert first.status_code == 201
    assert first.json()["delivery_id"].startswith("sha256:")
    assert (await deliver(client, "notion", source["token"], payload)).json()["duplicate"] is True
    changed = await deliver(client, "notion", source["token"], {**payload, "n": 2})
    assert changed.status_code == 201
    mine = {"X-Clone-Delivery-Id": "relay-7"}
    tagged = await deliver(client, "notion", source["token"], payload, headers=mine)
    assert tagged.json()["delivery_id"] == "relay-7"
    assert tagged.status_code == 201
    assert len(await raw_rows(client, tokens)) == 3


async def test_concurrent_replays_store_one_delivery(client):
    tokens = await signup(client)
    source = await connect(client, tokens)
    responses = await asyncio.gather(
        *(
            deliver(client, "github", source["token"], PUSH, headers=github_headers("same"))
            for _ in range(6)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 5 + [201], [r.text for r in responses]
    assert len(await raw_rows(client, tokens)) == 1


async def test_unknown_shapes_are_stored_as_they_came(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "linear")
    payload = {"hello": "world", "list": [1, 2, 3]}
    response = await deliver(client, "linear", source["token"], payload)
    assert response.status_code == 201
    [row] = await raw_rows(client, tokens)
    assert row["kind"] == "linear.unknown"
    assert row["payload"] == payload
    assert row["content"].startswith("Unrecognized Linear payload: {")

    array = await deliver(client, "linear", source["token"], [1, "two"])
    assert array.status_code == 201
    rows = await raw_rows(client, tokens)
    assert {"body": [1, "two"]} in [row["payload"] for row in rows]


async def test_a_body_that_is_not_data_is_a_400(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "linear")
    response = await deliver(
        client, "linear", source["token"], content=b"<xml/>", headers={"Content-Type": "text/xml"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert await raw_rows(client, tokens) == []
    # The token is checked first: a bad token with a bad body is still a 401.
    assert (await deliver(client, "linear", "nope", content=b"<xml/>")).status_code == 401


async def test_nesting_is_bounded(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "notion")

    def nested(depth):
        return (('{"a":' * depth) + "1" + ("}" * depth)).encode()

    deep = await deliver(client, "notion", source["token"], content=nested(60))
    assert deep.status_code == 201, deep.text
    for depth in (65, 1000):
        too_deep = await deliver(client, "notion", source["token"], content=nested(depth))
        assert too_deep.status_code == 400
        assert too_deep.json()["code"] == "too_deep"
    assert len(await raw_rows(client, tokens)) == 1


async def test_github_form_encoded_delivery(client):
    tokens = await signup(client)
    source = await connect(client, tokens)
    form = urllib.parse.urlencode({"payload": orjson.dumps(PUSH).decode()}).encode()
    response = await deliver(
        client,
        "github",
        source["token"],
        content=form,
        headers={**github_headers("f1"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    [row] = await raw_rows(client, tokens)
    assert row["kind"] == "github.push"
    assert row["payload"] == PUSH


async def test_nul_characters_never_fail_the_sender(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "slack")
    message = {**SLACK_MESSAGE, "event": {**SLACK_MESSAGE["event"], "text": "a\u0000b"}}
    message["event_id"] = "Ev-nul"
    response = await deliver(client, "slack", source["token"], message)
    assert response.status_code == 201, response.text
    [row] = await raw_rows(client, tokens)
    assert row["payload"]["event"]["text"] == "a\ufffdb"
    assert row["content"].endswith("a\ufffdb")


async def test_slack_url_verification_is_answered_not_stored(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "slack")
    challenge = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    response = await deliver(client, "slack", source["token"], challenge)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert await raw_rows(client, tokens) == []
    assert (await deliver(client, "slack", "wrong", challenge)).status_code == 401


async def test_drive_notifications_have_no_body(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "drive")
    headers = {
        "X-Goog-Channel-ID": "chan-1",
        "X-Goog-Channel-Token": "channel-secret",
        "X-Goog-Resource-ID": "res-1",
        "X-Goog-Resource-URI": "https://www.googleapis.com/drive/v3/files/1AbC?alt=json",
        "X-Goog-Resource-State": "sync",
        "X-Goog-Message-Number": "1",
    }
    sync = await deliver(client, "drive", source["token"], content=b"", headers=headers)
    assert sync.status_code == 200
    assert sync.json()["stored"] == 0
    assert sync.json()["duplicate"] is False
    headers.update({"X-Goog-Resource-State": "update", "X-Goog-Message-Number": "2"})
    update = await deliver(client, "drive", source["token"], content=b"", headers=headers)
    assert update.status_code == 201
    assert update.json()["delivery_id"] == "chan-1:res-1:2"
    [row] = await raw_rows(client, tokens)
    assert row["kind"] == "drive.update"
    assert row["content"] == "Google Drive file 1AbC was updated"
    assert "x-goog-channel-token" not in row["payload"]["headers"]
    replay = await deliver(client, "drive", source["token"], content=b"", headers=headers)
    assert replay.json()["duplicate"] is True


async def test_a_change_list_becomes_one_row_per_change(client):
    tokens = await signup(client)
    source = await connect(client, tokens, "drive")
    listing = {
        "kind": "drive#changeList",
        "changes": [
            {
                "kind": "drive#change",
                "fileId": "f1",
                "time": "2026-05-05T10:00:00Z",
                "file": {"name": "Plan"},
            },
            {
                "kind": "drive#change",
                "fileId": "f2",
                "time": "2026-05-05T11:00:00Z",
                "removed": True,
            },
        ],
    }
    response = await deliver(client, "drive", source["token"], listing)
    assert response.status_code == 201
    assert response.json()["stored"] == 2
    rows = await raw_rows(client, tokens)
    assert [(row["content"], row["occurred_at"]) for row in rows] == [
        ("Google Drive file f2 was removed", "2026-05-05T11:00:00Z"),
        ("Google Drive file “Plan” changed", "2026-05-05T10:00:00Z"),
    ]


async def test_webhook_url_follows_clone_public_url(make_client):
    client = await make_client(public_url="https://clone.example.com")
    tokens = await signup(client)
    created = await connect(client, tokens, "notion")
    assert created["webhook_url"] == "https://clone.example.com/api/sources/notion/webhook/"
    body = await graphql(client, "{ sources { provider webhookUrl } }", headers=bearer(tokens))
    assert body["data"]["sources"][0]["webhookUrl"] == (
        "https://clone.example.com/api/sources/github/webhook/"
    )


def test_clone_public_url_setting():
    base = {"CLONE_SECRET_KEY": "k" * 40}
    assert Settings.from_env(base).public_url is None
    configured = Settings.from_env({**base, "CLONE_PUBLIC_URL": "https://clone.example.com/"})
    assert configured.public_url == "https://clone.example.com"
    for bad in ("clone.example.com", "ftp://clone.example.com", "https://x.com/?a=1"):
        with pytest.raises(SettingsError, match="CLONE_PUBLIC_URL"):
            Settings.from_env({**base, "CLONE_PUBLIC_URL": bad})


# --- GraphQL ------------------------------------------------------------------------------------

SOURCES_QUERY = (
    "{ sources { id provider connected connectionId connectedAt lastDeliveryAt webhookUrl } }"
)
CONNECT = """mutation ($provider: String!) {
  connectSource(provider: $provider) { token source { provider connected connectionId webhookUrl } }
}"""
DISCONNECT = """mutation ($provider: String!) {
  disconnectSource(provider: $provider) { provider connected connectionId }
}"""


async def test_graphql_connect_list_disconnect(client):
    tokens = await signup(client)
    listed = await graphql(client, SOURCES_QUERY, headers=bearer(tokens))
    assert [s["provider"] for s in listed["data"]["sources"]] == PROVIDERS
    assert not any(s["connected"] for s in listed["data"]["sources"])

    connected = await graphql(client, CONNECT, {"provider": "linear"}, headers=bearer(tokens))
    result = connected["data"]["connectSource"]
    assert result["token"].startswith("clone_src_")
    assert result["source"]["connected"] is True
    assert result["source"]["webhookUrl"] == "http://testserver/api/sources/linear/webhook/"
    rest = (await sources_of(client, tokens))["linear"]
    assert rest["id"] == result["source"]["connectionId"]

    listed = await graphql(client, SOURCES_QUERY, headers=bearer(tokens))
    linear = next(s for s in listed["data"]["sources"] if s["provider"] == "linear")
    assert linear["connected"] is True
    assert linear["connectionId"] == rest["id"]
    assert result["token"] not in str(listed)

    # The token works for webhooks, and rotating through GraphQL revokes it.
    issue = {"action": "create", "type": "Issue", "data": {"identifier": "ENG-1", "title": "T"}}
    assert (await deliver(client, "linear", result["token"], issue)).status_code == 201
    rotated = await graphql(client, CONNECT, {"provider": "linear"}, headers=bearer(tokens))
    assert rotated["data"]["connectSource"]["source"]["connectionId"] == rest["id"]
    assert (await deliver(client, "linear", result["token"], issue)).status_code == 401

    gone = await graphql(client, DISCONNECT, {"provider": "linear"}, headers=bearer(tokens))
    assert gone["data"]["disconnectSource"] == {
        "provider": "linear",
        "connected": False,
        "connectionId": None,
    }
    again = await graphql(client, DISCONNECT, {"provider": "linear"}, headers=bearer(tokens))
    assert again["errors"][0]["extensions"] == {"code": "NOT_FOUND", "status": 404}
    new_token = rotated["data"]["connectSource"]["token"]
    assert (await deliver(client, "linear", new_token, issue)).status_code == 401


async def test_graphql_errors(client):
    tokens = await signup(client)
    unknown = await graphql(client, CONNECT, {"provider": "gitlab"}, headers=bearer(tokens))
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = await graphql(client, SOURCES_QUERY)
    assert anonymous["errors"][0]["extensions"]["status"] == 401
    anonymous = await graphql(client, CONNECT, {"provider": "github"})
    assert anonymous["errors"][0]["extensions"]["status"] == 401


async def test_graphql_source_nodes_are_the_callers(client):
    """`node(id:)` (once the root schema exposes it) resolves sources through `resolve_nodes`."""

    @strawberry.type
    class NodeQuery(SourcesQuery):
        node: relay.Node | None = relay.node()

    schema = strawberry.Schema(query=NodeQuery, types=[SourceType])
    alice, bob = await signup(client), await signup(client)
    await connect(client, alice, "github")
    listed = await graphql(client, SOURCES_QUERY, headers=bearer(alice))
    global_id = listed["data"]["sources"][0]["id"]
    query = "query ($id: ID!) { node(id: $id) { ... on Source { provider connected } } }"
    services = client._transport.app.state.services
    results = {}
    for name, tokens in (("alice", alice), ("bob", bob)):
        ctx = RequestContext(
            services=services, headers={"authorization": bearer(tokens)["Authorization"]}
        )
        try:
            result = await schema.execute(query, {"id": global_id}, context_value=ctx)
        finally:
            await ctx.aclose()
        assert result.errors is None, result.errors
        results[name] = result.data["node"]
    assert results == {
        "alice": {"provider": "github", "connected": True},
        "bob": {"provider": "github", "connected": False},  # bob's own state, not alice's
    }

"""Relay's root `node(id:)` / `nodes(ids:)`: any type with a global id resolves, and another
user's id resolves to null exactly like a missing one (SPEC §8, issue #6)."""

from tests.helpers import bearer, graphql, make_event, signup

NODE = "query ($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def _global_ids(client, headers):
    writes = [
        ("/api/recording/events/", [make_event("n1", session_id="node-s")]),
        ("/api/memory/facts/", {"text": "Node fact"}),
        (
            "/api/memory/episodes/",
            {
                "title": "Node episode",
                "started_at": "2026-05-05T12:00:00Z",
                "ended_at": "2026-05-05T13:00:00Z",
            },
        ),
        ("/api/memory/sync/", None),
    ]
    for path, body in writes:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
    body = await graphql(
        client,
        """{ recordingSessions { nodes { id events { nodes { id } } } }
             facts { nodes { id } } episodes { nodes { id } } rawMemories { nodes { id } } }""",
        headers=headers,
    )
    assert "errors" not in body, body
    data = body["data"]
    session = data["recordingSessions"]["nodes"][0]
    return {
        "RecordingSession": session["id"],
        "AgentPromptEvent": session["events"]["nodes"][0]["id"],
        "Fact": data["facts"]["nodes"][0]["id"],
        "Episode": data["episodes"]["nodes"][0]["id"],
        "RawMemory": data["rawMemories"]["nodes"][0]["id"],
    }


async def test_node_resolves_own_rows_and_hides_others(client):
    alice = bearer(await signup(client))
    bob = bearer(await signup(client))
    ids = await _global_ids(client, alice)
    for typename, global_id in ids.items():
        mine = await graphql(client, NODE, {"id": global_id}, alice)
        assert mine["data"]["node"] == {"__typename": typename, "id": global_id}, typename
        theirs = await graphql(client, NODE, {"id": global_id}, bob)
        assert theirs["data"]["node"] is None, typename
    listed = await graphql(client, NODES, {"ids": list(ids.values())}, alice)
    assert [node["__typename"] for node in listed["data"]["nodes"]] == list(ids)
    hidden = await graphql(client, NODES, {"ids": list(ids.values())}, bob)
    assert hidden["data"]["nodes"] == [None] * len(ids)


async def test_node_of_a_missing_row_is_null(client):
    alice = bearer(await signup(client))
    ids = await _global_ids(client, alice)
    (fact,) = (await client.get("/api/memory/facts/", headers=alice)).json()["results"]
    assert (
        await client.delete(f"/api/memory/facts/{fact['id']}/", headers=alice)
    ).status_code == 204
    gone = await graphql(client, NODE, {"id": ids["Fact"]}, alice)
    assert gone["data"]["node"] is None


async def test_node_resolves_predictions_and_jobs_for_their_owner_only(make_client, fake_anthropic):
    client = await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)
    alice = bearer(await signup(client))
    bob = bearer(await signup(client))
    fake_anthropic.reply_tool(
        "submit_predictions",
        {"candidates": [{"response": "yes", "confidence": 0.9, "reasoning": "r"}]},
    )
    made = await graphql(
        client,
        'mutation { predict(input: {agent: "a", agentInput: "go?"}) { id jobs { id } } }',
        headers=alice,
    )
    prediction = made["data"]["predict"]
    ids = {"Prediction": prediction["id"], "Job": prediction["jobs"][0]["id"]}
    for typename, global_id in ids.items():
        mine = await graphql(client, NODE, {"id": global_id}, alice)
        assert mine["data"]["node"] == {"__typename": typename, "id": global_id}
        assert (await graphql(client, NODE, {"id": global_id}, bob))["data"]["node"] is None

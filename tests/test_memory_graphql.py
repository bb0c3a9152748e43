"""Memory through GraphQL: the same operations as REST, provenance edges both ways, ownership."""

from datetime import UTC, datetime, timedelta

from tests.helpers import bearer, count_statements, graphql, make_event, signup

NOW = datetime.now(UTC)


async def _seed(client, headers, label="a"):
    """Two recorded prompts synced to raw memories, an episode citing them, a fact citing it."""
    events = [
        make_event(f"{label}-{i}", session_id=f"s-{label}", occurred_at=NOW.isoformat())
        for i in range(2)
    ]
    await client.post("/api/recording/events/", json=events, headers=headers)
    synced = await graphql(client, "mutation { syncMemory { created skipped } }", headers=headers)
    assert synced["data"]["syncMemory"]["created"] == 2
    raw = (await client.get(f"/api/memory/raw/?session_id=s-{label}", headers=headers)).json()[
        "results"
    ]
    episode = await graphql(
        client,
        "mutation ($i: JSON!) { createEpisode(input: $i) { episodeId title sources } }",
        {
            "i": {
                "title": f"Episode {label}",
                "started_at": (NOW - timedelta(minutes=5)).isoformat(),
                "ended_at": NOW.isoformat(),
                "tags": ["dev"],
                "raw_ids": [row["id"] for row in raw],
            }
        },
        headers=headers,
    )
    episode_id = episode["data"]["createEpisode"]["episodeId"]
    assert episode["data"]["createEpisode"]["sources"] == ["claude-code"]
    fact = await graphql(
        client,
        "mutation ($i: JSON!) { createFact(input: $i) { factId kind importance } }",
        {
            "i": {
                "text": f"Runs the tests first ({label})",
                "kind": "habit",
                "importance": 0.9,
                "confidence": 0.8,
                "tags": ["dev"],
                "episode_ids": [episode_id],
            }
        },
        headers=headers,
    )
    return episode_id, fact["data"]["createFact"]["factId"]


PROVENANCE = """
{ facts(first: 10) { nodes { text episodes(first: 5) { totalCount nodes { title
    facts(first: 5) { totalCount nodes { text } }
    rawMemories(first: 20) {
    totalCount nodes {
    content episode { title }
    event { eventId ... on AgentPromptEvent { prompt } session { sessionId } }
} } } } } } }
"""


async def test_provenance_edges_in_both_directions(client):
    headers = bearer(await signup(client))
    await _seed(client, headers)
    facts = (await graphql(client, PROVENANCE, headers=headers))["data"]["facts"]["nodes"]
    assert len(facts) == 1
    assert facts[0]["episodes"]["totalCount"] == 1
    episode = facts[0]["episodes"]["nodes"][0]
    assert episode["title"] == "Episode a"
    assert episode["facts"] == {"totalCount": 1, "nodes": [{"text": "Runs the tests first (a)"}]}
    raws = episode["rawMemories"]["nodes"]
    assert episode["rawMemories"]["totalCount"] == len(raws)
    assert {raw["event"]["eventId"] for raw in raws} == {"a-0", "a-1"}
    assert all(raw["episode"]["title"] == "Episode a" for raw in raws)
    assert all(raw["event"]["session"]["sessionId"] == "s-a" for raw in raws)
    assert all(raw["content"].startswith("claude asked:") for raw in raws)


async def test_provenance_edges_are_batched(client):
    headers = bearer(await signup(client))
    counts = []
    for label in ("x", "y", "z"):
        await _seed(client, headers, label)
        with count_statements(client) as statements:
            body = await graphql(client, PROVENANCE, headers=headers)
        assert "errors" not in body
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts


async def test_citations_page_per_parent_and_stay_the_owners(client):
    """Fact.episodes and Episode.facts are connections through the citation table: pages per
    parent, cursors, totals; a fact citing two episodes is in both episodes' pages."""
    owner = bearer(await signup(client))
    stranger = bearer(await signup(client))
    episodes = []
    for index in range(3):
        created = await client.post(
            "/api/memory/episodes/",
            json={
                "title": f"E{index}",
                "started_at": f"2026-05-0{index + 1}T10:00:00Z",
                "ended_at": f"2026-05-0{index + 1}T11:00:00Z",
            },
            headers=owner,
        )
        episodes.append(created.json()["id"])
    for index in range(5):  # fact i cites the first min(i + 1, 3) episodes
        response = await client.post(
            "/api/memory/facts/",
            json={"text": f"F{index}", "episode_ids": episodes[: min(index + 1, 3)]},
            headers=owner,
        )
        assert response.status_code == 201, response.text
    query = """
    query ($after: String) {
      facts(q: "F4") { nodes { episodes(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { title } } } }
      episodes { nodes { title facts(first: 2) { totalCount nodes { text } } } }
    }"""
    data = (await graphql(client, query, headers=owner))["data"]
    cited = data["facts"]["nodes"][0]["episodes"]
    assert cited["totalCount"] == 3
    assert [node["title"] for node in cited["nodes"]] == ["E0", "E1"]  # earliest first
    assert cited["pageInfo"]["hasNextPage"] is True
    rest = await graphql(client, query, {"after": cited["pageInfo"]["endCursor"]}, headers=owner)
    tail = rest["data"]["facts"]["nodes"][0]["episodes"]
    assert [node["title"] for node in tail["nodes"]] == ["E2"]
    assert tail["pageInfo"]["hasNextPage"] is False
    citing = {node["title"]: node["facts"] for node in data["episodes"]["nodes"]}
    assert {title: facts["totalCount"] for title, facts in citing.items()} == {
        "E0": 5,
        "E1": 4,
        "E2": 3,
    }
    assert all(len(facts["nodes"]) == 2 for facts in citing.values())
    assert [node["text"] for node in citing["E2"]["nodes"]] == ["F4", "F3"]  # newest first

    # The stranger's own fact: its citations are its own (none), and the owner's are unseen.
    await client.post("/api/memory/facts/", json={"text": "F4 mine"}, headers=stranger)
    theirs = (await graphql(client, query, headers=stranger))["data"]
    assert theirs["facts"]["nodes"] == [
        {
            "episodes": {
                "totalCount": 0,
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "nodes": [],
            }
        }
    ]
    assert theirs["episodes"]["nodes"] == []


async def test_crud_mutations_and_queries_match_rest(client):
    headers = bearer(await signup(client))
    episode_id, fact_id = await _seed(client, headers)
    updated = await graphql(
        client,
        'mutation ($id: ID!) { updateFact(factId: $id, input: {confidence: 0.3, tags: ["x"]}) '
        "{ confidence tags } }",
        {"id": fact_id},
        headers=headers,
    )
    assert updated["data"]["updateFact"] == {"confidence": 0.3, "tags": ["x"]}
    rest = (await client.get(f"/api/memory/facts/{fact_id}/", headers=headers)).json()
    assert (rest["confidence"], rest["tags"]) == (0.3, ["x"])
    bad = await graphql(
        client,
        "mutation ($id: ID!) { updateFact(factId: $id, input: {confidence: 2}) { factId } }",
        {"id": fact_id},
        headers=headers,
    )
    assert bad["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}

    profile = await graphql(
        client,
        'mutation { upsertProfile(input: {summary: "Dev", attributes: {tz: "UTC"}}) '
        "{ summary attributes } }",
        headers=headers,
    )
    assert profile["data"]["upsertProfile"] == {"summary": "Dev", "attributes": {"tz": "UTC"}}
    listed = await graphql(
        client,
        '{ facts(tag: "x") { nodes { factId } } episodes(tag: "dev") { nodes { episodeId } } '
        "profile { summary } memoryStats { raw episodes facts profileExists } }",
        headers=headers,
    )
    assert listed["data"]["facts"] == {"nodes": [{"factId": fact_id}]}
    assert listed["data"]["episodes"] == {"nodes": [{"episodeId": episode_id}]}
    assert listed["data"]["memoryStats"] == {
        "raw": 2,
        "episodes": 1,
        "facts": 1,
        "profileExists": True,
    }
    deleted = await graphql(
        client,
        "mutation ($id: ID!) { deleteEpisode(episodeId: $id) }",
        {"id": episode_id},
        headers=headers,
    )
    assert deleted["data"] == {"deleteEpisode": True}
    gone = await graphql(
        client,
        "query ($id: ID!) { episode(episodeId: $id) { title } }",
        {"id": episode_id},
        headers=headers,
    )
    assert gone["data"] == {"episode": None}


async def test_context_bundle_query_is_the_rest_bundle(client):
    headers = bearer(await signup(client))
    await _seed(client, headers)
    body = await graphql(
        client,
        '{ contextBundle(goal: "tests", tags: ["dev"], maxRaw: 1) '
        "{ facts { text } raw { content } meta snapshot } }",
        headers=headers,
    )
    bundle = body["data"]["contextBundle"]
    rest = (
        await client.post(
            "/api/memory/context/",
            json={"goal": "tests", "tags": ["dev"], "max_raw": 1},
            headers=headers,
        )
    ).json()
    assert bundle["snapshot"]["facts"] == rest["facts"]
    assert bundle["snapshot"]["raw"] == rest["raw"]
    assert (
        bundle["meta"]["counts"]
        == rest["meta"]["counts"]
        == {
            "facts": 1,
            "episodes": 1,
            "raw": 2,
        }
    )
    assert len(bundle["raw"]) == 1
    out_of_range = await graphql(
        client, "{ contextBundle(maxFacts: 101) { meta } }", headers=headers
    )
    assert out_of_range["errors"][0]["extensions"]["status"] == 400


async def test_another_user_never_reaches_memory_rows(client):
    owner = bearer(await signup(client))
    stranger = bearer(await signup(client))
    episode_id, fact_id = await _seed(client, owner)
    raw_id = (await client.get("/api/memory/raw/", headers=owner)).json()["results"][0]["id"]
    query = """
    query ($f: ID!, $e: ID!, $r: ID!) {
      fact(factId: $f) { text } episode(episodeId: $e) { title } rawMemory(rawId: $r) { content }
      facts { totalCount nodes { text } } episodes { nodes { title } }
      rawMemories { nodes { content } } profile { summary }
      contextBundle { facts { text } episodes { title } raw { content } }
    }
    """
    body = await graphql(
        client, query, {"f": fact_id, "e": episode_id, "r": raw_id}, headers=stranger
    )
    assert body["data"] == {
        "fact": None,
        "episode": None,
        "rawMemory": None,
        "facts": {"totalCount": 0, "nodes": []},
        "episodes": {"nodes": []},
        "rawMemories": {"nodes": []},
        "profile": None,
        "contextBundle": {"facts": [], "episodes": [], "raw": []},
    }
    # Citing the owner's rows from the stranger's account is refused, not linked.
    stolen = await graphql(
        client,
        "mutation ($i: JSON!) { createFact(input: $i) { factId } }",
        {"i": {"text": "mine now", "episode_ids": [episode_id]}},
        headers=stranger,
    )
    assert stolen["errors"][0]["extensions"]["status"] == 400
    for mutation in (
        "mutation ($id: ID!) { deleteFact(factId: $id) }",
        "mutation ($id: ID!) { deleteEpisode(episodeId: $id) }",
        "mutation ($id: ID!) { deleteRawMemory(rawId: $id) }",
    ):
        target = fact_id if "Fact" in mutation else episode_id if "Episode" in mutation else raw_id
        refused = await graphql(client, mutation, {"id": target}, headers=stranger)
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    still = (await client.get(f"/api/memory/facts/{fact_id}/", headers=owner)).json()
    assert still["episode_ids"] == [episode_id]

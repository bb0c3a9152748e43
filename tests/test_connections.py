"""Cursor connections (issue #6): keyset cursors, stable under concurrent inserts; pageInfo
and totalCount; nested edges page per parent through their DataLoader."""

from tests.helpers import bearer, graphql, make_event, signup

FACTS = """
query ($first: Int, $after: String) {
  facts(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { text } }
  }
}
"""


async def _fact(client, headers, text):
    response = await client.post("/api/memory/facts/", json={"text": text}, headers=headers)
    assert response.status_code == 201, response.text


async def _page(client, headers, first, after=None):
    body = await graphql(client, FACTS, {"first": first, "after": after}, headers)
    assert "errors" not in body, body
    return body["data"]["facts"]


async def test_pages_follow_each_other_and_survive_concurrent_inserts(client):
    headers = bearer(await signup(client))
    for index in range(5):
        await _fact(client, headers, f"fact {index}")
    first = await _page(client, headers, 2)
    assert [edge["node"]["text"] for edge in first["edges"]] == ["fact 4", "fact 3"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    # Newer rows arrive at the head of the list while the client pages on: with offsets the
    # next page would repeat "fact 3"; a cursor continues exactly after the last row seen.
    for index in range(5, 8):
        await _fact(client, headers, f"fact {index}")
    second = await _page(client, headers, 2, first["pageInfo"]["endCursor"])
    assert [edge["node"]["text"] for edge in second["edges"]] == ["fact 2", "fact 1"]
    assert second["totalCount"] == 8
    assert second["pageInfo"]["hasPreviousPage"] is True
    last = await _page(client, headers, 2, second["pageInfo"]["endCursor"])
    assert [edge["node"]["text"] for edge in last["edges"]] == ["fact 0"]
    assert last["pageInfo"]["hasNextPage"] is False


async def test_bad_cursors_and_page_sizes(client):
    headers = bearer(await signup(client))
    await _fact(client, headers, "only")
    for cursor in (
        "garbage",
        "W10",
        "WyJ4Il0",
        "WzEsMiwzXQ",
    ):  # not base64 JSON; [], ["x"], [1,2,3]
        body = await graphql(client, FACTS, {"first": 1, "after": cursor}, headers)
        assert body["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}, cursor
    negative = await graphql(client, FACTS, {"first": -1}, headers)
    assert negative["errors"][0]["extensions"]["status"] == 400
    clamped = await _page(client, headers, 10_000)
    assert len(clamped["edges"]) == 1
    empty = await _page(client, headers, 0)
    assert empty == {
        "totalCount": 1,
        "pageInfo": {
            "hasNextPage": True,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


async def test_nested_event_pages_per_session(client):
    headers = bearer(await signup(client))
    events = [
        make_event(
            f"{session}-{index}", session_id=session, occurred_at=f"2026-05-05T12:0{index}:00Z"
        )
        for session in ("a", "b")
        for index in range(5)
    ]
    response = await client.post("/api/recording/events/", json=events, headers=headers)
    assert response.status_code == 201, response.text
    query = """
    query ($after: String) {
      recordingSessions { nodes { sessionId events(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { eventId } } } }
    }
    """
    body = await graphql(client, query, {}, headers)
    sessions = {s["sessionId"]: s["events"] for s in body["data"]["recordingSessions"]["nodes"]}
    assert [e["eventId"] for e in sessions["a"]["nodes"]] == ["a-0", "a-1"]
    assert [e["eventId"] for e in sessions["b"]["nodes"]] == ["b-0", "b-1"]
    assert sessions["a"]["totalCount"] == 5
    assert sessions["a"]["pageInfo"]["hasNextPage"] is True
    cursor = sessions["a"]["pageInfo"]["endCursor"]
    one = await graphql(
        client,
        """query ($after: String) { recordingSession(sessionId: "a") {
             events(first: 10, after: $after) { pageInfo { hasNextPage } nodes { eventId } } } }""",
        {"after": cursor},
        headers,
    )
    events_after = one["data"]["recordingSession"]["events"]
    assert [e["eventId"] for e in events_after["nodes"]] == ["a-2", "a-3", "a-4"]
    assert events_after["pageInfo"]["hasNextPage"] is False


async def test_last_events_of_each_session(client):
    headers = bearer(await signup(client))
    events = [
        make_event(
            f"{session}-{index}", session_id=session, occurred_at=f"2026-05-05T12:0{index}:00Z"
        )
        for session in ("a", "b")
        for index in range(5)
    ]
    await client.post("/api/recording/events/", json=events, headers=headers)
    query = """{ recordingSessions { nodes { sessionId events(last: 2) {
        pageInfo { hasPreviousPage hasNextPage } nodes { eventId } } } } }"""
    body = await graphql(client, query, {}, headers)
    sessions = {s["sessionId"]: s["events"] for s in body["data"]["recordingSessions"]["nodes"]}
    assert [e["eventId"] for e in sessions["a"]["nodes"]] == ["a-3", "a-4"]
    assert [e["eventId"] for e in sessions["b"]["nodes"]] == ["b-3", "b-4"]
    assert sessions["a"]["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}
    every = await graphql(
        client,
        '{ recordingSession(sessionId: "a") { events(last: 9) { nodes { eventId } } } }',
        {},
        headers,
    )
    assert [e["eventId"] for e in every["data"]["recordingSession"]["events"]["nodes"]] == [
        f"a-{i}" for i in range(5)
    ]
    both = await graphql(
        client,
        '{ recordingSession(sessionId: "a") { events(last: 2, first: 2) { nodes { eventId } } } }',
        {},
        headers,
    )
    assert both["errors"][0]["extensions"]["status"] == 400


async def test_episode_raw_memories_page_with_cursors(client):
    headers = bearer(await signup(client))
    raw_ids = []
    for minute in range(3):
        response = await client.post(
            "/api/memory/raw/",
            json={
                "source": "cli",
                "kind": "note",
                "content": f"note {minute}",
                "occurred_at": f"2026-05-05T12:0{minute}:00Z",
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        raw_ids.append(response.json()["id"])
    episode = await client.post(
        "/api/memory/episodes/",
        json={
            "title": "Notes",
            "started_at": "2026-05-05T12:00:00Z",
            "ended_at": "2026-05-05T12:03:00Z",
            "raw_ids": raw_ids,
        },
        headers=headers,
    )
    assert episode.status_code == 201, episode.text
    query = """query ($after: String) { episodes { nodes { rawMemories(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { content } } } } }"""
    first = (await graphql(client, query, {}, headers))["data"]["episodes"]["nodes"][0]
    page = first["rawMemories"]
    assert [raw["content"] for raw in page["nodes"]] == ["note 0", "note 1"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    after = page["pageInfo"]["endCursor"]
    second = (await graphql(client, query, {"after": after}, headers))["data"]["episodes"]
    rest = second["nodes"][0]["rawMemories"]
    assert [raw["content"] for raw in rest["nodes"]] == ["note 2"]
    assert rest["pageInfo"]["hasNextPage"] is False

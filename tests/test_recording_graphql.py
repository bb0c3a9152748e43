"""Recording through GraphQL, and the statement budget of ingest and of the graph's edges."""

from tests.helpers import (
    EVENT_DEFAULTS,
    bearer,
    count_statements,
    graphql,
    make_event,
    signup,
)

INGEST = """
mutation ($events: [JSON!]!) {
  ingestEvents(events: $events) { accepted duplicates invalid { index errors } }
}
"""


async def test_ingest_mutation_matches_rest_semantics(client):
    tokens = await signup(client)
    events = [make_event("a"), make_event("b"), {"type": "nope"}, make_event("a")]
    body = await graphql(client, INGEST, {"events": events}, headers=bearer(tokens))
    result = body["data"]["ingestEvents"]
    assert (result["accepted"], result["duplicates"]) == (2, 1)
    assert result["invalid"][0]["index"] == 2
    assert "type" in result["invalid"][0]["errors"][0]
    rest = await client.get("/api/recording/sessions/session-1/", headers=bearer(tokens))
    assert rest.json()["event_count"] == 2


async def test_ingest_mutation_errors_are_typed(client):
    tokens = await signup(client)
    empty = await graphql(client, INGEST, {"events": []}, headers=bearer(tokens))
    assert empty["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}
    too_many = [make_event(str(i)) for i in range(1001)]
    body = await graphql(client, INGEST, {"events": too_many}, headers=bearer(tokens))
    assert body["errors"][0]["extensions"]["status"] == 400
    await client.patch("/api/auth/me/", json={"recording_opt_in": False}, headers=bearer(tokens))
    off = await graphql(client, INGEST, {"events": [make_event("x")]}, headers=bearer(tokens))
    assert off["errors"][0]["extensions"] == {"code": "RECORDING_DISABLED", "status": 403}


async def test_nine_variants_are_typed_in_the_graph(client):
    tokens = await signup(client)
    events = [
        make_event(f"e{index}", event_type, occurred_at=f"2026-05-05T12:00:0{index}Z")
        for index, event_type in enumerate(EVENT_DEFAULTS)
    ]
    ingested = await graphql(client, INGEST, {"events": events}, headers=bearer(tokens))
    assert ingested["data"]["ingestEvents"]["accepted"] == 9
    query = """
    { recordingSession(sessionId: "session-1") { sessionId eventCount events {
        totalCount pageInfo { hasNextPage } nodes {
        __typename eventId type session { sessionId }
        ... on AppFocusedEvent { app windowTitle }
        ... on CaptureFrameEvent { uri contentHash width height }
        ... on InputKeystrokeEvent { eventType modifiers { shift ctrl alt meta } }
        ... on InputClickEvent { x y button }
        ... on InputScrollEvent { deltaX deltaY }
        ... on AgentPromptEvent { agent prompt }
        ... on AgentResponseEvent { response inResponseTo }
    } } } }
    """
    session = (await graphql(client, query, headers=bearer(tokens)))["data"]["recordingSession"]
    assert session["eventCount"] == session["events"]["totalCount"] == 9
    assert session["events"]["pageInfo"] == {"hasNextPage": False}
    nodes = session["events"]["nodes"]
    by_type = {event["type"]: event for event in nodes}
    assert [event["eventId"] for event in nodes] == [f"e{i}" for i in range(9)]
    assert by_type["session.started"]["__typename"] == "SessionStartedEvent"
    assert by_type["app.focused"] | {} == {
        "__typename": "AppFocusedEvent",
        "eventId": "e2",
        "type": "app.focused",
        "session": {"sessionId": "session-1"},
        "app": "Terminal",
        "windowTitle": "zsh",
    }
    assert by_type["capture.frame"]["width"] == 640
    assert by_type["input.keystroke"]["modifiers"] == {
        "shift": False,
        "ctrl": True,
        "alt": False,
        "meta": False,
    }
    assert by_type["input.click"]["button"] == "left"
    assert by_type["input.scroll"]["deltaY"] == -3.0
    assert by_type["agent.prompt"]["prompt"] == "Shall I run the tests?"
    assert by_type["agent.response"]["inResponseTo"] is None


async def test_another_users_session_and_event_are_null(client):
    owner = await signup(client)
    stranger = await signup(client)
    await graphql(client, INGEST, {"events": [make_event("secret")]}, headers=bearer(owner))
    query = """{
      recordingSession(sessionId: "session-1") { sessionId }
      event(eventId: "secret") { eventId }
      me { sessions { nodes { sessionId } } }
    }"""
    body = await graphql(client, query, headers=bearer(stranger))
    assert body["data"] == {
        "recordingSession": None,
        "event": None,
        "me": {"sessions": {"nodes": []}},
    }
    mine = await graphql(client, query, headers=bearer(owner))
    assert mine["data"]["event"] == {"eventId": "secret"}


async def test_ingest_issues_a_constant_number_of_statements(client):
    """Counted at SQLAlchemy; on PostgreSQL the COPY and its INSERT … SELECT go straight to the
    driver (two more statements per batch, by construction also independent of its size)."""
    tokens = await signup(client)
    headers = bearer(tokens)
    counts = {}
    for size, sessions in ((10, 1), (1000, 1), (1000, 50)):
        events = [
            make_event(f"{size}-{sessions}-{i}", session_id=f"s{size}-{i % sessions}")
            for i in range(size)
        ]
        with count_statements(client) as statements:
            response = await client.post("/api/recording/events/", json=events, headers=headers)
        assert response.json()["accepted"] == size
        counts[(size, sessions)] = len(statements)
    assert len(set(counts.values())) == 1, counts
    assert counts[(10, 1)] <= 8, counts


async def test_session_events_edges_are_batched(client):
    tokens = await signup(client)
    headers = bearer(tokens)
    query = """
    { me { sessions(first: 200) { nodes { sessionId
        events(first: 3) { totalCount nodes { eventId session { sessionId } } } } } } }
    """
    counts = {}
    for sessions in (2, 40):
        events = [
            make_event(f"{sessions}-{i}", session_id=f"g{sessions}-{i % sessions}")
            for i in range(sessions * 4)
        ]
        await client.post("/api/recording/events/", json=events, headers=headers)
        with count_statements(client) as statements:
            body = await graphql(client, query, headers=headers)
        listed = body["data"]["me"]["sessions"]["nodes"]
        assert all(len(session["events"]["nodes"]) == 3 for session in listed)
        assert all(session["events"]["totalCount"] == 4 for session in listed)
        assert all(
            event["session"]["sessionId"] == session["sessionId"]
            for session in listed
            for event in session["events"]["nodes"]
        )
        counts[sessions] = len(statements)
    assert counts[2] == counts[40], counts


async def test_control_characters_and_backslashes_round_trip(client):
    """PostgreSQL ingest writes COPY text itself: its escaping must lose nothing."""
    tokens = await signup(client)
    tricky = "tab\there\\back\\\\slash\nnew line\r\\N end"
    events = [
        make_event(tricky, session_id=f"s{tricky}", prompt=tricky, source_detail=tricky),
        make_event("plain", session_id=f"s{tricky}", source_detail=None),
    ]
    response = await client.post("/api/recording/events/", json=events, headers=bearer(tokens))
    assert response.json() == {"accepted": 2, "duplicates": 0, "invalid": []}
    from urllib.parse import quote

    stored = await client.get(
        f"/api/recording/events/{quote(tricky, safe='')}/", headers=bearer(tokens)
    )
    body = stored.json()
    assert body["id"] == tricky
    assert body["session_id"] == f"s{tricky}"
    assert body["source_detail"] == tricky
    assert body["payload"] == events[0]
    plain = await client.get("/api/recording/events/plain/", headers=bearer(tokens))
    assert plain.json()["source_detail"] is None

"""LLM promotion through the real anthropic SDK against a local fake Anthropic server."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import bearer, graphql, make_event, signup

NOW = datetime.now(UTC)


@pytest.fixture
async def model_client(make_client, fake_anthropic):
    return await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)


async def _raw_rows(client, headers, count=3, minutes_ago=5):
    ids = []
    for index in range(count):
        response = await client.post(
            "/api/memory/raw/",
            json={
                "source": "cli",
                "source_detail": "claude-code",
                "kind": "agent.prompt",
                "content": f"asked to run test suite {index}",
                "occurred_at": (NOW - timedelta(minutes=minutes_ago - index)).isoformat(),
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def _jobs(client, headers):
    return (await client.get("/api/jobs/", headers=headers)).json()["results"]


async def test_promote_episodes_stores_cited_episodes_and_a_job(model_client, fake_anthropic):
    tokens = await signup(model_client)
    headers = bearer(tokens)
    raw_ids = await _raw_rows(model_client, headers)
    fake_anthropic.reply_tool(
        "submit_episodes",
        {
            "episodes": [
                {
                    "title": "Running the tests",
                    "summary": "Asked the agent to run the suite.",
                    "raw_ids": [raw_ids[0], raw_ids[1], "not-a-real-id"],
                    "tags": ["Testing", "testing", ""],
                },
                {"title": "Cites nothing of ours", "summary": "", "raw_ids": ["bogus"]},
            ]
        },
        input_tokens=321,
        output_tokens=45,
    )
    response = await model_client.post("/api/memory/promote/episodes/", headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["episodes"]) == 1  # the episode citing nothing real is dropped
    episode = body["episodes"][0]
    assert episode["title"] == "Running the tests"
    assert sorted(episode["raw_ids"]) == sorted(raw_ids[:2])
    assert episode["tags"] == ["testing"]
    assert episode["sources"] == ["claude-code"]
    assert episode["started_at"] <= episode["ended_at"]
    # The raw rows now cite the episode; the third is still free.
    for raw_id, expected in ((raw_ids[0], episode["id"]), (raw_ids[2], None)):
        row = (await model_client.get(f"/api/memory/raw/{raw_id}/", headers=headers)).json()
        assert row["episode_id"] == expected
    # The request really carried the raw rows, the model and the forced tool.
    sent = fake_anthropic.requests[-1].body
    assert sent["model"] == "claude-sonnet-4-6"
    assert sent["tool_choice"] == {"type": "tool", "name": "submit_episodes"}
    assert all(raw_id in sent["messages"][0]["content"] for raw_id in raw_ids)
    job = (await model_client.get(f"/api/jobs/{body['job_id']}/", headers=headers)).json()
    assert (job["kind"], job["status"], job["input_tokens"], job["output_tokens"]) == (
        "promote_episodes",
        "succeeded",
        321,
        45,
    )


async def test_promote_episodes_never_links_another_users_rows(model_client, fake_anthropic):
    alice = bearer(await signup(model_client))
    bob = bearer(await signup(model_client))
    alice_ids = await _raw_rows(model_client, alice, count=1)
    bob_ids = await _raw_rows(model_client, bob, count=1)
    fake_anthropic.reply_tool(
        "submit_episodes",
        {"episodes": [{"title": "Mixed", "summary": "", "raw_ids": alice_ids + bob_ids}]},
    )
    body = (await model_client.post("/api/memory/promote/episodes/", headers=bob)).json()
    assert body["episodes"][0]["raw_ids"] == bob_ids
    alice_row = (await model_client.get(f"/api/memory/raw/{alice_ids[0]}/", headers=alice)).json()
    assert alice_row["episode_id"] is None
    assert alice_ids[0] not in fake_anthropic.requests[-1].body["messages"][0]["content"]


async def test_promote_episodes_with_nothing_to_do_calls_no_model(model_client, fake_anthropic):
    headers = bearer(await signup(model_client))
    response = await model_client.post("/api/memory/promote/episodes/", headers=headers)
    assert response.status_code == 201
    assert response.json() == {"episodes": [], "job_id": None}
    assert fake_anthropic.requests == []


async def test_promote_episodes_window_and_options(model_client, fake_anthropic):
    headers = bearer(await signup(model_client))
    await _raw_rows(model_client, headers, count=1, minutes_ago=3 * 24 * 60)  # outside 1 day
    response = await model_client.post("/api/memory/promote/episodes/", headers=headers)
    assert response.json()["episodes"] == []
    assert fake_anthropic.requests == []
    for body in ({"window_minutes": 0}, {"max_raw": 0}, {"max_raw": "5"}, {"nope": 1}):
        bad = await model_client.post("/api/memory/promote/episodes/", json=body, headers=headers)
        assert bad.status_code == 400, body
    unsupported = await model_client.post(
        "/api/memory/promote/episodes/", json={"model": "gpt-4"}, headers=headers
    )
    assert unsupported.status_code == 400


async def _episode(client, headers, title="Coding session"):
    response = await client.post(
        "/api/memory/episodes/",
        json={
            "title": title,
            "summary": "Wrote tests before code.",
            "started_at": (NOW - timedelta(hours=2)).isoformat(),
            "ended_at": (NOW - timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_promote_facts_cleans_and_deduplicates(model_client, fake_anthropic):
    headers = bearer(await signup(model_client))
    episode_id = await _episode(model_client, headers)
    existing = await model_client.post(
        "/api/memory/facts/",
        json={"text": "Writes tests first.", "confidence": 0.6, "kind": "habit"},
        headers=headers,
    )
    fake_anthropic.reply_tool(
        "submit_facts",
        {
            "facts": [
                {
                    "text": "  writes TESTS first ",
                    "kind": "habit",
                    "importance": 3,
                    "confidence": 0.5,
                    "tags": ["dev"],
                    "episode_ids": [episode_id, "unknown"],
                },
                {
                    "text": "Prefers terse replies",
                    "kind": "wish",
                    "importance": -1,
                    "confidence": "high",
                    "episode_ids": [episode_id],
                },
                {"text": "", "kind": "other", "episode_ids": []},
            ]
        },
    )
    response = await model_client.post("/api/memory/promote/facts/", headers=headers)
    assert response.status_code == 201, response.text
    facts = {fact["text"]: fact for fact in response.json()["facts"]}
    assert set(facts) == {"Writes tests first.", "Prefers terse replies"}
    merged = facts["Writes tests first."]
    assert merged["id"] == existing.json()["id"]  # one row, strengthened
    assert merged["confidence"] == pytest.approx(1 - (1 - 0.6) * (1 - 0.5))
    assert merged["importance"] == 1.0  # clamped into 0..1
    assert merged["episode_ids"] == [episode_id]
    assert merged["tags"] == ["dev"]
    fresh = facts["Prefers terse replies"]
    assert (fresh["kind"], fresh["importance"], fresh["confidence"]) == ("other", 0.0, 0.5)
    listed = (await model_client.get("/api/memory/facts/", headers=headers)).json()
    assert listed["count"] == 2
    episode = await model_client.get(f"/api/memory/episodes/{episode_id}/", headers=headers)
    assert episode.status_code == 200


async def test_promote_facts_confidence_rises_strictly_on_repetition(model_client, fake_anthropic):
    headers = bearer(await signup(model_client))
    episode_id = await _episode(model_client, headers)
    answer = {
        "facts": [
            {"text": "Uses vim", "kind": "habit", "confidence": 0.3, "episode_ids": [episode_id]}
        ]
    }
    confidences = []
    for _ in range(3):
        fake_anthropic.reply_tool("submit_facts", answer)
        body = (await model_client.post("/api/memory/promote/facts/", headers=headers)).json()
        confidences.append(body["facts"][0]["confidence"])
    assert confidences[0] == pytest.approx(0.3)
    assert confidences[0] < confidences[1] < confidences[2] < 1
    assert (await model_client.get("/api/memory/facts/", headers=headers)).json()["count"] == 1


@pytest.mark.parametrize(
    ("status", "error_type", "headers", "expected"),
    [
        (429, "rate_limit_error", {"retry-after": "17"}, 429),
        (401, "authentication_error", {}, 503),
        (500, "api_error", {}, 502),
    ],
)
async def test_promotion_upstream_errors_are_mapped_with_failed_jobs(
    model_client, fake_anthropic, status, error_type, headers, expected
):
    auth = bearer(await signup(model_client))
    await _raw_rows(model_client, auth, count=1)
    fake_anthropic.fail(status, error_type, "upstream says no", headers=headers)
    response = await model_client.post("/api/memory/promote/episodes/", headers=auth)
    assert response.status_code == expected, response.text
    assert set(response.json()) == {"error", "code"}
    if expected == 429:
        assert response.headers["Retry-After"] == "17"
    jobs = await _jobs(model_client, auth)
    assert len(jobs) == 1
    assert (jobs[0]["kind"], jobs[0]["status"]) == ("promote_episodes", "failed")
    assert jobs[0]["error"]
    assert (await model_client.get("/api/memory/episodes/", headers=auth)).json()["count"] == 0


async def test_promotion_without_tool_call_is_502(model_client, fake_anthropic):
    auth = bearer(await signup(model_client))
    await _episode(model_client, auth)
    fake_anthropic.reply_text("I would rather chat.")
    response = await model_client.post("/api/memory/promote/facts/", headers=auth)
    assert response.status_code == 502
    jobs = await _jobs(model_client, auth)
    assert (jobs[0]["kind"], jobs[0]["status"]) == ("promote_facts", "failed")


async def test_promotion_without_api_key_is_503(client):
    auth = bearer(await signup(client))
    await _episode(client, auth)
    response = await client.post("/api/memory/promote/facts/", headers=auth)
    assert response.status_code == 503
    jobs = await _jobs(client, auth)
    assert (jobs[0]["status"], bool(jobs[0]["error"])) == ("failed", True)


async def test_promotion_in_graphql(model_client, fake_anthropic):
    auth = bearer(await signup(model_client))
    await model_client.post(
        "/api/recording/events/",
        json=[make_event("p1", occurred_at=NOW.isoformat())],
        headers=auth,
    )
    await model_client.post("/api/memory/sync/", headers=auth)
    raw = (await model_client.get("/api/memory/raw/", headers=auth)).json()["results"]
    fake_anthropic.reply_tool(
        "submit_episodes",
        {"episodes": [{"title": "Asked", "summary": "s", "raw_ids": [raw[0]["id"]]}]},
    )
    body = await graphql(
        model_client,
        "mutation { promoteEpisodes { jobId "
        "episodes { title rawMemories { nodes { event { eventId } } } } } }",
        headers=auth,
    )
    result = body["data"]["promoteEpisodes"]
    assert result["jobId"]
    assert result["episodes"] == [
        {"title": "Asked", "rawMemories": {"nodes": [{"event": {"eventId": "p1"}}]}}
    ]

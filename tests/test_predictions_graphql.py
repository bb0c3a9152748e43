"""Predictions in GraphQL (SPEC §6, §8): the same domain operations as REST, through typed
inputs, with the session, jobs and candidates edges batched by DataLoaders."""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.fakes.anthropic import tool_answer, url_unreachable
from tests.helpers import bearer, count_statements, graphql, make_event, signup

PREDICTION_FIELDS = """
    predictionId kind agent agentInput sessionId status predictedResponse confidence
    rawConfidence reasoning stopRecommended shouldContinue k threshold model latencyMs
    usage { inputTokens outputTokens } createdAt actedAt answeredAt actualResponse
    candidates { response confidence rawConfidence reasoning stopRecommended }
"""
PREDICT = f"""
mutation ($input: PredictInput!) {{
  predict(input: $input) {{ {PREDICTION_FIELDS} jobs {{ kind status relatedId inputTokens }} }}
}}
"""


@pytest.fixture
async def api(make_client, fake_anthropic):
    return await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)


def _answer(fake, *confidences, stop=False):
    fake.reply_tool(
        "submit_predictions",
        {
            "candidates": [
                {
                    "response": f"reply {confidence}",
                    "confidence": confidence,
                    "reasoning": "because",
                    "stop_recommended": stop,
                }
                for confidence in confidences
            ]
        },
        input_tokens=120,
        output_tokens=30,
    )


async def _predict(client, headers, **fields):
    variables = {"input": {"agent": "claude-code", "agentInput": "Run the tests?", **fields}}
    return await graphql(client, PREDICT, variables, headers)


def _error(body):
    assert body.get("data") is None or not any(body["data"].values()), body
    (error,) = body["errors"]
    return error["extensions"]


async def test_predict_shape_candidates_and_job(api, fake_anthropic):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, 0.4, 0.95, 7, 0.6, stop=True)
    body = await _predict(api, headers, k=3, sessionId="s1", model="claude-haiku-4-5")
    prediction = body["data"]["predict"]
    assert [c["confidence"] for c in prediction["candidates"]] == [1.0, 0.95, 0.6]
    assert prediction["candidates"][0]["rawConfidence"] == 1.0
    assert prediction["predictedResponse"] == "reply 7"
    assert (prediction["status"], prediction["k"], prediction["threshold"]) == ("auto", 3, 0.8)
    assert prediction["actedAt"] is not None
    assert prediction["stopRecommended"] is True
    assert (prediction["model"], prediction["sessionId"]) == ("claude-haiku-4-5", "s1")
    assert prediction["usage"] == {"inputTokens": 120, "outputTokens": 30}
    assert prediction["jobs"] == [
        {
            "kind": "predict",
            "status": "succeeded",
            "relatedId": prediction["predictionId"],
            "inputTokens": 120,
        }
    ]
    assert fake_anthropic.requests[-1].body["model"] == "claude-haiku-4-5"


@pytest.mark.parametrize(
    ("confidence", "status"), [(0.8, "auto"), (0.81, "auto"), (0.79, "escalated")]
)
async def test_threshold_rule(api, fake_anthropic, confidence, status):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, confidence)
    prediction = (await _predict(api, headers))["data"]["predict"]
    assert prediction["status"] == status
    assert (prediction["actedAt"] is not None) == (status == "auto")


async def test_validation_errors_are_typed_and_reach_no_model(api, fake_anthropic):
    headers = bearer(await signup(api))
    for fields in ({"k": 0}, {"k": 11}, {"threshold": -0.1}, {"model": "gpt-5"}, {"agent": ""}):
        extensions = _error(await _predict(api, headers, **fields))
        assert extensions["status"] == 400, fields
    assert fake_anthropic.requests == []


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [(429, "rate_limit_error", 429), (401, "authentication_error", 503), (500, "api_error", 502)],
)
async def test_upstream_errors_map_and_leave_failed_jobs(
    api, fake_anthropic, status, error_type, expected
):
    headers = bearer(await signup(api))
    fake_anthropic.fail(status, error_type, "no", headers={"retry-after": "7"})
    extensions = _error(await _predict(api, headers))
    assert extensions["status"] == expected
    if expected == 429:
        assert extensions["retryAfter"] == 7
    jobs = await graphql(api, "{ jobs { nodes { kind status error } } }", headers=headers)
    (job,) = jobs["data"]["jobs"]["nodes"]
    assert (job["kind"], job["status"]) == ("predict", "failed")
    assert job["error"]


async def test_connection_error_and_timeout_are_503_with_failed_jobs(make_client, fake_anthropic):
    unreachable = await make_client(anthropic_api_key="k", anthropic_base_url=url_unreachable())
    headers = bearer(await signup(unreachable))
    extensions = _error(await _predict(unreachable, headers))
    assert (extensions["status"], extensions["code"]) == (503, "MODEL_UNREACHABLE")
    slow = await make_client(
        anthropic_api_key="k", anthropic_base_url=fake_anthropic.url, llm_timeout_s=0.3
    )
    fake_anthropic.delay(2)
    _answer(fake_anthropic, 0.9)
    extensions = _error(await _predict(slow, headers))
    assert (extensions["status"], extensions["code"]) == (503, "MODEL_TIMEOUT")
    jobs = (await slow.get("/api/jobs/", headers=headers)).json()["results"]
    assert [(job["status"], bool(job["error"])) for job in jobs] == [(("failed", True))] * 2


async def test_feedback_query_stats_and_user_edges(api, fake_anthropic):
    headers = bearer(await signup(api))
    ids = []
    for confidence in (0.9, 0.5, 0.5):
        _answer(fake_anthropic, confidence)
        ids.append((await _predict(api, headers))["data"]["predict"]["predictionId"])
    feedback = """
      mutation ($id: ID!, $status: String!, $actual: String) {
        submitFeedback(predictionId: $id, status: $status, actualResponse: $actual) {
          status actualResponse answeredAt predictedResponse
        }
      }
    """
    missing = await graphql(api, feedback, {"id": ids[1], "status": "edited"}, headers)
    assert _error(missing)["status"] == 400
    accepted = (await graphql(api, feedback, {"id": ids[1], "status": "accepted"}, headers))[
        "data"
    ]["submitFeedback"]
    assert accepted["status"] == "accepted"
    assert accepted["actualResponse"] == accepted["predictedResponse"]
    assert accepted["answeredAt"] is not None
    edited = await graphql(
        api, feedback, {"id": ids[2], "status": "edited", "actual": "no"}, headers
    )
    assert edited["data"]["submitFeedback"]["actualResponse"] == "no"
    stats_fields = (
        "total byStatus { auto escalated accepted edited pending rejected } precision "
        "automationRate calibration { fitted samples eceRaw eceCalibrated }"
    )
    body = await graphql(
        api,
        f"{{ predictionStats {{ {stats_fields} }} me {{ predictionStats {{ {stats_fields} }} }} }}",
        headers=headers,
    )
    stats = body["data"]["predictionStats"]
    assert stats == body["data"]["me"]["predictionStats"]
    rest = (await api.get("/api/predictions/stats/", headers=headers)).json()
    assert stats["total"] == rest["total"] == 3
    assert stats["byStatus"] == rest["by_status"]
    assert (stats["precision"], stats["automationRate"]) == (2 / 3, 1.0)
    assert stats["calibration"]["fitted"] is False
    future = await graphql(
        api, '{ predictionStats(since: "2999-01-01T00:00:00Z") { total precision } }', None, headers
    )
    assert future["data"]["predictionStats"] == {"total": 0, "precision": None}
    listed = await graphql(
        api, '{ predictions(status: "accepted") { nodes { predictionId } } }', headers=headers
    )
    assert listed["data"]["predictions"]["nodes"] == [{"predictionId": ids[1]}]
    one = await graphql(
        api,
        "query ($id: ID!) { prediction(predictionId: $id) { status contextSnapshot } }",
        {"id": ids[0]},
        headers,
    )
    assert one["data"]["prediction"]["status"] == "auto"
    assert "facts" in one["data"]["prediction"]["contextSnapshot"]
    # Lists leave the snapshot in the database; asked for, it is the stored one (= REST detail).
    every = await graphql(
        api, "{ predictions { nodes { predictionId contextSnapshot } } }", headers=headers
    )
    snapshots = {
        node["predictionId"]: node["contextSnapshot"]
        for node in every["data"]["predictions"]["nodes"]
    }
    assert set(snapshots) == set(ids)
    for prediction_id in ids:
        detail = (await api.get(f"/api/predictions/{prediction_id}/", headers=headers)).json()
        assert snapshots[prediction_id] == detail["context_snapshot"]
    listed_rest = (await api.get("/api/predictions/", headers=headers)).json()["results"]
    assert all("context_snapshot" not in item for item in listed_rest)


async def test_batch_and_continuation(api, fake_anthropic):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, 0.9)
    fake_anthropic.fail(500, "api_error", "boom")
    batch = await graphql(
        api,
        """mutation ($input: PredictBatchInput!) {
             predictBatch(input: $input) { results { agentInput threshold } errors { index error } }
           }""",
        {
            "input": {
                "items": [
                    {"agent": "a", "agentInput": "one"},
                    {"agent": "", "agentInput": "bad"},
                    {"agent": "a", "agentInput": "two"},
                ],
                "threshold": 0.5,
            }
        },
        headers,
    )
    result = batch["data"]["predictBatch"]
    assert len(result["results"]) == 1
    assert result["results"][0]["threshold"] == 0.5
    assert sorted(error["index"] for error in result["errors"]) in ([1, 2], [0, 1])
    fake_anthropic.reply_tool(
        "submit_continuation", {"should_continue": False, "confidence": 0.6, "reasoning": "done"}
    )
    continuation = await graphql(
        api,
        """mutation ($input: ContinuationInput!) {
             predictContinuation(input: $input) { kind shouldContinue confidence status }
           }""",
        {"input": {"agent": "codex", "agentInput": "All green."}},
        headers,
    )
    assert continuation["data"]["predictContinuation"] == {
        "kind": "continuation",
        "shouldContinue": False,
        "confidence": 0.6,
        "status": "escalated",
    }


async def test_another_users_prediction_is_unreachable(api, fake_anthropic):
    alice = bearer(await signup(api))
    bob = bearer(await signup(api))
    _answer(fake_anthropic, 0.9)
    mine = (await _predict(api, alice, sessionId="shared"))["data"]["predict"]["predictionId"]
    seen = await graphql(
        api,
        "query ($id: ID!) { prediction(predictionId: $id) { status } "
        "predictions { totalCount nodes { agent } } }",
        {"id": mine},
        bob,
    )
    assert seen["data"] == {"prediction": None, "predictions": {"totalCount": 0, "nodes": []}}
    feedback = await graphql(
        api,
        'mutation ($id: ID!) { submitFeedback(predictionId: $id, status: "rejected") { status } }',
        {"id": mine},
        bob,
    )
    assert _error(feedback)["status"] == 404
    await api.post(
        "/api/recording/events/",
        json=[make_event("e1", session_id="shared")],
        headers=bob,
    )
    edge = await graphql(
        api,
        '{ recordingSession(sessionId: "shared") { predictions { totalCount nodes { status } } } }',
        None,
        bob,
    )
    assert edge["data"]["recordingSession"]["predictions"] == {"totalCount": 0, "nodes": []}


async def _seed_sessions(client, headers, fake, indexes):
    for index in indexes:
        session = f"dash-{index}"
        await client.post(
            "/api/recording/events/",
            json=[make_event(f"{session}-e", session_id=session)],
            headers=headers,
        )
        for _ in range(2):
            _answer(fake, 0.9, 0.5)
            body = await _predict(client, headers, sessionId=session, k=2)
            assert "errors" not in body, body


DASHBOARD = """
{
  recordingSessions(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      sessionId
      events(first: 20) { totalCount nodes { eventId } }
      predictions(first: 10) {
        totalCount
        nodes {
          predictionId candidates { response confidence }
          session { sessionId }
          jobs { status latencyMs }
        }
      }
    } }
  }
  predictionStats { total precision }
}
"""


async def test_session_predictions_edge_issues_constant_statements(api, fake_anthropic):
    headers = bearer(await signup(api))
    await _seed_sessions(api, headers, fake_anthropic, range(2))
    with count_statements(api) as small:
        body = await graphql(api, DASHBOARD, headers=headers)
    assert "errors" not in body, body
    sessions = [edge["node"] for edge in body["data"]["recordingSessions"]["edges"]]
    assert {len(s["predictions"]["nodes"]) for s in sessions} == {2}
    assert {s["predictions"]["totalCount"] for s in sessions} == {2}
    await _seed_sessions(api, headers, fake_anthropic, range(2, 8))
    with count_statements(api) as large:
        body = await graphql(api, DASHBOARD, headers=headers)
    sessions = [edge["node"] for edge in body["data"]["recordingSessions"]["edges"]]
    assert len(sessions) == body["data"]["recordingSessions"]["totalCount"] == 8
    for session in sessions:
        predictions = session["predictions"]["nodes"]
        assert [p["session"]["sessionId"] for p in predictions] == [session["sessionId"]] * 2
        assert all(p["jobs"][0]["status"] == "succeeded" for p in predictions)
        assert session["events"]["totalCount"] == len(session["events"]["nodes"]) == 1
    assert len(large) == len(small)


async def test_prediction_created_subscription(start_server, fake_anthropic):
    base = _server_with_model(start_server, fake_anthropic)
    await _subscription_sees_predictions(base, base)


@pytest.mark.postgresql_only  # fan-out across processes is PostgreSQL's LISTEN/NOTIFY
async def test_prediction_created_across_two_server_processes(start_server, fake_anthropic):
    first = _server_with_model(start_server, fake_anthropic)
    second = _server_with_model(start_server, fake_anthropic)
    await _subscription_sees_predictions(first, second)


def _server_with_model(start_server, fake):
    fake.set_default(
        tool_answer(
            "submit_predictions",
            {"candidates": [{"response": "yes", "confidence": 0.9, "reasoning": "r"}]},
        )
    )
    return start_server(ANTHROPIC_API_KEY="k", ANTHROPIC_BASE_URL=fake.url)


async def _subscription_sees_predictions(predict_base, subscribe_base):
    """Predictions made through one server reach a subscription held on another."""
    async with httpx.AsyncClient(base_url=predict_base, timeout=30) as http:
        headers = bearer(await signup(http))
        other = bearer(await signup(http))
        url = subscribe_base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            query = "subscription { predictionCreated { agentInput predictedResponse status } }"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            # graphql-transport-ws has no "subscribed" acknowledgement: probe until one arrives.
            for probe in range(50):
                await _predict(http, other, agentInput="someone else's")
                await _predict(http, headers, agentInput=f"probe {probe}")
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.3)
                    assert isinstance(frame, str)  # graphql-transport-ws speaks in text frames
                    message = json.loads(frame)
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail("the subscription never delivered a prediction")
            assert message["type"] == "next", message
            created = message["payload"]["data"]["predictionCreated"]
            assert created["agentInput"].startswith("probe")
            await _predict(http, other, agentInput="not mine")
            await _predict(http, headers, agentInput="mine")
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                created = message["payload"]["data"]["predictionCreated"]
                assert created["agentInput"] != "not mine"
                if created["agentInput"] == "mine":
                    break
    assert created == {"agentInput": "mine", "predictedResponse": "yes", "status": "auto"}

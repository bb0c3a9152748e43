"""Predictions (SPEC §6) through REST with the real SDK against a local fake Anthropic server."""

import pytest

from tests.helpers import bearer, signup

PREDICTION_FIELDS = {
    "id",
    "predicted_response",
    "confidence",
    "raw_confidence",
    "reasoning",
    "stop_recommended",
    "candidates",
    "k",
    "status",
    "threshold",
    "model",
    "latency_ms",
    "usage",
    "agent",
    "agent_input",
    "session_id",
    "created_at",
    "acted_at",
    "answered_at",
    "actual_response",
}


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


async def _predict(client, headers, **body):
    request = {"agent": "claude-code", "agent_input": "Shall I run the tests?", **body}
    return await client.post("/api/predictions/predict/", json=request, headers=headers)


async def test_predict_shape_ranking_and_k(api, fake_anthropic):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, 0.4, 0.95, 7, 0.6)
    response = await _predict(api, headers, k=3, session_id="s1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == PREDICTION_FIELDS
    confidences = [c["confidence"] for c in body["candidates"]]
    assert confidences == [1.0, 0.95, 0.6]  # clamped, ranked, at most k
    assert body["predicted_response"] == "reply 7"
    assert (body["k"], body["threshold"], body["model"]) == (3, 0.8, "claude-sonnet-4-6")
    assert body["usage"] == {"input_tokens": 120, "output_tokens": 30}
    assert body["session_id"] == "s1"
    assert all(c["raw_confidence"] == c["confidence"] for c in body["candidates"])


@pytest.mark.parametrize(
    ("confidence", "status"), [(0.8, "auto"), (0.81, "auto"), (0.79, "escalated")]
)
async def test_auto_or_escalated_at_the_threshold(api, fake_anthropic, confidence, status):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, confidence)
    body = (await _predict(api, headers)).json()
    assert body["status"] == status
    assert (body["acted_at"] is not None) == (status == "auto")


async def test_request_validation(api, fake_anthropic):
    headers = bearer(await signup(api))
    for body in (
        {"k": 0},
        {"k": 11},
        {"threshold": 1.5},
        {"recency_minutes": 0},
        {"model": "gpt-5"},
        {"agent": ""},
        {"unknown": 1},
    ):
        response = await _predict(api, headers, **body)
        assert response.status_code == 400, body
    missing = await api.post("/api/predictions/predict/", json={"agent": "a"}, headers=headers)
    assert missing.status_code == 400
    assert fake_anthropic.requests == []


async def test_context_and_model_reach_the_model(api, fake_anthropic):
    headers = bearer(await signup(api))
    await api.post(
        "/api/memory/facts/",
        json={"text": "Always runs the full test suite", "importance": 1, "confidence": 1},
        headers=headers,
    )
    await api.post(
        "/api/memory/profile/", json={"summary": "A terse backend engineer."}, headers=headers
    )
    _answer(fake_anthropic, 0.9)
    body = (await _predict(api, headers, model="claude-haiku-4-5")).json()
    sent = fake_anthropic.requests[-1].body
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["tool_choice"] == {"type": "tool", "name": "submit_predictions"}
    assert "Always runs the full test suite" in sent["system"]
    assert "A terse backend engineer." in sent["system"]
    assert "Shall I run the tests?" in str(sent["messages"])
    detail = (await api.get(f"/api/predictions/{body['id']}/", headers=headers)).json()
    snapshot = detail["context_snapshot"]
    assert [fact["text"] for fact in snapshot["facts"]] == ["Always runs the full test suite"]
    assert snapshot["profile"]["summary"] == "A terse backend engineer."
    job = (await api.get("/api/jobs/?kind=predict", headers=headers)).json()["results"][0]
    assert (job["status"], job["related_id"], job["input_tokens"]) == ("succeeded", body["id"], 120)


async def test_feedback_rules(api, fake_anthropic):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, 0.5)
    first = (await _predict(api, headers)).json()
    url = f"/api/predictions/{first['id']}/feedback/"
    missing = await api.post(url, json={"status": "edited"}, headers=headers)
    assert missing.status_code == 400
    bad = await api.post(url, json={"status": "maybe"}, headers=headers)
    assert bad.status_code == 400
    accepted = (await api.post(url, json={"status": "accepted"}, headers=headers)).json()
    assert accepted["status"] == "accepted"
    assert accepted["actual_response"] == first["predicted_response"]
    assert accepted["answered_at"] is not None
    edited = (
        await api.post(url, json={"status": "edited", "actual_response": "yes"}, headers=headers)
    ).json()
    assert (edited["status"], edited["actual_response"]) == ("edited", "yes")
    rejected = (await api.post(url, json={"status": "rejected"}, headers=headers)).json()
    assert rejected["status"] == "rejected"


async def test_stats_formulas_and_windows(api, fake_anthropic):
    headers = bearer(await signup(api))
    empty = (await api.get("/api/predictions/stats/", headers=headers)).json()
    assert (empty["total"], empty["precision"], empty["automation_rate"]) == (0, None, None)
    assert empty["calibration"]["fitted"] is False
    ids = []
    for confidence in (0.9, 0.9, 0.5, 0.5, 0.5, 0.5):  # 2 auto, 4 escalated
        _answer(fake_anthropic, confidence)
        ids.append((await _predict(api, headers)).json()["id"])
    for prediction_id, status in zip(ids[2:5], ("accepted", "edited", "rejected"), strict=True):
        body = {"status": status, "actual_response": "x"}
        await api.post(f"/api/predictions/{prediction_id}/feedback/", json=body, headers=headers)
    stats = (await api.get("/api/predictions/stats/", headers=headers)).json()
    assert stats["total"] == 6
    assert stats["by_status"] == {
        "pending": 0,
        "auto": 2,
        "escalated": 1,
        "accepted": 1,
        "edited": 1,
        "rejected": 1,
    }
    assert stats["precision"] == pytest.approx(3 / 5)  # (auto + accepted) / answered
    assert stats["automation_rate"] == pytest.approx(5 / 6)  # answered / total
    future = (
        await api.get("/api/predictions/stats/?since=2999-01-01T00:00:00Z", headers=headers)
    ).json()
    assert (future["total"], future["precision"]) == (0, None)
    bad = await api.get("/api/predictions/stats/?since=yesterday", headers=headers)
    assert bad.status_code == 400


async def test_listing_filters_and_ownership(api, fake_anthropic):
    alice = bearer(await signup(api))
    bob = bearer(await signup(api))
    _answer(fake_anthropic, 0.9)
    mine = (await _predict(api, alice, agent="codex", session_id="s9")).json()
    _answer(fake_anthropic, 0.1)
    await _predict(api, alice)
    for query, count in (("", 2), ("?status=auto", 1), ("?agent=codex", 1), ("?session_id=s9", 1)):
        page = (await api.get(f"/api/predictions/{query}", headers=alice)).json()
        assert page["count"] == count, query
    assert (await api.get("/api/predictions/?status=nope", headers=alice)).status_code == 400
    assert (await api.get("/api/predictions/", headers=bob)).json()["count"] == 0
    for method, url, body in (
        ("get", f"/api/predictions/{mine['id']}/", None),
        ("post", f"/api/predictions/{mine['id']}/feedback/", {"status": "accepted"}),
    ):
        kwargs = {"headers": bob} | ({"json": body} if body else {})
        assert (await getattr(api, method)(url, **kwargs)).status_code == 404
    unchanged = (await api.get(f"/api/predictions/{mine['id']}/", headers=alice)).json()
    assert unchanged["status"] == "auto"


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (429, "rate_limit_error", 429),
        (401, "authentication_error", 503),
        (500, "api_error", 502),
        (529, "overloaded_error", 502),
    ],
)
async def test_upstream_errors_leave_failed_jobs(api, fake_anthropic, status, error_type, expected):
    headers = bearer(await signup(api))
    fake_anthropic.fail(status, error_type, "no", headers={"retry-after": "9"})
    response = await _predict(api, headers)
    assert response.status_code == expected
    if expected == 429:
        assert response.headers["Retry-After"] == "9"
    job = (await api.get("/api/jobs/", headers=headers)).json()["results"][0]
    assert (job["kind"], job["status"]) == ("predict", "failed")
    assert job["error"]
    assert (await api.get("/api/predictions/", headers=headers)).json()["count"] == 0


async def test_answer_without_candidates_is_502_with_failed_job(api, fake_anthropic):
    headers = bearer(await signup(api))
    fake_anthropic.reply_tool("submit_predictions", {"candidates": [{"nope": 1}]})
    assert (await _predict(api, headers)).status_code == 502
    fake_anthropic.reply_text("just text")
    assert (await _predict(api, headers)).status_code == 502
    jobs = (await api.get("/api/jobs/", headers=headers)).json()["results"]
    assert [job["status"] for job in jobs] == ["failed", "failed"]


async def test_missing_api_key_is_503(client):
    headers = bearer(await signup(client))
    response = await _predict(client, headers)
    assert response.status_code == 503
    job = (await client.get("/api/jobs/", headers=headers)).json()["results"][0]
    assert job["status"] == "failed"


async def test_calibration_after_enough_outcomes(api, fake_anthropic):
    """An over-confident model (0.95, right a third of the time): once 20+ outcomes are known,
    new predictions carry a lower calibrated confidence and the decision uses it."""
    headers = bearer(await signup(api))
    ids = []
    for index in range(24):
        _answer(fake_anthropic, 0.95)
        body = (await _predict(api, headers)).json()
        assert body["status"] == "auto"
        if index < 20:  # fewer than 20 known outcomes: confidence is the raw confidence
            assert body["confidence"] == 0.95
        ids.append(body["id"])
    for prediction_id in ids[:16]:
        await api.post(
            f"/api/predictions/{prediction_id}/feedback/",
            json={"status": "rejected"},
            headers=headers,
        )
    stats = (await api.get("/api/predictions/stats/", headers=headers)).json()
    assert stats["calibration"]["fitted"] is True
    assert stats["calibration"]["samples"] == 24
    assert stats["calibration"]["ece_calibrated"] < stats["calibration"]["ece_raw"]
    _answer(fake_anthropic, 0.95)
    after = (await _predict(api, headers)).json()
    assert after["raw_confidence"] == 0.95
    assert after["confidence"] < 0.5  # about the observed rate of being right
    assert after["candidates"][0]["raw_confidence"] == 0.95
    assert after["status"] == "escalated"


async def test_batch_shares_one_bundle_and_reports_item_errors(api, fake_anthropic):
    headers = bearer(await signup(api))
    _answer(fake_anthropic, 0.9)
    fake_anthropic.fail(500, "api_error", "boom")
    _answer(fake_anthropic, 0.3)
    response = await api.post(
        "/api/predictions/predict/batch/",
        json={
            "items": [
                {"agent": "a", "agent_input": "one"},
                {"agent": "a", "agent_input": "two"},
                {"agent": "", "agent_input": "bad item"},
                {"agent": "a", "agent_input": "three", "session_id": "s"},
            ],
            "threshold": 0.5,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["results"]) == 2  # one upstream failure, one invalid item
    assert {error["index"] for error in body["errors"]} >= {2}
    assert len(body["errors"]) == 2
    assert all(result["threshold"] == 0.5 for result in body["results"])
    assert len(fake_anthropic.requests) == 3  # the invalid item never reached the model
    jobs = (await api.get("/api/jobs/?kind=predict", headers=headers)).json()["results"]
    assert sorted(job["status"] for job in jobs) == ["failed", "succeeded", "succeeded"]
    for bad in ({"items": []}, {"items": [{"agent": "a", "agent_input": "x"}] * 101}, {}):
        assert (
            await api.post("/api/predictions/predict/batch/", json=bad, headers=headers)
        ).status_code == 400


async def test_continuation(api, fake_anthropic):
    headers = bearer(await signup(api))
    fake_anthropic.reply_tool(
        "submit_continuation",
        {"should_continue": True, "confidence": 0.9, "reasoning": "they let it run"},
    )
    response = await api.post(
        "/api/predictions/continuation/",
        json={"agent": "codex", "agent_input": "Step 3 of 5 done.", "threshold": 0.8},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "should_continue", "confidence", "reasoning", "status", "threshold"}
    assert (body["should_continue"], body["status"]) == (True, "auto")
    sent = fake_anthropic.requests[-1].body
    assert sent["tool_choice"] == {"type": "tool", "name": "submit_continuation"}
    fake_anthropic.reply_tool("submit_continuation", {"confidence": 0.9})
    broken = await api.post(
        "/api/predictions/continuation/",
        json={"agent": "codex", "agent_input": "?"},
        headers=headers,
    )
    assert broken.status_code == 502
    jobs = (await api.get("/api/jobs/?kind=continuation", headers=headers)).json()["results"]
    assert sorted(job["status"] for job in jobs) == ["failed", "succeeded"]
    # Continuations are not replies: they stay out of the predictions list.
    assert (await api.get("/api/predictions/", headers=headers)).json()["count"] == 0

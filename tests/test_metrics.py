"""Prometheus `/metrics`: requests by route template, ingest outcomes, outside calls, and one
sum over every worker of a multi-process server.

The counters are process-wide (as Prometheus expects), so tests compare before and after.
"""

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import metrics
from tests.helpers import bearer, make_event, signup

HEALTH = "/api/monitoring/health/"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition: (name, labels) → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_prometheus_text_and_public(client):
    response = await client.get("/metrics", headers={"Authorization": "Bearer stale"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE clone_http_requests_total counter" in response.text
    assert "# TYPE clone_http_request_duration_seconds histogram" in response.text
    openmetrics = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


async def test_requests_are_labelled_by_route_template(client):
    tokens = await signup(client)
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(HEALTH)).status_code == 200
    ids = [uuid.uuid4() for _ in range(2)]
    for job_id in ids:
        response = await client.get(f"/api/jobs/{job_id}/", headers=bearer(tokens))
        assert response.status_code == 404
    producer_id = "run/42"  # an encoded-id route, with a slash in the id
    response = await client.get("/api/recording/events/run%2F42/", headers=bearer(tokens))
    assert response.status_code == 404
    assert (await client.get("/no/such/path/xyz")).status_code == 404
    assert (await client.request("BREW", HEALTH)).status_code == 405
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "clone_http_requests_total"
    assert delta(requests, method="GET", route=HEALTH, status="200") == 3
    assert delta(requests, method="GET", route="/api/jobs/{job_id}/", status="404") == 2
    route = "/api/recording/events/{event_id}/"
    assert delta(requests, method="GET", route=route, status="404") == 1
    assert delta(requests, method="GET", route="<unmatched>", status="404") == 1
    assert delta(requests, method="OTHER", route=HEALTH, status="405") == 1
    durations = "clone_http_request_duration_seconds_count"
    assert delta(durations, method="GET", route=HEALTH) == 3
    assert (
        delta("clone_http_request_duration_seconds_bucket", method="GET", route=HEALTH, le="+Inf")
        == 3
    )
    # Bounded labels: no raw path or id ever becomes a label value.
    for raw in (*map(str, ids), producer_id, "run%2F42", "/no/such/path", "BREW"):
        assert raw not in after


async def test_ingest_outcomes_are_counted(client):
    tokens = await signup(client)
    before = await scrape(client)
    batch = [
        make_event("e1"),
        make_event("e2"),
        make_event("e2"),  # a duplicate within the batch
        {"id": "bad", "type": "nope"},  # rejected
    ]
    response = await client.post("/api/recording/events/", json=batch, headers=bearer(tokens))
    assert response.json()["accepted"] == 2
    response = await client.post(
        "/api/recording/events/", json=[make_event("e1")], headers=bearer(tokens)
    )
    assert response.json()["duplicates"] == 1
    after = await scrape(client)
    for outcome, expected in (("accepted", 2), ("duplicate", 2), ("rejected", 1)):
        change = value(after, "clone_ingest_events_total", outcome=outcome) - value(
            before, "clone_ingest_events_total", outcome=outcome
        )
        assert change == expected, outcome
    route = "/api/recording/events/"
    assert value(
        after, "clone_http_requests_total", method="POST", route=route, status="201"
    ) > value(before, "clone_http_requests_total", method="POST", route=route, status="201")


async def test_model_calls_and_errors_are_counted(make_client, fake_anthropic):
    client = await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)
    tokens = await signup(client)
    labels = {
        "provider": "anthropic",
        "operation": "submit_predictions",
        "model": "claude-haiku-4-5",
    }
    before = await scrape(client)
    fake_anthropic.reply_tool(
        "submit_predictions",
        {
            "candidates": [
                {"response": "yes", "confidence": 0.9, "reasoning": "r", "stop_recommended": False}
            ]
        },
    )
    fake_anthropic.fail(500, "api_error", "boom")
    body = {"agent": "claude-code", "agent_input": "Run the tests?", "model": "claude-haiku-4-5"}
    for status in (201, 502):
        response = await client.post("/api/predictions/predict/", json=body, headers=bearer(tokens))
        assert response.status_code == status, response.text
    after = await scrape(client)
    assert (
        value(after, "clone_model_calls_total", **labels)
        - value(before, "clone_model_calls_total", **labels)
        == 2
    )
    errors = {**labels, "code": "model_error"}
    assert (
        value(after, "clone_model_call_errors_total", **errors)
        - value(before, "clone_model_call_errors_total", **errors)
        == 1
    )
    timing = {"provider": "anthropic", "operation": "submit_predictions"}
    assert (
        value(after, "clone_model_call_duration_seconds_count", **timing)
        - value(before, "clone_model_call_duration_seconds_count", **timing)
        == 2
    )


async def test_voice_calls_are_counted(make_client, fake_elevenlabs):
    client = await make_client(elevenlabs_api_key="k", elevenlabs_base_url=fake_elevenlabs.url)
    tokens = await signup(client)
    before = await scrape(client)
    fake_elevenlabs.fail(429, "slow")
    for status in (429, 200):
        response = await client.post(
            "/api/voice/synthesize/", json={"text": "hi"}, headers=bearer(tokens)
        )
        assert response.status_code == status
    body = {"text": "hi", "model_id": "made-up-model"}  # an unknown model is labelled "other"
    response = await client.post("/api/voice/synthesize/", json=body, headers=bearer(tokens))
    assert response.status_code == 200
    assert (await client.get("/api/voice/voices/", headers=bearer(tokens))).status_code == 200
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    synth = {"provider": "elevenlabs", "operation": "synthesize", "model": "eleven_multilingual_v2"}
    assert delta("clone_model_calls_total", **synth) == 2
    assert delta("clone_model_call_errors_total", **synth, code="voice_rate_limited") == 1
    assert delta("clone_model_calls_total", **{**synth, "model": "other"}) == 1
    listing = {"provider": "elevenlabs", "operation": "list_voices", "model": "none"}
    assert delta("clone_model_calls_total", **listing) == 1
    assert "made-up-model" not in after


def test_prepare_multiprocess(tmp_path):
    env: dict[str, str] = {}
    assert metrics.prepare_multiprocess(1, env) is None  # one worker: plain in-process counters
    assert env == {}
    directory = metrics.prepare_multiprocess(2, env)
    assert directory is not None
    assert env[metrics.MULTIPROC_ENV] == directory
    assert os.path.isdir(directory)
    assert os.listdir(directory) == []
    os.rmdir(directory)

    configured = tmp_path / "prom"
    configured.mkdir()
    (configured / "counter_123.db").write_bytes(b"stale")
    (configured / "keep.txt").write_text("not ours")
    env = {metrics.MULTIPROC_ENV: str(configured)}
    assert metrics.prepare_multiprocess(4, env) == str(configured)
    assert sorted(os.listdir(configured)) == ["keep.txt"]  # stale values gone, nothing else


def test_workers_values_are_summed(tmp_path):
    """Multi-process mode, deterministically: two processes count, a third reports the sum."""
    env = {**os.environ, metrics.MULTIPROC_ENV: str(tmp_path)}
    count = "from gateway import metrics; metrics.count_ingest({}, 0, 0)"
    for accepted in (5, 7):
        subprocess.run([sys.executable, "-c", count.format(accepted)], env=env, check=True)
    report = "from gateway import metrics; print(metrics.render(None)[0].decode())"
    text = subprocess.run(
        [sys.executable, "-c", report], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert value(text, "clone_ingest_events_total", outcome="accepted") == 12


def test_one_sum_over_several_workers(start_server):
    """Through `clone-gateway serve --workers 2`: the CLI puts the workers in multi-process
    mode, and whichever worker answers the scrape reports every worker's requests."""
    base = start_server(workers=2)

    def scrape_health() -> tuple[str, float]:
        text = httpx.get(f"{base}/metrics", timeout=10).text
        return text, value(
            text, "clone_http_requests_total", method="GET", route=HEALTH, status="200"
        )

    text, before = scrape_health()
    # Only a multi-process exposition lacks the single process's own metrics.
    assert "process_cpu_seconds_total" not in text

    def get_health(_: int) -> int:
        return httpx.get(f"{base}{HEALTH}", timeout=10).status_code  # a new connection each

    with ThreadPoolExecutor(max_workers=8) as pool:  # concurrent: spread over the workers
        assert set(pool.map(get_health, range(40))) == {200}
    for _ in range(4):  # several scrapes, whichever worker answers: all agree
        assert scrape_health()[1] - before == 40


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_metrics_route_only_serves_get(client, method):
    response = await client.request(method, "/metrics")
    assert response.status_code == (200 if method == "GET" else 405)

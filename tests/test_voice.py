"""Voice (SPEC §7): synthesis and the voice list through the real `elevenlabs` SDK against a
local fake server, REST and GraphQL, with one job per call and the documented error mapping.

Most tests go through httpx's ASGI transport, which buffers a response; streaming itself
(audio passed on before the provider has finished, a stream cut short) is tested against a
real uvicorn server on 127.0.0.1.
"""

import asyncio
import base64
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.voice import DEFAULT_MODEL_ID, DEFAULT_VOICE_ID, OUTPUT_FORMAT
from graph.voice.ops import CLIENT_GONE, TEXT_MAX_LENGTH
from tests.fakes.anthropic import url_unreachable
from tests.fakes.elevenlabs import DEFAULT_AUDIO, DEFAULT_VOICES
from tests.helpers import bearer, graphql, signup

SYNTH = "/api/voice/synthesize/"
VOICES = "/api/voice/voices/"


@pytest.fixture
async def api(make_client, fake_elevenlabs):
    return await make_client(elevenlabs_api_key="test-key", elevenlabs_base_url=fake_elevenlabs.url)


async def voice_jobs(client, tokens) -> list[dict]:
    response = await client.get("/api/jobs/?kind=voice", headers=bearer(tokens))
    assert response.status_code == 200
    return response.json()["results"]


async def settled_voice_jobs(client, tokens, timeout_s: float = 5.0) -> list[dict]:
    """The jobs once none is running (a stream's job closes just after its last byte)."""
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = await voice_jobs(client, tokens)
        if all(job["status"] != "running" for job in jobs) or time.monotonic() > deadline:
            return jobs
        await asyncio.sleep(0.02)


async def assert_one_failed_job(client, tokens, *, model=DEFAULT_MODEL_ID) -> dict:
    jobs = await settled_voice_jobs(client, tokens)
    assert len(jobs) == 1, jobs
    job = jobs[0]
    assert (job["kind"], job["status"], job["model"]) == ("voice", "failed", model)
    assert job["error"]
    assert job["latency_ms"] is not None
    assert job["finished_at"] is not None
    return job


# --- synthesis: success -----------------------------------------------------------------------


async def test_synthesize_passes_the_audio_through_exactly(api, fake_elevenlabs):
    tokens = await signup(api)
    chunks = (b"ID3\x04\x00\x00", bytes(range(256)) * 40, b"\x00" * 3, b"last-frame")
    fake_elevenlabs.reply_audio(*chunks)
    response = await api.post(SYNTH, json={"text": "Ship it."}, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content == b"".join(chunks)

    [sent] = fake_elevenlabs.synthesis_requests
    assert sent.path == f"/v1/text-to-speech/{DEFAULT_VOICE_ID}/stream"
    assert sent.headers["xi-api-key"] == "test-key"
    assert sent.query["output_format"] == OUTPUT_FORMAT
    assert sent.body["text"] == "Ship it."
    assert sent.body["model_id"] == DEFAULT_MODEL_ID

    [job] = await voice_jobs(api, tokens)
    assert (job["status"], job["model"], job["error"]) == ("succeeded", DEFAULT_MODEL_ID, None)
    assert job["latency_ms"] >= 0
    assert response.headers["x-clone-job-id"] == job["id"]


async def test_voice_and_model_reach_the_provider(api, fake_elevenlabs):
    tokens = await signup(api)
    text = "x" * TEXT_MAX_LENGTH  # the limit itself is allowed
    body = {"text": text, "voice_id": "custom-voice_1", "model_id": "eleven_flash_v2.5"}
    response = await api.post(SYNTH, json=body, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    assert response.content == b"".join(DEFAULT_AUDIO)
    [sent] = fake_elevenlabs.synthesis_requests
    assert sent.voice_id == "custom-voice_1"
    assert (sent.body["text"], sent.body["model_id"]) == (text, "eleven_flash_v2.5")
    [job] = await voice_jobs(api, tokens)
    assert (job["status"], job["model"]) == ("succeeded", "eleven_flash_v2.5")


async def test_null_voice_and_model_mean_the_defaults(api, fake_elevenlabs):
    tokens = await signup(api)
    body = {"text": "hello", "voice_id": None, "model_id": None}
    response = await api.post(SYNTH, json=body, headers=bearer(tokens))
    assert response.status_code == 200
    [sent] = fake_elevenlabs.synthesis_requests
    assert (sent.voice_id, sent.body["model_id"]) == (DEFAULT_VOICE_ID, DEFAULT_MODEL_ID)


# --- synthesis: provider failures -------------------------------------------------------------

FAILURES = {
    "rate_limited": (lambda f: f.fail(429, "x", {"Retry-After": "7"}), 429, "voice_rate_limited"),
    "auth_401": (lambda f: f.fail(401, "invalid api key"), 503, "voice_auth_failed"),
    "auth_403": (lambda f: f.fail(403, "not allowed"), 503, "voice_auth_failed"),
    "server_500": (lambda f: f.fail(500, "boom"), 502, "voice_error"),
    "unprocessable": (lambda f: f.fail(422, "unknown model"), 502, "voice_error"),
    "not_found": (lambda f: f.fail(404, "voice not found"), 502, "voice_error"),
    "dropped": (lambda f: f.drop(), 503, "voice_unreachable"),
}  # fmt: skip


@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
async def test_provider_failures_map_and_leave_a_failed_job(api, fake_elevenlabs, failure):
    script, status, code = FAILURES[failure]
    tokens = await signup(api)
    script(fake_elevenlabs)
    response = await api.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "code"}
    assert body["code"] == code
    assert "test-key" not in response.text
    assert len(fake_elevenlabs.synthesis_requests) == 1  # no retries
    job = await assert_one_failed_job(api, tokens)
    assert job["error"] == body["error"]


async def test_rate_limit_passes_retry_after_on(api, fake_elevenlabs):
    tokens = await signup(api)
    fake_elevenlabs.fail(429, "slow down", {"Retry-After": "7"})
    response = await api.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    fake_elevenlabs.fail(429, "slow down")  # no Retry-After from the provider: one second
    response = await api.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


async def test_provider_timeout_is_503(make_client, fake_elevenlabs):
    client = await make_client(
        elevenlabs_api_key="test-key", elevenlabs_base_url=fake_elevenlabs.url, llm_timeout_s=0.3
    )
    tokens = await signup(client)
    fake_elevenlabs.delay(2)
    started = time.monotonic()
    response = await client.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.json()["code"] == "voice_timeout"
    await assert_one_failed_job(client, tokens)


async def test_unreachable_provider_is_503(make_client):
    client = await make_client(elevenlabs_api_key="test-key", elevenlabs_base_url=url_unreachable())
    tokens = await signup(client)
    response = await client.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert response.status_code == 503
    assert response.json()["code"] == "voice_unreachable"
    await assert_one_failed_job(client, tokens)


async def test_missing_key_is_503_and_calls_nothing(make_client, fake_elevenlabs):
    client = await make_client(elevenlabs_base_url=fake_elevenlabs.url)
    tokens = await signup(client)
    response = await client.post(SYNTH, json={"text": "hello"}, headers=bearer(tokens))
    assert response.status_code == 503
    assert response.json()["code"] == "voice_not_configured"
    assert "ELEVENLABS_API_KEY" in response.json()["error"]
    response = await client.get(VOICES, headers=bearer(tokens))
    assert response.status_code == 503
    assert response.json()["code"] == "voice_not_configured"
    assert fake_elevenlabs.requests == []
    jobs = await voice_jobs(client, tokens)
    assert [job["status"] for job in jobs] == ["failed", "failed"]
    assert all(job["error"] for job in jobs)


# --- synthesis: validation --------------------------------------------------------------------

BAD_BODIES = {
    "no_text": {},
    "null_text": {"text": None},
    "empty_text": {"text": ""},
    "blank_text": {"text": "  \n "},
    "too_long": {"text": "x" * (TEXT_MAX_LENGTH + 1)},
    "text_number": {"text": 5},
    "text_list": {"text": ["hello"]},
    "voice_number": {"text": "hello", "voice_id": 3},
    "voice_path": {"text": "hello", "voice_id": "../../v1/user"},
    "voice_empty": {"text": "hello", "voice_id": ""},
    "model_spaces": {"text": "hello", "model_id": "eleven v2"},
    "model_too_long": {"text": "hello", "model_id": "m" * 101},
    "unknown_field": {"text": "hello", "speed": 2},
    "nul": {"text": "he\x00llo"},
}


@pytest.mark.parametrize("name", BAD_BODIES, ids=list(BAD_BODIES))
async def test_invalid_requests_are_400_and_call_nothing(api, fake_elevenlabs, name):
    tokens = await signup(api)
    response = await api.post(SYNTH, json=BAD_BODIES[name], headers=bearer(tokens))
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "code"}
    assert fake_elevenlabs.requests == []
    assert await voice_jobs(api, tokens) == []


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"text=hello", "application/x-www-form-urlencoded", 415),
        (b"hello", "text/plain", 415),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'["hello"]', "application/json", 400),
    ],
)
async def test_non_json_bodies_are_refused(api, fake_elevenlabs, content, content_type, status):
    tokens = await signup(api)
    headers = {**bearer(tokens), "Content-Type": content_type}
    response = await api.post(SYNTH, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert fake_elevenlabs.requests == []
    assert await voice_jobs(api, tokens) == []


async def test_voice_needs_a_credential(api, fake_elevenlabs):
    assert (await api.post(SYNTH, json={"text": "hello"})).status_code == 401
    assert (await api.get(VOICES)).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await api.post(SYNTH, json={"text": "hello"}, headers=bad)).status_code == 401
    assert (await api.get(SYNTH)).status_code == 405
    assert fake_elevenlabs.requests == []


# --- voices -----------------------------------------------------------------------------------


async def test_voices_lists_the_catalogue_with_a_job(api, fake_elevenlabs):
    tokens = await signup(api)
    response = await api.get(VOICES, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [voice["voice_id"] for voice in results] == [v["voice_id"] for v in DEFAULT_VOICES]
    assert results[0] == {
        "voice_id": "JBFqnCBsd6RMkjVDRZzb",
        "name": "George",
        "category": "premade",
        "description": "Warm, captivating storyteller",
        "labels": {"accent": "british", "age": "middle_aged"},
        "preview_url": "https://example.com/george.mp3",
    }
    assert results[1]["description"] is None
    assert results[1]["preview_url"] is None
    [sent] = fake_elevenlabs.requests
    assert (sent.method, sent.path) == ("GET", "/v1/voices")
    assert sent.headers["xi-api-key"] == "test-key"
    [job] = await voice_jobs(api, tokens)
    assert (job["kind"], job["status"], job["model"], job["error"]) == (
        "voice",
        "succeeded",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        (lambda f: f.fail(429, "slow", {"Retry-After": "3"}), 429, "voice_rate_limited"),
        (lambda f: f.fail(401, "bad key"), 503, "voice_auth_failed"),
        (lambda f: f.fail(503, "overloaded"), 502, "voice_error"),
        (lambda f: f.drop(), 503, "voice_unreachable"),
    ],
)
async def test_voices_failures_map_and_leave_a_failed_job(
    api, fake_elevenlabs, script, status, code
):
    tokens = await signup(api)
    script(fake_elevenlabs)
    response = await api.get(VOICES, headers=bearer(tokens))
    assert response.status_code == status
    assert response.json()["code"] == code
    assert len(fake_elevenlabs.requests) == 1  # the SDK's retries are off
    await assert_one_failed_job(api, tokens, model=None)


# --- GraphQL ----------------------------------------------------------------------------------

SYNTHESIZE = """
mutation ($text: String!, $voiceId: String, $modelId: String) {
  synthesizeSpeech(text: $text, voiceId: $voiceId, modelId: $modelId) {
    audioBase64 contentType jobId
  }
}"""


async def test_graphql_synthesize_and_voices(api, fake_elevenlabs):
    tokens = await signup(api)
    fake_elevenlabs.reply_audio(b"chunk-one|", b"chunk-two")
    result = await graphql(
        api, SYNTHESIZE, {"text": "hi there", "voiceId": "custom-voice_1"}, bearer(tokens)
    )
    assert "errors" not in result, result
    speech = result["data"]["synthesizeSpeech"]
    assert base64.b64decode(speech["audioBase64"]) == b"chunk-one|chunk-two"
    assert speech["contentType"] == "audio/mpeg"
    [sent] = fake_elevenlabs.synthesis_requests
    assert (sent.voice_id, sent.body["text"]) == ("custom-voice_1", "hi there")

    result = await graphql(
        api, "{ voices { voiceId name category labels previewUrl } }", headers=bearer(tokens)
    )
    assert "errors" not in result, result
    assert result["data"]["voices"][0] == {
        "voiceId": "JBFqnCBsd6RMkjVDRZzb",
        "name": "George",
        "category": "premade",
        "labels": {"accent": "british", "age": "middle_aged"},
        "previewUrl": "https://example.com/george.mp3",
    }
    jobs = await voice_jobs(api, tokens)
    assert speech["jobId"] in {job["id"] for job in jobs}
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"]


async def test_graphql_errors_are_typed(api, fake_elevenlabs):
    tokens = await signup(api)
    result = await graphql(api, SYNTHESIZE, {"text": "x" * 5001}, bearer(tokens))
    assert result["data"] is None
    assert result["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}
    assert fake_elevenlabs.requests == []

    fake_elevenlabs.fail(429, "slow", {"Retry-After": "9"})
    result = await graphql(api, SYNTHESIZE, {"text": "hello"}, bearer(tokens))
    assert result["errors"][0]["extensions"] == {
        "code": "VOICE_RATE_LIMITED",
        "status": 429,
        "retryAfter": 9,
    }
    [job] = await voice_jobs(api, tokens)
    assert job["status"] == "failed"

    result = await graphql(api, "{ voices { voiceId } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- streaming over a real server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def live(make_settings, fake_elevenlabs):
    """The app behind a real uvicorn server on 127.0.0.1 (so responses really stream)."""
    app = create_app(
        make_settings(elevenlabs_api_key="test-key", elevenlabs_base_url=fake_elevenlabs.url)
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server stopped during startup"
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    server.should_exit = True
    await serving
    await app.state.services.aclose()


async def test_audio_streams_before_the_provider_has_finished(live, fake_elevenlabs):
    tokens = await signup(live)
    gate = threading.Event()  # the fake holds the rest of the audio until the test opens it
    fake_elevenlabs.reply_audio(b"first-audio-bytes", b"the-rest", gate=gate)
    async with live.stream("POST", SYNTH, json={"text": "hi"}, headers=bearer(tokens)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/mpeg"
        chunks = response.aiter_raw()
        received = b""
        while len(received) < len(b"first-audio-bytes"):
            received += await asyncio.wait_for(chunks.__anext__(), timeout=5)
        assert received == b"first-audio-bytes"
        assert not gate.is_set()  # the client has audio the provider has not finished sending
        gate.set()
        async for chunk in chunks:
            received += chunk
    assert received == b"first-audio-bytes" + b"the-rest"
    [job] = await settled_voice_jobs(live, tokens)
    assert job["status"] == "succeeded"


async def test_a_stream_cut_short_upstream_fails_the_response_and_the_job(live, fake_elevenlabs):
    tokens = await signup(live)
    fake_elevenlabs.reply_audio(b"a" * 100, b"b" * 100, cut_after=1)
    received = bytearray()

    async def read_all() -> None:
        async with live.stream("POST", SYNTH, json={"text": "hi"}, headers=bearer(tokens)) as got:
            assert got.status_code == 200
            async for chunk in got.aiter_raw():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError):  # the body ends without its last chunk
        await read_all()
    assert received == b"a" * 100
    job = await assert_one_failed_job(live, tokens)
    assert job["error"] == "the voice provider broke off the audio stream"


async def test_a_client_going_away_closes_the_job(live, fake_elevenlabs):
    tokens = await signup(live)
    gate = threading.Event()
    fake_elevenlabs.reply_audio(b"first", b"never-read", gate=gate)
    async with live.stream("POST", SYNTH, json={"text": "hi"}, headers=bearer(tokens)) as response:
        assert response.status_code == 200
        assert await asyncio.wait_for(response.aiter_raw().__anext__(), timeout=5) == b"first"
    # The client closed the connection while the provider was still producing: the gateway
    # stops waiting for the provider, releases it, and fails the job.
    try:
        job = await assert_one_failed_job(live, tokens)
    finally:
        gate.set()
    assert job["error"] == CLIENT_GONE

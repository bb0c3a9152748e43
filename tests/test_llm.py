"""The shared model client, through the real `anthropic` SDK against a local fake server:
the forced tool call it sends, what it returns, and every branch of the error mapping."""

import time
from datetime import UTC, datetime

import pytest

from gateway.errors import Invalid, RateLimited, UpstreamError, UpstreamUnavailable
from gateway.llm import ModelClient, ToolCall, retry_after_seconds
from gateway.settings import Settings
from tests.fakes.anthropic import url_unreachable

TOOL = "submit_answer"
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


def model_client(base_url: str | None, **overrides) -> ModelClient:
    values = {"anthropic_api_key": "test-key", "anthropic_base_url": base_url, **overrides}
    return ModelClient(Settings(**values))


async def ask(llm: ModelClient, model: str = "claude-sonnet-4-6") -> ToolCall:
    return await llm.call_tool(
        model=model,
        system="You are the user's clone.",
        messages=[{"role": "user", "content": "Shall I run the tests?"}],
        tool_name=TOOL,
        tool_description="Submit the answer.",
        input_schema=SCHEMA,
        max_tokens=512,
    )


@pytest.fixture
async def llm(fake_anthropic):
    client = model_client(fake_anthropic.url)
    yield client
    await client.aclose()


async def test_tool_input_usage_and_latency(llm, fake_anthropic):
    fake_anthropic.delay(0.05)
    fake_anthropic.reply_tool(TOOL, {"answer": "yes"}, input_tokens=123, output_tokens=45)
    result = await ask(llm, model="claude-haiku-4-5")
    assert result.input == {"answer": "yes"}
    assert (result.input_tokens, result.output_tokens) == (123, 45)
    assert result.model == "claude-haiku-4-5"
    assert 50 <= result.latency_ms < 5000


async def test_request_is_a_forced_tool_call(llm, fake_anthropic):
    fake_anthropic.reply_tool(TOOL, {"answer": "yes"})
    await ask(llm)
    [request] = fake_anthropic.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    body = request.body
    assert body["model"] == "claude-sonnet-4-6"
    assert body["system"] == "You are the user's clone."
    assert body["messages"] == [{"role": "user", "content": "Shall I run the tests?"}]
    assert body["max_tokens"] == 512
    assert body["tools"] == [
        {"name": TOOL, "description": "Submit the answer.", "input_schema": SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL}
    credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert credential.endswith("test-key")


async def test_default_answer_follows_the_forced_tool(llm, fake_anthropic):
    from tests.fakes.anthropic import forced_tool_default

    fake_anthropic.set_default(forced_tool_default(lambda request: {"answer": request.path}))
    assert (await ask(llm)).input == {"answer": "/v1/messages"}
    assert (await ask(llm)).input == {"answer": "/v1/messages"}


async def test_missing_key_is_503_without_any_request(fake_anthropic):
    llm = model_client(fake_anthropic.url, anthropic_api_key=None)
    assert not llm.configured
    with pytest.raises(UpstreamUnavailable) as raised:
        await ask(llm)
    assert raised.value.status == 503
    assert raised.value.code == "model_not_configured"
    assert "ANTHROPIC_API_KEY" in raised.value.message
    assert fake_anthropic.requests == []
    await llm.aclose()


async def test_rate_limit_passes_on_the_upstream_retry_after(llm, fake_anthropic):
    fake_anthropic.fail(429, "rate_limit_error", "slow down", headers={"retry-after": "17"})
    with pytest.raises(RateLimited) as raised:
        await ask(llm)
    assert raised.value.status == 429
    assert raised.value.retry_after == 17
    assert raised.value.headers == {"Retry-After": "17"}
    assert raised.value.code == "model_rate_limited"
    assert len(fake_anthropic.requests) == 1  # the SDK does not retry behind our back


async def test_rate_limit_without_retry_after_defaults_to_one_second(llm, fake_anthropic):
    fake_anthropic.fail(429, "rate_limit_error", "slow down")
    with pytest.raises(RateLimited) as raised:
        await ask(llm)
    assert raised.value.retry_after == 1


@pytest.mark.parametrize(
    ("status", "error_type", "expected", "code"),
    [
        (401, "authentication_error", UpstreamUnavailable, "model_auth_failed"),
        (403, "permission_error", UpstreamUnavailable, "model_auth_failed"),
        (500, "api_error", UpstreamError, "model_error"),
        (400, "invalid_request_error", UpstreamError, "model_error"),
        (404, "not_found_error", UpstreamError, "model_error"),
        (529, "overloaded_error", UpstreamError, "model_error"),
    ],
)
async def test_upstream_status_errors(llm, fake_anthropic, status, error_type, expected, code):
    fake_anthropic.fail(status, error_type, f"upstream says {error_type}")
    with pytest.raises(expected) as raised:
        await ask(llm)
    error = raised.value
    assert type(error) is expected
    assert error.code == code
    assert error.status == (503 if expected is UpstreamUnavailable else 502)
    assert str(status) in error.message
    if expected is UpstreamError:
        assert f"upstream says {error_type}" in error.message
    assert "test-key" not in error.message
    assert len(fake_anthropic.requests) == 1


async def test_connection_refused_is_503():
    llm = model_client(url_unreachable())
    with pytest.raises(UpstreamUnavailable) as raised:
        await ask(llm)
    assert (raised.value.status, raised.value.code) == (503, "model_unreachable")
    await llm.aclose()


async def test_timeout_is_503(fake_anthropic):
    llm = model_client(fake_anthropic.url, llm_timeout_s=0.2)
    fake_anthropic.delay(3)
    fake_anthropic.reply_tool(TOOL, {"answer": "too late"})
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as raised:
        await ask(llm)
    assert time.monotonic() - started < 2
    assert (raised.value.status, raised.value.code) == (503, "model_timeout")
    await llm.aclose()


async def test_text_only_answer_is_502(llm, fake_anthropic):
    fake_anthropic.reply_text("Sure, run them.")
    with pytest.raises(UpstreamError) as raised:
        await ask(llm)
    assert (raised.value.status, raised.value.code) == (502, "invalid_model_answer")
    assert TOOL in raised.value.message


async def test_other_tool_name_is_502(llm, fake_anthropic):
    fake_anthropic.reply_tool("some_other_tool", {"answer": "yes"})
    with pytest.raises(UpstreamError) as raised:
        await ask(llm)
    assert raised.value.code == "invalid_model_answer"


async def test_tool_input_that_is_not_an_object_is_502(llm, fake_anthropic):
    fake_anthropic.reply_tool(TOOL, ["yes"])
    with pytest.raises(UpstreamError) as raised:
        await ask(llm)
    assert raised.value.code == "invalid_model_answer"


async def test_client_survives_errors_and_close(llm, fake_anthropic):
    fake_anthropic.fail(500, "api_error", "boom")
    fake_anthropic.reply_tool(TOOL, {"answer": "after"})
    with pytest.raises(UpstreamError):
        await ask(llm)
    assert (await ask(llm)).input == {"answer": "after"}
    await llm.aclose()
    await llm.aclose()  # idempotent
    fake_anthropic.reply_tool(TOOL, {"answer": "reopened"})
    assert (await ask(llm)).input == {"answer": "reopened"}


def test_resolve_model():
    llm = ModelClient(
        Settings(default_model="claude-sonnet-4-6", supported_models=("claude-sonnet-4-6", "x-1"))
    )
    assert llm.resolve_model(None) == "claude-sonnet-4-6"
    assert llm.resolve_model("") == "claude-sonnet-4-6"
    assert llm.resolve_model("x-1") == "x-1"
    with pytest.raises(Invalid) as raised:
        llm.resolve_model("gpt-4o")
    assert (raised.value.status, raised.value.code) == (400, "unsupported_model")
    assert "gpt-4o" in raised.value.message
    assert "claude-sonnet-4-6, x-1" in raised.value.message


def test_retry_after_parsing():
    now = datetime(2026, 5, 5, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(None) == 1
    assert retry_after_seconds("") == 1
    assert retry_after_seconds("0") == 1
    assert retry_after_seconds("2.5") == 3
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds("Tue, 05 May 2026 12:00:42 GMT", now=now) == 42
    assert retry_after_seconds("Tue, 05 May 2026 11:00:00 GMT", now=now) == 1
    assert retry_after_seconds("soon") == 1
    assert retry_after_seconds("inf") == 1


async def test_services_share_one_client(make_client, fake_anthropic):
    client = await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)
    services = client._transport.app.state.services
    assert isinstance(services.llm, ModelClient)
    fake_anthropic.reply_tool(TOOL, {"answer": "via services"})
    assert (await ask(services.llm)).input == {"answer": "via services"}

"""The one model client: prediction and memory promotion both ask the model through it.

Sharing it gives one model allow-list, one error mapping (SPEC §6: each provider failure
becomes a 429, 502 or 503 with a stable code) and one connection pool per app. Every call
is a *forced tool call*: the structured answer arrives as the tool's input, never as prose
to parse. The SDK's own retries are off: a 429 is passed on with the provider's
`Retry-After`, so the client decides when to retry instead of a request hanging here.
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anthropic

from gateway import metrics
from gateway.errors import ApiError, Invalid, RateLimited, UpstreamError, UpstreamUnavailable
from gateway.settings import Settings

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class ToolCall:
    """The forced tool call's input, with what the call cost."""

    input: dict[str, Any]
    model: str  # the model asked (the allow-listed name, as recorded on jobs)
    input_tokens: int
    output_tokens: int
    latency_ms: int


class ModelClient:
    """Created once per app (`Services.llm`); the SDK client is built on first use, so an
    app without `ANTHROPIC_API_KEY` still starts and answers 503 only where a model is needed.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: anthropic.AsyncAnthropic | None = None

    @property
    def configured(self) -> bool:
        return bool(self._settings.anthropic_api_key)

    def resolve_model(self, model: str | None) -> str:
        """The model to use: the default when none is asked, else one of the allow-list."""
        if model is None or model == "":
            return self._settings.default_model
        if not isinstance(model, str) or model not in self._settings.supported_models:
            allowed = ", ".join(self._settings.supported_models)
            raise Invalid(
                f"unsupported model {model!r}; use one of: {allowed}", code="unsupported_model"
            )
        return model

    def _sdk(self) -> anthropic.AsyncAnthropic:
        if not self._settings.anthropic_api_key:
            raise UpstreamUnavailable(
                "the model provider is not configured: set ANTHROPIC_API_KEY",
                code="model_not_configured",
            )
        if self._client is None:
            # base_url is always explicit: the settings are the one source of configuration
            # (they already read ANTHROPIC_BASE_URL), so the SDK must not fall back on its own.
            self._client = anthropic.AsyncAnthropic(
                api_key=self._settings.anthropic_api_key,
                base_url=self._settings.anthropic_base_url or DEFAULT_BASE_URL,
                timeout=self._settings.llm_timeout_s,
                max_retries=0,
            )
        return self._client

    @metrics.counted_model_call("anthropic", operation_arg="tool_name")
    async def call_tool(
        self,
        *,
        model: str,
        system: str,
        messages: list[dict[str, Any]],
        tool_name: str,
        tool_description: str,
        input_schema: dict[str, Any],
        max_tokens: int = 2048,
    ) -> ToolCall:
        """Ask `model` to answer by calling `tool_name`; its input is the structured answer.

        Raises only `ApiError`s: RateLimited (429), UpstreamError (502), UpstreamUnavailable
        (503), each with a stable code.
        """
        sdk = self._sdk()
        started = time.perf_counter()
        try:
            response = await sdk.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=system,
                messages=messages,  # type: ignore[arg-type]
                tools=[
                    {
                        "name": tool_name,
                        "description": tool_description,
                        "input_schema": input_schema,  # type: ignore[typeddict-item]
                    }
                ],
                tool_choice={"type": "tool", "name": tool_name},
            )
        except anthropic.APIError as exc:
            raise map_error(exc) from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        block = next(
            (
                item
                for item in response.content
                if getattr(item, "type", None) == "tool_use"
                and getattr(item, "name", None) == tool_name
            ),
            None,
        )
        if block is None:
            raise UpstreamError(
                f"the model answered without calling the {tool_name} tool",
                code="invalid_model_answer",
            )
        if not isinstance(block.input, dict):
            raise UpstreamError(
                f"the model's {tool_name} call carried no JSON object",
                code="invalid_model_answer",
            )
        usage = response.usage
        return ToolCall(
            input=dict(block.input),
            model=model,
            input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            latency_ms=latency_ms,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def map_error(exc: anthropic.APIError) -> ApiError:
    """SPEC §6: the provider's failure as one of ours (the SDK's class decides, not text)."""
    if isinstance(exc, anthropic.RateLimitError):
        retry_after = retry_after_seconds(exc.response.headers.get("retry-after"))
        return RateLimited(
            f"the model provider is rate limiting requests; retry after {retry_after} s",
            retry_after=retry_after,
            code="model_rate_limited",
        )
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return UpstreamUnavailable(
            f"the model provider refused the configured credentials ({exc.status_code}): "
            "check ANTHROPIC_API_KEY",
            code="model_auth_failed",
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return UpstreamUnavailable(
            "the model provider did not answer in time", code="model_timeout"
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return UpstreamUnavailable("the model provider is unreachable", code="model_unreachable")
    if isinstance(exc, anthropic.APIStatusError):
        detail = getattr(exc, "api_message", None) or exc.message
        return UpstreamError(
            f"the model provider answered {exc.status_code}: {detail}", code="model_error"
        )
    return UpstreamError(
        f"the model provider's answer was unusable: {exc.message}", code="model_error"
    )


def retry_after_seconds(raw: str | None, *, now: datetime | None = None) -> int:
    """`Retry-After` as whole seconds (delta-seconds or HTTP-date); at least 1."""
    if not raw:
        return DEFAULT_RETRY_AFTER_S
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_S
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER_S
    return max(1, math.ceil(seconds))

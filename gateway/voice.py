"""The one voice client: speech synthesis and the voice catalogue through the official SDK.

Like the model client (`gateway/llm.py`), it is created once per app (`Services.voice`), builds
the SDK client on first use (an app without `ELEVENLABS_API_KEY` starts, and answers 503 only
where voice is needed), owns its HTTP connection pool, and maps every provider failure to one
of ours (SPEC §7: "upstream errors map as for Anthropic"). Retries are off: a 429 is passed on
with the provider's `Retry-After`, so the client decides when to retry.

Synthesis streams: `open_speech` returns once the provider has answered its status line and
the first audio bytes, so every failure that can still become a JSON error does, and the rest
of the audio is passed on as it arrives.
"""

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError as ElevenLabsApiError
from elevenlabs.core.parse_error import ParsingError
from elevenlabs.core.request_options import RequestOptions
from elevenlabs.environment import ElevenLabsEnvironment

from gateway import metrics
from gateway.errors import ApiError, RateLimited, UpstreamError, UpstreamUnavailable
from gateway.llm import retry_after_seconds
from gateway.settings import Settings

PROVIDER = "elevenlabs"
DEFAULT_BASE_URL = ElevenLabsEnvironment.PRODUCTION.value
# A premade voice every ElevenLabs account has ("George"), and the provider's general model.
DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"
DEFAULT_MODEL_ID = "eleven_multilingual_v2"
# MP3 at 44.1 kHz / 128 kb/s: what `audio/mpeg` promises, available on every plan.
OUTPUT_FORMAT = "mp3_44100_128"
CONTENT_TYPE = "audio/mpeg"
# Model ids reported as themselves in metrics; any other id is counted as "other" (a client
# may send any string, and each distinct label value would be a series kept forever).
KNOWN_MODELS = frozenset(
    {
        "eleven_v3",
        "eleven_multilingual_v2",
        "eleven_flash_v2_5",
        "eleven_flash_v2",
        "eleven_turbo_v2_5",
        "eleven_turbo_v2",
        "eleven_multilingual_v1",
        "eleven_monolingual_v1",
    }
)
# No SDK retries (see above). `chunk_size=None` passes the provider's chunks on as they arrive
# instead of regrouping them into 1 KiB pieces, which would hold back the first audio bytes.
NO_RETRIES: RequestOptions = {"max_retries": 0}
STREAMING: RequestOptions = {"max_retries": 0, "chunk_size": None}  # type: ignore[typeddict-item]


@dataclass(frozen=True)
class VoiceInfo:
    """One voice of the catalogue, in the fields a client needs to pick one."""

    voice_id: str
    name: str | None
    category: str | None
    description: str | None
    labels: dict[str, str]
    preview_url: str | None


class SpeechStream:
    """An upstream audio stream already past its status line and first chunk.

    Iterate it once for the audio; `aclose()` releases the upstream connection (idempotent,
    and also done when the iteration ends). A failure mid-stream is raised as one of our
    errors, but by then the client has the status line: the response can only be cut short.
    """

    def __init__(
        self,
        first: bytes,
        rest: AsyncIterator[bytes],
        exits: contextlib.AsyncExitStack,
        model_id: str,
        started: float,
    ) -> None:
        self._first = first
        self._rest = rest
        self._exits = exits
        self._model_id = model_id
        self._started = started
        self._counted = False
        self.content_type = CONTENT_TYPE

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if self._first:
                yield self._first
            async for chunk in self._rest:
                if chunk:
                    yield chunk
        except (ElevenLabsApiError, ParsingError, httpx.HTTPError) as exc:
            error = map_error(exc)
            if error.code == "voice_unreachable":  # it was reached: the stream broke off
                error = UpstreamError(
                    "the voice provider broke off the audio stream", code="voice_stream_broken"
                )
            self._count(error.code)
            raise error from exc
        else:
            self._count(None)
        finally:
            await self.aclose()

    def _count(self, error_code: str | None) -> None:
        if not self._counted:
            self._counted = True
            seconds = time.perf_counter() - self._started
            metrics.count_model_call(
                PROVIDER, "synthesize", model_label(self._model_id), error_code, seconds
            )

    async def aclose(self) -> None:
        """Release the upstream connection; a stream closed before its end counts as failed."""
        await self._exits.aclose()
        self._count("cancelled")


class VoiceClient:
    """Created once per app; the SDK client (and its connection pool) on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: AsyncElevenLabs | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def configured(self) -> bool:
        return bool(self._settings.elevenlabs_api_key)

    def _sdk(self) -> AsyncElevenLabs:
        if not self._settings.elevenlabs_api_key:
            raise UpstreamUnavailable(
                "the voice provider is not configured: set ELEVENLABS_API_KEY",
                code="voice_not_configured",
            )
        if self._client is None:
            timeout = self._settings.llm_timeout_s
            # Our own HTTP client, so the pool is closed with the app. No redirects: the API
            # key travels in a custom header that a redirect to another host would carry along.
            self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
            self._client = AsyncElevenLabs(
                api_key=self._settings.elevenlabs_api_key,
                base_url=self._settings.elevenlabs_base_url or DEFAULT_BASE_URL,
                timeout=timeout,
                httpx_client=self._http,
            )
        return self._client

    async def list_voices(self) -> list[VoiceInfo]:
        """The voices the configured account may use (the provider's `GET /v1/voices`).

        Raises only `ApiError`s, mapped as for synthesis.
        """
        started = time.perf_counter()
        try:
            answer = await self._sdk().voices.get_all(request_options=NO_RETRIES)
        except BaseException as exc:
            error = _mapped(exc)
            metrics.count_model_call(
                PROVIDER,
                "list_voices",
                None,
                metrics.error_code_of(error),
                time.perf_counter() - started,
            )
            if error is exc:
                raise
            raise error from exc
        metrics.count_model_call(PROVIDER, "list_voices", None, None, time.perf_counter() - started)
        return [
            VoiceInfo(
                voice_id=voice.voice_id,
                name=voice.name,
                category=_text(voice.category),
                description=voice.description,
                labels=dict(voice.labels or {}),
                preview_url=voice.preview_url,
            )
            for voice in answer.voices
        ]

    async def open_speech(self, *, text: str, voice_id: str, model_id: str) -> SpeechStream:
        """Start synthesis and wait for the status and first audio bytes (errors raised here).

        Raises only `ApiError`s: RateLimited (429), UpstreamError (502), UpstreamUnavailable
        (503), each with a stable code.
        """
        started = time.perf_counter()
        exits = contextlib.AsyncExitStack()
        try:
            sdk = self._sdk()
            response = await exits.enter_async_context(
                sdk.text_to_speech.with_raw_response.stream(
                    voice_id,
                    text=text,
                    model_id=model_id,
                    output_format=OUTPUT_FORMAT,
                    request_options=STREAMING,
                )
            )
            chunks = response.data.__aiter__()
            first = b""
            with contextlib.suppress(StopAsyncIteration):
                while not first:  # skip empty chunks: the status alone proves little
                    first = await chunks.__anext__()
        except BaseException as exc:
            await exits.aclose()
            error = _mapped(exc)
            metrics.count_model_call(
                PROVIDER,
                "synthesize",
                model_label(model_id),
                metrics.error_code_of(error),
                time.perf_counter() - started,
            )
            if error is exc:
                raise
            raise error from exc
        return SpeechStream(first, chunks, exits, model_id, started)

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http, self._client = self._http, None, None
            await http.aclose()


def _mapped(exc: BaseException) -> BaseException:
    """A provider failure as one of ours; anything else (ours, cancellation) unchanged."""
    if isinstance(exc, ElevenLabsApiError | ParsingError | httpx.HTTPError):
        return map_error(exc)
    return exc


def model_label(model_id: str) -> str:
    return model_id if model_id in KNOWN_MODELS else "other"


def _text(value: Any) -> str | None:
    """An SDK enum-or-string field as plain text."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _detail(body: Any) -> str:
    """The provider's own message, from `{"detail": {"message": ...}}` or a plain body."""
    if isinstance(body, dict):
        detail = body.get("detail", body)
        if isinstance(detail, dict):
            message = detail.get("message") or detail.get("status")
            if message:
                return str(message)[:500]
        elif detail:
            return str(detail)[:500]
    elif body:
        return str(body)[:500]
    return "no detail"


def map_error(exc: ElevenLabsApiError | ParsingError | httpx.HTTPError) -> ApiError:
    """SPEC §7: the provider's failure as one of ours, mapped as for the model provider."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamUnavailable(
            "the voice provider did not answer in time", code="voice_timeout"
        )
    if isinstance(exc, httpx.HTTPError):
        return UpstreamUnavailable("the voice provider is unreachable", code="voice_unreachable")
    if isinstance(exc, ParsingError):
        return UpstreamError("the voice provider's answer was unusable", code="voice_error")
    status = exc.status_code or 0
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    if status == 429:
        retry_after = retry_after_seconds(headers.get("retry-after"))
        return RateLimited(
            f"the voice provider is rate limiting requests; retry after {retry_after} s",
            retry_after=retry_after,
            code="voice_rate_limited",
        )
    if status in (401, 403):
        return UpstreamUnavailable(
            f"the voice provider refused the configured credentials ({status}): "
            "check ELEVENLABS_API_KEY",
            code="voice_auth_failed",
        )
    return UpstreamError(
        f"the voice provider answered {status}: {_detail(exc.body)}", code="voice_error"
    )

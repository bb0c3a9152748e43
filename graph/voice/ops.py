"""Voice domain: speech synthesis and the voice catalogue, each call with its job record.

Every call to the voice provider leaves exactly one job (kind `voice`), listings included:
`running` before the call, then `succeeded` or `failed` with the reason (SPEC §10). A job is
written in its own short transaction (`graph.jobs.ops`), so callers must not hold a write
transaction meanwhile. Synthesis streams: its job is closed when the audio has been passed on
in full, or when the stream failed or the client went away.
"""

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from gateway.errors import ApiError, Invalid, UpstreamError
from gateway.services import Services
from gateway.voice import DEFAULT_MODEL_ID, DEFAULT_VOICE_ID, SpeechStream, VoiceInfo
from graph import validate as v
from graph.jobs.ops import finish_job, start_job
from models.accounts import User

TEXT_MAX_LENGTH = 5000
ID_MAX_LENGTH = 100
# Ids go into the provider's URL path: letters, digits, `_`, `-` (and `.` in model ids) only,
# so nothing a client sends can reshape the upstream request.
VOICE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
MODEL_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
SYNTHESIZE_FIELDS = {"text", "voice_id", "model_id"}
# GraphQL returns the audio inline (base64); an answer beyond this is refused, not buffered.
MAX_INLINE_AUDIO_BYTES = 32 * 1024 * 1024
CLIENT_GONE = "the client went away before the audio was complete"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechRequest:
    """A checked synthesis request: the text and the voice and model to speak it with."""

    text: str
    voice_id: str = DEFAULT_VOICE_ID
    model_id: str = DEFAULT_MODEL_ID

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "SpeechRequest":
        """REST body and GraphQL arguments alike: `text` (1..5000 characters, not blank),
        optional `voice_id` and `model_id` (null or absent: the defaults)."""
        v.check_fields(data, SYNTHESIZE_FIELDS, "a synthesis request")
        if data.get("text") is None:
            raise Invalid("text is required")
        text = v.text(data["text"], "text", max_length=TEXT_MAX_LENGTH, required=True)
        return cls(
            text=text,
            voice_id=_identifier(data.get("voice_id"), "voice_id", VOICE_ID_PATTERN)
            or DEFAULT_VOICE_ID,
            model_id=_identifier(data.get("model_id"), "model_id", MODEL_ID_PATTERN)
            or DEFAULT_MODEL_ID,
        )


def _identifier(value: object, field: str, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    if not 1 <= len(value) <= ID_MAX_LENGTH or not pattern.fullmatch(value):
        raise Invalid(
            f"{field} must be 1 to {ID_MAX_LENGTH} letters, digits, '_' or '-'"
            + (" or '.'" if pattern is MODEL_ID_PATTERN else "")
        )
    return value


class Speech:
    """Synthesized audio on its way: iterate `chunks()` once, then (always) `close()`.

    `close()` releases the provider's connection and closes the job: succeeded when every
    byte went out, failed otherwise. It is idempotent and safe to call from a cancelled task.
    """

    def __init__(
        self, services: Services, job_id: uuid.UUID, upstream: SpeechStream, started: float
    ) -> None:
        self.job_id = job_id
        self.content_type = upstream.content_type
        self._services = services
        self._upstream = upstream
        self._started = started
        self._complete = False
        self._error: str | None = None
        self._closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._upstream:
                yield chunk
        except ApiError as exc:
            self._error = exc.message
            raise
        except Exception as exc:
            self._error = type(exc).__name__
            raise
        self._complete = True

    async def read_all(self, limit: int = MAX_INLINE_AUDIO_BYTES) -> bytes:
        """The whole audio (for GraphQL); closes the speech either way."""
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in self.chunks():
                size += len(chunk)
                if size > limit:
                    self._error = f"the audio exceeds {limit} bytes"
                    raise UpstreamError(
                        f"the synthesized audio exceeds {limit} bytes; use REST, which streams it",
                        code="voice_audio_too_large",
                    )
                parts.append(chunk)
        finally:
            await self.close()
        return b"".join(parts)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):  # the record must be written even when cancelled
            try:
                await self._upstream.aclose()
            finally:
                error = None if self._complete else (self._error or CLIENT_GONE)
                await _record_end(self._services, self.job_id, error, _elapsed_ms(self._started))


async def synthesize(services: Services, user: User, request: SpeechRequest) -> Speech:
    """Open the synthesis: returns once the provider sent its status and first audio bytes.

    Every provider failure up to that point is raised here as an `ApiError` (429/502/503)
    after the job is marked failed; later ones end the stream and fail the job.
    """
    job = await start_job(services, user, kind="voice", model=request.model_id)
    started = time.perf_counter()
    upstream = await _recorded(
        services,
        job.id,
        started,
        services.voice.open_speech(
            text=request.text, voice_id=request.voice_id, model_id=request.model_id
        ),
        finish_on_success=False,
    )
    return Speech(services, job.id, upstream, started)


async def list_voices(services: Services, user: User) -> list[VoiceInfo]:
    """The provider's voice catalogue; the listing is a call like any other and leaves a job."""
    job = await start_job(services, user, kind="voice")
    return await _recorded(
        services, job.id, time.perf_counter(), services.voice.list_voices(), finish_on_success=True
    )


async def _recorded(
    services: Services, job_id: uuid.UUID, started: float, call: Any, *, finish_on_success: bool
) -> Any:
    """Await `call`; a failure (error, or cancellation) closes the job as failed and is re-raised
    unchanged. On success the job is closed here only when `finish_on_success`."""
    try:
        result = await call
    except ApiError as exc:
        await _record_end(services, job_id, exc.message or exc.code, _elapsed_ms(started))
        raise
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):
            await _record_end(services, job_id, CLIENT_GONE, _elapsed_ms(started))
        raise
    except Exception as exc:
        await _record_end(services, job_id, type(exc).__name__, _elapsed_ms(started))
        raise
    if finish_on_success:
        await _record_end(services, job_id, None, _elapsed_ms(started))
    return result


async def _record_end(
    services: Services, job_id: uuid.UUID, error: str | None, latency_ms: int
) -> None:
    """Close the job; if even that fails, log it rather than hide the call's own outcome."""
    try:
        await finish_job(services, job_id, error=error, latency_ms=latency_ms)
    except Exception:
        logger.exception("could not close voice job %s", job_id)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

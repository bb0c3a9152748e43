"""A fake ElevenLabs API on 127.0.0.1, scriptable per test.

A real HTTP server (not a mock of the SDK), so the official `elevenlabs` SDK runs end to end:
URL building, the `xi-api-key` header, streaming reads, timeouts and error classes are all
the SDK's own. It serves text-to-speech (`POST /v1/text-to-speech/<voice>[/stream]`, audio
sent with chunked transfer encoding, one HTTP chunk per scripted piece) and the voice list
(`GET /v1/voices`). Tests queue answers for the next requests (`reply_audio`, `reply_voices`,
`fail`, `delay`, `drop`); without one, synthesis answers `DEFAULT_AUDIO` and the listing
`DEFAULT_VOICES`. Every request to those routes is in `requests`.
"""

import json
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.server import LocalFakeServer

DEFAULT_AUDIO = (b"ID3\x04\x00fake-mp3-frame-1", b"\xff\xfbfake-mp3-frame-2")
DEFAULT_VOICES = [
    {
        "voice_id": "JBFqnCBsd6RMkjVDRZzb",
        "name": "George",
        "category": "premade",
        "description": "Warm, captivating storyteller",
        "labels": {"accent": "british", "age": "middle_aged"},
        "preview_url": "https://example.com/george.mp3",
    },
    {
        "voice_id": "custom-voice_1",
        "name": "Ada",
        "category": "cloned",
        "labels": {},
    },
]
SPEECH_PATH = re.compile(r"^/v1/text-to-speech/(?P<voice_id>[^/]+)(?P<stream>/stream)?$")
GATE_TIMEOUT_S = 10.0  # a gate nobody opens must not hang the suite


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any  # the decoded JSON body (None when absent or not JSON)

    @property
    def voice_id(self) -> str | None:
        match = SPEECH_PATH.match(self.path)
        return match["voice_id"] if match else None


@dataclass(frozen=True)
class Audio:
    """A 200 with audio/mpeg in `chunks`. After the first chunk, wait for `gate` (if given);
    between chunks, sleep `chunk_delay_s`; with `cut_after`, close the connection after that
    many chunks without finishing the body."""

    chunks: tuple[bytes, ...]
    chunk_delay_s: float = 0.0
    gate: threading.Event | None = None
    cut_after: int | None = None


@dataclass(frozen=True)
class Json:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


Answer = Audio | Json | Drop


class FakeElevenLabs(LocalFakeServer):
    """Start with `start()` (or the `fake_elevenlabs` fixture); `url` is the SDK's base_url."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []  # the API's routes only
        # Anything else: on a shared machine another process's "unreachable" port may be ours.
        self.strays: list[RecordedRequest] = []
        self._script: deque[Answer | float] = deque()
        self._lock = threading.Lock()

    # --- scripting -------------------------------------------------------------------------

    def reply_audio(
        self,
        *chunks: bytes,
        chunk_delay_s: float = 0.0,
        gate: threading.Event | None = None,
        cut_after: int | None = None,
    ) -> None:
        self._push(Audio(tuple(chunks), chunk_delay_s, gate, cut_after))

    def reply_voices(self, voices: list[dict[str, Any]]) -> None:
        self._push(Json(200, {"voices": voices}))

    def fail(
        self, status: int, message: str = "fake failure", headers: dict[str, str] | None = None
    ) -> None:
        """An error the way ElevenLabs sends them: `{"detail": {"status", "message"}}`."""
        body = {"detail": {"status": f"fake_{status}", "message": message}}
        self._push(Json(status, body, dict(headers or {})))

    def delay(self, seconds: float) -> None:
        """Wait this long before answering the next request."""
        self._push(seconds)

    def drop(self) -> None:
        self._push(Drop())

    def _push(self, item: Answer | float) -> None:
        with self._lock:
            self._script.append(item)

    @property
    def synthesis_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def _next(self, request: RecordedRequest) -> tuple[Answer | None, float]:
        with self._lock:
            self.requests.append(request)
            wait = 0.0
            while self._script and isinstance(self._script[0], float | int):
                wait += float(self._script.popleft())  # type: ignore[arg-type]
            item = self._script.popleft() if self._script else None
        assert not isinstance(item, float | int)
        return item, wait

    # --- lifecycle -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        parts = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
        )
        speech = handler.command == "POST" and SPEECH_PATH.match(parts.path)
        voices = handler.command == "GET" and parts.path == "/v1/voices"
        if not (speech or voices):
            with self._lock:
                self.strays.append(request)
            self._send_json(handler, Json(404, {"detail": {"message": f"no route {parts.path}"}}))
            return
        answer, wait = self._next(request)
        if answer is None:
            answer = Audio(DEFAULT_AUDIO) if speech else Json(200, {"voices": DEFAULT_VOICES})
        if wait and self._stopping.wait(wait):
            return
        try:
            if isinstance(answer, Drop):
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
            elif isinstance(answer, Audio):
                self._send_audio(handler, answer)
            else:
                self._send_json(handler, answer)
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True  # the client gave up (a timeout test)

    def _send_json(self, handler: BaseHTTPRequestHandler, answer: Json) -> None:
        payload = json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(payload)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()

    def _send_audio(self, handler: BaseHTTPRequestHandler, answer: Audio) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "audio/mpeg")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        for index, chunk in enumerate(answer.chunks):
            if answer.cut_after is not None and index >= answer.cut_after:
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            if index and answer.chunk_delay_s and self._stopping.wait(answer.chunk_delay_s):
                return
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.flush()
            if index == 0 and answer.gate is not None:
                answer.gate.wait(GATE_TIMEOUT_S)
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

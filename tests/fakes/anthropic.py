"""A fake Anthropic Messages API on 127.0.0.1, scriptable per test.

It is a real HTTP server (not a mock of the SDK) so the official `anthropic` SDK runs end to
end: request building, headers, timeouts, error classes and response parsing are all the
SDK's own. Tests queue answers (`reply_tool`, `reply_text`, `fail`, `delay`), fall back to a
settable default, and inspect every request that arrived (`requests`).
"""

import itertools
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.server import LocalFakeServer


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # the decoded JSON body (None when absent or not JSON)

    @property
    def tool_names(self) -> list[str]:
        return [tool["name"] for tool in (self.body or {}).get("tools", [])]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, JSON body, extra headers, and a wait before sending it."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


# A default answer may depend on the request (for example: answer whatever tool was forced).
DefaultAnswer = Answer | Callable[[RecordedRequest], Answer]
_ids = itertools.count(1)


def _message(
    request: RecordedRequest,
    content: list[dict[str, Any]],
    stop_reason: str,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": (request.body or {}).get("model", "claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def tool_answer(name: str, input: Any, *, input_tokens: int = 11, output_tokens: int = 7) -> Any:
    """A builder for a tool_use message (the model echoes the requested model)."""

    def build(request: RecordedRequest) -> Answer:
        block = {"type": "tool_use", "id": f"toolu_fake_{next(_ids)}", "name": name, "input": input}
        return Answer(200, _message(request, [block], "tool_use", input_tokens, output_tokens))

    return build


def text_answer(text: str, *, input_tokens: int = 11, output_tokens: int = 7) -> Any:
    def build(request: RecordedRequest) -> Answer:
        block = {"type": "text", "text": text}
        return Answer(200, _message(request, [block], "end_turn", input_tokens, output_tokens))

    return build


def error_answer(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> Answer:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return Answer(status, body, {"request-id": f"req_fake_{next(_ids)}", **(headers or {})})


def forced_tool_default(input: Any) -> Callable[[RecordedRequest], Answer]:
    """A default that answers whichever tool the request forced, with `input`
    (a value, or a function of the request)."""

    def build(request: RecordedRequest) -> Answer:
        choice = (request.body or {}).get("tool_choice") or {}
        value = input(request) if callable(input) else input
        return tool_answer(choice.get("name", "unknown_tool"), value)(request)

    return build


class FakeAnthropic(LocalFakeServer):
    """Start with `start()` (or the `fake_anthropic` fixture); `url` is the SDK's base_url."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self._script: deque[Answer | Callable[[RecordedRequest], Answer] | float] = deque()
        self._lock = threading.Lock()
        self.default: DefaultAnswer = text_answer("(fake anthropic: no scripted answer)")

    # --- scripting -------------------------------------------------------------------------

    def reply_tool(
        self, name: str, input: Any, *, input_tokens: int = 11, output_tokens: int = 7
    ) -> None:
        self._push(tool_answer(name, input, input_tokens=input_tokens, output_tokens=output_tokens))

    def reply_text(self, text: str, *, input_tokens: int = 11, output_tokens: int = 7) -> None:
        self._push(text_answer(text, input_tokens=input_tokens, output_tokens=output_tokens))

    def fail(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._push(error_answer(status, error_type, message, headers))

    def delay(self, seconds: float) -> None:
        """Wait this long before sending the next answer (scripted or default)."""
        self._push(seconds)

    def set_default(self, answer: DefaultAnswer) -> None:
        """The answer once the script is used up: an `Answer` or a function of the request."""
        with self._lock:
            self.default = answer

    def _push(self, item: Answer | Callable[[RecordedRequest], Answer] | float) -> None:
        with self._lock:
            self._script.append(item)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def _next_answer(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            wait = 0.0
            while self._script and isinstance(self._script[0], float | int):
                wait += float(self._script.popleft())  # type: ignore[arg-type]
            item = self._script.popleft() if self._script else self.default
        answer = item(request) if callable(item) else item
        assert isinstance(answer, Answer)
        return Answer(answer.status, answer.body, answer.headers, answer.delay_s + wait)

    # --- lifecycle -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = handler.path.split("?", 1)[0]
        request = RecordedRequest(
            method=handler.command,
            path=path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
        )
        if handler.command != "POST" or path != "/v1/messages":
            with self._lock:
                self.requests.append(request)
            answer = error_answer(404, "not_found_error", f"fake: no route {path}")
        else:
            answer = self._next_answer(request)
        if answer.delay_s and self._stopping.wait(answer.delay_s):
            return
        payload = json.dumps(answer.body).encode()
        try:
            handler.send_response(answer.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer


def url_unreachable() -> str:
    """A base URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def running_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    try:
        yield fake
    finally:
        fake.stop()

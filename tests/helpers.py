"""Small helpers the tests share: accounts and credentials through the public API."""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

PASSWORD = "correct horse battery"
_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def signup(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/signup/", json={"email": email or unique_email(), "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


@contextmanager
def count_statements(client: httpx.AsyncClient) -> Iterator[list[str]]:
    """Record every SQL statement the in-process app behind `client` sends to its database."""
    engine = client._transport.app.state.services.database.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def make_event(event_id: str, event_type: str = "agent.prompt", **fields: Any) -> dict[str, Any]:
    """A valid CloneEvent of any of the nine types; `fields` override the defaults."""
    event: dict[str, Any] = {
        "id": event_id,
        "session_id": "session-1",
        "occurred_at": "2026-05-05T12:00:00Z",
        "source": "cli",
        "source_detail": "claude-code",
        "type": event_type,
    }
    event.update(EVENT_DEFAULTS[event_type])
    event.update(fields)
    return event


EVENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "session.started": {},
    "session.stopped": {},
    "app.focused": {"app": "Terminal", "window_title": "zsh"},
    "capture.frame": {"uri": "file:///f.png", "content_hash": None, "width": 640, "height": 480},
    "input.keystroke": {
        "event_type": "press",
        "modifiers": {"shift": False, "ctrl": True, "alt": False, "meta": False},
    },
    "input.click": {"x": 10, "y": 20, "button": "left"},
    "input.scroll": {"x": 1, "y": 2, "delta_x": 0.5, "delta_y": -3.0},
    "agent.prompt": {"agent": "claude", "prompt": "Shall I run the tests?"},
    "agent.response": {"agent": "claude", "response": "yes", "in_response_to": None},
}

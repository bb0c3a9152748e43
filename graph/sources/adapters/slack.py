"""Slack: the Events API (`event_callback` envelopes, `event_id` ids them).

Slack identifies users and channels by id only (`U024BE7LH`, `C024BE91L`); resolving names
would need a call back to Slack's API, so memories name the ids. The URL-verification
handshake Slack sends when the request URL is configured is answered, not stored.
"""

from typing import Any

from graph.sources.adapters.common import (
    Draft,
    Headers,
    dig_str,
    excerpt,
    first_of,
    first_time,
    kind_for,
    obj,
    plural,
    string,
    unknown,
)

PROVIDER = "slack"
MESSAGE_MAX = 2000  # a message is the memory itself, so more of it is kept than of a PR body


def handshake(payload: dict[str, Any], headers: Headers) -> dict[str, Any] | None:
    """Slack's `url_verification`: echo the challenge back (nothing is stored)."""
    if payload.get("type") == "url_verification" and isinstance(payload.get("challenge"), str):
        return {"challenge": payload["challenge"]}
    return None


def delivery_id(payload: dict[str, Any], headers: Headers) -> str | None:
    return string(payload.get("event_id"))


def adapt(payload: dict[str, Any], headers: Headers) -> list[Draft]:
    event = payload.get("event")
    if payload.get("type") != "event_callback" or not isinstance(event, dict):
        return unknown(PROVIDER, "Slack", payload)
    event_type = string(event.get("type"))
    occurred = first_time(event.get("event_ts"), event.get("ts"), payload.get("event_time"))
    match event_type:
        case "message":
            content = _message(event)
        case "app_mention":
            content = _said(f"{_user(event)} mentioned the app in {_where(event)}", _text(event))
        case "reaction_added" | "reaction_removed":
            reaction = string(event.get("reaction")) or "?"
            item = obj(event.get("item"))
            verb = "reacted" if event_type == "reaction_added" else "removed the reaction"
            content = f"{_user(event)} {verb} :{reaction}: to a message in {_where(item)}"
        case _:
            content = f"Slack {event_type or 'unnamed'} event"
            if user := string(event.get("user")):
                content += f" from {user}"
            if event.get("channel"):
                content += f" in {_where(event)}"
    return [Draft(kind_for(PROVIDER, event_type), content, payload, occurred)]


def _said(prefix: str, text: str) -> str:
    return f"{prefix}: {text}" if text else prefix


def _user(event: dict[str, Any]) -> str:
    return first_of(string(event.get("user")), string(event.get("username"))) or (
        string(event.get("bot_id")) or "someone"
    )


def _where(event: dict[str, Any]) -> str:
    channel = string(event.get("channel")) or "an unknown channel"
    channel_type = string(event.get("channel_type"))
    if channel_type == "im" or (channel_type is None and channel.startswith("D")):
        place = f"a direct message ({channel})"
    elif channel_type == "mpim":
        place = f"a group direct message ({channel})"
    else:
        place = f"channel {channel}"
    thread, ts = string(event.get("thread_ts")), string(event.get("ts"))
    if thread and thread != ts:
        place += f", in the thread {thread}"
    return place


def _text(event: dict[str, Any]) -> str:
    text = excerpt(event.get("text") if isinstance(event.get("text"), str) else "", MESSAGE_MAX)
    files = event.get("files")
    if isinstance(files, list) and files:
        text = (text + " " if text else "") + f"[{plural(len(files), 'file')}]"
    return text


def _message(event: dict[str, Any]) -> str:
    subtype = string(event.get("subtype"))
    where = _where(event)
    if subtype == "message_changed":
        inner = obj(event.get("message"))
        user = dig_str(event, "message", "user") or "someone"
        return _said(f"{user} edited a Slack message in {where}", _text(inner))
    if subtype == "message_deleted":
        return f"A Slack message was deleted in {where}"
    if subtype == "bot_message":
        return _said(f"Slack message from the bot {_user(event)} in {where}", _text(event))
    label = (
        "Slack message"
        if subtype in (None, "thread_broadcast", "file_share")
        else (f"Slack message ({subtype.replace('_', ' ')})")
    )
    return _said(f"{label} from {_user(event)} in {where}", _text(event))

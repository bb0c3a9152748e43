"""Google Drive: push notifications, and Drive `Change` resources relayed as JSON.

Drive's push notifications (files.watch / changes.watch) carry everything in `X-Goog-*`
headers and no body, so their row's payload is `{"headers": {...}, "body": {...}}` (the
channel's verification token left out). The `sync` message Drive sends when a channel opens
is not a memory and stores nothing. A relay (Apps Script, Pub/Sub, a small job polling
`changes.list`) may instead post a `drive#change` or a whole `drive#changeList`: one row per
change.
"""

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from graph.sources.adapters.common import (
    Draft,
    Headers,
    dig_str,
    first_of,
    first_time,
    kind_for,
    obj,
    string,
    unknown,
)

PROVIDER = "drive"
SECRET_HEADERS = {"x-goog-channel-token"}
_STATES = {
    "add": "was created or shared with you",
    "remove": "was deleted or is no longer shared with you",
    "trash": "was moved to the trash",
    "untrash": "was restored from the trash",
    "update": "was updated",
    "change": "reported new changes",
}


def delivery_id(payload: dict[str, Any], headers: Headers) -> str | None:
    """A push notification: channel, resource and message number (unique per channel)."""
    number = string(headers.get("x-goog-message-number"))
    resource = string(headers.get("x-goog-resource-id"))
    channel = string(headers.get("x-goog-channel-id"))
    if not number or not (resource or channel):
        return None
    return f"{channel or ''}:{resource or ''}:{number}"


def adapt(payload: dict[str, Any], headers: Headers) -> list[Draft]:
    kind = payload.get("kind")
    if kind == "drive#changeList" and isinstance(payload.get("changes"), list):
        return [_change(change) for change in payload["changes"] if isinstance(change, dict)]
    if kind == "drive#change":
        return [_change(payload)]
    state = string(headers.get("x-goog-resource-state"))
    if state == "sync":
        return []
    if state:
        return [_notification(state, payload, headers)]
    return unknown(PROVIDER, "Google Drive", payload)


def _change(change: dict[str, Any]) -> Draft:
    file = obj(change.get("file"))
    if change.get("changeType") == "drive" and not file:
        name = dig_str(change, "drive", "name") or string(change.get("driveId")) or "?"
        verb = "was removed" if change.get("removed") is True else "changed"
        return Draft("drive.change", f"Shared drive “{name}” {verb}", change, _time(change))
    title = string(file.get("name"))
    file_id = first_of(string(change.get("fileId")), string(file.get("id"))) or "?"
    target = f"Google Drive file “{title}”" if title else f"Google Drive file {file_id}"
    if change.get("removed") is True:
        content = f"{target} was removed"
    elif file.get("trashed") is True:
        content = f"{target} was moved to the trash"
    else:
        content = f"{target} changed"
    if who := dig_str(file, "lastModifyingUser", "displayName"):
        content += f" (last modified by {who})"
    return Draft("drive.change", content, change, _time(change))


def _time(change: dict[str, Any]) -> datetime | None:
    return first_time(change.get("time"), dig_str(change, "file", "modifiedTime"))


def _notification(state: str, payload: dict[str, Any], headers: Headers) -> Draft:
    uri = string(headers.get("x-goog-resource-uri")) or ""
    path = urlparse(uri).path
    if "/files/" in path:
        target = f"Google Drive file {path.rsplit('/files/', 1)[1].strip('/') or '?'}"
    elif path.endswith("/changes"):
        target = "Google Drive (the changes feed)"
    else:
        target = f"Google Drive resource {string(headers.get('x-goog-resource-id')) or '?'}"
    content = f"{target} {_STATES.get(state, f'sent “{state}”')}"
    if changed := string(headers.get("x-goog-changed")):
        content += f" ({changed.replace(',', ', ')} changed)"
    notice = {
        name: value
        for name, value in headers.items()
        if name.startswith("x-goog-") and name not in SECRET_HEADERS
    }
    return Draft(kind_for(PROVIDER, state), content, {"headers": notice, "body": payload}, None)

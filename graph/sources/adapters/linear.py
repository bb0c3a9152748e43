"""Linear: data-change webhooks (`{action, type, data, updatedFrom, actor, createdAt, …}`).

Issues and comments get sentences of their own (an update names what changed, from
`updatedFrom`); other entity types (projects, cycles, labels…) a generic one.
"""

import re
from typing import Any

from graph.sources.adapters.common import (
    Draft,
    Headers,
    dig_str,
    excerpt,
    first_of,
    kind_for,
    obj,
    parse_time,
    string,
    unknown,
)

PROVIDER = "linear"
_ACTIONS = {"create": "created", "update": "updated", "remove": "deleted", "restore": "restored"}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_QUIET_FIELDS = {"updatedAt", "sortOrder", "subIssueSortOrder", "boardOrder", "prioritySortOrder"}


def delivery_id(payload: dict[str, Any], headers: Headers) -> str | None:
    """`Linear-Delivery` when sent; otherwise the webhook, its time and the entity together."""
    if header := string(headers.get("linear-delivery")):
        return header
    webhook, created = string(payload.get("webhookId")), string(payload.get("createdAt"))
    if not (webhook and created):
        return None
    parts = (
        webhook,
        created,
        payload.get("type"),
        payload.get("action"),
        dig_str(payload, "data", "id"),
    )
    return ":".join(str(part or "") for part in parts)


def adapt(payload: dict[str, Any], headers: Headers) -> list[Draft]:
    entity, action = string(payload.get("type")), string(payload.get("action"))
    data = payload.get("data")
    if not entity or not action or not isinstance(data, dict):
        return unknown(PROVIDER, "Linear", payload)
    kind = kind_for(PROVIDER, _CAMEL.sub("_", entity).lower())
    actor = (
        first_of(
            dig_str(payload, "actor", "name"),
            dig_str(data, "user", "name"),
            dig_str(data, "creator", "name"),
        )
        or "someone"
    )
    verb = _ACTIONS.get(action, action)
    if entity == "Issue":
        content = _issue(actor, verb, data, obj(payload.get("updatedFrom")))
    elif entity == "Comment":
        content = _comment(actor, action, data)
    else:
        label = first_of(string(data.get("name")), string(data.get("title")))
        content = f"{actor} {verb} a Linear {_CAMEL.sub(' ', entity).lower()}"
        content += f": {label}" if label else ""
    stamp = {"create": "createdAt", "update": "updatedAt"}.get(action)
    occurred = (
        (parse_time(data.get(stamp)) if stamp else None)
        or parse_time(payload.get("createdAt"))
        or parse_time(payload.get("webhookTimestamp"))
    )
    return [Draft(kind, content, payload, occurred)]


def _issue_name(data: dict[str, Any]) -> str:
    return first_of(string(data.get("identifier")), string(data.get("id"))) or "?"


def _issue(actor: str, verb: str, data: dict[str, Any], updated_from: dict[str, Any]) -> str:
    title = string(data.get("title")) or "(untitled)"
    name = _issue_name(data)
    if verb == "created":
        content = f"{actor} created issue {name}: {title}"
        if state := dig_str(data, "state", "name"):
            content += f" ({state})"
        if description := excerpt(_text(data.get("description"))):
            content += f"\n\n{description}"
        return content
    if verb != "updated":
        return f"{actor} {verb} issue {name}: {title}"
    changes = _changes(data, updated_from)
    if not changes:
        return f"{actor} updated issue {name}: {title}"
    return f"{actor} updated issue {name} ({title}): {'; '.join(changes)}"


def _changes(data: dict[str, Any], updated_from: dict[str, Any]) -> list[str]:
    """What an update changed, in words, from the previous values Linear sends."""
    changes: list[str] = []
    for field in updated_from:
        if field in _QUIET_FIELDS:
            continue
        if field == "stateId":
            state = dig_str(data, "state", "name")
            changes.append(f"moved to {state}" if state else "changed state")
        elif field == "assigneeId":
            who = dig_str(data, "assignee", "name")
            changes.append(f"assigned to {who}" if who else "unassigned")
        elif field == "priority":
            label = string(data.get("priorityLabel")) or str(data.get("priority"))
            changes.append(f"priority set to {label}")
        elif field == "title":
            before = string(updated_from.get("title"))
            changes.append(f"renamed from “{before}”" if before else "renamed")
        elif field == "description":
            changes.append("description edited")
        elif field == "labelIds":
            changes.append("labels changed")
        elif field == "dueDate":
            due = string(data.get("dueDate"))
            changes.append(f"due date set to {due}" if due else "due date removed")
        else:
            changes.append(f"{_CAMEL.sub(' ', field.removesuffix('Id')).lower()} changed")
    return changes


def _comment(actor: str, action: str, data: dict[str, Any]) -> str:
    issue = obj(data.get("issue"))
    target = first_of(string(issue.get("identifier")), string(issue.get("title")))
    where = f" on {target}" if target else ""
    if target and string(issue.get("identifier")) and (title := string(issue.get("title"))):
        where += f" ({title})"
    body = excerpt(_text(data.get("body")))
    if action == "create":
        return f"{actor} commented{where}" + (f": {body}" if body else "")
    if action == "update":
        return f"{actor} edited a comment{where}" + (f": {body}" if body else "")
    return f"{actor} {_ACTIONS.get(action, action)} a comment{where}"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

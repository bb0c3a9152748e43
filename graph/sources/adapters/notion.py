"""Notion: integration webhooks (`{id, type: "page.created", entity, authors, timestamp, …}`),
the one-time subscription verification, and database automations' "Send webhook" action
(`{source: {type: "automation", event_id}, data: <page object>}`).

Integration events carry ids only (no titles: Notion expects a call back to its API for
those), so their memories name the ids; automation payloads carry the page, title included.
"""

from typing import Any

from graph.sources.adapters.common import (
    Draft,
    Headers,
    dig,
    dig_str,
    first_of,
    first_time,
    kind_for,
    obj,
    parse_time,
    plural,
    string,
    unknown,
)

PROVIDER = "notion"
_PHRASES = {
    "content_updated": "content updated",
    "properties_updated": "properties updated",
    "schema_updated": "schema updated",
}


def delivery_id(payload: dict[str, Any], headers: Headers) -> str | None:
    """The event's `id` (kept across Notion's retries), or the automation's `event_id`."""
    if _is_event(payload):
        return string(payload.get("id"))
    return dig_str(payload, "source", "event_id")


def adapt(payload: dict[str, Any], headers: Headers) -> list[Draft]:
    if isinstance(payload.get("verification_token"), str) and len(payload) == 1:
        return [
            Draft(
                "notion.verification",
                "Notion sent the verification token of a new webhook subscription: paste the "
                "verification_token from this memory's payload into Notion to verify it.",
                payload,
            )
        ]
    if _is_event(payload):
        return [_event(payload)]
    page = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    if obj(page).get("object") == "page":
        return [_page(payload, obj(page))]
    return unknown(PROVIDER, "Notion", payload)


def _is_event(payload: dict[str, Any]) -> bool:
    return isinstance(payload.get("type"), str) and isinstance(payload.get("entity"), dict)


def _event(payload: dict[str, Any]) -> Draft:
    event_type = str(payload["type"])
    entity = obj(payload.get("entity"))
    entity_type = string(entity.get("type")) or event_type.split(".", 1)[0]
    action = event_type.split(".", 1)[1] if "." in event_type else event_type
    content = f"Notion {entity_type.replace('_', ' ')} {entity.get('id') or '?'} "
    content += _PHRASES.get(action, action.replace("_", " "))
    data = obj(payload.get("data"))
    details = []
    if isinstance(data.get("updated_blocks"), list) and data["updated_blocks"]:
        details.append(plural(len(data["updated_blocks"]), "block"))
    if isinstance(data.get("updated_properties"), list) and data["updated_properties"]:
        details.append(plural(len(data["updated_properties"]), "property", "properties"))
    if details:
        content += f" ({', '.join(details)})"
    if workspace := string(payload.get("workspace_name")):
        content += f" in workspace {workspace}"
    authors = [
        f"{string(a.get('type')) or 'user'} {a.get('id')}"
        for a in payload.get("authors") or []
        if isinstance(a, dict) and a.get("id")
    ]
    if authors:
        content += f", by {', '.join(authors)}"
    return Draft(
        kind_for(PROVIDER, event_type), content, payload, parse_time(payload.get("timestamp"))
    )


def _page(payload: dict[str, Any], page: dict[str, Any]) -> Draft:
    title = _title(page)
    name = f"“{title}”" if title else str(page.get("id") or "(untitled)")
    created, edited = page.get("created_time"), page.get("last_edited_time")
    verb = "created" if created and created == edited else "updated"
    content = f"Notion page {name} {verb}"
    if dig(payload, "source", "type") == "automation":
        content += " (sent by a database automation)"
    if url := string(page.get("url")):
        content += f": {url}"
    occurred = first_time(edited, created)
    return Draft("notion.page", content, payload, occurred)


def _title(page: dict[str, Any]) -> str | None:
    """The plain text of the page's title property (whatever the property is called)."""
    for prop in obj(page.get("properties")).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            parts = prop.get("title") if isinstance(prop.get("title"), list) else []
            text = "".join(
                str(part.get("plain_text") or "") for part in parts if isinstance(part, dict)
            )
            return first_of(string(text))
    return None

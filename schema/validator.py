"""Validate one CloneEvent against ``schema/events.schema.json`` (SPEC §3 and §4).

Why it looks like this:

* Speed. The reference stack spends 88 % of its ingest time in the Python ``jsonschema``
  checking the whole ``oneOf`` (about 1,000 events/s on one core). Here the published schema,
  whole ``oneOf`` included, is compiled once at import by ``jsonschema-rs`` (Rust), which takes
  the same accept/reject decisions over a million events/s: validation costs about 1 µs of
  the ~40 µs an event may take at 25,000 events/s on 2 cores. Dispatching on ``type`` first
  gives the same decisions (the nine ``type`` values are distinct constants) but measured ~10 %
  slower: the Rust ``oneOf`` already stops at the ``const`` mismatch (``bench/validation.py``).
* Messages. Rejections are rare, so only then do we check the variant named by ``type`` again,
  with the same engine, collecting every error, and turn each into one message that names the
  field and says what it must be, phrased from the schema itself so the two cannot drift apart.
  At most ``MAX_ERRORS_PER_ITEM`` per event, one per field, in the variant's field order.
* One engine decides and describes, so a rejected event always gets at least one message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema_rs

__all__ = ["EVENT_TYPES", "MAX_ERRORS_PER_ITEM", "SCHEMA", "SCHEMA_PATH", "validate_event"]

SCHEMA_PATH: Final[Path] = Path(__file__).with_name("events.schema.json")
SCHEMA: Final[dict[str, Any]] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

_DEFS: Final[dict[str, Any]] = SCHEMA["$defs"]
_REF_PREFIX: Final = "#/$defs/"

#: The nine ``type`` values, in the schema's ``oneOf`` order.
EVENT_TYPES: Final[frozenset[str]] = frozenset(
    branch["$ref"].removeprefix(_REF_PREFIX) for branch in SCHEMA["oneOf"]
)
#: SPEC §3: the ingest response carries at most the first 3 messages per item.
MAX_ERRORS_PER_ITEM: Final = 3

_TYPE_LIST: Final = ", ".join(sorted(EVENT_TYPES))
_NOT_AN_OBJECT: Final = "event must be a JSON object"
_DATE_TIME_EXAMPLE: Final = "e.g. 2026-05-05T12:00:00Z"

FieldPath = tuple[str | int, ...]


def _resolve(subschema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``#/$defs/...`` references (the only kind the schema uses)."""
    while "$ref" in subschema:
        subschema = _DEFS[subschema["$ref"].removeprefix(_REF_PREFIX)]
    return subschema


def _compile(event_type: str) -> jsonschema_rs.Validator:
    """Compile the schema with its root pointed at one variant, so ``$defs`` still resolve."""
    root = {key: value for key, value in SCHEMA.items() if key != "oneOf"}
    root["$ref"] = _REF_PREFIX + event_type
    return jsonschema_rs.validator_for(root, validate_formats=False)  # see _EVENT


def _field_table(event_type: str) -> dict[FieldPath, Mapping[str, Any]]:
    """Map each field path of a variant (nested ones too) to its resolved sub-schema."""
    table: dict[FieldPath, Mapping[str, Any]] = {}

    def walk(prefix: FieldPath, schema: Mapping[str, Any]) -> None:
        for name, sub in schema.get("properties", {}).items():
            resolved = _resolve(sub)
            table[(*prefix, name)] = resolved
            walk((*prefix, name), resolved)

    walk((), _DEFS[event_type])
    return table


# ``format`` stays an annotation, as draft 2020-12 and the reference ``jsonschema`` treat it:
# the date-time ``pattern`` is what enforces ``occurred_at``.
_EVENT: Final = jsonschema_rs.validator_for(SCHEMA, validate_formats=False)
_VARIANTS: Final[dict[str, jsonschema_rs.Validator]] = {t: _compile(t) for t in EVENT_TYPES}
_FIELDS: Final[dict[str, dict[FieldPath, Mapping[str, Any]]]] = {
    t: _field_table(t) for t in EVENT_TYPES
}


def validate_event(item: object) -> list[str]:
    """Return ``[]`` if ``item`` is a valid CloneEvent, else at most 3 messages naming fields.

    The caller strips ``keychar``/``keycode`` from ``input.keystroke`` events beforehand
    (SPEC §3); on any other type they are unknown fields and rejected here.
    """
    if not isinstance(item, dict):
        return [_NOT_AN_OBJECT]
    try:
        if _EVENT.is_valid(item):
            return []
        event_type = item.get("type")
        validator = _VARIANTS.get(event_type) if isinstance(event_type, str) else None
        if validator is None:
            return [_type_message(item)]
        return _describe_errors(validator, item, event_type)
    except ValueError:  # UnicodeEncodeError: a lone surrogate (json.loads lets "\ud800" through)
        return _unencodable_messages(item)


def _type_message(item: Mapping[str, Any]) -> str:
    if "type" not in item:
        return f"type: required field is missing; must be one of {_TYPE_LIST}"
    return f"type: {_show(item['type'])} is not a valid event type (one of {_TYPE_LIST})"


def _describe_errors(
    validator: jsonschema_rs.Validator, item: dict[str, Any], event_type: str
) -> list[str]:
    """Turn the engine's errors into one message per field, in the variant's field order."""
    fields = _FIELDS[event_type]
    found: dict[FieldPath, str] = {}
    for error in validator.iter_errors(item):
        kind = error.kind
        path: FieldPath = tuple(error.instance_path)
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            missing = (*path, kind.property)
            found.setdefault(missing, _missing_message(missing, fields.get(missing)))
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            for name in kind.unexpected:
                found.setdefault((*path, name), f"{_dotted((*path, name))}: unknown field")
        elif "then" in error.schema_path:  # the integration rule: more specific, so it wins
            found[path] = _integration_message(path, _lookup(item, path))
        else:
            found.setdefault(path, _value_message(path, _lookup(item, path), fields.get(path)))
    if not found:  # cannot happen with this schema; never report a rejection without a reason
        return ["event does not match the CloneEvent schema"]
    order = {path: rank for rank, path in enumerate(fields)}
    ranked = sorted(found, key=lambda p: order.get(p, len(order)))  # unknown fields last
    return [found[p] for p in ranked[:MAX_ERRORS_PER_ITEM]]


def _missing_message(path: FieldPath, schema: Mapping[str, Any] | None) -> str:
    hint = " (it may be null, but must be present)" if schema and _nullable(schema) else ""
    return f"{_dotted(path)}: required field is missing{hint}"


def _integration_message(path: FieldPath, value: object) -> str:
    return (
        f"{_dotted(path)}: must be a non-empty string naming the integration (e.g. 'github') "
        f"when source is 'integration' (got {_show(value)})"
    )


def _value_message(path: FieldPath, value: object, schema: Mapping[str, Any] | None) -> str:
    name = _dotted(path)
    if schema is None:
        return f"{name}: invalid value {_show(value)}"
    if "enum" in schema:
        options = ", ".join(sorted(schema["enum"]))
        message = f"{name}: {_show(value)} is not a valid {path[-1]} (one of {options})"
        if name == "source" and isinstance(value, str) and value:
            if value.lower() in schema["enum"]:
                message += f"; did you mean {value.lower()!r}?"
            else:  # SPEC §4: the common mistake of putting the producer's name in source
                message += f"; a producer name such as {_show(value)} belongs in source_detail"
        return message
    if schema.get("format") == "date-time":
        if isinstance(value, str):
            return (
                f"{name}: {_show(value)} is not a valid RFC 3339 date-time with a timezone "
                f"({_DATE_TIME_EXAMPLE})"
            )
        return (
            f"{name}: must be an RFC 3339 date-time string with a timezone "
            f"({_DATE_TIME_EXAMPLE}), got {_show(value)}"
        )
    return f"{name}: must be {_describe(schema)} (got {_show(value)})"


def _describe(schema: Mapping[str, Any]) -> str:
    """Say in words what a field's (resolved) sub-schema requires."""
    types = schema.get("type")
    if types == ["string", "null"]:
        return "a string or null"
    if types == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None:
            return f"a string of {low} to {high} characters"
        return "a non-empty string" if low == 1 else "a string"
    if types == "integer":
        return f"an integer >= {schema['minimum']}" if "minimum" in schema else "an integer"
    if types == "object":
        return "an object with exactly the fields " + ", ".join(schema.get("required", []))
    articles = {"number": "a number", "boolean": "a boolean"}
    return articles.get(str(types), f"of type {types}")


def _nullable(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type")
    return isinstance(types, list) and "null" in types


def _unencodable_messages(item: dict[str, Any]) -> list[str]:
    """Name the fields whose text cannot be stored as UTF-8 (unpaired surrogates)."""
    bad: list[str] = []

    def walk(path: FieldPath, value: object) -> None:
        if isinstance(value, str):
            if not _encodable(value):
                bad.append(f"{_dotted(path)}: text contains an unpaired surrogate (not UTF-8)")
        elif isinstance(value, dict):
            for key, sub in value.items():
                if isinstance(key, str) and not _encodable(key):
                    bad.append(f"{_dotted(path) or 'event'}: a field name is not valid UTF-8")
                walk((*path, key), sub)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                walk((*path, index), sub)

    walk((), item)
    return bad[:MAX_ERRORS_PER_ITEM] or ["event contains text that is not valid UTF-8"]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lookup(item: object, path: FieldPath) -> object:
    for key in path:
        item = item[key]  # type: ignore[index]  # the engine reported this path in this item
    return item


def _dotted(path: FieldPath) -> str:
    return _safe(".".join(str(part) for part in path))


def _show(value: object, limit: int = 60) -> str:
    """Quote a received value briefly: strings as 'text', everything else as JSON."""
    if isinstance(value, str):
        return _safe(repr(value if len(value) <= limit else value[: limit - 3] + "..."))
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _safe(text if len(text) <= limit else text[: limit - 3] + "...")


def _safe(text: str) -> str:
    """Escape unpaired surrogates, so that a message can always be encoded in the response."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

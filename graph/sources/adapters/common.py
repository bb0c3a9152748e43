"""What every provider adapter shares: the draft of a raw row and small, forgiving readers.

Adapters are pure functions over an already decoded payload and the request's headers. They
never raise on a payload's shape: a field that is missing or of the wrong type simply reads as
absent, so a provider that changes its format degrades to a plainer description, never to a
failed delivery.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

CONTENT_MAX = 4000  # a memory reads as a sentence or a short paragraph; detail stays in payload
EXCERPT_MAX = 500  # bodies of issues, comments and messages quoted in `content`
PREVIEW_MAX = 200  # the JSON preview of an unrecognized payload
KIND_MAX = 64  # RawMemory.kind's column width
_EPOCH_MIN = 100_000_000  # 1973: anything earlier is not the time of a webhook event
_EPOCH_MS_THRESHOLD = 100_000_000_000  # numbers above this are milliseconds (year 5138 in s)
_KIND_PART = re.compile(r"^[a-z][a-z0-9_.]{0,40}$")

Headers = Mapping[str, str]


@dataclass(frozen=True)
class Draft:
    """One raw memory an adapter wants stored: the operation adds owner, source and ids."""

    kind: str
    content: str
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None  # None: the time the delivery was received


def lower_headers(headers: Headers) -> dict[str, str]:
    """Header names folded to lower case, so adapters need not care how they were given."""
    return {str(name).lower(): str(value) for name, value in headers.items()}


def obj(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def string(value: object) -> str | None:
    """A non-blank string, stripped, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def dig(value: object, *path: str) -> Any:
    """`value[path[0]][path[1]]…`, or None as soon as a step is not an object or is missing."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def dig_str(value: object, *path: str) -> str | None:
    return string(dig(value, *path))


def first_of(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending with an ellipsis when something was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0].strip()


def excerpt(text: str | None, limit: int = EXCERPT_MAX) -> str:
    """A body quoted in a memory: whitespace runs collapsed, clipped."""
    return clip(" ".join((text or "").split()), limit)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def parse_time(value: object) -> datetime | None:
    """A provider timestamp as aware UTC, or None when there is none or it makes no sense.

    Accepts ISO-8601 strings (`Z` or an offset; a naive one is read as UTC), Unix times in
    seconds or milliseconds, and Slack's `"1715000000.000100"` strings.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    return None


def first_time(*values: object) -> datetime | None:
    """The first of `values` that reads as a time (see `parse_time`)."""
    return next((parsed for value in values if (parsed := parse_time(value))), None)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds != seconds or seconds < _EPOCH_MIN:  # NaN, or not a plausible moment
        return None
    if seconds > _EPOCH_MS_THRESHOLD:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def kind_for(provider: str, name: object) -> str:
    """`<provider>.<name>` for a well-formed type name, `<provider>.unknown` otherwise.

    The name comes from the sender (a header or a body field), so it is checked rather than
    trusted: lower-case letters, digits, `_` and `.` only, and short enough for the column.
    """
    if isinstance(name, str) and _KIND_PART.match(name.lower()):
        return f"{provider}.{name.lower()}"[:KIND_MAX]
    return f"{provider}.unknown"


def json_preview(payload: object, limit: int = PREVIEW_MAX) -> str:
    text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str).decode()
    return clip(text, limit)


def unknown(provider: str, label: str, payload: dict[str, Any]) -> list[Draft]:
    """A payload no adapter understands: kept as it came, described by a short JSON preview."""
    return [
        Draft(
            kind=f"{provider}.unknown",
            content=f"Unrecognized {label} payload: {json_preview(payload)}",
            payload=payload,
        )
    ]

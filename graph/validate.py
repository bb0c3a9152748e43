"""Field checks shared by the domain operations: one message per bad field, 400s only."""

import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.errors import Invalid

SOURCES = ("desktop", "cli", "mobile", "smartglass", "agent", "integration")
FACT_KINDS = ("preference", "habit", "skill", "artifact", "other")
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
_SPACES = re.compile(r"\s+")


def check_fields(data: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise Invalid(
            f"unknown field(s) for {what}: {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def text(value: object, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    if required and not value.strip():
        raise Invalid(f"{field} is required")
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters")
    return no_nul(value, field)


def optional_text(value: object, field: str, *, max_length: int) -> str | None:
    return None if value is None else text(value, field, max_length=max_length)


def choice(value: object, field: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise Invalid(f"{field} must be one of {', '.join(options)}")
    return str(value)


def unit_interval(value: object, field: str) -> float:
    """A number in 0..1 (SPEC: importance and confidence)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field} must be a number between 0 and 1")
    if not 0 <= value <= 1:
        raise Invalid(f"{field} must be between 0 and 1")
    return float(value)


def integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be an integer")
    if not low <= value <= high:
        raise Invalid(f"{field} must be between {low} and {high}")
    return value


def timestamp(value: object, field: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(f"{field} must be an ISO-8601 datetime, not {value!r}") from None
    else:
        raise Invalid(f"{field} must be an ISO-8601 datetime string")
    return to_utc(parsed, field)


def to_utc(value: datetime, field: str) -> datetime:
    """An aware datetime in UTC; naive or unrepresentable in UTC (year 0/10000) is a 400."""
    if value.tzinfo is None:
        raise Invalid(f"{field} must carry a time zone (for example 2026-05-05T12:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{field} is out of range once converted to UTC") from None


def no_nul(value: str, field: str) -> str:
    """PostgreSQL cannot store U+0000 in text; refuse it on both databases alike."""
    if "\x00" in value:
        raise Invalid(f"{field} contains a NUL character (\\u0000), which cannot be stored")
    return value


def tags(value: object, field: str = "tags") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise Invalid(f"{field} must be a list of strings")
    cleaned = list(dict.fromkeys(no_nul(tag.strip(), field) for tag in value if tag.strip()))
    if len(cleaned) > MAX_TAGS:
        raise Invalid(f"{field}: at most {MAX_TAGS} tags")
    if any(len(tag) > MAX_TAG_LENGTH for tag in cleaned):
        raise Invalid(f"{field}: each tag at most {MAX_TAG_LENGTH} characters")
    return cleaned


def strings(value: object, field: str, *, max_items: int = 50) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"{field} must be a list of strings")
    if len(value) > max_items:
        raise Invalid(f"{field}: at most {max_items} items")
    return list(dict.fromkeys(no_nul(item, field) for item in value))


def uuids(value: object, field: str, *, max_items: int = 1000) -> list[uuid.UUID]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{field} must be a list of ids")
    if len(value) > max_items:
        raise Invalid(f"{field}: at most {max_items} ids")
    try:
        return list(dict.fromkeys(uuid.UUID(str(item)) for item in value))
    except ValueError:
        raise Invalid(f"{field} must hold UUIDs") from None


def json_object(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be a JSON object")
    if holds_nul(value):
        raise Invalid(f"{field} contains a NUL character (\\u0000), which cannot be stored")
    return value


def holds_nul(value: object) -> bool:
    """Whether U+0000 occurs anywhere in a JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise Invalid("since must not be later than until")


def normalize_fact_text(value: str) -> str:
    """The identity of a fact for deduplication: case, spacing and end punctuation ignored."""
    return _SPACES.sub(" ", value).strip().rstrip(".!?;: ").lower()

"""Raw ids as clients send them: a malformed id names nothing, exactly like an unknown one."""

import uuid

from gateway.errors import NotFound

# Stands in for malformed ids in batched lookups: no row has it, so they resolve to null.
NO_ROW = uuid.UUID(int=0)


def try_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def parse_uuid(value: object, what: str) -> uuid.UUID:
    """The UUID, or the same 404 a missing `what` gets."""
    parsed = try_uuid(value)
    if parsed is None:
        raise NotFound(f"{what} not found")
    return parsed


def uuids_or_no_row(values: list[str]) -> list[uuid.UUID]:
    return [try_uuid(value) or NO_ROW for value in values]

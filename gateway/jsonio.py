"""JSON encoding used everywhere: orjson, UTC datetimes written with a `Z`."""

from typing import Any

import orjson

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=OPTIONS)


def jsonable(value: Any) -> Any:
    """Plain JSON types (datetimes and UUIDs as strings), e.g. to store a snapshot in a column."""
    return orjson.loads(dumps(value))

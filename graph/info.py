"""What every resolver shares: the `info` type carrying our per-request context, and the
lookup rule of the graph (a missing or foreign row is null, never an error)."""

from collections.abc import Awaitable
from typing import TypeAlias, TypeVar

import strawberry

from gateway.errors import NotFound
from graph.context import RequestContext

Info: TypeAlias = strawberry.Info[RequestContext, None]
T = TypeVar("T")


async def or_none(lookup: Awaitable[T]) -> T | None:
    """The row, or None where REST would answer 404."""
    try:
        return await lookup
    except NotFound:
        return None

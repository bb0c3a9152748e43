"""Request-scoped DataLoaders: every edge of the graph is fetched in batches, never per row."""

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

if TYPE_CHECKING:
    from graph.context import RequestContext

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keyed_loader(
    ctx: "RequestContext",
    fetch: Callable[[Any, Any, Sequence[K]], Awaitable[dict[K, V]]],
) -> DataLoader[K, V | None]:
    """A loader over an ops function `fetch(db, user, keys) -> {key: row}` (missing → None).

    The account the request reads (`require_reader`: yours, or in member mode the shared
    one) is part of every fetch, so a loader can never return any other account's row.
    """

    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(ctx.db, await ctx.require_reader(), keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def grouped_by_key_loader(
    ctx: "RequestContext",
    fetch: Callable[[Any, Any, Sequence[K]], Awaitable[dict[K, list[V]]]],
) -> DataLoader[K, list[V]]:
    """A one-to-many loader over `fetch(db, user, keys) -> {key: [rows]}` (missing → [])."""

    async def load(keys: list[K]) -> list[list[V]]:
        found = await fetch(ctx.db, await ctx.require_reader(), keys)
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def grouped_loader(
    ctx: "RequestContext",
    fetch: Callable[..., Awaitable[dict[Any, V]]],
) -> DataLoader[tuple[Any, tuple[tuple[str, Any], ...]], V]:
    """A loader for edges with arguments: key = (parent key, options as sorted pairs).

    Keys sharing the same options are fetched together with one call of
    `fetch(db, user, parent_keys, **options) -> {parent: value}` (a page of a one-to-many
    edge, or its count); it must answer for every parent it is given.
    """

    async def load(keys: list[tuple[Any, tuple[tuple[str, Any], ...]]]) -> list[V]:
        user = await ctx.require_reader()
        by_options: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
        for parent, options in keys:
            by_options.setdefault(options, []).append(parent)
        results: dict[tuple[Any, tuple[tuple[str, Any], ...]], V] = {}
        for options, parents in by_options.items():
            found = await fetch(ctx.db, user, parents, **dict(options))
            for parent in parents:
                results[(parent, options)] = found[parent]
        return [results[key] for key in keys]

    return DataLoader(load_fn=load)


async def load_nodes(
    info: Any, factory: Callable[[Any], DataLoader[Any, Any]], keys: Sequence[Any], build: Any
) -> list[Any]:
    """A Node type's `resolve_nodes`: rows through the request's loader, built, None if absent."""
    rows = await info.context.loader(factory).load_many(keys)
    return [build(row) if row else None for row in rows]

"""Relay cursor connections over the same list operations REST pages through.

A cursor is the position of a row in its list's order (the values of the ORDER BY columns,
which always end with a unique id), so the page after it is "rows strictly beyond this key"
(keyset pagination): stable under concurrent inserts, and as fast deep in a list as at its
head. Connections page forward (`first`, `after`); `totalCount` is the list's size after its
filters, as REST's `count`.
"""

import base64
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
import strawberry
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from gateway.errors import Invalid

T = TypeVar("T")
Key = tuple[Any, bool]  # an ORDER BY column and whether it is descending


def order_keys(stmt: sa.Select[Any]) -> list[Key]:
    """The (column, descending) pairs of an ordered statement."""
    keys: list[Key] = []
    for clause in stmt._order_by_clauses:
        if isinstance(clause, UnaryExpression) and clause.modifier in (
            operators.desc_op,
            operators.asc_op,
        ):
            keys.append((clause.element, clause.modifier is operators.desc_op))
        else:
            keys.append((clause, False))
    return keys


def encode_cursor(row: Any, keys: Sequence[Key]) -> str:
    values = [_plain(getattr(row, column.key)) for column, _ in keys]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    """The key values a cursor holds, typed as their columns; anything else is a 400."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [_typed(value, column) for value, (column, _) in zip(values, keys, strict=True)]
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid(f"after: {cursor[:80]!r} is not a cursor of this list") from None


def _typed(value: Any, column: Any) -> Any:
    python_type = column.type.python_type
    if value is None:
        raise ValueError("cursors never hold nulls")
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, python_type):
        raise ValueError(f"expected {python_type.__name__}")
    return value


def after_clause(cursor: str, keys: Sequence[Key]) -> sa.ColumnElement[bool]:
    """Rows strictly beyond the cursor's position, in the list's own order."""
    values = _decode(cursor, keys)
    alternatives = []
    for index, (column, descending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


@strawberry.type(description="Where a page of a connection stands in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One row of a connection, with the cursor of its position.")
class Edge(Generic[T]):
    node: T
    position: strawberry.Private[Any]  # the database row behind the node
    keys: strawberry.Private[Sequence[Key]]

    @strawberry.field(description="This row's position in its list, for `after`.")
    def cursor(self) -> str:
        """Encoded only when asked for: most dashboards page with `pageInfo` alone."""
        return encode_cursor(self.position, self.keys)


@strawberry.type(description="A page of a list: edges (or just nodes), page info, total size.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total: strawberry.Private[int | Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many rows the list holds after its filters.")
    async def total_count(self) -> int:
        return self.total if isinstance(self.total, int) else await self.total()


def from_page(
    page: Any,
    node: Callable[[Any], T],
    after: str | None,
    total: int | Callable[[], Awaitable[int]] | None = None,
) -> Connection[T]:
    """A connection over a `graph.pagination.Page` (its items become the nodes, its rows give
    the cursors)."""
    rows, keys = page.rows, page.keys
    edges = [
        Edge(node=node(item), position=row, keys=keys)
        for item, row in zip(page.items, rows, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous or after is not None,
            start_cursor=encode_cursor(rows[0], keys) if rows else None,
            end_cursor=encode_cursor(rows[-1], keys) if rows else None,
        ),
        total=page.total if total is None else total,
    )


Options = tuple[tuple[str, Any], ...]  # a loader key's arguments, as sorted (name, value) pairs


async def child_connection(
    info: Any,
    pages: Callable[[Any], Any],
    counts: Callable[[Any], Any],
    parent: Any,
    build: Callable[[Any], T],
    *,
    after: str | None,
    page_options: Options,
    count_options: Options = (),
) -> Connection[T]:
    """One parent's page of a one-to-many edge, through the request's DataLoaders (`pages` and
    `counts` are loader factories for `graph.loaders.grouped_loader`): every parent's page in
    one statement, and `totalCount` one grouped count for all parents, run only when asked."""
    page = await info.context.loader(pages).load((parent, page_options))
    counter = info.context.loader(counts)
    return from_page(page, build, after, total=lambda: counter.load((parent, count_options)))

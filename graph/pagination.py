"""Bounded limit/offset pages shared by every list operation, REST and GraphQL alike."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Invalid
from graph.connections import Key, after_clause, order_keys

T = TypeVar("T")
MAX_OFFSET = 2**31 - 1  # far past any real list; larger values would overflow the database


@dataclass(frozen=True)
class PageSpec:
    """A list's default and maximum page size: a larger `limit` is clamped, never refused."""

    default: int
    maximum: int

    def clamp(self, limit: int | None, offset: int | None) -> tuple[int, int]:
        if limit is None:
            limit = self.default
        if offset is None:
            offset = 0
        if limit < 0:
            raise Invalid("limit must be a non-negative integer")
        if offset < 0:
            raise Invalid("offset must be a non-negative integer")
        if offset > MAX_OFFSET:
            raise Invalid(f"offset must be at most {MAX_OFFSET}")
        return min(limit, self.maximum), offset


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: REST shows `total`/`limit`/`offset`, GraphQL the cursors.

    `rows` are the database rows behind `items` (the same objects unless an operation maps
    them to views); a connection's cursors are computed from them only when asked for.
    """

    items: Sequence[T]
    total: int
    limit: int
    offset: int
    has_next: bool = False
    rows: Sequence[Any] = ()
    keys: Sequence[Key] = ()
    has_previous: bool = False

    def with_items(self, items: Sequence[Any]) -> "Page[Any]":
        return replace(self, items=items)


async def paginate(
    db: AsyncSession,
    stmt: sa.Select[Any],
    spec: PageSpec,
    limit: int | None,
    offset: int | None,
    *,
    total: int | None = None,
    after: str | None = None,
) -> Page[Any]:
    """Run `stmt` (already ordered, ending with a unique column) for one page, plus the total
    count after filters. `after` (a cursor of this list) starts the page just beyond that row.

    A caller that already knows the total (a maintained counter) passes it and saves a count.
    """
    limit, offset = spec.clamp(limit, offset)
    keys = order_keys(stmt)
    if total is None:
        count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
        total = (await db.execute(count_stmt)).scalar_one()
    if after is not None:
        if offset:
            raise Invalid("give either offset or after, not both")
        stmt = stmt.where(after_clause(after, keys))
    rows = list((await db.execute(stmt.limit(limit + 1).offset(offset))).scalars())
    items = rows[:limit]
    return Page(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        has_next=len(rows) > limit,
        rows=items,
        keys=keys,
    )


async def page_per_parent(
    db: AsyncSession,
    entity: Any,
    parent: Any,
    parents: Sequence[Any],
    order_by: Sequence[Any],
    spec: PageSpec,
    limit: int | None,
    offset: int | None,
    *where: Any,
    after: str | None = None,
    from_end: bool = False,
    omit: Sequence[Any] = (),
    link: Any = None,
) -> dict[Any, Page[Any]]:
    """One page of rows for each of many parents, in one statement (a window per parent).

    What a DataLoader behind a one-to-many edge needs: the page size holds per parent, and
    the statement count stays one however many parents the request touches. `after` is a
    cursor of one parent's list (the loader groups parents by their arguments); `from_end`
    takes each list's last `limit` rows instead (still in the list's order). Each page's
    `total` is -1: counting is left to `count_per_parent`, for the requests that ask.

    Rows are plain result rows (attribute access by column name), not ORM instances: a
    dashboard reads a thousand of them per request only to build its types, and building
    ORM instances cost more than the query. `omit` leaves heavy columns nobody listed reads
    (a prediction's context snapshot) in the database. For a many-to-many edge `parent` is a
    column of the link table and `link` joins that table to `entity`; each row then also
    carries its parent key (a fact citing two episodes is a row in each episode's page).
    """
    limit, offset = spec.clamp(limit, offset)
    keys = order_keys(sa.select(entity).order_by(*order_by))
    if after is not None:
        if offset:
            raise Invalid("give either offset or after, not both")
        where = (*where, after_clause(after, keys))
    source = entity.__table__
    if link is not None:
        source = source.join(parent.expression.table, link)
    grouped: dict[Any, list[Any]] = {key: [] for key in parents}
    if parents and limit:
        ranking = [(column, not descending) for column, descending in keys] if from_end else keys
        fetch = _lateral if db.bind.dialect.name == "postgresql" else _windowed
        skipped = {column.key for column in omit}
        columns = [column for column in entity.__table__.c if column.key not in skipped]
        if link is not None:
            columns.append(parent)
        rows = await fetch(
            db, source, columns, parent, list(grouped), ranking, offset, limit, where
        )
        for item in rows:
            grouped[getattr(item, parent.key)].append(item)
    if from_end:  # ranked from the end: keep the last `limit`, in the list's own order
        grouped = {key: items[: limit + 1][::-1] for key, items in grouped.items()}
        return {
            key: Page(
                items=items[-limit:] if limit else [],
                total=-1,
                limit=limit,
                offset=offset,
                has_next=False,
                rows=items[-limit:] if limit else [],
                keys=keys,
                has_previous=len(items) > limit,
            )
            for key, items in grouped.items()
        }
    return {
        key: Page(
            items=items[:limit],
            total=-1,
            limit=limit,
            offset=offset,
            has_next=len(items) > limit,
            rows=items[:limit],
            keys=keys,
        )
        for key, items in grouped.items()
    }


def _ordered(column: Any, descending: bool) -> Any:
    return column.desc() if descending else column.asc()


async def _lateral(
    db: AsyncSession,
    source: Any,
    columns: Sequence[Any],
    parent: Any,
    parents: list[Any],
    ranking: Sequence[Key],
    offset: int,
    limit: int,
    where: Sequence[Any],
) -> Sequence[Any]:
    """PostgreSQL: one LATERAL subquery per parent, each an index range scan that stops after
    `limit + 1` rows, however long the parent's list is.

    The parents arrive as one array parameter (`unnest`), not a VALUES list: the SQL text is
    then the same for any number of parents, so SQLAlchemy compiles it once and psycopg
    prepares it on the server (a VALUES list cost a fresh compile per request)."""
    given = (
        sa.func.unnest(sa.bindparam("parents", parents, type_=ARRAY(parent.type)))
        .table_valued(sa.column("parent", parent.type))
        .render_derived(name="parents")
    )
    page = (
        sa.select(*columns)
        .select_from(source)
        .where(parent == given.c.parent, *where)
        .order_by(*(_ordered(column, descending) for column, descending in ranking))
        .offset(offset)
        .limit(limit + 1)
        .lateral("page")
    )
    stmt = (
        sa.select(*page.c)
        .select_from(given)
        .join(page, sa.true())
        .order_by(
            page.c[parent.key],
            *(_ordered(page.c[column.key], descending) for column, descending in ranking),
        )
    )
    return (await db.execute(stmt)).all()


async def _windowed(
    db: AsyncSession,
    source: Any,
    columns: Sequence[Any],
    parent: Any,
    parents: list[Any],
    ranking: Sequence[Key],
    offset: int,
    limit: int,
    where: Sequence[Any],
) -> Sequence[Any]:
    """SQLite (no LATERAL): rank every row of the parents on the key alone, then fetch only
    the rows kept."""
    order = [_ordered(column, descending) for column, descending in ranking]
    position = sa.func.row_number().over(partition_by=parent, order_by=order).label("position")
    (key,) = columns[0].table.primary_key.columns
    ranked = (
        sa.select(key, parent, position)
        .select_from(source)
        .where(parent.in_(parents), *where)
        .subquery()
    )
    # A linked row's parent comes from the ranking (the link table is not joined again).
    kept = [ranked.c[parent.key] if column is parent else column for column in columns]
    stmt = (
        sa.select(*kept)
        .join(ranked, ranked.c[key.key] == key)
        .where(ranked.c.position > offset, ranked.c.position <= offset + limit + 1)
        .order_by(ranked.c[parent.key], ranked.c.position)
    )
    return (await db.execute(stmt)).all()


async def count_per_parent(
    db: AsyncSession, parent: Any, parents: Sequence[Any], *where: Any
) -> dict[Any, int]:
    """How many rows each parent's list holds (after its filters), in one GROUP BY."""
    counts: dict[Any, int] = dict.fromkeys(parents, 0)
    if parents:
        rows = await db.execute(
            sa.select(parent, sa.func.count())
            .where(parent.in_(list(counts)), *where)
            .group_by(parent)
        )
        counts.update({key: count for key, count in rows})
    return counts

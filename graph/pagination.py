"""Bounded limit/offset pages shared by every list operation, REST and GraphQL alike."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.errors import Invalid

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
    items: Sequence[T]
    total: int
    limit: int
    offset: int


async def paginate(
    db: AsyncSession,
    stmt: sa.Select[Any],
    spec: PageSpec,
    limit: int | None,
    offset: int | None,
    *,
    total: int | None = None,
) -> Page[Any]:
    """Run `stmt` (already ordered) for one page, plus the total count after filters.

    A caller that already knows the total (a maintained counter) passes it and saves a count.
    """
    limit, offset = spec.clamp(limit, offset)
    if total is None:
        count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
        total = (await db.execute(count_stmt)).scalar_one()
    items = (await db.execute(stmt.limit(limit).offset(offset))).scalars().all() if limit else []
    return Page(items=items, total=total, limit=limit, offset=offset)


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
) -> dict[Any, list[Any]]:
    """One page of rows for each of many parents, in one statement (a window per parent).

    What a DataLoader behind a one-to-many edge needs: the page size holds per parent, and
    the statement count stays one however many parents the request touches.
    """
    limit, offset = spec.clamp(limit, offset)
    grouped: dict[Any, list[Any]] = {key: [] for key in parents}
    if not parents or not limit:
        return grouped
    position = sa.func.row_number().over(partition_by=parent, order_by=order_by).label("position")
    ranked = sa.select(entity, position).where(parent.in_(list(grouped)), *where).subquery()
    row = aliased(entity, ranked)
    rows = await db.execute(
        sa.select(row)
        .where(ranked.c.position > offset, ranked.c.position <= offset + limit)
        .order_by(ranked.c[parent.key], ranked.c.position)
    )
    for item in rows.scalars():
        grouped[getattr(item, parent.key)].append(item)
    return grouped

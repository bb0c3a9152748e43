"""Bounded limit/offset pages shared by every list operation, REST and GraphQL alike."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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

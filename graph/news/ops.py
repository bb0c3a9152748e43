"""News domain: short product announcements, public to read, written by staff (SPEC §7).

News items belong to no user: every read is public, every write needs a staff account (403
for anyone else). Lists are newest first by `published_at` (ties by id), served backwards by
the `(published_at, id)` index.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Forbidden, Invalid, NotFound
from graph import validate as v
from graph.ids import try_uuid
from graph.pagination import Page, PageSpec, paginate
from models.accounts import User
from models.news import NewsItem
from models.types import utcnow

NEWS_PAGE = PageSpec(default=20, maximum=100)
TITLE_MAX_LENGTH = 300
URL_MAX_LENGTH = 2000
SUMMARY_MAX_LENGTH = 20_000
NEWS_FIELDS = {"title", "url", "summary", "tags", "published_at"}
URL_SCHEMES = ("http", "https")


def require_staff(actor: User | None) -> User:
    """Writes are for staff: anyone else authenticated gets a 403 (anonymous is the face's 401)."""
    if actor is None or not actor.is_staff:
        raise Forbidden("staff only: news is written by the Clone team")
    return actor


# --- field checks -----------------------------------------------------------------------------


def _title(value: object) -> str:
    if value is None:
        raise Invalid("title is required")
    return v.text(value, "title", max_length=TITLE_MAX_LENGTH, required=True).strip()


def _url(value: object) -> str | None:
    """An absolute http(s) URL, or null; no spaces or control characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("url must be a string or null")
    if len(value) > URL_MAX_LENGTH:
        raise Invalid(f"url must be at most {URL_MAX_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value):
        raise Invalid("url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise Invalid(f"url is not a valid URL: {value!r}") from None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise Invalid("url must be an absolute http:// or https:// URL")
    return value


def _summary(value: object) -> str:
    return v.text(value, "summary", max_length=SUMMARY_MAX_LENGTH)


def _apply(item: NewsItem, data: Mapping[str, Any]) -> None:
    if "title" in data:
        item.title = _title(data["title"])
    if "url" in data:
        item.url = _url(data["url"])
    if "summary" in data:
        item.summary = _summary(data["summary"])
    if "tags" in data:
        item.tags = v.tags(data["tags"])
    if "published_at" in data:
        if data["published_at"] is None:
            raise Invalid("published_at must be an ISO-8601 datetime string")
        item.published_at = v.timestamp(data["published_at"], "published_at")


# --- reading ----------------------------------------------------------------------------------


async def list_news(
    db: AsyncSession,
    *,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[NewsItem]:
    """Public: every item, newest first."""
    stmt = sa.select(NewsItem).order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
    return await paginate(db, stmt, NEWS_PAGE, limit, offset, after=after)


async def get_news(db: AsyncSession, news_id: uuid.UUID | str) -> NewsItem:
    """Public: one item; an unknown or malformed id is a 404."""
    parsed = try_uuid(news_id)
    item = await db.get(NewsItem, parsed) if parsed is not None else None
    if item is None:
        raise NotFound("news item not found")
    return item


async def news_by_ids(db: AsyncSession, news_ids: Sequence[object]) -> dict[object, NewsItem]:
    """The items among `news_ids` in one query (the node loader), keyed as given."""
    parsed = {key: value for key in news_ids if (value := try_uuid(key)) is not None}
    if not parsed:
        return {}
    rows = (
        await db.execute(sa.select(NewsItem).where(NewsItem.id.in_(set(parsed.values()))))
    ).scalars()
    by_uuid = {row.id: row for row in rows}
    return {key: by_uuid[value] for key, value in parsed.items() if value in by_uuid}


# --- writing (staff) --------------------------------------------------------------------------


async def create_news(db: AsyncSession, actor: User | None, data: Mapping[str, Any]) -> NewsItem:
    """`title` required; `url`, `summary`, `tags` optional; `published_at` defaults to now."""
    require_staff(actor)
    v.check_fields(data, NEWS_FIELDS, "a news item")
    now = utcnow()
    fields = {**data, "title": data.get("title")}  # checked even when absent
    if fields.get("published_at") is None:
        fields.pop("published_at", None)  # null or absent: published now
    item = NewsItem(title="", published_at=now, created_at=now, updated_at=now)
    _apply(item, fields)
    db.add(item)
    await db.commit()
    return item


async def update_news(
    db: AsyncSession, actor: User | None, news_id: uuid.UUID | str, data: Mapping[str, Any]
) -> NewsItem:
    """Change the given fields only (PATCH); unknown fields are a 400."""
    require_staff(actor)
    v.check_fields(data, NEWS_FIELDS, "a news item")
    item = await get_news(db, news_id)
    _apply(item, data)
    item.updated_at = utcnow()
    await db.commit()
    return item


async def delete_news(db: AsyncSession, actor: User | None, news_id: uuid.UUID | str) -> None:
    require_staff(actor)
    item = await get_news(db, news_id)
    await db.delete(item)
    await db.commit()

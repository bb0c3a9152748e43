"""News in GraphQL: thin resolvers over `graph.news.ops` (public reads, staff writes)."""

import strawberry
from strawberry.scalars import JSON

from graph.connections import Connection, from_page
from graph.info import Info, or_none
from graph.news import ops
from graph.news.types import NewsItemType
from graph.validate import json_object


@strawberry.type
class NewsQuery:
    @strawberry.field(description="Announcements, newest first (public; limit 20, at most 100).")
    async def news(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[NewsItemType]:
        page = await ops.list_news(info.context.db, limit=first, after=after)
        return from_page(page, NewsItemType.from_row, after)

    @strawberry.field(description="One announcement by its UUID, or null (public).")
    async def news_item(self, info: Info, news_id: strawberry.ID) -> NewsItemType | None:
        item = await or_none(ops.get_news(info.context.db, news_id))
        return NewsItemType.from_row(item) if item else None


@strawberry.type
class NewsMutation:
    @strawberry.mutation(description="Staff: publish. `input` takes the REST fields.")
    async def create_news(self, info: Info, input: JSON) -> NewsItemType:
        ctx = info.context
        staff = await ctx.require_staff()
        item = await ops.create_news(ctx.db, staff, json_object(input, "input"))
        return NewsItemType.from_row(item)

    @strawberry.mutation(description="Staff: change the fields given in `input`.")
    async def update_news(self, info: Info, news_id: strawberry.ID, input: JSON) -> NewsItemType:
        ctx = info.context
        staff = await ctx.require_staff()
        item = await ops.update_news(ctx.db, staff, news_id, json_object(input, "input"))
        return NewsItemType.from_row(item)

    @strawberry.mutation(description="Staff: delete an announcement.")
    async def delete_news(self, info: Info, news_id: strawberry.ID) -> bool:
        ctx = info.context
        staff = await ctx.require_staff()
        await ops.delete_news(ctx.db, staff, news_id)
        return True

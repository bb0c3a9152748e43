"""GraphQL type of the news domain: one announcement, as a Relay node (public)."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from graph.info import Info
from graph.loaders import load_nodes
from graph.news import ops
from models.news import NewsItem


def news_loader(ctx: Any) -> DataLoader[str, NewsItem | None]:
    """News is public: the loader needs no caller (unlike the owner-scoped `keyed_loader`)."""

    async def load(keys: list[str]) -> list[NewsItem | None]:
        found = await ops.news_by_ids(ctx.db, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


@strawberry.type(name="NewsItem", description="A product announcement.")
class NewsItemType(relay.Node):
    node_key: relay.NodeID[str]
    news_id: strawberry.ID = strawberry.field(description="The item's UUID, as REST shows it.")
    title: str
    url: str | None
    summary: str
    tags: list[str]
    published_at: datetime

    @classmethod
    def from_row(cls, item: NewsItem) -> "NewsItemType":
        return cls(
            node_key=str(item.id),
            news_id=strawberry.ID(str(item.id)),
            title=item.title,
            url=item.url,
            summary=item.summary,
            tags=list(item.tags),
            published_at=item.published_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["NewsItemType | None"]:
        return await load_nodes(info, news_loader, node_ids, cls.from_row)

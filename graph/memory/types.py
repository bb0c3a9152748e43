"""GraphQL types of the memory domain, with provenance edges in both directions.

Fact → episodes → raw memories → recorded event, and back (episode → facts, raw → episode);
every edge goes through a request-scoped DataLoader scoped to the caller.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway.jsonio import jsonable
from graph.connections import Connection, child_connection
from graph.ids import uuids_or_no_row
from graph.info import Info
from graph.loaders import grouped_loader, keyed_loader, load_nodes
from graph.memory import ops
from graph.memory.shapes import context_json
from models.memory import EpisodicMemory, RawMemory, SemanticMemory, UserProfile

if TYPE_CHECKING:
    from graph.recording.types import Event


def raw_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.raw_by_ids)


def episode_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.episodes_by_ids)


def fact_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.facts_by_ids)


def episode_raw_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.raw_of_episodes)


def episode_raw_counts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.raw_counts_of_episodes)


def fact_episodes_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.episodes_of_facts)


def fact_episode_counts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.episode_counts_of_facts)


def episode_facts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.facts_of_episodes)


def episode_fact_counts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.fact_counts_of_episodes)


def event_by_id_loader(ctx: Any) -> Any:
    from graph.recording import ops as recording_ops

    return keyed_loader(ctx, recording_ops.events_by_id)


@strawberry.type(name="RawMemory")
class RawMemoryType(relay.Node):
    node_key: relay.NodeID[str]
    raw_id: strawberry.ID
    source: str
    source_detail: str | None
    kind: str
    content: str
    payload: JSON
    occurred_at: datetime
    session_id: str | None
    recording_event_id: str | None
    episode_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: RawMemory) -> "RawMemoryType":
        return cls(
            node_key=str(row.id),
            raw_id=strawberry.ID(str(row.id)),
            source=row.source,
            source_detail=row.source_detail,
            kind=row.kind,
            content=row.content,
            payload=row.payload,
            occurred_at=row.occurred_at,
            session_id=row.session_id,
            recording_event_id=row.recording_event_id,
            episode_id=strawberry.ID(str(row.episode_id)) if row.episode_id else None,
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["RawMemoryType | None"]:
        return await load_nodes(info, raw_loader, uuids_or_no_row(node_ids), cls.from_row)

    @strawberry.field(description="The episode that cites this row, if any.")
    async def episode(self, info: Info) -> "EpisodeType | None":
        if self.episode_id is None:
            return None
        row = await info.context.loader(episode_loader).load(uuid.UUID(self.episode_id))
        return EpisodeType.from_row(row) if row else None

    @strawberry.field(description="The recorded event this row was derived from, if any.")
    async def event(
        self, info: Info
    ) -> Annotated["Event", strawberry.lazy("graph.recording.types")] | None:
        if self.recording_event_id is None:
            return None
        from graph.recording.types import event_from_row

        row = await info.context.loader(event_by_id_loader).load(self.recording_event_id)
        return event_from_row(row) if row else None


@strawberry.type(name="Episode")
class EpisodeType(relay.Node):
    node_key: relay.NodeID[str]
    episode_id: strawberry.ID
    title: str
    summary: str
    started_at: datetime
    ended_at: datetime
    sources: list[str]
    tags: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: EpisodicMemory) -> "EpisodeType":
        return cls(
            node_key=str(row.id),
            episode_id=strawberry.ID(str(row.id)),
            title=row.title,
            summary=row.summary,
            started_at=row.started_at,
            ended_at=row.ended_at,
            sources=list(row.sources),
            tags=list(row.tags),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["EpisodeType | None"]:
        return await load_nodes(info, episode_loader, uuids_or_no_row(node_ids), cls.from_row)

    @strawberry.field(description="The raw memories this episode cites, oldest first.")
    async def raw_memories(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RawMemoryType]:
        return await child_connection(
            info,
            episode_raw_loader,
            episode_raw_counts_loader,
            uuid.UUID(self.episode_id),
            RawMemoryType.from_row,
            after=after,
            page_options=(("after", after), ("limit", first)),
        )

    @strawberry.field(description="The facts that cite this episode, most recently updated first.")
    async def facts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["FactType"]:
        return await child_connection(
            info,
            episode_facts_loader,
            episode_fact_counts_loader,
            uuid.UUID(self.episode_id),
            FactType.from_row,
            after=after,
            page_options=(("after", after), ("limit", first)),
        )


@strawberry.type(name="Fact")
class FactType(relay.Node):
    node_key: relay.NodeID[str]
    fact_id: strawberry.ID
    text: str
    kind: str
    importance: float
    confidence: float
    tags: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SemanticMemory) -> "FactType":
        return cls(
            node_key=str(row.id),
            fact_id=strawberry.ID(str(row.id)),
            text=row.text,
            kind=row.kind,
            importance=row.importance,
            confidence=row.confidence,
            tags=list(row.tags),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["FactType | None"]:
        return await load_nodes(info, fact_loader, uuids_or_no_row(node_ids), cls.from_row)

    @strawberry.field(description="The episodes this fact cites, earliest first.")
    async def episodes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[EpisodeType]:
        return await child_connection(
            info,
            fact_episodes_loader,
            fact_episode_counts_loader,
            uuid.UUID(self.fact_id),
            EpisodeType.from_row,
            after=after,
            page_options=(("after", after), ("limit", first)),
        )


@strawberry.type(name="Profile")
class ProfileType:
    display_name: str
    summary: str
    attributes: JSON
    updated_at: datetime

    @classmethod
    def from_row(cls, row: UserProfile) -> "ProfileType":
        return cls(
            display_name=row.display_name,
            summary=row.summary,
            attributes=row.attributes,
            updated_at=row.updated_at,
        )


@strawberry.type
class ContextBundleType:
    profile: ProfileType | None
    facts: list[FactType]
    episodes: list[EpisodeType]
    raw: list[RawMemoryType]
    meta: JSON
    snapshot: JSON = strawberry.field(description="The bundle exactly as REST returns it.")

    @classmethod
    def from_bundle(cls, bundle: ops.ContextBundle) -> "ContextBundleType":
        snapshot = jsonable(context_json(bundle))
        return cls(
            profile=ProfileType.from_row(bundle.profile) if bundle.profile else None,
            facts=[FactType.from_row(view.fact) for view in bundle.facts],
            episodes=[EpisodeType.from_row(view.episode) for view in bundle.episodes],
            raw=[RawMemoryType.from_row(row) for row in bundle.raw],
            meta=snapshot["meta"],
            snapshot=snapshot,
        )


@strawberry.type
class MemoryStats:
    raw: int
    episodes: int
    facts: int
    facts_last_updated_at: datetime | None
    profile_exists: bool
    profile_updated_at: datetime | None


@strawberry.type
class SyncResultType:
    created: int
    skipped: int


@strawberry.type
class EpisodePromotionResult:
    episodes: list[EpisodeType]
    job_id: strawberry.ID | None


@strawberry.type
class FactPromotionResult:
    facts: list[FactType]
    job_id: strawberry.ID | None

"""Memory in GraphQL: thin resolvers over `graph.memory.ops` (promotion in `promote`)."""

from typing import Any

import strawberry
from strawberry.scalars import JSON

from gateway.errors import Invalid
from graph.connections import Connection, from_page
from graph.ids import parse_uuid
from graph.info import Info, or_none
from graph.memory import ops, promote
from graph.memory.types import (
    ContextBundleType,
    EpisodePromotionResult,
    EpisodeType,
    FactPromotionResult,
    FactType,
    MemoryStats,
    ProfileType,
    RawMemoryType,
    SyncResultType,
)
from graph.validate import timestamp


@strawberry.type
class MemoryQuery:
    @strawberry.field
    async def profile(self, info: Info) -> ProfileType | None:
        ctx = info.context
        row = await or_none(ops.get_profile(ctx.db, await ctx.require_reader()))
        return ProfileType.from_row(row) if row else None

    @strawberry.field(description="Facts, most recently updated first (filters as in REST).")
    async def facts(
        self,
        info: Info,
        kind: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        min_confidence: float | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FactType]:
        ctx = info.context
        page = await ops.list_facts(
            ctx.db,
            await ctx.require_reader(),
            kind=kind,
            tag=tag,
            q=q,
            min_confidence=min_confidence,
            limit=first,
            after=after,
        )
        return from_page(page, lambda view: FactType.from_row(view.fact), after)

    @strawberry.field
    async def fact(self, info: Info, fact_id: strawberry.ID) -> FactType | None:
        ctx = info.context
        view = await or_none(
            ops.get_fact(ctx.db, await ctx.require_reader(), parse_uuid(fact_id, "fact"))
        )
        return FactType.from_row(view.fact) if view else None

    @strawberry.field(description="Episodes, newest first (filters as in REST).")
    async def episodes(
        self,
        info: Info,
        since: str | None = None,
        until: str | None = None,
        tag: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EpisodeType]:
        ctx = info.context
        page = await ops.list_episodes(
            ctx.db,
            await ctx.require_reader(),
            since=timestamp(since, "since") if since else None,
            until=timestamp(until, "until") if until else None,
            tag=tag,
            limit=first,
            after=after,
        )
        return from_page(page, lambda view: EpisodeType.from_row(view.episode), after)

    @strawberry.field
    async def episode(self, info: Info, episode_id: strawberry.ID) -> EpisodeType | None:
        ctx = info.context
        view = await or_none(
            ops.get_episode(ctx.db, await ctx.require_reader(), parse_uuid(episode_id, "episode"))
        )
        return EpisodeType.from_row(view.episode) if view else None

    @strawberry.field(description="Raw memories, newest first (filters as in REST).")
    async def raw_memories(
        self,
        info: Info,
        source: str | None = None,
        session_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RawMemoryType]:
        ctx = info.context
        page = await ops.list_raw(
            ctx.db,
            await ctx.require_reader(),
            source=source,
            session_id=session_id,
            since=timestamp(since, "since") if since else None,
            until=timestamp(until, "until") if until else None,
            limit=first,
            after=after,
        )
        return from_page(page, RawMemoryType.from_row, after)

    @strawberry.field
    async def raw_memory(self, info: Info, raw_id: strawberry.ID) -> RawMemoryType | None:
        ctx = info.context
        row = await or_none(
            ops.get_raw(ctx.db, await ctx.require_reader(), parse_uuid(raw_id, "raw memory"))
        )
        return RawMemoryType.from_row(row) if row else None

    @strawberry.field(description="The bundle prediction uses (REST: POST memory/context/).")
    async def context_bundle(
        self,
        info: Info,
        goal: str | None = None,
        tags: list[str] | None = None,
        recency_minutes: int | None = None,
        max_facts: int | None = None,
        max_episodes: int | None = None,
        max_raw: int | None = None,
    ) -> ContextBundleType:
        ctx = info.context
        request = ops.ContextRequest.parse(
            {
                name: value
                for name, value in {
                    "goal": goal,
                    "tags": tags,
                    "recency_minutes": recency_minutes,
                    "max_facts": max_facts,
                    "max_episodes": max_episodes,
                    "max_raw": max_raw,
                }.items()
                if value is not None
            }
        )
        bundle = await ops.build_context(ctx.db, await ctx.require_reader(), request)
        return ContextBundleType.from_bundle(bundle)

    @strawberry.field
    async def memory_stats(self, info: Info) -> MemoryStats:
        ctx = info.context
        stats = await ops.stats(ctx.db, await ctx.require_reader())
        return MemoryStats(
            raw=stats["raw"],
            episodes=stats["episodes"],
            facts=stats["facts"]["count"],
            facts_last_updated_at=stats["facts"]["last_updated_at"],
            profile_exists=stats["profile"]["exists"],
            profile_updated_at=stats["profile"]["updated_at"],
        )


@strawberry.type
class MemoryMutation:
    @strawberry.mutation
    async def create_raw_memory(self, info: Info, input: JSON) -> RawMemoryType:
        ctx = info.context
        return RawMemoryType.from_row(
            await ops.create_raw(ctx.db, await ctx.require_user(), _object(input))
        )

    @strawberry.mutation
    async def delete_raw_memory(self, info: Info, raw_id: strawberry.ID) -> bool:
        ctx = info.context
        await ops.delete_raw(ctx.db, await ctx.require_user(), parse_uuid(raw_id, "raw memory"))
        return True

    @strawberry.mutation(description="`input` takes the REST fields: title, started_at, raw_ids…")
    async def create_episode(self, info: Info, input: JSON) -> EpisodeType:
        ctx = info.context
        view = await ops.create_episode(ctx.db, await ctx.require_user(), _object(input))
        return EpisodeType.from_row(view.episode)

    @strawberry.mutation
    async def update_episode(
        self, info: Info, episode_id: strawberry.ID, input: JSON
    ) -> EpisodeType:
        ctx = info.context
        view = await ops.update_episode(
            ctx.db, await ctx.require_user(), parse_uuid(episode_id, "episode"), _object(input)
        )
        return EpisodeType.from_row(view.episode)

    @strawberry.mutation
    async def delete_episode(self, info: Info, episode_id: strawberry.ID) -> bool:
        ctx = info.context
        await ops.delete_episode(
            ctx.db, await ctx.require_user(), parse_uuid(episode_id, "episode")
        )
        return True

    @strawberry.mutation
    async def create_fact(self, info: Info, input: JSON) -> FactType:
        ctx = info.context
        view = await ops.create_fact(ctx.db, await ctx.require_user(), _object(input))
        return FactType.from_row(view.fact)

    @strawberry.mutation
    async def update_fact(self, info: Info, fact_id: strawberry.ID, input: JSON) -> FactType:
        ctx = info.context
        view = await ops.update_fact(
            ctx.db, await ctx.require_user(), parse_uuid(fact_id, "fact"), _object(input)
        )
        return FactType.from_row(view.fact)

    @strawberry.mutation
    async def delete_fact(self, info: Info, fact_id: strawberry.ID) -> bool:
        ctx = info.context
        await ops.delete_fact(ctx.db, await ctx.require_user(), parse_uuid(fact_id, "fact"))
        return True

    @strawberry.mutation(description="Create or merge the profile (attributes keys merge).")
    async def upsert_profile(self, info: Info, input: JSON) -> ProfileType:
        ctx = info.context
        row, _ = await ops.upsert_profile(ctx.db, await ctx.require_user(), _object(input))
        return ProfileType.from_row(row)

    @strawberry.mutation
    async def delete_profile(self, info: Info) -> bool:
        ctx = info.context
        await ops.delete_profile(ctx.db, await ctx.require_user())
        return True

    @strawberry.mutation(description="Derive raw memories from recorded events (idempotent).")
    async def sync_memory(self, info: Info) -> SyncResultType:
        ctx = info.context
        result = await ops.sync_from_recording(ctx.db, await ctx.require_user())
        return SyncResultType(created=result.created, skipped=result.skipped)

    @strawberry.mutation(description="LLM: group recent raw rows into episodes citing them.")
    async def promote_episodes(
        self,
        info: Info,
        window_minutes: int | None = None,
        max_raw: int | None = None,
        model: str | None = None,
    ) -> EpisodePromotionResult:
        ctx = info.context
        result = await promote.promote_episodes(
            ctx.db,
            ctx.services,
            await ctx.require_user(),
            window_minutes=window_minutes,
            max_raw=max_raw,
            model=model,
        )
        return EpisodePromotionResult(
            episodes=[EpisodeType.from_row(view.episode) for view in result.episodes],
            job_id=strawberry.ID(str(result.job_id)) if result.job_id else None,
        )

    @strawberry.mutation(description="LLM: distil facts from recent episodes, citing them.")
    async def promote_facts(
        self,
        info: Info,
        window_minutes: int | None = None,
        max_episodes: int | None = None,
        model: str | None = None,
    ) -> FactPromotionResult:
        ctx = info.context
        result = await promote.promote_facts(
            ctx.db,
            ctx.services,
            await ctx.require_user(),
            window_minutes=window_minutes,
            max_episodes=max_episodes,
            model=model,
        )
        return FactPromotionResult(
            facts=[FactType.from_row(view.fact) for view in result.facts],
            job_id=strawberry.ID(str(result.job_id)) if result.job_id else None,
        )


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("input must be a JSON object")
    return value

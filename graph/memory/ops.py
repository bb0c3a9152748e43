"""Memory domain: the four tiers (raw, episodes, facts, profile), their provenance, the context
bundle that feeds prediction, and sync from the recording stream.

Every operation takes the acting user and filters by it; a cited id that is not the caller's is
refused exactly like a missing one.
"""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Invalid, NotFound
from graph import validate as v
from graph.memory.derive import describe_event
from graph.pagination import Page, PageSpec, count_per_parent, page_per_parent, paginate
from models.accounts import User
from models.db import fold_case, insert_for
from models.memory import (
    EpisodicMemory,
    FactEpisode,
    ForgottenEvent,
    RawMemory,
    SemanticMemory,
    UserProfile,
)
from models.recording import RecordingEvent
from models.types import UtcDateTime, utcnow

RAW_PAGE = PageSpec(default=50, maximum=200)
EPISODES_PAGE = PageSpec(default=50, maximum=200)
FACTS_PAGE = PageSpec(default=50, maximum=200)
TITLE_MAX, SUMMARY_MAX, FACT_TEXT_MAX, CONTENT_MAX = 300, 20_000, 2_000, 100_000
KIND_MAX, SESSION_ID_MAX, DETAIL_MAX = 64, 200, 500
SYNC_CHUNK = 2000


# --- filters shared by lists and the context bundle ---------------------------------------------


def json_array_contains(db: AsyncSession, column: Any, value: str) -> Any:
    """`value` is one of the strings in the JSON array `column` (an exact tag match)."""
    if db.bind.dialect.name == "postgresql":
        return column.op("@>")(sa.func.jsonb_build_array(value))
    each = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == value))


def any_tag(db: AsyncSession, column: Any, wanted: Sequence[str]) -> Any:
    return sa.or_(*(json_array_contains(db, column, tag) for tag in wanted))


# --- raw --------------------------------------------------------------------------------------

RAW_FIELDS = {"source", "source_detail", "kind", "content", "payload", "occurred_at", "session_id"}


async def list_raw(
    db: AsyncSession,
    user: User,
    *,
    source: str | None = None,
    session_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[RawMemory]:
    """Newest first; `since`/`until` bound `occurred_at` (inclusive)."""
    v.check_window(since, until)
    stmt = sa.select(RawMemory).where(RawMemory.user_id == user.id)
    if source is not None:
        stmt = stmt.where(RawMemory.source == v.choice(source, "source", v.SOURCES))
    if session_id is not None:
        stmt = stmt.where(RawMemory.session_id == session_id)
    if since is not None:
        stmt = stmt.where(RawMemory.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(RawMemory.occurred_at <= until)
    stmt = stmt.order_by(RawMemory.occurred_at.desc(), RawMemory.id.desc())
    return await paginate(db, stmt, RAW_PAGE, limit, offset, after=after)


async def create_raw(db: AsyncSession, user: User, data: Mapping[str, Any]) -> RawMemory:
    v.check_fields(data, RAW_FIELDS, "a raw memory")
    row = RawMemory(
        user_id=user.id,
        source=v.choice(data.get("source"), "source", v.SOURCES),
        source_detail=v.optional_text(
            data.get("source_detail"), "source_detail", max_length=DETAIL_MAX
        ),
        kind=v.text(data.get("kind"), "kind", max_length=KIND_MAX, required=True),
        content=v.text(data.get("content"), "content", max_length=CONTENT_MAX),
        payload=v.json_object(data.get("payload"), "payload"),
        occurred_at=v.timestamp(data["occurred_at"], "occurred_at")
        if data.get("occurred_at") is not None
        else utcnow(),
        session_id=v.optional_text(data.get("session_id"), "session_id", max_length=SESSION_ID_MAX),
    )
    db.add(row)
    await db.commit()
    return row


async def get_raw(db: AsyncSession, user: User, raw_id: uuid.UUID) -> RawMemory:
    row = await db.get(RawMemory, raw_id)
    if row is None or row.user_id != user.id:
        raise NotFound("raw memory not found")
    return row


async def delete_raw(db: AsyncSession, user: User, raw_id: uuid.UUID) -> None:
    """Delete a memory for good: one derived from a recorded event is not re-derived by sync."""
    row = await get_raw(db, user, raw_id)
    if row.recording_event_id is not None:
        forget = insert_for(db)(ForgottenEvent).on_conflict_do_nothing()
        await db.execute(
            forget, [{"user_id": user.id, "recording_event_id": row.recording_event_id}]
        )
    await db.delete(row)
    await db.commit()


async def raw_by_ids(
    db: AsyncSession, user: User, raw_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RawMemory]:
    rows = await db.execute(
        sa.select(RawMemory).where(RawMemory.id.in_(list(raw_ids)), RawMemory.user_id == user.id)
    )
    return {row.id: row for row in rows.scalars()}


EPISODE_RAW_PAGE = PageSpec(default=50, maximum=500)
EPISODE_RAW_ORDER = (RawMemory.occurred_at, RawMemory.id)


async def raw_of_episodes(
    db: AsyncSession,
    user: User,
    episode_ids: Sequence[uuid.UUID],
    *,
    limit: int | None,
    after: str | None = None,
) -> dict[uuid.UUID, Page[RawMemory]]:
    """One page (oldest first) of the raw rows each episode cites, in one statement."""
    return await page_per_parent(
        db,
        RawMemory,
        RawMemory.episode_id,
        episode_ids,
        EPISODE_RAW_ORDER,
        EPISODE_RAW_PAGE,
        limit,
        None,
        RawMemory.user_id == user.id,
        after=after,
    )


async def raw_counts_of_episodes(
    db: AsyncSession, user: User, episode_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await count_per_parent(
        db, RawMemory.episode_id, episode_ids, RawMemory.user_id == user.id
    )


# --- episodes ---------------------------------------------------------------------------------

EPISODE_FIELDS = {"title", "summary", "started_at", "ended_at", "sources", "tags", "raw_ids"}


@dataclass
class EpisodeView:
    """An episode with the ids of the raw rows it cites."""

    episode: EpisodicMemory
    raw_ids: list[uuid.UUID] = field(default_factory=list)


# Raw rows are reached through their (owner-checked) episode: filtering raw rows by user as well
# leads SQLite's planner to walk all of the user's rows by time (40 ms at 100,000 rows).


async def episode_views(
    db: AsyncSession, user: User, episodes: Sequence[EpisodicMemory]
) -> list[EpisodeView]:
    if not episodes:
        return []
    rows = await db.execute(
        sa.select(RawMemory.episode_id, RawMemory.id)
        .join(EpisodicMemory, EpisodicMemory.id == RawMemory.episode_id)
        .where(EpisodicMemory.id.in_([e.id for e in episodes]), EpisodicMemory.user_id == user.id)
        .order_by(RawMemory.occurred_at, RawMemory.id)
    )
    cited: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for episode_id, raw_id in rows:
        cited[episode_id].append(raw_id)
    return [EpisodeView(episode, cited.get(episode.id, [])) for episode in episodes]


async def list_episodes(
    db: AsyncSession,
    user: User,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tag: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[EpisodeView]:
    """Newest first; `since`/`until` keep episodes whose time span overlaps the window."""
    v.check_window(since, until)
    stmt = sa.select(EpisodicMemory).where(EpisodicMemory.user_id == user.id)
    if since is not None:
        stmt = stmt.where(EpisodicMemory.ended_at >= since)
    if until is not None:
        stmt = stmt.where(EpisodicMemory.started_at <= until)
    if tag is not None:
        stmt = stmt.where(json_array_contains(db, EpisodicMemory.tags, v.no_nul(tag, "tag")))
    stmt = stmt.order_by(EpisodicMemory.ended_at.desc(), EpisodicMemory.id.desc())
    page = await paginate(db, stmt, EPISODES_PAGE, limit, offset, after=after)
    return page.with_items(await episode_views(db, user, page.items))


async def _own_episode(db: AsyncSession, user: User, episode_id: uuid.UUID) -> EpisodicMemory:
    episode = await db.get(EpisodicMemory, episode_id)
    if episode is None or episode.user_id != user.id:
        raise NotFound("episode not found")
    return episode


async def get_episode(db: AsyncSession, user: User, episode_id: uuid.UUID) -> EpisodeView:
    return (await episode_views(db, user, [await _own_episode(db, user, episode_id)]))[0]


async def _link_raw(
    db: AsyncSession, user: User, episode_id: uuid.UUID, raw_ids: list[uuid.UUID]
) -> None:
    """Make exactly `raw_ids` cite this episode; every id must be one of the caller's rows."""
    found = await raw_by_ids(db, user, raw_ids)
    missing = [str(raw_id) for raw_id in raw_ids if raw_id not in found]
    if missing:
        raise Invalid(f"raw_ids: unknown raw memory id(s) {', '.join(missing)}")
    await db.execute(
        sa.update(RawMemory)
        .where(RawMemory.user_id == user.id, RawMemory.episode_id == episode_id)
        .where(RawMemory.id.not_in(raw_ids) if raw_ids else sa.true())
        .values(episode_id=None)
    )
    if raw_ids:
        await db.execute(
            sa.update(RawMemory)
            .where(RawMemory.user_id == user.id, RawMemory.id.in_(raw_ids))
            .values(episode_id=episode_id)
        )


def _apply_episode_fields(episode: EpisodicMemory, data: Mapping[str, Any]) -> None:
    if "title" in data:
        episode.title = v.text(data["title"], "title", max_length=TITLE_MAX, required=True)
    if "summary" in data:
        episode.summary = v.text(data["summary"], "summary", max_length=SUMMARY_MAX)
    if "started_at" in data:
        episode.started_at = v.timestamp(data["started_at"], "started_at")
    if "ended_at" in data:
        episode.ended_at = v.timestamp(data["ended_at"], "ended_at")
    if "sources" in data:
        episode.sources = v.strings(data["sources"], "sources")
    if "tags" in data:
        episode.tags = v.tags(data["tags"])
    if episode.started_at > episode.ended_at:
        raise Invalid("started_at must not be later than ended_at")


async def create_episode(db: AsyncSession, user: User, data: Mapping[str, Any]) -> EpisodeView:
    v.check_fields(data, EPISODE_FIELDS, "an episode")
    for required in ("title", "started_at", "ended_at"):
        if data.get(required) is None:
            raise Invalid(f"{required} is required")
    now = utcnow()
    episode = EpisodicMemory(
        user_id=user.id, title="", started_at=now, ended_at=now, created_at=now, updated_at=now
    )
    _apply_episode_fields(episode, data)
    db.add(episode)
    await db.flush()
    raw_ids = v.uuids(data.get("raw_ids"), "raw_ids")
    await _link_raw(db, user, episode.id, raw_ids)
    if "sources" not in data and raw_ids:  # default: where the cited rows came from
        cited = await raw_by_ids(db, user, raw_ids)
        episode.sources = sorted({row.source_detail or row.source for row in cited.values()})
    await db.commit()
    return await get_episode(db, user, episode.id)


async def update_episode(
    db: AsyncSession, user: User, episode_id: uuid.UUID, data: Mapping[str, Any]
) -> EpisodeView:
    v.check_fields(data, EPISODE_FIELDS, "an episode")
    episode = await _own_episode(db, user, episode_id)
    _apply_episode_fields(episode, data)
    episode.updated_at = utcnow()
    if "raw_ids" in data:
        await _link_raw(db, user, episode.id, v.uuids(data["raw_ids"], "raw_ids"))
    await db.commit()
    return await get_episode(db, user, episode.id)


async def delete_episode(db: AsyncSession, user: User, episode_id: uuid.UUID) -> None:
    """The cited raw rows stay (their episode_id becomes null); fact citations go."""
    episode = await _own_episode(db, user, episode_id)
    await db.execute(
        sa.update(RawMemory)
        .where(RawMemory.user_id == user.id, RawMemory.episode_id == episode.id)
        .values(episode_id=None)
    )
    await db.execute(sa.delete(FactEpisode).where(FactEpisode.episode_id == episode.id))
    await db.delete(episode)
    await db.commit()


async def episodes_by_ids(
    db: AsyncSession, user: User, episode_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EpisodicMemory]:
    rows = await db.execute(
        sa.select(EpisodicMemory).where(
            EpisodicMemory.id.in_(list(episode_ids)), EpisodicMemory.user_id == user.id
        )
    )
    return {row.id: row for row in rows.scalars()}


# Provenance between facts and episodes, paged per parent through the citation table.
CITATIONS_PAGE = PageSpec(default=50, maximum=200)
CITED_EPISODES_ORDER = (EpisodicMemory.started_at, EpisodicMemory.id)
CITING_FACTS_ORDER = (SemanticMemory.updated_at.desc(), SemanticMemory.id)


async def episodes_of_facts(
    db: AsyncSession,
    user: User,
    fact_ids: Sequence[uuid.UUID],
    *,
    limit: int | None,
    after: str | None = None,
) -> dict[uuid.UUID, Page[EpisodicMemory]]:
    """One page (earliest first) of the episodes each fact cites, in one statement."""
    return await page_per_parent(
        db,
        EpisodicMemory,
        FactEpisode.fact_id,
        fact_ids,
        CITED_EPISODES_ORDER,
        CITATIONS_PAGE,
        limit,
        None,
        EpisodicMemory.user_id == user.id,
        after=after,
        link=FactEpisode.episode_id == EpisodicMemory.id,
    )


async def episode_counts_of_facts(
    db: AsyncSession, user: User, fact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await count_per_parent(
        db,
        FactEpisode.fact_id,
        fact_ids,
        FactEpisode.episode_id == EpisodicMemory.id,
        EpisodicMemory.user_id == user.id,
    )


async def facts_of_episodes(
    db: AsyncSession,
    user: User,
    episode_ids: Sequence[uuid.UUID],
    *,
    limit: int | None,
    after: str | None = None,
) -> dict[uuid.UUID, Page[SemanticMemory]]:
    """One page (most recently updated first) of the facts citing each episode."""
    return await page_per_parent(
        db,
        SemanticMemory,
        FactEpisode.episode_id,
        episode_ids,
        CITING_FACTS_ORDER,
        CITATIONS_PAGE,
        limit,
        None,
        SemanticMemory.user_id == user.id,
        after=after,
        link=FactEpisode.fact_id == SemanticMemory.id,
    )


async def fact_counts_of_episodes(
    db: AsyncSession, user: User, episode_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await count_per_parent(
        db,
        FactEpisode.episode_id,
        episode_ids,
        FactEpisode.fact_id == SemanticMemory.id,
        SemanticMemory.user_id == user.id,
    )


# --- facts ------------------------------------------------------------------------------------

FACT_FIELDS = {"text", "kind", "importance", "confidence", "tags", "episode_ids"}


@dataclass
class FactView:
    """A fact with the ids of the episodes it cites."""

    fact: SemanticMemory
    episode_ids: list[uuid.UUID] = field(default_factory=list)


async def fact_views(db: AsyncSession, facts: Sequence[SemanticMemory]) -> list[FactView]:
    if not facts:
        return []
    rows = await db.execute(
        sa.select(FactEpisode.fact_id, FactEpisode.episode_id)
        .where(FactEpisode.fact_id.in_([f.id for f in facts]))
        .order_by(FactEpisode.episode_id)
    )
    cited: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for fact_id, episode_id in rows:
        cited[fact_id].append(episode_id)
    return [FactView(fact, cited.get(fact.id, [])) for fact in facts]


def _fact_filters(
    db: AsyncSession,
    user: User,
    *,
    kind: str | None = None,
    tags: Sequence[str] | None = None,
    q: str | None = None,
    min_confidence: float | None = None,
) -> list[Any]:
    conditions: list[Any] = [SemanticMemory.user_id == user.id]
    if kind is not None:
        conditions.append(SemanticMemory.kind == v.choice(kind, "kind", v.FACT_KINDS))
    if tags:
        conditions.append(any_tag(db, SemanticMemory.tags, tags))
    if q:
        needle = v.no_nul(q, "q").casefold() if db.bind.dialect.name == "sqlite" else q.lower()
        conditions.append(fold_case(db, SemanticMemory.text).contains(needle, autoescape=True))
    if min_confidence is not None:
        conditions.append(
            SemanticMemory.confidence >= v.unit_interval(min_confidence, "min_confidence")
        )
    return conditions


async def list_facts(
    db: AsyncSession,
    user: User,
    *,
    kind: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    min_confidence: float | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[FactView]:
    """Most recently updated first."""
    stmt = (
        sa.select(SemanticMemory)
        .where(
            *_fact_filters(
                db, user, kind=kind, tags=[tag] if tag else None, q=q, min_confidence=min_confidence
            )
        )
        .order_by(SemanticMemory.updated_at.desc(), SemanticMemory.id.desc())
    )
    page = await paginate(db, stmt, FACTS_PAGE, limit, offset, after=after)
    return page.with_items(await fact_views(db, page.items))


async def _own_fact(db: AsyncSession, user: User, fact_id: uuid.UUID) -> SemanticMemory:
    fact = await db.get(SemanticMemory, fact_id)
    if fact is None or fact.user_id != user.id:
        raise NotFound("fact not found")
    return fact


async def get_fact(db: AsyncSession, user: User, fact_id: uuid.UUID) -> FactView:
    return (await fact_views(db, [await _own_fact(db, user, fact_id)]))[0]


async def _cite_episodes(
    db: AsyncSession, user: User, fact_id: uuid.UUID, episode_ids: list[uuid.UUID], *, replace: bool
) -> None:
    found = await episodes_by_ids(db, user, episode_ids)
    missing = [str(episode_id) for episode_id in episode_ids if episode_id not in found]
    if missing:
        raise Invalid(f"episode_ids: unknown episode id(s) {', '.join(missing)}")
    if replace:
        await db.execute(sa.delete(FactEpisode).where(FactEpisode.fact_id == fact_id))
    if episode_ids:
        insert = insert_for(db)(FactEpisode).on_conflict_do_nothing()
        await db.execute(insert, [{"fact_id": fact_id, "episode_id": e} for e in episode_ids])


def _apply_fact_fields(fact: SemanticMemory, data: Mapping[str, Any]) -> None:
    if "text" in data:
        fact.text = v.text(data["text"], "text", max_length=FACT_TEXT_MAX, required=True)
        fact.normalized_text = v.normalize_fact_text(fact.text)
    if "kind" in data:
        fact.kind = v.choice(data["kind"], "kind", v.FACT_KINDS)
    if "importance" in data:
        fact.importance = v.unit_interval(data["importance"], "importance")
    if "confidence" in data:
        fact.confidence = v.unit_interval(data["confidence"], "confidence")
    if "tags" in data:
        fact.tags = v.tags(data["tags"])


async def create_fact(db: AsyncSession, user: User, data: Mapping[str, Any]) -> FactView:
    v.check_fields(data, FACT_FIELDS, "a fact")
    if data.get("text") is None:
        raise Invalid("text is required")
    now = utcnow()
    fact = SemanticMemory(
        user_id=user.id, text="", normalized_text="", created_at=now, updated_at=now
    )
    _apply_fact_fields(fact, data)
    db.add(fact)
    await db.flush()
    await _cite_episodes(
        db, user, fact.id, v.uuids(data.get("episode_ids"), "episode_ids"), replace=False
    )
    await db.commit()
    return await get_fact(db, user, fact.id)


async def update_fact(
    db: AsyncSession, user: User, fact_id: uuid.UUID, data: Mapping[str, Any]
) -> FactView:
    v.check_fields(data, FACT_FIELDS, "a fact")
    fact = await _own_fact(db, user, fact_id)
    _apply_fact_fields(fact, data)
    fact.updated_at = utcnow()
    if "episode_ids" in data:
        await _cite_episodes(
            db, user, fact.id, v.uuids(data["episode_ids"], "episode_ids"), replace=True
        )
    await db.commit()
    return await get_fact(db, user, fact.id)


async def delete_fact(db: AsyncSession, user: User, fact_id: uuid.UUID) -> None:
    fact = await _own_fact(db, user, fact_id)
    await db.execute(sa.delete(FactEpisode).where(FactEpisode.fact_id == fact.id))
    await db.delete(fact)
    await db.commit()


# --- profile ----------------------------------------------------------------------------------

PROFILE_FIELDS = {"display_name", "summary", "attributes"}


async def get_profile(db: AsyncSession, user: User) -> UserProfile:
    profile = await db.get(UserProfile, user.id)
    if profile is None:
        raise NotFound("no profile yet")
    return profile


async def upsert_profile(
    db: AsyncSession, user: User, data: Mapping[str, Any]
) -> tuple[UserProfile, bool]:
    """Create or merge: given fields replace, `attributes` keys merge. (profile, created)."""
    v.check_fields(data, PROFILE_FIELDS, "the profile")
    profile = await db.get(UserProfile, user.id)
    created = profile is None
    if profile is None:
        profile = UserProfile(user_id=user.id, display_name=user.display_name)
        db.add(profile)
    if "display_name" in data:
        profile.display_name = v.text(data["display_name"], "display_name", max_length=150)
    if "summary" in data:
        profile.summary = v.text(data["summary"], "summary", max_length=SUMMARY_MAX)
    if "attributes" in data:
        profile.attributes = {
            **profile.attributes,
            **v.json_object(data["attributes"], "attributes"),
        }
    profile.updated_at = utcnow()
    await db.commit()
    return profile, created


async def delete_profile(db: AsyncSession, user: User) -> None:
    await db.delete(await get_profile(db, user))
    await db.commit()


# --- context bundle ---------------------------------------------------------------------------

RECENCY_DEFAULT, RECENCY_MIN, RECENCY_MAX = 60, 1, 10080
MAX_FACTS_DEFAULT, MAX_FACTS_LIMIT = 20, 100
MAX_EPISODES_DEFAULT, MAX_EPISODES_LIMIT = 10, 50
MAX_RAW_DEFAULT, MAX_RAW_LIMIT = 50, 500
CONTEXT_FIELDS = {"goal", "tags", "recency_minutes", "max_facts", "max_episodes", "max_raw"}


@dataclass(frozen=True)
class ContextRequest:
    goal: str | None = None
    tags: tuple[str, ...] = ()
    recency_minutes: int = RECENCY_DEFAULT
    max_facts: int = MAX_FACTS_DEFAULT
    max_episodes: int = MAX_EPISODES_DEFAULT
    max_raw: int = MAX_RAW_DEFAULT

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "ContextRequest":
        """Check a client's request (SPEC §5 ranges: out of range is a 400)."""
        v.check_fields(data, CONTEXT_FIELDS, "the context request")

        def number(name: str, default: int, low: int, high: int) -> int:
            value = data.get(name)
            return default if value is None else v.integer(value, name, low, high)

        goal = data.get("goal")
        return cls(
            goal=v.text(goal, "goal", max_length=500) or None if goal is not None else None,
            tags=tuple(v.tags(data.get("tags"))),
            recency_minutes=number("recency_minutes", RECENCY_DEFAULT, RECENCY_MIN, RECENCY_MAX),
            max_facts=number("max_facts", MAX_FACTS_DEFAULT, 1, MAX_FACTS_LIMIT),
            max_episodes=number("max_episodes", MAX_EPISODES_DEFAULT, 1, MAX_EPISODES_LIMIT),
            max_raw=number("max_raw", MAX_RAW_DEFAULT, 1, MAX_RAW_LIMIT),
        )


@dataclass
class ContextBundle:
    profile: UserProfile | None
    facts: list[FactView]
    episodes: list[EpisodeView]
    raw: list[RawMemory]
    meta: dict[str, Any]


async def _capped(
    db: AsyncSession, stmt: sa.Select[Any], cap: int, *, filtered: bool = False
) -> tuple[list[Any], int]:
    """Up to `cap` rows and the count before capping, in one query.

    When the rows come straight off an index in the list's order, the count is a scalar
    subquery evaluated once: a window count (`count(*) OVER ()`) would make the database carry
    every matching row, whole, through the window before the top `cap` could be picked (3.5 ms
    instead of 1 for a user's 5,000 facts). When a `filtered` condition (a substring, a tag)
    must be tested on every row anyway, the window tests it once where the subquery would test
    it twice."""
    if filtered:
        counted = stmt.add_columns(sa.func.count().over().label("total"))
    else:
        total = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
        counted = stmt.add_columns(total.scalar_subquery().label("total"))
    rows = (await db.execute(counted.limit(cap))).all()
    return [row[0] for row in rows], (rows[0].total if rows else 0)


async def build_context(
    db: AsyncSession, user: User, request: ContextRequest, *, now: datetime | None = None
) -> ContextBundle:
    """What prediction shows the model, in six queries whatever the memory size.

    Facts: filtered by `goal` (substring) and `tags` (any), ordered by importance * confidence.
    Episodes (ending inside the window) and raw rows (occurring inside it): newest first.
    """
    until = now or utcnow()
    since = until - timedelta(minutes=request.recency_minutes)
    conditions = _fact_filters(db, user, tags=request.tags, q=request.goal)
    facts, facts_total = await _capped(
        db,
        sa.select(SemanticMemory)
        .where(*conditions)
        .order_by(
            (SemanticMemory.importance * SemanticMemory.confidence).desc(),
            SemanticMemory.updated_at.desc(),
            SemanticMemory.id,
        ),
        request.max_facts,
        filtered=bool(request.goal or request.tags),
    )
    episodes, episodes_total = await _capped(
        db,
        sa.select(EpisodicMemory)
        .where(EpisodicMemory.user_id == user.id, EpisodicMemory.ended_at >= since)
        .order_by(EpisodicMemory.ended_at.desc(), EpisodicMemory.id.desc()),
        request.max_episodes,
    )
    raw, raw_total = await _capped(
        db,
        sa.select(RawMemory)
        .where(RawMemory.user_id == user.id, RawMemory.occurred_at >= since)
        .order_by(RawMemory.occurred_at.desc(), RawMemory.id.desc()),
        request.max_raw,
    )
    profile = await db.get(UserProfile, user.id)
    meta = {
        "window": {"since": since, "until": until, "recency_minutes": request.recency_minutes},
        "caps": {
            "max_facts": request.max_facts,
            "max_episodes": request.max_episodes,
            "max_raw": request.max_raw,
        },
        "counts": {"facts": facts_total, "episodes": episodes_total, "raw": raw_total},
        "goal": request.goal,
        "tags": list(request.tags),
    }
    return ContextBundle(
        profile=profile,
        facts=await fact_views(db, facts),
        episodes=await episode_views(db, user, episodes),
        raw=raw,
        meta=meta,
    )


# --- sync -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    created: int
    skipped: int


async def sync_from_recording(db: AsyncSession, user: User) -> SyncResult:
    """One RawMemory per recorded event not yet derived (nor deleted), in chunks of SYNC_CHUNK.

    Idempotent and safe under concurrent calls: a unique index on (user, recording event id)
    and ON CONFLICT DO NOTHING store each row once; each call counts only what it inserted.
    """
    created, last_seq = 0, 0
    insert = (
        insert_for(db)(RawMemory.__table__)
        .on_conflict_do_nothing(
            index_elements=["user_id", "recording_event_id"],
            index_where=RawMemory.recording_event_id.is_not(None),
        )
        .returning(RawMemory.id)
    )
    derived = sa.exists().where(
        RawMemory.user_id == user.id, RawMemory.recording_event_id == RecordingEvent.id
    )
    forgotten = sa.exists().where(
        ForgottenEvent.user_id == user.id, ForgottenEvent.recording_event_id == RecordingEvent.id
    )
    while True:
        events = (
            (
                await db.execute(
                    sa.select(RecordingEvent)
                    .where(
                        RecordingEvent.user_id == user.id,
                        RecordingEvent.seq > last_seq,
                        ~derived,
                        ~forgotten,
                    )
                    .order_by(RecordingEvent.seq)
                    .limit(SYNC_CHUNK)
                )
            )
            .scalars()
            .all()
        )
        if not events:
            break
        last_seq = events[-1].seq or last_seq
        now = utcnow()
        rows = []
        for event in events:
            payload = orjson.loads(event.payload)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "user_id": user.id,
                    "source": event.source,
                    "source_detail": event.source_detail,
                    "kind": event.type,
                    "content": describe_event(event.type, payload),
                    "payload": payload,
                    "occurred_at": event.occurred_at,
                    "session_id": event.session_id,
                    "recording_event_id": event.id,
                    "episode_id": None,
                    "created_at": now,
                }
            )
        created += len((await db.execute(insert, rows)).all())
        await db.commit()
    total = (
        await db.execute(sa.select(sa.func.count()).where(RecordingEvent.user_id == user.id))
    ).scalar_one()
    return SyncResult(created=created, skipped=total - created)


# --- stats and export ---------------------------------------------------------------------------


async def stats(db: AsyncSession, user: User) -> dict[str, Any]:
    def count(model: Any) -> Any:
        return sa.select(sa.func.count()).where(model.user_id == user.id).scalar_subquery()

    row = (
        await db.execute(
            sa.select(
                count(RawMemory).label("raw"),
                count(EpisodicMemory).label("episodes"),
                count(SemanticMemory).label("facts"),
                sa.type_coerce(
                    sa.select(sa.func.max(SemanticMemory.updated_at))
                    .where(SemanticMemory.user_id == user.id)
                    .scalar_subquery(),
                    UtcDateTime,
                ).label("facts_updated"),
            )
        )
    ).one()
    profile = await db.get(UserProfile, user.id)
    return {
        "raw": row.raw,
        "episodes": row.episodes,
        "facts": {"count": row.facts, "last_updated_at": row.facts_updated},
        "profile": {
            "exists": profile is not None,
            "updated_at": profile.updated_at if profile else None,
        },
    }


@dataclass
class Knowledge:
    """Everything Clone believes about the caller, for a person to read and correct."""

    profile: UserProfile | None
    facts: list[FactView]
    episodes: list[EpisodeView]
    episode_titles: dict[uuid.UUID, str]


async def knowledge(db: AsyncSession, user: User) -> Knowledge:
    facts = (
        (
            await db.execute(
                sa.select(SemanticMemory)
                .where(SemanticMemory.user_id == user.id)
                .order_by(
                    (SemanticMemory.importance * SemanticMemory.confidence).desc(),
                    SemanticMemory.id,
                )
            )
        )
        .scalars()
        .all()
    )
    episodes = (
        (
            await db.execute(
                sa.select(EpisodicMemory)
                .where(EpisodicMemory.user_id == user.id)
                .order_by(EpisodicMemory.started_at.desc(), EpisodicMemory.id)
            )
        )
        .scalars()
        .all()
    )
    return Knowledge(
        profile=await db.get(UserProfile, user.id),
        facts=await fact_views(db, facts),
        episodes=await episode_views(db, user, episodes),
        episode_titles={episode.id: episode.title for episode in episodes},
    )


async def facts_by_ids(
    db: AsyncSession, user: User, fact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SemanticMemory]:
    rows = await db.execute(
        sa.select(SemanticMemory).where(
            SemanticMemory.id.in_(list(fact_ids)), SemanticMemory.user_id == user.id
        )
    )
    return {row.id: row for row in rows.scalars()}

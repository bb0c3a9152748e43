"""LLM promotion: raw rows → episodes, episodes → facts, each result citing its sources.

The model's answer is cleaned, never trusted: ids it cites must be ones we sent (which are the
caller's), numbers are clamped into range, text is bounded, and a fact equal to an existing one
(normalized text) raises that fact's confidence instead of creating a twin.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.services import Services
from graph import validate as v
from graph.jobs.ops import record_model_call
from graph.memory.ops import (
    FACT_TEXT_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    EpisodeView,
    FactView,
    episode_views,
    fact_views,
)
from models.accounts import User
from models.db import insert_for
from models.memory import EpisodicMemory, FactEpisode, RawMemory, SemanticMemory
from models.types import utcnow

WINDOW_DEFAULT, WINDOW_MAX = 1440, 10080
EPISODE_RAW_DEFAULT, EPISODE_RAW_MAX = 200, 1000
FACT_EPISODES_DEFAULT, FACT_EPISODES_MAX = 50, 200
CONTENT_SENT_MAX = 500  # characters of each raw row's content shown to the model

EPISODES_TOOL = {
    "name": "submit_episodes",
    "description": "Submit the episodes that group the user's raw activity.",
    "input_schema": {
        "type": "object",
        "properties": {
            "episodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "started_at": {"type": "string", "format": "date-time"},
                        "ended_at": {"type": "string", "format": "date-time"},
                        "raw_ids": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["title", "summary", "raw_ids"],
                },
            }
        },
        "required": ["episodes"],
    },
}
FACTS_TOOL = {
    "name": "submit_facts",
    "description": "Submit durable facts about the user distilled from the episodes.",
    "input_schema": {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "kind": {"type": "string", "enum": list(v.FACT_KINDS)},
                        "importance": {"type": "number", "minimum": 0, "maximum": 1},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "episode_ids": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["text", "kind", "episode_ids"],
                },
            }
        },
        "required": ["facts"],
    },
}
EPISODES_SYSTEM = (
    "You organise one person's recorded activity into episodes: coherent stretches of work or "
    "life with a clear topic. Group the raw rows you are given, cite each row you use by its id "
    "in raw_ids (use only ids from the input; a row belongs to at most one episode), give each "
    "episode a short title, a summary of what the person did and decided, its time span, and a "
    "few lowercase tags. Answer only by calling submit_episodes."
)
FACTS_SYSTEM = (
    "You distil durable facts about one person from their recent episodes: preferences, habits, "
    "skills, artifacts they own or work on. Each fact is one plain sentence about the person, "
    "cites the episodes it comes from by id (only ids from the input), and carries importance "
    "and confidence between 0 and 1. Prefer few, well-founded facts. Answer only by calling "
    "submit_facts."
)


@dataclass
class EpisodePromotion:
    episodes: list[EpisodeView]
    job_id: uuid.UUID | None


@dataclass
class FactPromotion:
    facts: list[FactView]
    job_id: uuid.UUID | None


def _option(value: object, name: str, default: int, high: int) -> int:
    return default if value is None else v.integer(value, name, 1, high)


def _clean_text(value: object, max_length: int) -> str:
    return value.strip()[:max_length] if isinstance(value, str) else ""


def _clean_tags(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    tags = [tag.strip().lower()[: v.MAX_TAG_LENGTH] for tag in value if isinstance(tag, str)]
    return list(dict.fromkeys(tag for tag in tags if tag))[: v.MAX_TAGS]


def _clean_unit(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return default
    return min(1.0, max(0.0, float(value)))


def _clean_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


async def promote_episodes(
    db: AsyncSession,
    services: Services,
    user: User,
    *,
    window_minutes: object = None,
    max_raw: object = None,
    model: str | None = None,
) -> EpisodePromotion:
    """Group recent raw rows not yet in an episode into episodes that cite them."""
    window = _option(window_minutes, "window_minutes", WINDOW_DEFAULT, WINDOW_MAX)
    cap = _option(max_raw, "max_raw", EPISODE_RAW_DEFAULT, EPISODE_RAW_MAX)
    model = services.llm.resolve_model(model)
    since = utcnow() - timedelta(minutes=window)
    rows = (
        (
            await db.execute(
                sa.select(RawMemory)
                .where(
                    RawMemory.user_id == user.id,
                    RawMemory.episode_id.is_(None),
                    RawMemory.occurred_at >= since,
                )
                .order_by(RawMemory.occurred_at, RawMemory.id)
                .limit(cap)
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        return EpisodePromotion(episodes=[], job_id=None)
    sent = {str(row.id): row for row in rows}
    listing = [
        {
            "id": str(row.id),
            "occurred_at": row.occurred_at.isoformat(),
            "source": row.source_detail or row.source,
            "kind": row.kind,
            "content": row.content[:CONTENT_SENT_MAX],
        }
        for row in rows
    ]
    call, job = await record_model_call(
        services,
        user,
        kind="promote_episodes",
        model=model,
        call=lambda: services.llm.call_tool(
            model=model,
            system=EPISODES_SYSTEM,
            messages=[{"role": "user", "content": orjson.dumps({"raw": listing}).decode()}],
            tool_name=EPISODES_TOOL["name"],
            tool_description=EPISODES_TOOL["description"],
            input_schema=EPISODES_TOOL["input_schema"],
            max_tokens=4096,
        ),
    )
    proposed = call.input.get("episodes")
    claimed: set[str] = set()
    created: list[EpisodicMemory] = []
    now = utcnow()
    for item in proposed if isinstance(proposed, list) else []:
        if not isinstance(item, dict):
            continue
        cited_ids = item.get("raw_ids") if isinstance(item.get("raw_ids"), list) else []
        cited = [sent[str(i)] for i in dict.fromkeys(map(str, cited_ids)) if str(i) in sent]
        cited = [row for row in cited if str(row.id) not in claimed]
        if not cited:
            continue  # an episode must cite at least one of the caller's rows
        claimed.update(str(row.id) for row in cited)
        first, last = min(r.occurred_at for r in cited), max(r.occurred_at for r in cited)
        started = _clean_time(item.get("started_at")) or first
        ended = _clean_time(item.get("ended_at")) or last
        if started > ended:
            started, ended = first, last
        episode = EpisodicMemory(
            user_id=user.id,
            title=_clean_text(item.get("title"), TITLE_MAX) or "Untitled episode",
            summary=_clean_text(item.get("summary"), SUMMARY_MAX),
            started_at=started,
            ended_at=ended,
            sources=sorted({row.source_detail or row.source for row in cited}),
            tags=_clean_tags(item.get("tags")),
            created_at=now,
            updated_at=now,
        )
        db.add(episode)
        await db.flush()
        await db.execute(
            sa.update(RawMemory)
            .where(RawMemory.user_id == user.id, RawMemory.id.in_([row.id for row in cited]))
            .values(episode_id=episode.id)
        )
        created.append(episode)
    await db.commit()
    return EpisodePromotion(episodes=await episode_views(db, user, created), job_id=job.id)


async def promote_facts(
    db: AsyncSession,
    services: Services,
    user: User,
    *,
    window_minutes: object = None,
    max_episodes: object = None,
    model: str | None = None,
) -> FactPromotion:
    """Distil facts from recent episodes; an already known fact gains confidence instead."""
    window = _option(window_minutes, "window_minutes", WINDOW_DEFAULT, WINDOW_MAX)
    cap = _option(max_episodes, "max_episodes", FACT_EPISODES_DEFAULT, FACT_EPISODES_MAX)
    model = services.llm.resolve_model(model)
    since = utcnow() - timedelta(minutes=window)
    episodes = (
        (
            await db.execute(
                sa.select(EpisodicMemory)
                .where(EpisodicMemory.user_id == user.id, EpisodicMemory.ended_at >= since)
                .order_by(EpisodicMemory.ended_at.desc(), EpisodicMemory.id)
                .limit(cap)
            )
        )
        .scalars()
        .all()
    )
    if not episodes:
        return FactPromotion(facts=[], job_id=None)
    sent = {str(episode.id): episode for episode in episodes}
    listing = [
        {
            "id": str(e.id),
            "title": e.title,
            "summary": e.summary[:2000],
            "started_at": e.started_at.isoformat(),
            "ended_at": e.ended_at.isoformat(),
            "tags": e.tags,
        }
        for e in episodes
    ]
    call, job = await record_model_call(
        services,
        user,
        kind="promote_facts",
        model=model,
        call=lambda: services.llm.call_tool(
            model=model,
            system=FACTS_SYSTEM,
            messages=[{"role": "user", "content": orjson.dumps({"episodes": listing}).decode()}],
            tool_name=FACTS_TOOL["name"],
            tool_description=FACTS_TOOL["description"],
            input_schema=FACTS_TOOL["input_schema"],
            max_tokens=4096,
        ),
    )
    proposed = call.input.get("facts")
    touched: dict[uuid.UUID, SemanticMemory] = {}
    now = utcnow()
    for item in proposed if isinstance(proposed, list) else []:
        if not isinstance(item, dict):
            continue
        text = _clean_text(item.get("text"), FACT_TEXT_MAX)
        if not text:
            continue
        cited_ids = item.get("episode_ids") if isinstance(item.get("episode_ids"), list) else []
        cited = [sent[str(i)].id for i in dict.fromkeys(map(str, cited_ids)) if str(i) in sent]
        kind = item.get("kind") if item.get("kind") in v.FACT_KINDS else "other"
        importance = _clean_unit(item.get("importance"), 0.5)
        confidence = _clean_unit(item.get("confidence"), 0.5)
        fact = await _merge_fact(
            db, user, text, kind, importance, confidence, _clean_tags(item.get("tags")), now
        )
        if cited:
            insert = insert_for(db)(FactEpisode).on_conflict_do_nothing()
            await db.execute(insert, [{"fact_id": fact.id, "episode_id": e} for e in cited])
        touched[fact.id] = fact
    await db.commit()
    return FactPromotion(facts=await fact_views(db, list(touched.values())), job_id=job.id)


async def _merge_fact(
    db: AsyncSession,
    user: User,
    text: str,
    kind: str,
    importance: float,
    confidence: float,
    tags: list[str],
    now: datetime,
) -> SemanticMemory:
    """Insert a fact, or strengthen the existing one with the same normalized text.

    Confidence combines as independent evidence, 1 - (1 - old)(1 - new): strictly higher
    whenever both are above zero, never above one.
    """
    normalized = v.normalize_fact_text(text)
    existing = (
        await db.execute(
            sa.select(SemanticMemory)
            .where(SemanticMemory.user_id == user.id, SemanticMemory.normalized_text == normalized)
            .order_by(SemanticMemory.created_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    if existing is None:
        fact = SemanticMemory(
            user_id=user.id,
            text=text,
            normalized_text=normalized,
            kind=kind,
            importance=importance,
            confidence=confidence,
            tags=tags,
            created_at=now,
            updated_at=now,
        )
        db.add(fact)
        await db.flush()
        return fact
    existing.confidence = 1 - (1 - existing.confidence) * (1 - confidence)
    existing.importance = max(existing.importance, importance)
    existing.tags = list(dict.fromkeys([*existing.tags, *tags]))[: v.MAX_TAGS]
    existing.updated_at = now
    await db.flush()
    return existing


def promotion_options(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The request body's options, refusing unknown ones (both faces share it)."""
    v.check_fields(body, allowed, "this promotion")
    return body

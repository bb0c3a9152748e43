"""The wire shape of memory objects (SPEC §5), shared by REST, export and prediction snapshots."""

from typing import Any

from graph.memory.ops import ContextBundle, EpisodeView, FactView
from models.memory import EpisodicMemory, RawMemory, SemanticMemory, UserProfile


def raw_json(row: RawMemory) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "source_detail": row.source_detail,
        "kind": row.kind,
        "content": row.content,
        "payload": row.payload,
        "occurred_at": row.occurred_at,
        "session_id": row.session_id,
        "recording_event_id": row.recording_event_id,
        "episode_id": row.episode_id,
        "created_at": row.created_at,
    }


def episode_json(episode: EpisodicMemory, raw_ids: list[Any]) -> dict[str, Any]:
    return {
        "id": episode.id,
        "title": episode.title,
        "summary": episode.summary,
        "started_at": episode.started_at,
        "ended_at": episode.ended_at,
        "sources": episode.sources,
        "tags": episode.tags,
        "raw_ids": raw_ids,
        "created_at": episode.created_at,
        "updated_at": episode.updated_at,
    }


def episode_view_json(view: EpisodeView) -> dict[str, Any]:
    return episode_json(view.episode, view.raw_ids)


def fact_json(fact: SemanticMemory, episode_ids: list[Any]) -> dict[str, Any]:
    return {
        "id": fact.id,
        "text": fact.text,
        "kind": fact.kind,
        "importance": fact.importance,
        "confidence": fact.confidence,
        "tags": fact.tags,
        "episode_ids": episode_ids,
        "created_at": fact.created_at,
        "updated_at": fact.updated_at,
    }


def fact_view_json(view: FactView) -> dict[str, Any]:
    return fact_json(view.fact, view.episode_ids)


def profile_json(profile: UserProfile) -> dict[str, Any]:
    return {
        "display_name": profile.display_name,
        "summary": profile.summary,
        "attributes": profile.attributes,
        "updated_at": profile.updated_at,
    }


def context_json(bundle: ContextBundle) -> dict[str, Any]:
    """The bundle as clients see it and as prediction stores it for its context snapshot."""
    return {
        "profile": profile_json(bundle.profile) if bundle.profile else None,
        "facts": [fact_view_json(view) for view in bundle.facts],
        "episodes": [episode_view_json(view) for view in bundle.episodes],
        "raw": [raw_json(row) for row in bundle.raw],
        "meta": bundle.meta,
    }

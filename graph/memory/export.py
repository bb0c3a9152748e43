"""Everything Clone believes about a person, in a form that person can read (SPEC §5 export)."""

from typing import Any

from graph.memory.ops import Knowledge
from graph.memory.shapes import episode_view_json, fact_view_json, profile_json


def knowledge_json(known: Knowledge) -> dict[str, Any]:
    return {
        "profile": profile_json(known.profile) if known.profile else None,
        "facts": [
            fact_view_json(view)
            | {
                "episodes": [
                    {"id": episode_id, "title": known.episode_titles.get(episode_id, "")}
                    for episode_id in view.episode_ids
                ]
            }
            for view in known.facts
        ],
        "episodes": [episode_view_json(view) for view in known.episodes],
    }


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def knowledge_markdown(known: Knowledge) -> str:
    name = (known.profile.display_name if known.profile else "") or "you"
    lines = [f"# What Clone knows about {name}", ""]
    lines += ["## Profile", ""]
    if known.profile is None:
        lines += ["No profile yet.", ""]
    else:
        lines += [known.profile.summary or "_(no summary)_", ""]
        for key, value in sorted(known.profile.attributes.items()):
            lines.append(f"- **{key}**: {value}")
        lines.append("")
    lines += [f"## Facts ({len(known.facts)})", ""]
    for view in known.facts:
        fact = view.fact
        tags = f"; tags: {', '.join(fact.tags)}" if fact.tags else ""
        lines.append(
            f"- {fact.text} _({fact.kind}; importance {fact.importance:.2f}, "
            f"confidence {fact.confidence:.2f}{tags}; id `{fact.id}`)_"
        )
        for episode_id in view.episode_ids:
            lines.append(f'  - from episode "{known.episode_titles.get(episode_id, "?")}"')
    if not known.facts:
        lines.append("No facts yet.")
    lines += ["", f"## Episodes ({len(known.episodes)})", ""]
    for view in known.episodes:
        episode = view.episode
        lines.append(f"### {episode.title}")
        lines.append(
            f"{_when(episode.started_at)} to {_when(episode.ended_at)}"
            f" | sources: {', '.join(episode.sources) or 'none'}"
            f" | {len(view.raw_ids)} raw memories | id `{episode.id}`"
        )
        if episode.summary:
            lines += ["", episode.summary]
        lines.append("")
    if not known.episodes:
        lines.append("No episodes yet.")
    lines += ["", "To correct or delete anything: PATCH or DELETE it under /api/memory/.", ""]
    return "\n".join(lines)

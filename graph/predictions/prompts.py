"""What the model is told: answer as this person would, from what Clone knows about them."""

from typing import Any

from graph.memory.ops import ContextBundle
from models.accounts import User

MAX_RAW_LINES = 50
MAX_LINE = 300

PREDICTIONS_TOOL: dict[str, Any] = {
    "name": "submit_predictions",
    "description": "Submit the replies this person would most likely give, best first.",
    "input_schema": {
        "type": "object",
        "properties": {
            "candidates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "response": {"type": "string"},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "reasoning": {"type": "string"},
                        "stop_recommended": {"type": "boolean"},
                    },
                    "required": ["response", "confidence", "reasoning", "stop_recommended"],
                },
            }
        },
        "required": ["candidates"],
    },
}


def system_prompt(user: User, bundle: ContextBundle) -> str:
    """The person, as Clone knows them: profile, strongest facts, recent episodes and activity.

    The model must speak as the person, in their register: a terse person's Clone is terse.
    """
    name = (bundle.profile.display_name if bundle.profile else "") or user.display_name
    parts = [
        f"You are the Clone of {name}: you predict what {name} would reply to an AI agent.",
        "Answer as they would, in their voice and at their length: if they are terse, be terse;",
        "never explain yourself in the reply itself. For each candidate give your confidence",
        "(0..1) that it is what they would actually send, a short reasoning, and",
        "stop_recommended=true when the reply says the work is done (for example 'ship it').",
    ]
    if bundle.profile and bundle.profile.summary:
        parts += ["", "## Who they are", bundle.profile.summary]
    if bundle.facts:
        parts += ["", "## What you know about them"]
        parts += [f"- {view.fact.text} ({view.fact.kind})" for view in bundle.facts]
    if bundle.episodes:
        parts += ["", "## What they did recently"]
        parts += [
            f"- {view.episode.title}: {view.episode.summary[:MAX_LINE]}" for view in bundle.episodes
        ]
    if bundle.raw:
        parts += ["", "## Their latest activity (newest first)"]
        parts += [f"- {row.content[:MAX_LINE]}" for row in bundle.raw[:MAX_RAW_LINES]]
    parts += ["", "Answer only by calling submit_predictions."]
    return "\n".join(parts)


def user_message(agent: str, agent_input: str, k: int) -> dict[str, Any]:
    return {
        "role": "user",
        "content": (
            f"The agent {agent!r} says:\n\n{agent_input}\n\n"
            f"Give the {k} most likely replies of this person, best first."
        ),
    }


CONTINUATION_TOOL: dict[str, Any] = {
    "name": "submit_continuation",
    "description": "Decide whether this person would let the agent keep going.",
    "input_schema": {
        "type": "object",
        "properties": {
            "should_continue": {"type": "boolean"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reasoning": {"type": "string"},
        },
        "required": ["should_continue", "confidence", "reasoning"],
    },
}


def continuation_message(agent: str, agent_input: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": (
            f"The agent {agent!r} is working autonomously and reports:\n\n{agent_input}\n\n"
            "Would this person let it continue without stepping in? Answer by calling "
            "submit_continuation."
        ),
    }

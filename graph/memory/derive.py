"""How a recorded event reads as a memory: one short sentence per event type."""

from typing import Any

MAX_CONTENT_LENGTH = 4000


def describe_event(event_type: str, payload: dict[str, Any]) -> str:
    """Readable `content` for the RawMemory derived from an event.

    Agent prompts and replies keep their text (that is what the Clone learns from); the other
    kinds become a brief description, since their detail stays in `payload`.
    """
    p = payload
    match event_type:
        case "agent.prompt":
            text = f"{p.get('agent', 'agent')} asked: {p.get('prompt', '')}"
        case "agent.response":
            text = f"{p.get('agent', 'agent')} replied: {p.get('response', '')}"
        case "app.focused":
            title = p.get("window_title")
            text = f"Focused {p.get('app', 'an app')}" + (f" — {title}" if title else "")
        case "capture.frame":
            text = f"Screen frame {p.get('width')}x{p.get('height')} ({p.get('uri')})"
        case "input.keystroke":
            held = [name for name, down in (p.get("modifiers") or {}).items() if down]
            text = f"Key {p.get('event_type', 'press')}" + (
                f" with {'+'.join(held)}" if held else ""
            )
        case "input.click":
            text = f"{p.get('button', 'left').capitalize()} click at ({p.get('x')}, {p.get('y')})"
        case "input.scroll":
            text = (
                f"Scrolled ({p.get('delta_x')}, {p.get('delta_y')}) at ({p.get('x')}, {p.get('y')})"
            )
        case "session.started":
            text = "Session started"
        case "session.stopped":
            text = "Session stopped"
        case _:
            text = event_type
    return text[:MAX_CONTENT_LENGTH]

"""GraphQL types of the recording domain: sessions, and events as nine typed variants."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway.errors import Invalid
from graph.connections import Connection, child_connection
from graph.info import Info
from graph.loaders import grouped_loader, keyed_loader, load_nodes
from graph.recording import ops
from models.recording import RecordingEvent, RecordingSession

if TYPE_CHECKING:
    from graph.predictions.types import PredictionType


def session_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.sessions_by_id)


def event_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.events_by_seq)


def session_events_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.events_of_sessions)


def session_event_counts_loader(ctx: Any) -> Any:
    return grouped_loader(ctx, ops.event_counts_of_sessions)


@strawberry.type(name="RecordingSession")
class RecordingSessionType(relay.Node):
    node_key: relay.NodeID[str]
    session_id: str = strawberry.field(description="The producer's session id.")
    source: str | None
    source_detail: str | None
    started_at: datetime | None
    ended_at: datetime | None
    event_count: int
    last_event_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, session: RecordingSession) -> "RecordingSessionType":
        return cls(
            node_key=session.id,
            session_id=session.id,
            source=session.source,
            source_detail=session.source_detail,
            started_at=session.started_at,
            ended_at=session.ended_at,
            event_count=session.event_count,
            last_event_at=session.last_event_at,
            created_at=session.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["RecordingSessionType | None"]:
        return await load_nodes(info, session_loader, node_ids, cls.from_row)

    @strawberry.field(
        description="Events oldest first (ties by arrival), optionally of one type; `last: N` "
        "gives the most recent N (still oldest first)."
    )
    async def events(
        self,
        info: Info,
        type: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
    ) -> Connection["Event"]:
        if last is not None and (first is not None or after is not None):
            raise Invalid("give either last, or first and after")
        from_end = last is not None
        limit = last if from_end else first
        return await child_connection(
            info,
            session_events_loader,
            session_event_counts_loader,
            self.session_id,
            event_from_row,
            after=after,
            page_options=(
                ("after", after),
                ("event_type", type),
                ("last", from_end),
                ("limit", limit),
            ),
            count_options=(("event_type", type),),
        )

    @strawberry.field(description="Predictions made with this sessionId, newest first.")
    async def predictions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated["PredictionType", strawberry.lazy("graph.predictions.types")]]:
        from graph.predictions.types import (
            PredictionType,
            session_prediction_counts_loader,
            session_predictions_loader,
        )

        return await child_connection(
            info,
            session_predictions_loader,
            session_prediction_counts_loader,
            self.session_id,
            PredictionType.from_row,
            after=after,
            page_options=(("after", after), ("limit", first)),
        )


@strawberry.interface(description="A recorded CloneEvent; each `type` is its own GraphQL type.")
class Event(relay.Node):
    node_key: relay.NodeID[int]
    event_id: str = strawberry.field(description="The producer's event id.")
    session_id: str
    type: str
    source: str
    source_detail: str | None
    occurred_at: datetime
    received_at: datetime
    payload: JSON = strawberry.field(description="The event exactly as accepted.")

    @classmethod
    def resolve_type(cls, obj: Any, info: Any, abstract_type: Any) -> str:
        """Every event is built as its concrete variant: name it directly, instead of
        Strawberry's general search (a dashboard resolves a thousand events)."""
        return obj.__strawberry_definition__.name

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["Event | None"]:
        seqs = [int(node_id) for node_id in node_ids if str(node_id).isdigit()]
        found = {
            row.seq: row for row in await info.context.loader(event_loader).load_many(seqs) if row
        }
        return [
            event_from_row(found[int(n)]) if str(n).isdigit() and int(n) in found else None
            for n in node_ids
        ]

    @strawberry.field
    async def session(self, info: Info) -> RecordingSessionType:
        row = await info.context.loader(session_loader).load(self.session_id)
        return RecordingSessionType.from_row(row)


@strawberry.type
class SessionStartedEvent(Event):
    pass


@strawberry.type
class SessionStoppedEvent(Event):
    pass


@strawberry.type
class AppFocusedEvent(Event):
    app: str
    window_title: str | None


@strawberry.type
class CaptureFrameEvent(Event):
    uri: str
    content_hash: str | None
    width: int
    height: int


@strawberry.type
class KeyModifiers:
    shift: bool
    ctrl: bool
    alt: bool
    meta: bool


@strawberry.type
class InputKeystrokeEvent(Event):
    event_type: str
    modifiers: KeyModifiers


@strawberry.type
class InputClickEvent(Event):
    x: int
    y: int
    button: str


@strawberry.type
class InputScrollEvent(Event):
    x: int
    y: int
    delta_x: float
    delta_y: float


@strawberry.type
class AgentPromptEvent(Event):
    agent: str
    prompt: str


@strawberry.type
class AgentResponseEvent(Event):
    agent: str
    response: str
    in_response_to: str | None


_VARIANTS: dict[str, tuple[type[Event], tuple[str, ...]]] = {
    "session.started": (SessionStartedEvent, ()),
    "session.stopped": (SessionStoppedEvent, ()),
    "app.focused": (AppFocusedEvent, ("app", "window_title")),
    "capture.frame": (CaptureFrameEvent, ("uri", "content_hash", "width", "height")),
    "input.keystroke": (InputKeystrokeEvent, ("event_type", "modifiers")),
    "input.click": (InputClickEvent, ("x", "y", "button")),
    "input.scroll": (InputScrollEvent, ("x", "y", "delta_x", "delta_y")),
    "agent.prompt": (AgentPromptEvent, ("agent", "prompt")),
    "agent.response": (AgentResponseEvent, ("agent", "response", "in_response_to")),
}


def event_from_row(row: RecordingEvent) -> Event:
    payload = orjson.loads(row.payload)
    cls, fields = _VARIANTS[row.type]
    extra: dict[str, Any] = {name: payload[name] for name in fields}
    if "modifiers" in extra:
        extra["modifiers"] = KeyModifiers(**extra["modifiers"])
    return cls(
        node_key=row.seq,
        event_id=row.id,
        session_id=row.session_id,
        type=row.type,
        source=row.source,
        source_detail=row.source_detail,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        payload=payload,
        **extra,
    )


EVENT_TYPES: list[type[Event]] = [cls for cls, _ in _VARIANTS.values()]


@strawberry.type
class IngestItemError:
    index: int
    errors: list[str]


@strawberry.type
class IngestResult:
    accepted: int
    duplicates: int
    invalid: list[IngestItemError]

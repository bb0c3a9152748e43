"""GraphQL types of the sources domain: a provider's state (a Relay node keyed by provider,
since a user has at most one connection per provider) and the result of connecting."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from graph.info import Info
from graph.loaders import keyed_loader
from graph.sources import ops

DEFAULT_BASE_URL = "http://localhost:8001"


def source_state_loader(ctx: Any) -> Any:
    return keyed_loader(ctx, ops.states_by_provider)


def base_url(info: Info) -> str:
    """CLONE_PUBLIC_URL when set, else the address the request reached the gateway at.

    The resolver sees headers, not the ASGI scope, so the address is rebuilt from `Host` and
    `X-Forwarded-Proto` the way REST's `request.base_url` is (behind a proxy that rewrites
    paths, set CLONE_PUBLIC_URL).
    """
    ctx = info.context
    if ctx.settings.public_url:
        return ctx.settings.public_url
    host = ctx.headers.get("host")
    if not host:
        return DEFAULT_BASE_URL
    scheme = (ctx.headers.get("x-forwarded-proto") or "http").split(",", 1)[0].strip().lower()
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}"


@strawberry.type(name="Source", description="An integration and whether you connected it.")
class SourceType(relay.Node):
    node_key: relay.NodeID[str]
    provider: str = strawberry.field(description="github, slack, linear, notion or drive.")
    connected: bool
    connection_id: strawberry.ID | None = strawberry.field(
        description="The connection's UUID, as REST shows it (null when not connected)."
    )
    connected_at: datetime | None
    last_delivery_at: datetime | None = strawberry.field(
        description="When the last new webhook delivery was received."
    )
    webhook_url: str = strawberry.field(
        description="Where the provider posts, with the token in X-Clone-Source-Token."
    )

    @classmethod
    def from_state(cls, state: ops.SourceState, base: str) -> "SourceType":
        connection = state.connection
        return cls(
            node_key=state.provider,
            provider=state.provider,
            connected=state.connected,
            connection_id=strawberry.ID(str(connection.id)) if connection else None,
            connected_at=connection.created_at if connection else None,
            last_delivery_at=connection.last_delivery_at if connection else None,
            webhook_url=ops.webhook_url(base, state.provider),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list["SourceType | None"]:
        states = await info.context.loader(source_state_loader).load_many(node_ids)
        base = base_url(info)
        return [cls.from_state(state, base) if state else None for state in states]


@strawberry.type(description="A new connection (or a rotated token): the token is shown once.")
class ConnectedSource:
    source: SourceType
    token: str = strawberry.field(
        description="Send it as X-Clone-Source-Token; shown this once only. Connecting again "
        "rotates it and the old token stops working at once."
    )

"""Sources domain: connections to integrations and the webhook deliveries they send.

A connection is one per user and provider; its webhook token is shown once and kept only as a
SHA-256 hash, so the token alone names the account a delivery belongs to. A delivery is
authenticated by that token (no user credential), turned into raw memories by the provider's
adapter, and stored at most once per delivery id: the delivery row and the raw rows share one
transaction and a unique constraint, so concurrent replays store nothing twice.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import hash_secret, new_code
from gateway.errors import Invalid, NotFound, Unauthenticated
from graph.sources import adapters
from graph.sources.adapters.common import CONTENT_MAX, Draft, clip
from models.accounts import User
from models.db import Database, insert_for
from models.memory import RawMemory
from models.sources import PROVIDERS, SourceConnection, SourceDelivery
from models.types import utcnow

TOKEN_PREFIX = "clone_src_"  # tells a source token apart from an API key (`clone_`) at a glance
TOKEN_BYTES = 32
TOKEN_HEADER = "X-Clone-Source-Token"
RAW_SOURCE = "integration"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_DEPTH = 64  # nesting of a delivery; real payloads stay under 10 levels
_REPLACEMENT = "\ufffd"  # stands in for U+0000, which PostgreSQL cannot store in text or JSONB


# --- providers and their state ------------------------------------------------------------------


def check_provider(provider: object) -> str:
    """A known provider's name; anything else is a 404, as for any unknown resource."""
    if provider not in PROVIDERS:
        raise NotFound(f"unknown source provider {provider!r}; one of: {', '.join(PROVIDERS)}")
    return provider  # type: ignore[return-value]


def webhook_url(base_url: str, provider: str) -> str:
    """Where the provider posts: the same URL for every user (the token says whose it is)."""
    return f"{base_url.rstrip('/')}/api/sources/{provider}/webhook/"


@dataclass(frozen=True)
class SourceState:
    """A provider as one user sees it: connected (with its connection) or not."""

    provider: str
    connection: SourceConnection | None = None

    @property
    def connected(self) -> bool:
        return self.connection is not None


async def states_by_provider(
    db: AsyncSession, user: User, providers: Sequence[str]
) -> dict[str, SourceState]:
    """The user's state of each known provider among `providers`, in one query.

    Unknown names are simply absent (the node loader's contract: a bad id resolves to null).
    """
    wanted = [provider for provider in dict.fromkeys(providers) if provider in PROVIDERS]
    if not wanted:
        return {}
    rows = await db.execute(
        sa.select(SourceConnection).where(
            SourceConnection.user_id == user.id, SourceConnection.provider.in_(wanted)
        )
    )
    connections = {row.provider: row for row in rows.scalars()}
    return {provider: SourceState(provider, connections.get(provider)) for provider in wanted}


async def list_sources(db: AsyncSession, user: User) -> list[SourceState]:
    """Every provider, in the documented order, with the user's connection if any."""
    states = await states_by_provider(db, user, PROVIDERS)
    return [states[provider] for provider in PROVIDERS]


async def get_source(db: AsyncSession, user: User, provider: object) -> SourceState:
    provider = check_provider(provider)
    return (await states_by_provider(db, user, [provider]))[provider]


# --- connecting ---------------------------------------------------------------------------------


def new_source_token() -> str:
    return TOKEN_PREFIX + new_code(TOKEN_BYTES)


async def connect_source(
    db: AsyncSession, user: User, provider: object
) -> tuple[SourceConnection, str]:
    """Connect a provider and return its new token (the only time it is readable).

    Connecting again rotates the token: the connection keeps its id, `created_at` and
    `last_delivery_at`, and the old token stops working with this commit. One upsert, so two
    concurrent connects leave one connection whose token is the later one.
    """
    provider = check_provider(provider)
    token = new_source_token()
    table = SourceConnection.__table__
    insert = insert_for(db)(table).values(
        id=uuid.uuid4(),
        user_id=user.id,
        provider=provider,
        token_hash=hash_secret(token),
        created_at=utcnow(),
        last_delivery_at=None,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=["user_id", "provider"],
        set_={"token_hash": insert.excluded.token_hash},
    ).returning(*table.columns)
    row = (await db.execute(upsert)).one()
    await db.commit()
    return SourceConnection(**row._mapping), token


async def disconnect_source(db: AsyncSession, user: User, provider: object) -> None:
    """Forget the connection: its token is refused from this commit on.

    The raw memories it delivered stay (they are the user's memory, deleted one by one like
    any other), and so do the delivery ids, so a late replay after reconnecting stores nothing.
    """
    provider = check_provider(provider)
    result = await db.execute(
        sa.delete(SourceConnection).where(
            SourceConnection.user_id == user.id, SourceConnection.provider == provider
        )
    )
    await db.commit()
    if result.rowcount == 0:
        raise NotFound(f"{provider} is not connected")


# --- webhooks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    """What a delivery did: stored rows, a replay, or a handshake answered."""

    delivery_id: str | None = None
    raw_ids: list[uuid.UUID] = field(default_factory=list)
    duplicate: bool = False
    handshake: dict[str, Any] | None = None

    @property
    def stored(self) -> int:
        return len(self.raw_ids)


async def _connection_for_token(
    db: AsyncSession, provider: str, token: str | None
) -> SourceConnection:
    """The active connection this token opens for this provider; any doubt is the same 401."""
    if token is None or not token.strip():
        raise Unauthenticated(f"the {TOKEN_HEADER} header is required", code="source_token_missing")
    row = (
        await db.execute(
            sa.select(SourceConnection)
            .join(User, User.id == SourceConnection.user_id)
            .where(
                SourceConnection.token_hash == hash_secret(token.strip()),
                SourceConnection.provider == provider,
                User.is_active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise Unauthenticated(
            f"invalid or revoked source token for {provider}", code="source_token_invalid"
        )
    return row


def decode_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The delivery as a JSON object, whatever its encoding, or a 400 if it is not data.

    - empty body → `{}` (Google Drive's push notifications carry everything in headers);
    - `application/x-www-form-urlencoded` → its `payload` field decoded as JSON when present
      (GitHub's "form" content type, Slack's interactivity), else the fields themselves;
    - anything else is read as JSON whatever its declared media type; a JSON value that is not
      an object is wrapped as `{"body": value}` (stored as an unknown shape);
    - a body that is neither JSON nor a form → 400 `malformed_json`, nothing stored;
    - JSON nested deeper than MAX_DEPTH levels → 400 `too_deep` (no provider sends that, and
      every later step, down to the database's JSON encoder, would have to recurse through it).
    """
    if not body.strip():
        return {}
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == FORM_MEDIA_TYPE:
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise Invalid("malformed form body", code="malformed_form") from None
        form: dict[str, Any] = {}
        for name, value in fields:
            form.setdefault(name, []).append(value)
        flat = {name: values[0] if len(values) == 1 else values for name, values in form.items()}
        if isinstance(flat.get("payload"), str):
            try:
                return _as_object(orjson.loads(flat["payload"]))
            except orjson.JSONDecodeError:
                pass
        return flat
    try:
        return _as_object(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the delivery is not JSON: {exc}", code="malformed_json") from None


def _as_object(value: object) -> dict[str, Any]:
    _check_depth(value)
    return value if isinstance(value, dict) else {"body": value}


def _check_depth(value: object) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (walked without recursion)."""
    level: list[object] = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return
    if any(isinstance(item, dict | list) and item for item in level):
        raise Invalid(f"the delivery is nested deeper than {MAX_DEPTH} levels", code="too_deep")


def _storable(value: Any) -> Any:
    """`value` with every U+0000 replaced, keys included: a sender is never refused for it."""
    if isinstance(value, str):
        return value.replace("\x00", _REPLACEMENT) if "\x00" in value else value
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


async def receive_webhook(
    db: AsyncSession,
    database: Database,
    provider: object,
    token: str | None,
    body: bytes,
    headers: Mapping[str, str],
) -> WebhookResult:
    """Authenticate a delivery by its source token, then store what its adapter makes of it.

    Order: unknown provider 404; missing, wrong, revoked or other-provider token 401; a body
    that is not data 400; a handshake is answered; then, in one transaction, the delivery id
    is claimed (INSERT … ON CONFLICT DO NOTHING on (user, provider, delivery id)), the token
    is checked again while the connection row is locked (a disconnect or rotation racing this
    delivery wins or loses cleanly), and the raw rows are inserted. A replay stores nothing.
    """
    provider = check_provider(provider)
    connection = await _connection_for_token(db, provider, token)
    payload = decode_body(body, headers.get("content-type"))
    answer = adapters.handshake(provider, payload, headers)
    if answer is not None:
        return WebhookResult(handshake=answer)
    delivery_id = adapters.delivery_id(provider, payload, headers, body)
    drafts = adapters.adapt(provider, payload, headers)
    now = utcnow()
    rows = [_raw_row(connection.user_id, provider, draft, now) for draft in drafts]
    async with database.serialized_writes():
        if not await _claim(db, connection, delivery_id, len(rows), now):
            await db.rollback()
            return WebhookResult(delivery_id=delivery_id, duplicate=True)
        if rows:
            await db.execute(sa.insert(RawMemory.__table__), rows)
        await db.commit()
    return WebhookResult(delivery_id=delivery_id, raw_ids=[row["id"] for row in rows])


async def _claim(
    db: AsyncSession, connection: SourceConnection, delivery_id: str, raw_count: int, now: datetime
) -> bool:
    """Lock the connection (still holding this token) and claim the delivery id.

    False when the id was stored before (a replay). The connection is updated first, so every
    delivery of one connection takes its row lock in the same order: no deadlock between two
    concurrent deliveries, and a concurrent disconnect either happened before (401) or waits.
    """
    touched = await db.execute(
        sa.update(SourceConnection)
        .where(
            SourceConnection.id == connection.id,
            SourceConnection.token_hash == connection.token_hash,
        )
        .values(last_delivery_at=now)
    )
    if touched.rowcount != 1:
        await db.rollback()
        raise Unauthenticated(
            f"invalid or revoked source token for {connection.provider}",
            code="source_token_invalid",
        )
    claim = (
        insert_for(db)(SourceDelivery.__table__)
        .values(
            id=uuid.uuid4(),
            user_id=connection.user_id,
            provider=connection.provider,
            delivery_id=delivery_id,
            raw_count=raw_count,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "provider", "delivery_id"])
        .returning(SourceDelivery.__table__.c.id)
    )
    return (await db.execute(claim)).first() is not None


def _raw_row(user_id: uuid.UUID, provider: str, draft: Draft, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "source": RAW_SOURCE,
        "source_detail": provider,
        "kind": draft.kind,
        "content": _storable(clip(draft.content, CONTENT_MAX)),
        "payload": _storable(draft.payload),
        "occurred_at": draft.occurred_at or now,
        "session_id": None,
        "recording_event_id": None,
        "episode_id": None,
        "created_at": now,
    }

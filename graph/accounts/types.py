"""GraphQL types of the accounts domain."""

from datetime import datetime

import strawberry

from gateway.errors import Forbidden
from graph.accounts import ops
from graph.accounts.ops import AuthResult, TokenPair
from graph.info import Info
from graph.recording import ops as recording_ops
from graph.recording.types import RecordingSessionType
from models.accounts import ApiKey, User


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, key: ApiKey) -> "ApiKeyType":
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    email: str
    display_name: str
    is_staff: bool
    date_joined: datetime
    recording_opt_in: bool
    session_timeout_min: int

    @classmethod
    def from_row(cls, user: User) -> "UserType":
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            display_name=user.display_name,
            is_staff=user.is_staff,
            date_joined=user.date_joined,
            recording_opt_in=user.recording_opt_in,
            session_timeout_min=user.session_timeout_min,
        )

    @strawberry.field(description="Your recording sessions, most recent first.")
    async def sessions(
        self, info: Info, limit: int | None = None, offset: int | None = None
    ) -> list[RecordingSessionType]:
        caller = await info.context.require_user()
        if str(caller.id) != self.id:
            raise Forbidden("only the account holder can list its sessions")
        page = await recording_ops.list_sessions(
            info.context.db, caller, limit=limit, offset=offset
        )
        return [RecordingSessionType.from_row(session) for session in page.items]

    @strawberry.field(description="Your API keys, newest first (revoked ones included).")
    async def api_keys(
        self, info: Info, limit: int | None = None, offset: int | None = None
    ) -> list[ApiKeyType]:
        caller = await info.context.require_user()
        if str(caller.id) != self.id:
            raise Forbidden("only the account holder can list its API keys")
        page = await ops.list_api_keys(info.context.db, caller, limit=limit, offset=offset)
        return [ApiKeyType.from_row(key) for key in page.items]


@strawberry.type(name="TokenPair")
class TokenPairType:
    access: str
    refresh: str

    @classmethod
    def from_tokens(cls, tokens: TokenPair) -> "TokenPairType":
        return cls(access=tokens.access, refresh=tokens.refresh)


@strawberry.type
class AuthPayload:
    user: UserType
    access: str
    refresh: str

    @classmethod
    def from_result(cls, result: AuthResult) -> "AuthPayload":
        return cls(
            user=UserType.from_row(result.user),
            access=result.tokens.access,
            refresh=result.tokens.refresh,
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKeyType
    key: str = strawberry.field(description="The plaintext key; shown this once only.")


@strawberry.input
class UpdateMeInput:
    display_name: str | None = strawberry.UNSET
    recording_opt_in: bool | None = strawberry.UNSET
    session_timeout_min: int | None = strawberry.UNSET

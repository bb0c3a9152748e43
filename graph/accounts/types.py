"""GraphQL types of the accounts domain."""

from datetime import datetime

import strawberry

from gateway.errors import Forbidden
from graph.accounts import ops
from graph.accounts.ops import AuthResult, TokenPair
from graph.connections import Connection, from_page
from graph.info import Info, or_none
from graph.jobs import ops as jobs_ops
from graph.jobs.types import JobType
from graph.memory import ops as memory_ops
from graph.memory.types import ProfileType
from graph.predictions.resolvers import prediction_stats
from graph.predictions.types import PredictionStatsType
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

    async def _holder(self, info: Info) -> User:
        """The caller, who must be this user: another account's edges are never reachable."""
        caller = await info.context.require_user()
        if str(caller.id) != self.id:
            raise Forbidden("only the account holder can read this")
        return caller

    @strawberry.field(description="Your recording sessions, most recent first.")
    async def sessions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RecordingSessionType]:
        caller = await self._holder(info)
        page = await recording_ops.list_sessions(info.context.db, caller, limit=first, after=after)
        return from_page(page, RecordingSessionType.from_row, after)

    @strawberry.field(description="Your API keys, newest first (revoked ones included).")
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiKeyType]:
        caller = await self._holder(info)
        page = await ops.list_api_keys(info.context.db, caller, limit=first, after=after)
        return from_page(page, ApiKeyType.from_row, after)

    @strawberry.field(description="Your profile (the singleton memory tier), if written yet.")
    async def profile(self, info: Info) -> ProfileType | None:
        caller = await self._holder(info)
        row = await or_none(memory_ops.get_profile(info.context.db, caller))
        return ProfileType.from_row(row) if row else None

    @strawberry.field(description="Your job records, newest first, optionally by kind or status.")
    async def jobs(
        self,
        info: Info,
        kind: str | None = None,
        status: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[JobType]:
        caller = await self._holder(info)
        page = await jobs_ops.list_jobs(
            info.context.db, caller, kind=kind, status=status, limit=first, after=after
        )
        return from_page(page, JobType.from_row, after)

    @strawberry.field(description="Precision, automation rate and calibration over a window.")
    async def prediction_stats(
        self, info: Info, since: str | None = None, until: str | None = None
    ) -> PredictionStatsType:
        await self._holder(info)
        return await prediction_stats(info, since, until)


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

"""Accounts in GraphQL: thin resolvers over `graph.accounts.ops`."""

import strawberry

from graph.accounts import ops
from graph.accounts.types import (
    ApiKeyType,
    AuthPayload,
    CreatedApiKey,
    TokenPairType,
    UpdateMeInput,
    UserType,
)
from graph.connections import Connection
from graph.ids import parse_uuid
from graph.info import Info


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Info) -> UserType:
        return UserType.from_row(await info.context.require_user())

    @strawberry.field(description="Your API keys, newest first (the same list as `me.apiKeys`).")
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiKeyType]:
        me = UserType.from_row(await info.context.require_user())
        return await me.api_keys(info, first=first, after=after)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def signup(
        self,
        info: Info,
        email: str,
        password: str,
        display_name: str | None = None,
        invite_code: str | None = None,
    ) -> AuthPayload:
        ctx = info.context
        result = await ops.signup(
            ctx.db,
            ctx.services,
            email=email,
            password=password,
            display_name=display_name,
            invite_code=invite_code,
        )
        return AuthPayload.from_result(result)

    @strawberry.mutation
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        ctx = info.context
        return AuthPayload.from_result(
            await ops.login(ctx.db, ctx.services, email=email, password=password)
        )

    @strawberry.mutation(description="Rotate a refresh token: the old one stops working.")
    async def refresh(self, info: Info, refresh: str) -> TokenPairType:
        ctx = info.context
        return TokenPairType.from_tokens(await ops.refresh_tokens(ctx.db, ctx.services, refresh))

    @strawberry.mutation(description="Revoke a refresh token of yours.")
    async def logout(self, info: Info, refresh: str) -> bool:
        ctx = info.context
        await ops.logout(ctx.db, ctx.services, await ctx.require_user(), refresh)
        return True

    @strawberry.mutation
    async def update_me(self, info: Info, input: UpdateMeInput) -> UserType:
        ctx = info.context
        changes = {
            name: value for name, value in vars(input).items() if value is not strawberry.UNSET
        }
        return UserType.from_row(await ops.update_me(ctx.db, await ctx.require_user(), changes))

    @strawberry.mutation(description="Create an API key; its plaintext is returned this once.")
    async def create_api_key(self, info: Info, name: str) -> CreatedApiKey:
        ctx = info.context
        key, plaintext = await ops.create_api_key(ctx.db, await ctx.require_user(), name)
        return CreatedApiKey(api_key=ApiKeyType.from_row(key), key=plaintext)

    @strawberry.mutation(description="Revoke an API key at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType:
        ctx = info.context
        key = await ops.revoke_api_key(ctx.db, await ctx.require_user(), parse_uuid(id, "API key"))
        return ApiKeyType.from_row(key)

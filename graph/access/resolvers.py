"""Access in GraphQL: thin resolvers over `graph.access.ops` (never in member mode: sharing is
the owner's and the invitee's own business)."""

import strawberry

from graph.access import ops
from graph.access.types import MembershipType
from graph.connections import Connection, from_page
from graph.ids import parse_uuid
from graph.info import Info


@strawberry.type
class AccessQuery:
    @strawberry.field(description="People you invited and accounts shared with you, newest first.")
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MembershipType]:
        ctx = info.context
        page = await ops.list_members(ctx.db, await ctx.require_user(), limit=first, after=after)
        return from_page(page, MembershipType.from_membership, after)


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="Share your Clone read-only with this email address.")
    async def invite_member(self, info: Info, email: str) -> MembershipType:
        ctx = info.context
        membership = await ops.invite(ctx.db, await ctx.require_user(), {"email": email})
        return MembershipType.from_membership(membership)

    @strawberry.mutation(description="As the invitee: accept read access to the owner's Clone.")
    async def approve_membership(self, info: Info, member_id: strawberry.ID) -> MembershipType:
        return await _respond(info, member_id, "approved")

    @strawberry.mutation(description="As the invitee: refuse the invitation.")
    async def decline_membership(self, info: Info, member_id: strawberry.ID) -> MembershipType:
        return await _respond(info, member_id, "declined")

    @strawberry.mutation(description="As the owner: end the sharing at once.")
    async def revoke_membership(self, info: Info, member_id: strawberry.ID) -> bool:
        ctx = info.context
        await ops.revoke(ctx.db, await ctx.require_user(), parse_uuid(member_id, "membership"))
        return True


async def _respond(info: Info, member_id: strawberry.ID, status: str) -> MembershipType:
    ctx = info.context
    membership = await ops.respond(
        ctx.db, await ctx.require_user(), parse_uuid(member_id, "membership"), status
    )
    return MembershipType.from_membership(membership)

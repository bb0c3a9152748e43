"""GraphQL type of the access domain: one membership, seen by either of its two parties."""

from datetime import datetime

import strawberry

from graph.access.ops import Membership


@strawberry.type(name="Membership", description="A read-only share of one Clone with one account.")
class MembershipType:
    id: strawberry.ID
    owner_id: strawberry.ID = strawberry.field(description="Send as X-Clone-Account to read.")
    owner_email: str
    email: str = strawberry.field(description="The invited address.")
    member_id: strawberry.ID | None = strawberry.field(description="Set once the invitee answers.")
    status: str = strawberry.field(description="invited, approved or declined.")
    role: str = strawberry.field(description="owner: you invited them; member: shared with you.")
    created_at: datetime
    responded_at: datetime | None

    @classmethod
    def from_membership(cls, membership: Membership) -> "MembershipType":
        row = membership.member
        return cls(
            id=strawberry.ID(str(row.id)),
            owner_id=strawberry.ID(str(row.owner_id)),
            owner_email=membership.owner_email,
            email=row.email,
            member_id=strawberry.ID(str(row.member_id)) if row.member_id else None,
            status=row.status,
            role=membership.role,
            created_at=row.created_at,
            responded_at=row.responded_at,
        )

"""Access domain: an owner shares their Clone read-only with another account.

The owner invites by email (the invitee may not have an account yet); the invitee approves or
declines; the owner revokes by deleting the membership. An approved member sends
`X-Clone-Account: <owner id>` and reads the owner's recording, memory and predictions; the
request context resolves that account once per request (`shared_account`), and every write in
that mode is refused before it reaches a domain operation.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Conflict, Forbidden, Invalid, NotFound
from graph import validate as v
from graph.accounts.ops import normalize_email
from graph.ids import try_uuid
from graph.pagination import Page, PageSpec, paginate
from models.access import AccountMember
from models.accounts import User
from models.types import utcnow

MEMBERS_PAGE = PageSpec(default=50, maximum=200)
NO_ACCESS = "you have no approved access to that account"


@dataclass(frozen=True)
class Membership:
    """A membership row seen by one of its two parties, with the other party's email."""

    member: AccountMember
    owner_email: str
    role: str  # "owner": you invited them; "member": they shared their Clone with you


async def shared_account(db: AsyncSession, caller: User, account_header: str) -> User:
    """The account `X-Clone-Account` names, if the caller may read it: their own, or one that
    approved them. Any other value is 403, whether or not that account exists."""
    owner_id = try_uuid(account_header.strip())
    if owner_id is None:
        raise Invalid("X-Clone-Account must be the shared account's user id (a UUID)")
    if owner_id == caller.id:
        return caller
    owner = (
        await db.execute(
            sa.select(User)
            .join(AccountMember, AccountMember.owner_id == User.id)
            .where(
                User.id == owner_id,
                User.is_active.is_(True),
                AccountMember.member_id == caller.id,
                AccountMember.status == "approved",
            )
        )
    ).scalar_one_or_none()
    if owner is None:
        raise Forbidden(NO_ACCESS)
    return owner


async def invite(db: AsyncSession, owner: User, data: Mapping[str, Any]) -> Membership:
    """Invite `{"email": ...}` to read your Clone. Inviting an address again after it declined
    sends the invitation anew; any other repeat is 409."""
    v.check_fields(data, {"email"}, "an invitation")
    address = normalize_email(data.get("email"))
    if address == owner.email:
        raise Invalid("you cannot invite yourself")
    existing = (
        await db.execute(
            sa.select(AccountMember).where(
                AccountMember.owner_id == owner.id, AccountMember.email == address
            )
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status != "declined":
        raise Conflict(f"{address} is already {existing.status}")
    if existing is None:
        existing = AccountMember(owner_id=owner.id, email=address)
        db.add(existing)
    else:
        existing.status, existing.member_id, existing.responded_at = "invited", None, None
        existing.created_at = utcnow()
    await db.commit()
    return Membership(existing, owner.email, "owner")


def _visible_to(user: User) -> sa.ColumnElement[bool]:
    return sa.or_(
        AccountMember.owner_id == user.id,
        AccountMember.member_id == user.id,
        AccountMember.email == user.email,
    )


async def list_members(
    db: AsyncSession,
    user: User,
    *,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[Membership]:
    """People you invited and accounts shared with you, newest first."""
    stmt = (
        sa.select(AccountMember)
        .where(_visible_to(user))
        .order_by(AccountMember.created_at.desc(), AccountMember.id.desc())
    )
    page = await paginate(db, stmt, MEMBERS_PAGE, limit, offset, after=after)
    owners = {row.owner_id for row in page.items}
    emails: dict[uuid.UUID, str] = {}
    if owners:
        rows = await db.execute(sa.select(User.id, User.email).where(User.id.in_(owners)))
        emails = {owner_id: email for owner_id, email in rows}
    return page.with_items(
        [
            Membership(row, emails[row.owner_id], "owner" if row.owner_id == user.id else "member")
            for row in page.items
        ]
    )


async def _membership(db: AsyncSession, user: User, member_id: uuid.UUID) -> Membership:
    row = (
        await db.execute(
            sa.select(AccountMember, User.email)
            .join(User, User.id == AccountMember.owner_id)
            .where(AccountMember.id == member_id, _visible_to(user))
        )
    ).first()
    if row is None:
        raise NotFound("membership not found")
    member, owner_email = row
    return Membership(member, owner_email, "owner" if member.owner_id == user.id else "member")


async def respond(db: AsyncSession, user: User, member_id: uuid.UUID, status: str) -> Membership:
    """The invitee approves or declines (again, if they change their mind); the owner cannot
    answer for them."""
    membership = await _membership(db, user, member_id)
    row = membership.member
    if row.owner_id == user.id:
        raise Forbidden("only the invitee can approve or decline an invitation")
    row.status, row.member_id, row.responded_at = status, user.id, utcnow()
    await db.commit()
    return Membership(row, membership.owner_email, "member")


async def revoke(db: AsyncSession, user: User, member_id: uuid.UUID) -> None:
    """The owner ends the sharing: the member's next request is 403."""
    membership = await _membership(db, user, member_id)
    if membership.member.owner_id != user.id:
        raise Forbidden("only the owner can revoke a membership")
    await db.delete(membership.member)
    await db.commit()

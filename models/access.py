"""Access: an owner shares their Clone read-only with another account, by email."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UtcDateTime, utcnow

MEMBER_STATUSES = ("invited", "approved", "declined")


class AccountMember(SQLModel, table=True):
    """One invitation from `owner_id` to `email`; `member_id` is set once the invitee answers.

    The invitee is matched by email (stored case-folded) so an invitation can be sent before
    the invitee has an account.
    """

    __tablename__ = "account_members"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "email"),
        sa.Index("ix_account_members_email", "email"),
        sa.Index("ix_account_members_member_owner", "member_id", "owner_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)
    owner_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE")
    email: str = Field(sa_type=sa.String(254))
    member_id: uuid.UUID | None = Field(
        default=None, sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE"
    )
    status: str = Field(default="invited", sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)

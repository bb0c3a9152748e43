"""Accounts: users and every credential that can act for them.

Secrets (passwords, API keys, refresh tokens, invite codes, magic-link tokens) are stored only
as hashes; the plaintext is shown once to its owner and never kept.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UtcDateTime, utcnow


def _uuid_pk() -> object:
    return Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)


def _owner_fk(*, index: bool = True) -> object:
    """The owning user: deleting the user deletes the row."""
    return Field(sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE", index=index)


def _user_ref() -> object:
    """An optional reference to a user that outlives the user (set to NULL on delete)."""
    return Field(default=None, sa_type=sa.Uuid, foreign_key="users.id", ondelete="SET NULL")


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = _uuid_pk()
    email: str = Field(sa_type=sa.String(254), unique=True)  # stored lower-cased
    password_hash: str | None = Field(default=None, sa_type=sa.String(255))
    display_name: str = Field(default="", sa_type=sa.String(150))
    is_staff: bool = False
    is_active: bool = True
    date_joined: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    recording_opt_in: bool = True
    session_timeout_min: int = 30


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (sa.Index("ix_api_keys_user_created", "user_id", "created_at"),)

    id: uuid.UUID = _uuid_pk()
    user_id: uuid.UUID = _owner_fk(index=False)  # served by ix_api_keys_user_created
    name: str = Field(sa_type=sa.String(100))
    prefix: str = Field(sa_type=sa.String(16))
    key_hash: str = Field(sa_type=sa.String(64), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RefreshToken(SQLModel, table=True):
    """One issued refresh token; `family_id` links a chain of rotations for reuse detection."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = _uuid_pk()  # the token's `jti`
    user_id: uuid.UUID = _owner_fk()
    family_id: uuid.UUID = Field(sa_type=sa.Uuid, index=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class InviteCode(SQLModel, table=True):
    __tablename__ = "invite_codes"

    id: uuid.UUID = _uuid_pk()
    code_hash: str = Field(sa_type=sa.String(64), unique=True)
    note: str = Field(default="", sa_type=sa.String(500))
    created_by: uuid.UUID | None = _user_ref()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    used_by: uuid.UUID | None = _user_ref()


class WaitlistEntry(SQLModel, table=True):
    __tablename__ = "waitlist"

    id: uuid.UUID = _uuid_pk()
    email: str = Field(sa_type=sa.String(254), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MagicLink(SQLModel, table=True):
    __tablename__ = "magic_links"

    id: uuid.UUID = _uuid_pk()
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    email: str = Field(sa_type=sa.String(254))
    invite_id: uuid.UUID | None = Field(
        default=None, sa_type=sa.Uuid, foreign_key="invite_codes.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per email inside the current window; shared by every server process."""

    __tablename__ = "login_throttles"

    email: str = Field(primary_key=True, sa_type=sa.String(254))
    failures: int = 0
    window_started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

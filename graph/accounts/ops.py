"""Accounts domain: who the caller is, and every way to become or stop being them.

Both faces call these operations; they validate values, enforce the rules of SPEC §2, and
commit their own unit of work.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import (
    hash_password,
    hash_secret,
    new_api_key,
    new_code,
    verify_password,
)
from gateway.errors import (
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
    UpstreamUnavailable,
)
from gateway.services import Services
from graph.pagination import Page, PageSpec, paginate
from models.accounts import (
    ApiKey,
    InviteCode,
    LoginThrottle,
    MagicLink,
    RefreshToken,
    User,
    WaitlistEntry,
)
from models.db import insert_for
from models.types import UtcDateTime, utcnow

EMAIL_MAX_LENGTH = 254
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024  # argon2 takes anything; a bound keeps hashing cost bounded
DISPLAY_NAME_MAX_LENGTH = 150
SESSION_TIMEOUT_MIN, SESSION_TIMEOUT_MAX = 5, 1440
API_KEY_NAME_MAX_LENGTH = 100
INVITE_COUNT_MIN, INVITE_COUNT_MAX = 1, 100
INVITE_NOTE_MAX_LENGTH = 500
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
MAGIC_LINK_TTL = timedelta(minutes=15)
# `last_used_at` is rewritten at most this often, so a busy key does not write on every request.
API_KEY_USE_RESOLUTION = timedelta(seconds=60)
API_KEYS_PAGE = PageSpec(default=50, maximum=200)

EDITABLE_USER_FIELDS = frozenset({"display_name", "recording_opt_in", "session_timeout_min"})
READ_ONLY_USER_FIELDS = frozenset({"id", "email", "is_staff", "date_joined"})


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


@dataclass(frozen=True)
class AuthResult:
    user: User
    tokens: TokenPair


# --- validation -------------------------------------------------------------------------------


def normalize_email(raw: object, field: str = "email") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(f"{field} is required")
    email = raw.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL_PATTERN.match(email):
        raise Invalid(f"{field}: {raw!r} is not a valid email address")
    return email


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(f"password must be at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Invalid(f"password must be at most {PASSWORD_MAX_LENGTH} characters")
    return password


def _check_display_name(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid("display_name must be a string")
    value = value.strip()
    if len(value) > DISPLAY_NAME_MAX_LENGTH:
        raise Invalid(f"display_name must be at most {DISPLAY_NAME_MAX_LENGTH} characters")
    return value


def _check_session_timeout(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("session_timeout_min must be an integer")
    if not SESSION_TIMEOUT_MIN <= value <= SESSION_TIMEOUT_MAX:
        raise Invalid(
            f"session_timeout_min must be between {SESSION_TIMEOUT_MIN} and {SESSION_TIMEOUT_MAX}"
        )
    return value


# --- who is calling ---------------------------------------------------------------------------


async def authenticate(
    db: AsyncSession, services: Services, headers: Mapping[str, str]
) -> User | None:
    """The user a request's credential names; None without one, 401 for a bad one."""
    api_key = headers.get("x-clone-api-key")
    if api_key is not None:
        return await _user_for_api_key(db, api_key.strip())
    authorization = headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <access token>'")
    user_id, _ = services.signer.verify(token.strip(), "access")
    user = await db.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired access token")
    return user


async def _user_for_api_key(db: AsyncSession, key: str) -> User:
    row = (
        await db.execute(
            sa.select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_secret(key))
        )
    ).first()
    if row is None or row.ApiKey.revoked_at is not None or not row.User.is_active:
        raise Unauthenticated("invalid or revoked API key")
    api_key, user = row.ApiKey, row.User
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_USE_RESOLUTION:
        api_key.last_used_at = now
        await db.commit()
    return user


# --- accounts ---------------------------------------------------------------------------------


async def create_user(
    db: AsyncSession,
    *,
    email: str,
    password: str | None,
    display_name: str | None = None,
    is_staff: bool = False,
    commit: bool = True,
) -> User:
    """Insert a user (the email must already be normalized); duplicate email → 400."""
    user = User(
        email=email,
        password_hash=await hash_password(password) if password is not None else None,
        display_name=_check_display_name(display_name) if display_name else email.split("@")[0],
        is_staff=is_staff,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        raise Invalid("an account with this email already exists", code="email_taken") from None
    if commit:
        await db.commit()
    return user


async def _email_taken(db: AsyncSession, email: str) -> bool:
    return (await db.execute(sa.select(User.id).where(User.email == email))).first() is not None


async def signup(
    db: AsyncSession,
    services: Services,
    *,
    email: object,
    password: object,
    display_name: object = None,
    invite_code: object = None,
) -> AuthResult:
    email = normalize_email(email)
    password = check_password(password)
    if display_name is not None:
        display_name = _check_display_name(display_name)
    if await _email_taken(db, email):
        raise Invalid("an account with this email already exists", code="email_taken")
    invite_id = None
    if services.settings.invite_only:
        invite_id = await _find_unused_invite(db, invite_code)
    user = await create_user(
        db, email=email, password=password, display_name=display_name or None, commit=False
    )
    if invite_id is not None:
        await _consume_invite(db, invite_id, user.id)
    tokens = await _issue_tokens(db, services, user.id)
    await db.commit()
    return AuthResult(user=user, tokens=tokens)


async def login(
    db: AsyncSession, services: Services, *, email: object, password: object
) -> AuthResult:
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise Invalid("email and password are required")
    email = email.strip().lower()
    await _check_login_throttle(db, email)
    user = (await db.execute(sa.select(User).where(User.email == email))).scalar_one_or_none()
    password_ok = await verify_password(password, user.password_hash if user else None)
    if user is None or not password_ok or not user.is_active:
        await _record_login_failure(db, email)
        raise Unauthenticated("wrong email or password", code="invalid_credentials")
    await db.execute(sa.delete(LoginThrottle).where(LoginThrottle.email == email))
    tokens = await _issue_tokens(db, services, user.id)
    await db.commit()
    return AuthResult(user=user, tokens=tokens)


async def _check_login_throttle(db: AsyncSession, email: str) -> None:
    throttle = await db.get(LoginThrottle, email)
    if throttle is None or throttle.failures < LOGIN_MAX_FAILURES:
        return
    remaining = throttle.window_started_at + LOGIN_FAILURE_WINDOW - utcnow()
    if remaining > timedelta(0):
        raise RateLimited(
            "too many failed logins for this email; try again later",
            retry_after=int(remaining.total_seconds()) + 1,
            code="login_throttled",
        )


async def _record_login_failure(db: AsyncSession, email: str) -> None:
    """Count a failure atomically, starting a new window when the old one has passed."""
    now = utcnow()
    window_over = LoginThrottle.window_started_at <= sa.literal(
        now - LOGIN_FAILURE_WINDOW, UtcDateTime
    )
    insert = insert_for(db)(LoginThrottle).values(email=email, failures=1, window_started_at=now)
    await db.execute(
        insert.on_conflict_do_update(
            index_elements=["email"],
            set_={
                "failures": sa.case((window_over, 1), else_=LoginThrottle.failures + 1),
                "window_started_at": sa.case(
                    (window_over, sa.literal(now, UtcDateTime)),
                    else_=LoginThrottle.window_started_at,
                ),
            },
        )
    )
    await db.commit()


async def update_me(db: AsyncSession, user: User, changes: Mapping[str, object]) -> User:
    """Apply a partial update; read-only fields are ignored, unknown ones refused."""
    unknown = set(changes) - EDITABLE_USER_FIELDS - READ_ONLY_USER_FIELDS
    if unknown:
        raise Invalid(
            f"unknown field(s) {', '.join(sorted(unknown))}; "
            f"editable: {', '.join(sorted(EDITABLE_USER_FIELDS))}"
        )
    if "display_name" in changes:
        user.display_name = _check_display_name(changes["display_name"])
    if "recording_opt_in" in changes:
        if not isinstance(changes["recording_opt_in"], bool):
            raise Invalid("recording_opt_in must be true or false")
        user.recording_opt_in = changes["recording_opt_in"]
    if "session_timeout_min" in changes:
        user.session_timeout_min = _check_session_timeout(changes["session_timeout_min"])
    db.add(user)
    await db.commit()
    return user


async def get_user_by_email(db: AsyncSession, email: object) -> User:
    email = normalize_email(email)
    user = (await db.execute(sa.select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


# --- tokens -----------------------------------------------------------------------------------


async def _issue_tokens(
    db: AsyncSession, services: Services, user_id: uuid.UUID, family_id: uuid.UUID | None = None
) -> TokenPair:
    access = services.signer.issue(user_id, "access")
    refresh = services.signer.issue(user_id, "refresh")
    db.add(
        RefreshToken(
            id=refresh.jti,
            user_id=user_id,
            family_id=family_id or refresh.jti,
            token_hash=hash_secret(refresh.token),
            expires_at=refresh.expires_at,
        )
    )
    return TokenPair(access=access.token, refresh=refresh.token)


async def refresh_tokens(db: AsyncSession, services: Services, refresh: object) -> TokenPair:
    """Rotate: the presented token is revoked and a new pair issued in the same family.

    Presenting an already revoked token means it leaked or was replayed, so the whole family
    is revoked: whoever holds its newest member must log in again.
    """
    if not isinstance(refresh, str) or not refresh:
        raise Invalid("refresh is required")
    services.signer.verify(refresh, "refresh")
    token = (
        await db.execute(
            sa.select(RefreshToken).where(RefreshToken.token_hash == hash_secret(refresh))
        )
    ).scalar_one_or_none()
    if token is None:
        raise Unauthenticated("invalid or expired refresh token")
    now = utcnow()
    revoked = await db.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if revoked.rowcount != 1:
        await db.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.family_id == token.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await db.commit()
        raise Unauthenticated("refresh token was already used or revoked", code="token_reused")
    user = await db.get(User, token.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired refresh token")
    tokens = await _issue_tokens(db, services, user.id, family_id=token.family_id)
    await db.commit()
    return tokens


async def logout(db: AsyncSession, services: Services, user: User, refresh: object) -> None:
    """Revoke the caller's refresh token; logging out twice is harmless."""
    if not isinstance(refresh, str) or not refresh:
        raise Invalid("refresh is required")
    try:
        services.signer.verify(refresh, "refresh")
    except Unauthenticated:
        raise Invalid("refresh is not a valid refresh token") from None
    result = await db.execute(
        sa.update(RefreshToken)
        .where(
            RefreshToken.token_hash == hash_secret(refresh),
            RefreshToken.user_id == user.id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    await db.commit()
    if result.rowcount == 0:
        owned = await db.execute(
            sa.select(RefreshToken.id).where(
                RefreshToken.token_hash == hash_secret(refresh), RefreshToken.user_id == user.id
            )
        )
        if owned.first() is None:
            raise Invalid("refresh is not a refresh token of this account")


# --- invites and waitlist ---------------------------------------------------------------------


async def _find_unused_invite(db: AsyncSession, code: object) -> uuid.UUID:
    if not isinstance(code, str) or not code.strip():
        raise Invalid("an invite code is required to sign up", code="invite_required")
    invite_id = (
        await db.execute(
            sa.select(InviteCode.id).where(
                InviteCode.code_hash == hash_secret(code.strip()), InviteCode.used_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if invite_id is None:
        raise Invalid("invalid or already used invite code", code="invite_invalid")
    return invite_id


async def _consume_invite(db: AsyncSession, invite_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Mark the invite used, atomically: of two concurrent signups only one gets it."""
    result = await db.execute(
        sa.update(InviteCode)
        .where(InviteCode.id == invite_id, InviteCode.used_at.is_(None))
        .values(used_at=utcnow(), used_by=user_id)
    )
    if result.rowcount != 1:
        await db.rollback()
        raise Invalid("invalid or already used invite code", code="invite_invalid")


async def invite_is_valid(db: AsyncSession, code: object) -> bool:
    if not isinstance(code, str) or not code.strip():
        raise Invalid("code is required")
    try:
        await _find_unused_invite(db, code)
    except Invalid:
        return False
    return True


async def create_invites(
    db: AsyncSession, creator: User | None, *, count: object = 1, note: object = ""
) -> list[str]:
    if not isinstance(count, int) or isinstance(count, bool):
        raise Invalid("count must be an integer")
    if not INVITE_COUNT_MIN <= count <= INVITE_COUNT_MAX:
        raise Invalid(f"count must be between {INVITE_COUNT_MIN} and {INVITE_COUNT_MAX}")
    note = "" if note is None else note
    if not isinstance(note, str) or len(note) > INVITE_NOTE_MAX_LENGTH:
        raise Invalid(f"note must be a string of at most {INVITE_NOTE_MAX_LENGTH} characters")
    codes = [new_code() for _ in range(count)]
    db.add_all(
        InviteCode(
            code_hash=hash_secret(code), note=note, created_by=creator.id if creator else None
        )
        for code in codes
    )
    await db.commit()
    return codes


async def join_waitlist(db: AsyncSession, email: object) -> tuple[WaitlistEntry, bool]:
    """Add the email; (entry, created). Joining twice returns the first entry."""
    email = normalize_email(email)
    insert = insert_for(db)(WaitlistEntry).values(id=uuid.uuid4(), email=email, created_at=utcnow())
    inserted = await db.execute(
        insert.on_conflict_do_nothing(index_elements=["email"]).returning(WaitlistEntry.id)
    )
    created = inserted.first() is not None
    await db.commit()
    entry = (
        await db.execute(sa.select(WaitlistEntry).where(WaitlistEntry.email == email))
    ).scalar_one()
    return entry, created


# --- magic links ------------------------------------------------------------------------------


async def request_magic_link(
    db: AsyncSession, services: Services, *, email: object, invite_code: object = None
) -> str:
    """Create a single-use sign-in token and return it for delivery.

    A new account in invite-only mode needs a valid invite now; it is consumed at verification.
    """
    email = normalize_email(email)
    if services.settings.is_production:
        # No mail transport exists yet; handing the token to the caller would let anyone sign
        # in as anyone, so production refuses instead.
        raise UpstreamUnavailable("no mail transport is configured", code="mail_unavailable")
    invite_id = None
    if services.settings.invite_only and not await _email_taken(db, email):
        invite_id = await _find_unused_invite(db, invite_code)
    token = new_code(32)
    db.add(
        MagicLink(
            token_hash=hash_secret(token),
            email=email,
            invite_id=invite_id,
            expires_at=utcnow() + MAGIC_LINK_TTL,
        )
    )
    await db.commit()
    return token


async def verify_magic_link(db: AsyncSession, services: Services, token: object) -> AuthResult:
    if not isinstance(token, str) or not token:
        raise Invalid("token is required")
    now = utcnow()
    link = (
        await db.execute(
            sa.update(MagicLink)
            .where(
                MagicLink.token_hash == hash_secret(token),
                MagicLink.used_at.is_(None),
                MagicLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(MagicLink.email, MagicLink.invite_id)
        )
    ).first()
    if link is None:
        await db.rollback()
        raise Unauthenticated(
            "invalid, expired or already used magic link", code="magic_link_invalid"
        )
    user = (await db.execute(sa.select(User).where(User.email == link.email))).scalar_one_or_none()
    if user is None:
        if services.settings.invite_only and link.invite_id is None:
            raise Invalid("an invite code is required to sign up", code="invite_required")
        user = await create_user(db, email=link.email, password=None, commit=False)
        if services.settings.invite_only:
            await _consume_invite(db, link.invite_id, user.id)
    elif not user.is_active:
        raise Forbidden("this account is disabled")
    tokens = await _issue_tokens(db, services, user.id)
    await db.commit()
    return AuthResult(user=user, tokens=tokens)


# --- API keys ---------------------------------------------------------------------------------


async def list_api_keys(
    db: AsyncSession,
    user: User,
    *,
    limit: int | None = None,
    offset: int | None = None,
    after: str | None = None,
) -> Page[ApiKey]:
    stmt = (
        sa.select(ApiKey)
        .where(ApiKey.user_id == user.id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return await paginate(db, stmt, API_KEYS_PAGE, limit, offset, after=after)


async def create_api_key(db: AsyncSession, user: User, name: object) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which exists only in this return value."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name is required")
    if len(name.strip()) > API_KEY_NAME_MAX_LENGTH:
        raise Invalid(f"name must be at most {API_KEY_NAME_MAX_LENGTH} characters")
    key, prefix = new_api_key()
    api_key = ApiKey(user_id=user.id, name=name.strip(), prefix=prefix, key_hash=hash_secret(key))
    db.add(api_key)
    await db.commit()
    return api_key, key


async def get_api_key(db: AsyncSession, user: User, key_id: uuid.UUID) -> ApiKey:
    api_key = await db.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id:
        raise NotFound("API key not found")
    return api_key


async def revoke_api_key(db: AsyncSession, user: User, key_id: uuid.UUID) -> ApiKey:
    """Revoke at once: the next request with this key is 401. Revoking twice is harmless."""
    api_key = await get_api_key(db, user, key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await db.commit()
    return api_key

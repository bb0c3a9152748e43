"""Credentials: password hashing, JWT issue/verify, and the hashing of bearer secrets.

Pure functions with no database access; the accounts domain decides who a credential names.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from gateway.errors import Unauthenticated
from models.types import utcnow

TokenType = Literal["access", "refresh"]
JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "clone_"
API_KEY_DISPLAY_PREFIX_LENGTH = 12  # "clone_" plus 6 characters: enough to tell keys apart

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """argon2id; run in a thread because it is deliberately slow and would stall the loop."""
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


def hash_secret(secret: str) -> str:
    """SHA-256 for high-entropy bearer secrets (API keys, refresh tokens, codes).

    These are random 256-bit values, so a fast hash is safe and lets us look them up by index.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh API key and its display prefix."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:API_KEY_DISPLAY_PREFIX_LENGTH]


def new_code(nbytes: int = 12) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: uuid.UUID
    expires_at: datetime


class TokenSigner:
    """Issues and strictly verifies HS256 JWTs with the configured secret."""

    def __init__(self, secret_key: str, *, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._key = OctKey.import_key(secret_key)
        self._ttl: dict[TokenType, timedelta] = {"access": access_ttl, "refresh": refresh_ttl}

    def issue(self, user_id: uuid.UUID, token_type: TokenType) -> IssuedToken:
        now = utcnow()
        jti = uuid.uuid4()
        expires_at = now + self._ttl[token_type]
        claims = {
            "sub": str(user_id),
            "type": token_type,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(jti),
        }
        token = jwt.encode({"alg": JWT_ALGORITHM, "typ": "JWT"}, claims, self._key)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at)

    def verify(self, token: str, expected: TokenType) -> tuple[uuid.UUID, uuid.UUID]:
        """Return (user id, jti); any defect at all is the same 401, with no detail to probe."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[JWT_ALGORITHM])
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                now=int(utcnow().timestamp()),
                leeway=0,
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                jti={"essential": True},
                type={"essential": True, "value": expected},
            ).validate(claims)
            return uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims["jti"]))
        except (JoseError, ValueError, TypeError, KeyError):
            raise Unauthenticated(f"invalid or expired {expected} token") from None

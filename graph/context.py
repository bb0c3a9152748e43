"""The per-request context both faces use: settings, one lazy DB session, the acting user."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import Forbidden, Unauthenticated
from gateway.services import Services
from gateway.settings import Settings
from models.accounts import User

_UNRESOLVED = object()


@dataclass
class RequestContext:
    services: Services
    headers: Mapping[str, str]
    _session: AsyncSession | None = field(default=None, repr=False)
    _user: object = field(default=_UNRESOLVED, repr=False)
    _user_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> AsyncSession:
        """One session per request, opened on first use so public endpoints may skip it."""
        if self._session is None:
            self._session = self.services.database.sessions()
        return self._session

    async def user(self) -> User | None:
        """The credential's user, resolved once; a credential that is present but bad is 401."""
        async with self._user_lock:  # concurrent resolvers: authenticate once
            if self._user is _UNRESOLVED:
                from graph.accounts.ops import authenticate

                self._user = await authenticate(self.db, self.services, self.headers)
        return self._user  # type: ignore[return-value]

    async def require_user(self) -> User:
        user = await self.user()
        if user is None:
            raise Unauthenticated("authentication required: send a Bearer token or X-Clone-API-Key")
        return user

    async def require_staff(self) -> User:
        user = await self.require_user()
        if not user.is_staff:
            raise Forbidden("staff only")
        return user

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

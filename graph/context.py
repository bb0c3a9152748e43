"""The per-request context both faces use: settings, one lazy DB session, the acting user."""

import asyncio
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.errors import Forbidden, Unauthenticated
from gateway.services import Services
from gateway.settings import Settings
from models.accounts import User

_UNRESOLVED = object()
ACCOUNT_HEADER = "x-clone-account"  # member mode: read this (shared) account instead of yours
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class RequestContext:
    services: Services
    headers: Mapping[str, str]
    connection_params: dict[str, object] | None = None  # set by a WebSocket's connection_init
    _session: AsyncSession | None = field(default=None, repr=False)
    _user: object = field(default=_UNRESOLVED, repr=False)
    _owner: User | None = field(default=None, repr=False)  # member mode: the shared account
    _user_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _loaders: dict[object, DataLoader[Any, Any]] = field(default_factory=dict, repr=False)

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

    async def caller(self) -> User:
        """Whoever the credential names (401 without one), whatever account the request acts
        for: what the REST wrapper checks first, and what `me` shows."""
        user = await self.user()
        if user is None:
            raise Unauthenticated("authentication required: send a Bearer token or X-Clone-API-Key")
        return user

    async def reads_another_account(self) -> bool:
        """Member mode: `X-Clone-Account` names an account other than the caller's (and the
        caller may read it; 403 otherwise)."""
        if not self.headers.get(ACCOUNT_HEADER):
            return False
        user = await self.caller()
        return await self._shared_owner(user) is not user

    async def require_user(self) -> User:
        """The caller's own account: every write, and every surface that is never shared.

        In member mode this is 403, so a resolver or handler that does not opt into shared
        reads (`require_reader`) can never act for, or show, another account.
        """
        user = await self.caller()
        if await self.reads_another_account():
            raise Forbidden(
                f"{ACCOUNT_HEADER} gives read-only access to recording, memory and predictions; "
                "this request is not one of those reads"
            )
        return user

    async def require_reader(self) -> User:
        """The account whose recording, memory and predictions this request reads: the
        caller's own, or in member mode the owner's, once the approved membership is checked
        (403 otherwise). Resolved once per request."""
        user = await self.caller()
        return await self._shared_owner(user) if self.headers.get(ACCOUNT_HEADER) else user

    async def account_for(self, method: str) -> User:
        """`require_reader` for a GET, `require_user` for any other method (a write)."""
        return await (self.require_reader() if method in ("GET", "HEAD") else self.require_user())

    async def _shared_owner(self, user: User) -> User:
        async with self._user_lock:
            if self._owner is None:
                from graph.access.ops import shared_account

                self._owner = await shared_account(self.db, user, self.headers[ACCOUNT_HEADER])
        return self._owner

    async def require_staff(self) -> User:
        user = await self.require_user()
        if not user.is_staff:
            raise Forbidden("staff only")
        return user

    def loader(self, factory: Callable[["RequestContext"], DataLoader[K, V]]) -> DataLoader[K, V]:
        """The request's instance of a DataLoader (created on first use, then shared)."""
        loader = self._loaders.get(factory)
        if loader is None:
            loader = self._loaders[factory] = factory(self)
        return loader

    def use_credentials(self, credentials: Mapping[str, object]) -> None:
        """Authenticate with these values instead of the HTTP headers (WebSocket init payload).

        Accepts `Authorization` / `X-Clone-API-Key` in any case, as GraphQL clients send them.
        """
        headers = {str(k).lower(): str(v) for k, v in credentials.items() if isinstance(v, str)}
        self.headers = {
            name: headers[name]
            for name in ("authorization", "x-clone-api-key", ACCOUNT_HEADER)
            if name in headers
        }
        self._user = _UNRESOLVED
        self._owner = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

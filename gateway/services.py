"""The long-lived objects one app instance shares across requests."""

from dataclasses import dataclass
from datetime import timedelta

from gateway.auth import TokenSigner
from gateway.broadcast import Broadcast, create_broadcast
from gateway.llm import ModelClient
from gateway.settings import Settings
from gateway.voice import VoiceClient
from models.db import Database, create_database, normalize_url


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    signer: TokenSigner
    broadcast: Broadcast
    llm: ModelClient
    voice: VoiceClient

    @classmethod
    def create(cls, settings: Settings) -> "Services":
        return cls(
            settings=settings,
            database=create_database(settings.database_url),
            signer=TokenSigner(
                settings.secret_key,
                access_ttl=timedelta(minutes=settings.access_ttl_min),
                refresh_ttl=timedelta(days=settings.refresh_ttl_days),
            ),
            broadcast=create_broadcast(normalize_url(settings.database_url, asynchronous=True)),
            llm=ModelClient(settings),
            voice=VoiceClient(settings),
        )

    async def aclose(self) -> None:
        await self.llm.aclose()
        await self.voice.aclose()
        await self.broadcast.aclose()
        await self.database.dispose()

"""Monitoring: is this instance able to serve?"""

from dataclasses import dataclass

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

import gateway
from models.db import Database

HEALTH_DB_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Health:
    database_ok: bool
    version: str = gateway.__version__

    @property
    def ok(self) -> bool:
        return self.database_ok


async def health(database: Database) -> Health:
    """Round-trip to the database, bounded so a hung server cannot hang the probe."""
    try:
        with anyio.fail_after(HEALTH_DB_TIMEOUT_S):
            async with database.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return Health(database_ok=False)
    return Health(database_ok=True)

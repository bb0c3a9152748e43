"""The shared session may be used by concurrent resolvers, and no helper method deadlocks."""

import asyncio

import sqlalchemy as sa

from gateway.services import Services


async def test_session_methods_work_and_serialize_concurrent_use(settings):
    services = Services.create(settings)
    try:
        async with services.database.sessions() as db:

            async def one() -> int:
                return (await db.execute(sa.select(sa.literal(1)))).scalar_one()

            async def two() -> int:
                return await asyncio.wait_for(db.scalar(sa.select(sa.literal(2))), 5)

            async def three() -> list[int]:
                return list(await asyncio.wait_for(db.scalars(sa.select(sa.literal(3))), 5))

            assert (
                await asyncio.gather(*(f() for f in (one, two, three) for _ in range(5)))
                == [1] * 5 + [2] * 5 + [[3]] * 5
            )
    finally:
        await services.aclose()

"""Monitoring stats (SPEC §7): staff-only counts across every account, in one statement."""

import uuid
from datetime import timedelta

import sqlalchemy as sa

from graph.accounts import ops as accounts_ops
from graph.jobs import ops as jobs_ops
from graph.monitoring import ops
from models.accounts import User
from models.predictions import Prediction
from models.recording import RecordingEvent
from models.types import utcnow
from tests.helpers import (
    PASSWORD,
    bearer,
    count_statements,
    graphql,
    make_event,
    signup,
    unique_email,
)

STATS = "/api/monitoring/stats/"


def services_of(client):
    return client._transport.app.state.services


async def staff_login(client) -> tuple[dict, User]:
    email = unique_email("staff")
    async with services_of(client).database.sessions() as db:
        user = await accounts_ops.create_user(db, email=email, password=PASSWORD, is_staff=True)
    response = await client.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.json(), user


async def ingest(client, tokens, events) -> None:
    response = await client.post("/api/recording/events/", json=events, headers=bearer(tokens))
    assert response.status_code in (200, 201), response.text


async def seed(client) -> dict:
    """A known data set: 3 users (one staff), 3 sessions, 6 events (2 received long ago),
    2 predictions and 1 continuation, jobs 1 running / 2 succeeded / 1 failed."""
    services = services_of(client)
    staff, staff_user = await staff_login(client)
    ada, bob = await signup(client), await signup(client)
    await ingest(
        client,
        ada,
        [make_event(f"a{i}", session_id="ada-1") for i in range(3)]
        + [make_event(f"a{i}", session_id="ada-2") for i in range(3, 5)],
    )
    await ingest(client, bob, [make_event("a0", session_id="bob-1")])  # same id, other user
    await ingest(client, ada, [make_event("a0", session_id="ada-1")])  # a duplicate: not counted
    async with services.database.sessions() as db:
        await db.execute(
            sa.update(RecordingEvent)
            .where(RecordingEvent.id.in_(["a3", "a4"]))
            .values(received_at=utcnow() - timedelta(hours=2))
        )
        ada_id, bob_id = uuid.UUID(ada["user"]["id"]), uuid.UUID(bob["user"]["id"])
        for user_id, kind in ((ada_id, "predict"), (bob_id, "predict"), (ada_id, "continuation")):
            db.add(
                Prediction(user_id=user_id, kind=kind, agent="claude", agent_input="?", model="m")
            )
        await db.commit()
        ada_user, bob_user = await db.get(User, ada_id), await db.get(User, bob_id)
    await jobs_ops.start_job(services, ada_user, kind="predict")  # still running
    for user, error in ((ada_user, None), (bob_user, None), (bob_user, "boom")):
        job = await jobs_ops.start_job(services, user, kind="voice")
        await jobs_ops.finish_job(services, job.id, error=error)
    return {"staff": staff, "staff_user": staff_user, "ada": ada}


EXPECTED = {
    "users": 3,
    "sessions": 3,
    "events": 6,
    "predictions": 2,
    "continuations": 1,
    "jobs": {"running": 1, "succeeded": 2, "failed": 1},
    "events_last_hour": 4,
}


async def test_counts_on_a_known_data_set(client):
    seeded = await seed(client)
    response = await client.get(STATS, headers=bearer(seeded["staff"]))
    assert response.status_code == 200, response.text
    assert response.json() == EXPECTED


async def test_empty_database_counts_zero(client):
    staff, _ = await staff_login(client)
    response = await client.get(STATS, headers=bearer(staff))
    assert response.json() == {
        "users": 1,
        "sessions": 0,
        "events": 0,
        "predictions": 0,
        "continuations": 0,
        "jobs": {"running": 0, "succeeded": 0, "failed": 0},
        "events_last_hour": 0,
    }


async def test_one_statement(client):
    seeded = await seed(client)
    async with services_of(client).database.sessions() as db:
        with count_statements(client) as statements:
            stats = await ops.stats(db, seeded["staff_user"])
    assert len(statements) == 1
    assert (stats.events, stats.events_last_hour, stats.jobs_running) == (6, 4, 1)


async def test_staff_only(client):
    seeded = await seed(client)
    response = await client.get(STATS, headers=bearer(seeded["ada"]))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert (await client.get(STATS)).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(STATS, headers=bad)).status_code == 401
    assert (await client.post(STATS, headers=bearer(seeded["staff"]))).status_code == 405


QUERY = """{ monitoringStats { users sessions events predictions continuations
  jobs { running succeeded failed } eventsLastHour } }"""


async def test_graphql(client):
    seeded = await seed(client)
    result = await graphql(client, QUERY, headers=bearer(seeded["staff"]))
    assert "errors" not in result, result
    assert result["data"]["monitoringStats"] == {
        "users": 3,
        "sessions": 3,
        "events": 6,
        "predictions": 2,
        "continuations": 1,
        "jobs": {"running": 1, "succeeded": 2, "failed": 1},
        "eventsLastHour": 4,
    }
    result = await graphql(client, QUERY, headers=bearer(seeded["ada"]))
    assert result["errors"][0]["extensions"] == {"code": "FORBIDDEN", "status": 403}
    result = await graphql(client, QUERY)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

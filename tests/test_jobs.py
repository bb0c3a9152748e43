"""Job records: every model call leaves one (success or failure), in a transaction of its own,
and the caller reads them through REST and GraphQL, owner-scoped."""

import asyncio
import uuid

import pytest
import strawberry
from strawberry import relay

from gateway.errors import ApiError, RateLimited, UpstreamError, UpstreamUnavailable
from graph.context import RequestContext
from graph.jobs import ops
from graph.jobs.resolvers import JobsQuery
from graph.jobs.types import JobType
from models.accounts import User
from models.jobs import Job
from tests.fakes.anthropic import url_unreachable
from tests.helpers import bearer, count_statements, graphql, signup

TOOL = "submit_predictions"
JOB_KEYS = {
    "id",
    "kind",
    "status",
    "model",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "error",
    "related_id",
    "created_at",
    "finished_at",
}


def services_of(client):
    return client._transport.app.state.services


async def load_user(services, tokens) -> User:
    async with services.database.sessions() as db:
        user = await db.get(User, uuid.UUID(tokens["user"]["id"]))
    assert user is not None
    return user


def model_call(services, model: str = "claude-sonnet-4-6"):
    def call():
        return services.llm.call_tool(
            model=model,
            system="Predict the user's reply.",
            messages=[{"role": "user", "content": "Shall I run the tests?"}],
            tool_name=TOOL,
            tool_description="Submit candidate replies.",
            input_schema={"type": "object"},
        )

    return call


@pytest.fixture
async def llm_client(make_client, fake_anthropic):
    return await make_client(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url)


# --- record_model_call --------------------------------------------------------------------------


async def test_successful_call_leaves_a_succeeded_job(llm_client, fake_anthropic):
    services = services_of(llm_client)
    tokens = await signup(llm_client)
    user = await load_user(services, tokens)
    fake_anthropic.reply_tool(TOOL, {"candidates": []}, input_tokens=321, output_tokens=54)
    seen_while_running: list[Job] = []

    async def call():
        # The running row is written concurrently with the call: it shows up while it runs.
        for _ in range(200):
            async with services.database.sessions() as db:
                seen_while_running[:] = (await ops.list_jobs(db, user)).items
            if seen_while_running:
                break
            await asyncio.sleep(0.01)
        return await model_call(services, "claude-haiku-4-5")()

    result, job = await ops.record_model_call(
        services, user, kind="predict", model="claude-haiku-4-5", call=call, related_id="p-1"
    )
    assert result.input == {"candidates": []}
    assert [(j.id, j.status, j.finished_at) for j in seen_while_running] == [
        (job.id, "running", None)
    ]
    assert job.status == "succeeded"
    assert (job.model, job.input_tokens, job.output_tokens) == ("claude-haiku-4-5", 321, 54)
    assert job.latency_ms is not None
    assert job.latency_ms >= 0
    assert job.finished_at is not None
    assert job.finished_at >= job.created_at
    assert (job.error, job.related_id, job.kind) == (None, "p-1", "predict")

    response = await llm_client.get(f"/api/jobs/{job.id}/", headers=bearer(tokens))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == JOB_KEYS
    assert body["id"] == str(job.id)
    assert (body["status"], body["model"], body["input_tokens"], body["output_tokens"]) == (
        "succeeded",
        "claude-haiku-4-5",
        321,
        54,
    )
    assert body["created_at"].endswith("Z")
    assert body["finished_at"].endswith("Z")


FAILURES = {
    "rate_limited": (lambda f: f.fail(429, "rate_limit_error", "slow"), RateLimited),
    "auth": (lambda f: f.fail(401, "authentication_error", "bad key"), UpstreamUnavailable),
    "server": (lambda f: f.fail(500, "api_error", "boom"), UpstreamError),
    "text_answer": (lambda f: f.reply_text("no tool for you"), UpstreamError),
    "timeout": (lambda f: (f.delay(3), f.reply_tool(TOOL, {})), UpstreamUnavailable),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_failed_call_leaves_a_failed_job(make_client, fake_anthropic, failure):
    script, expected = FAILURES[failure]
    client = await make_client(
        anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.url, llm_timeout_s=0.2
    )
    services = services_of(client)
    tokens = await signup(client)
    user = await load_user(services, tokens)
    script(fake_anthropic)
    with pytest.raises(expected) as raised:
        await ops.record_model_call(
            services,
            user,
            kind="continuation",
            model="claude-sonnet-4-6",
            call=model_call(services),
        )
    await assert_one_failed_job(client, tokens, raised.value.message)


async def assert_one_failed_job(client, tokens, message: str) -> dict:
    response = await client.get("/api/jobs/", headers=bearer(tokens))
    [job] = response.json()["results"]
    assert job["status"] == "failed"
    assert job["error"]
    assert job["error"] == message
    assert job["finished_at"] is not None
    assert job["latency_ms"] is not None
    assert job["input_tokens"] is None
    assert job["output_tokens"] is None
    assert job["model"] == "claude-sonnet-4-6"
    return job


async def test_unconfigured_and_unreachable_provider_leave_failed_jobs(make_client):
    for settings in ({}, {"anthropic_api_key": "k", "anthropic_base_url": url_unreachable()}):
        client = await make_client(**settings)
        services = services_of(client)
        tokens = await signup(client)
        user = await load_user(services, tokens)
        with pytest.raises(UpstreamUnavailable) as raised:
            await ops.record_model_call(
                services, user, kind="predict", model="claude-sonnet-4-6", call=model_call(services)
            )
        await assert_one_failed_job(client, tokens, raised.value.message)


async def test_unexpected_exception_is_recorded_by_class_name(client):
    services = services_of(client)
    tokens = await signup(client)
    user = await load_user(services, tokens)

    async def broken():
        raise KeyError("candidates")

    with pytest.raises(KeyError):
        await ops.record_model_call(
            services, user, kind="promote_facts", model="claude-sonnet-4-6", call=broken
        )
    job = await assert_one_failed_job(client, tokens, "KeyError")
    assert job["kind"] == "promote_facts"


async def test_cancelled_call_does_not_stay_running(client):
    services = services_of(client)
    tokens = await signup(client)
    user = await load_user(services, tokens)
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(30)

    task = asyncio.create_task(
        ops.record_model_call(services, user, kind="predict", model="claude-sonnet-4-6", call=slow)
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):  # the job is closed by a task of its own
        job = (await client.get("/api/jobs/", headers=bearer(tokens))).json()["results"][0]
        if job["status"] != "running":
            break
        await asyncio.sleep(0.02)
    assert job["status"] == "failed"
    assert job["error"] == ops.CANCELLED_ERROR


async def test_job_survives_the_callers_rollback(llm_client, fake_anthropic):
    services = services_of(llm_client)
    tokens = await signup(llm_client)
    fake_anthropic.reply_tool(TOOL, {"candidates": []})
    async with services.database.sessions() as db:
        user = await db.get(User, uuid.UUID(tokens["user"]["id"]))
        _, job = await ops.record_model_call(
            services, user, kind="predict", model="claude-sonnet-4-6", call=model_call(services)
        )
        user.display_name = "never saved"
        await db.flush()
        await db.rollback()
    me = await llm_client.get("/api/auth/me/", headers=bearer(tokens))
    assert me.json()["display_name"] != "never saved"
    detail = await llm_client.get(f"/api/jobs/{job.id}/", headers=bearer(tokens))
    assert detail.json()["status"] == "succeeded"


@pytest.mark.postgresql_only
async def test_job_survives_a_rollback_of_an_open_write_transaction(llm_client, fake_anthropic):
    """The caller's write began before the call: the job still commits on its own."""
    services = services_of(llm_client)
    tokens = await signup(llm_client)
    fake_anthropic.fail(500, "api_error", "boom")
    async with services.database.sessions() as db:
        user = await db.get(User, uuid.UUID(tokens["user"]["id"]))
        user.display_name = "never saved"
        await db.flush()
        with pytest.raises(UpstreamError):
            await ops.record_model_call(
                services, user, kind="predict", model="claude-sonnet-4-6", call=model_call(services)
            )
        await db.rollback()
    await assert_one_failed_job(llm_client, tokens, "the model provider answered 500: boom")


async def test_start_and_finish_job_for_other_services(client):
    services = services_of(client)
    tokens = await signup(client)
    user = await load_user(services, tokens)
    job = await ops.start_job(services, user, kind="voice")
    assert (job.status, job.model, job.finished_at) == ("running", None, None)
    done = await ops.finish_job(
        services, job.id, related_id="voice-123", model="eleven_multilingual_v2"
    )
    assert (done.status, done.related_id, done.model) == (
        "succeeded",
        "voice-123",
        "eleven_multilingual_v2",
    )
    assert done.latency_ms is not None
    assert done.finished_at is not None
    failed = await ops.finish_job(
        services, (await ops.start_job(services, user, kind="voice")).id, error="  "
    )
    assert (failed.status, failed.error) == ("failed", "failed")  # never an empty error
    with pytest.raises(ApiError) as raised:
        await ops.start_job(services, user, kind="nope")
    assert raised.value.status == 400


# --- REST --------------------------------------------------------------------------------------


async def make_jobs(client, tokens) -> list[Job]:
    """Jobs of several kinds and statuses, oldest first."""
    services = services_of(client)
    user = await load_user(services, tokens)
    made = []
    for kind, error in [
        ("predict", None),
        ("predict", "the model provider answered 500: boom"),
        ("continuation", None),
        ("promote_episodes", None),
        ("voice", "ElevenLabs is not configured"),
    ]:
        job = await ops.start_job(services, user, kind=kind, model="claude-sonnet-4-6")
        made.append(
            await ops.finish_job(services, job.id, error=error, input_tokens=10, output_tokens=2)
        )
    made.append(await ops.start_job(services, user, kind="promote_facts"))  # still running
    return made


async def test_list_newest_first_with_filters(client):
    tokens = await signup(client)
    made = await make_jobs(client, tokens)
    response = await client.get("/api/jobs/", headers=bearer(tokens))
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (6, 50, 0)
    assert (body["next"], body["previous"]) == (None, None)
    assert [job["id"] for job in body["results"]] == [str(job.id) for job in reversed(made)]
    assert all(set(job) == JOB_KEYS for job in body["results"])

    async def ids(**params):
        response = await client.get("/api/jobs/", params=params, headers=bearer(tokens))
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["results"]]

    assert await ids(kind="predict") == [str(made[1].id), str(made[0].id)]
    assert await ids(status="failed") == [str(made[4].id), str(made[1].id)]
    assert await ids(status="running") == [str(made[5].id)]
    assert await ids(kind="predict", status="succeeded") == [str(made[0].id)]
    assert await ids(kind="continuation", status="failed") == []


async def test_list_pagination(client):
    tokens = await signup(client)
    made = await make_jobs(client, tokens)
    newest_first = [str(job.id) for job in reversed(made)]
    response = await client.get("/api/jobs/?limit=2&offset=2", headers=bearer(tokens))
    body = response.json()
    assert [job["id"] for job in body["results"]] == newest_first[2:4]
    assert (body["count"], body["limit"], body["offset"]) == (6, 2, 2)
    assert "offset=4" in body["next"]
    assert "offset=0" in body["previous"]
    clamped = await client.get("/api/jobs/?limit=5000", headers=bearer(tokens))
    assert clamped.json()["limit"] == 200
    for bad in ("limit=-1", "offset=-1", "limit=abc"):
        response = await client.get(f"/api/jobs/?{bad}", headers=bearer(tokens))
        assert response.status_code == 400, bad


async def test_list_rejects_unknown_kind_and_status(client):
    tokens = await signup(client)
    response = await client.get("/api/jobs/?kind=translate", headers=bearer(tokens))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert (
        "predict, continuation, promote_episodes, promote_facts, voice"
        in (response.json()["error"])
    )
    response = await client.get("/api/jobs/?status=done", headers=bearer(tokens))
    assert response.status_code == 400
    assert "running, succeeded, failed" in response.json()["error"]


async def test_other_users_jobs_are_invisible(client):
    alice, bob = await signup(client), await signup(client)
    alice_jobs = await make_jobs(client, alice)
    bob_job = (await make_jobs(client, bob))[0]
    listed = (await client.get("/api/jobs/?limit=200", headers=bearer(alice))).json()
    assert listed["count"] == len(alice_jobs)
    assert str(bob_job.id) not in {job["id"] for job in listed["results"]}
    foreign = await client.get(f"/api/jobs/{bob_job.id}/", headers=bearer(alice))
    missing = await client.get(f"/api/jobs/{uuid.uuid4()}/", headers=bearer(alice))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"error": "job not found", "code": "not_found"}
    not_a_uuid = await client.get("/api/jobs/not-a-uuid/", headers=bearer(alice))
    assert not_a_uuid.status_code == 404


async def test_credentials_are_required(client):
    tokens = await signup(client)
    job = (await make_jobs(client, tokens))[0]
    for path in ("/api/jobs/", f"/api/jobs/{job.id}/"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
    assert (await client.post("/api/jobs/", headers=bearer(tokens))).status_code == 405


async def test_api_key_credential_lists_jobs(client):
    tokens = await signup(client)
    await make_jobs(client, tokens)
    key = await client.post("/api/auth/keys/", json={"name": "cli"}, headers=bearer(tokens))
    response = await client.get("/api/jobs/", headers={"X-Clone-API-Key": key.json()["key"]})
    assert response.json()["count"] == 6


# --- GraphQL -----------------------------------------------------------------------------------

JOB_FIELDS = """
  id jobId kind status model inputTokens outputTokens latencyMs error relatedId createdAt
  finishedAt
"""


async def test_graphql_jobs_and_job(client):
    alice, bob = await signup(client), await signup(client)
    made = await make_jobs(client, alice)
    bob_job = (await make_jobs(client, bob))[0]
    query = f"""
    query ($kind: String, $status: String, $first: Int, $after: String) {{
      jobs(kind: $kind, status: $status, first: $first, after: $after) {{
        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {JOB_FIELDS} }}
      }}
    }}"""
    body = await graphql(client, query, {}, headers=bearer(alice))
    jobs = body["data"]["jobs"]["nodes"]
    assert body["data"]["jobs"]["totalCount"] == len(made)
    assert [job["jobId"] for job in jobs] == [str(job.id) for job in reversed(made)]
    failed_predict = jobs[-2]
    assert failed_predict == {
        "id": failed_predict["id"],
        "jobId": str(made[1].id),
        "kind": "predict",
        "status": "failed",
        "model": "claude-sonnet-4-6",
        "inputTokens": 10,
        "outputTokens": 2,
        "latencyMs": made[1].latency_ms,
        "error": "the model provider answered 500: boom",
        "relatedId": None,
        "createdAt": failed_predict["createdAt"],
        "finishedAt": failed_predict["finishedAt"],
    }
    assert failed_predict["id"] != failed_predict["jobId"]  # a Relay global id
    filtered = await graphql(
        client, query, {"kind": "predict", "status": "failed"}, headers=bearer(alice)
    )
    assert [job["jobId"] for job in filtered["data"]["jobs"]["nodes"]] == [str(made[1].id)]
    head = (await graphql(client, query, {"first": 1}, headers=bearer(alice)))["data"]["jobs"]
    assert head["pageInfo"]["hasNextPage"] is True
    after = head["pageInfo"]["endCursor"]
    paged = await graphql(client, query, {"first": 2, "after": after}, headers=bearer(alice))
    assert [job["jobId"] for job in paged["data"]["jobs"]["nodes"]] == [
        str(made[-2].id),
        str(made[-3].id),
    ]
    garbage = await graphql(client, query, {"after": "not-a-cursor"}, headers=bearer(alice))
    assert garbage["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}
    bad = await graphql(client, query, {"kind": "nope"}, headers=bearer(alice))
    assert bad["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}

    one = "query ($id: ID!) { job(jobId: $id) { jobId status error } }"
    own = await graphql(client, one, {"id": str(made[0].id)}, headers=bearer(alice))
    assert own["data"]["job"] == {"jobId": str(made[0].id), "status": "succeeded", "error": None}
    for other in (str(bob_job.id), str(uuid.uuid4()), "not-a-uuid"):
        body = await graphql(client, one, {"id": other}, headers=bearer(alice))
        assert body["data"]["job"] is None, other

    anonymous = await graphql(client, "{ jobs { nodes { jobId } } }")
    assert anonymous["errors"][0]["extensions"]["status"] == 401


async def test_job_node_resolution_respects_ownership(client):
    """`node(id:)` (once the root schema exposes it) resolves jobs through `resolve_nodes`."""

    @strawberry.type
    class NodeQuery(JobsQuery):
        node: relay.Node | None = relay.node()

    schema = strawberry.Schema(query=NodeQuery, types=[JobType])
    alice, bob = await signup(client), await signup(client)
    alice_job = (await make_jobs(client, alice))[0]
    bob_job = (await make_jobs(client, bob))[0]
    services = services_of(client)
    ids = {}
    for name, job, tokens in (("alice", alice_job, alice), ("bob", bob_job, bob)):
        lookup = "query ($id: ID!) { job(jobId: $id) { id } }"
        body = await graphql(client, lookup, {"id": str(job.id)}, headers=bearer(tokens))
        ids[name] = body["data"]["job"]["id"]
    query = "query ($id: ID!) { node(id: $id) { ... on Job { jobId kind } } }"
    ctx = RequestContext(
        services=services, headers={"authorization": bearer(alice)["Authorization"]}
    )
    try:
        own = await schema.execute(query, {"id": ids["alice"]}, context_value=ctx)
        assert own.errors is None
        assert own.data == {"node": {"jobId": str(alice_job.id), "kind": "predict"}}
        foreign = await schema.execute(query, {"id": ids["bob"]}, context_value=ctx)
        assert foreign.data == {"node": None}
    finally:
        await ctx.aclose()


async def test_listing_uses_one_query_per_page(client):
    tokens = await signup(client)
    await make_jobs(client, tokens)
    services = services_of(client)
    user = await load_user(services, tokens)
    with count_statements(client) as statements:
        async with services.database.sessions() as db:
            page = await ops.list_jobs(db, user, kind="predict", limit=10)
    assert page.total == 2
    assert len(statements) == 2  # the count and the page

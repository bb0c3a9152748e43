"""Access (SPEC §7): sharing a Clone read-only. The member reads exactly the owner's
recording, memory and predictions with X-Clone-Account; every write is 403, in REST and GraphQL;
revoking ends it at the next request."""

import pytest

from tests.helpers import bearer, graphql, make_event, signup, unique_email

MEMBER_WRITES = [
    ("post", "/api/recording/events/", [make_event("w1")]),
    ("post", "/api/memory/raw/", {"content": "x", "kind": "note", "source": "manual"}),
    ("post", "/api/memory/facts/", {"text": "member fact"}),
    ("post", "/api/memory/episodes/", {"title": "t"}),
    ("post", "/api/memory/profile/", {"summary": "hijacked"}),
    ("delete", "/api/memory/profile/", None),
    ("post", "/api/memory/context/", {}),
    ("post", "/api/memory/sync/", None),
    ("post", "/api/memory/promote/episodes/", {}),
    ("post", "/api/predictions/predict/", {"agent": "a", "agent_input": "b"}),
    ("post", "/api/predictions/continuation/", {"agent": "a", "agent_input": "b"}),
    ("post", "/api/auth/keys/", {"name": "k"}),
    ("post", "/api/access/invite/", {"email": "x@example.com"}),
]


async def _account(client):
    email = unique_email("access")
    tokens = await signup(client, email=email)
    me = (await client.get("/api/auth/me/", headers=bearer(tokens))).json()
    return {"headers": bearer(tokens), "email": email, "id": me["id"]}


async def _share(client, owner, member):
    invited = await client.post(
        "/api/access/invite/", json={"email": member["email"].upper()}, headers=owner["headers"]
    )
    assert invited.status_code == 201, invited.text
    membership = invited.json()
    approved = await client.post(
        f"/api/access/{membership['id']}/approve/", headers=member["headers"]
    )
    assert approved.status_code == 200, approved.text
    return approved.json()


async def _seed_owner(client, owner):
    headers = owner["headers"]
    ingest = await client.post(
        "/api/recording/events/",
        json=[make_event("o1", session_id="own"), make_event("o2", session_id="own")],
        headers=headers,
    )
    assert ingest.status_code == 201, ingest.text
    fact = await client.post("/api/memory/facts/", json={"text": "Owner fact"}, headers=headers)
    assert fact.status_code == 201
    await client.post("/api/memory/profile/", json={"summary": "The owner"}, headers=headers)


def _as_member(member, owner):
    return member["headers"] | {"X-Clone-Account": owner["id"]}


async def test_invite_approve_decline_and_listing(client):
    owner, member, stranger = [await _account(client) for _ in range(3)]
    invited = await client.post(
        "/api/access/invite/", json={"email": member["email"]}, headers=owner["headers"]
    )
    assert invited.status_code == 201
    body = invited.json()
    assert (body["status"], body["role"], body["member_id"]) == ("invited", "owner", None)
    again = await client.post(
        "/api/access/invite/", json={"email": member["email"]}, headers=owner["headers"]
    )
    assert again.status_code == 409
    for bad in ({"email": "not-an-email"}, {"email": owner["email"]}, {"mail": "x@y.z"}, {}):
        response = await client.post("/api/access/invite/", json=bad, headers=owner["headers"])
        assert response.status_code == 400, bad
    seen = (await client.get("/api/access/members/", headers=member["headers"])).json()
    assert seen["count"] == 1
    assert seen["results"][0]["role"] == "member"
    assert seen["results"][0]["owner_email"] == owner["email"]
    assert (await client.get("/api/access/members/", headers=stranger["headers"])).json()[
        "count"
    ] == 0
    url = f"/api/access/{body['id']}"
    # Only the invitee answers; a stranger does not even see it.
    assert (await client.post(f"{url}/approve/", headers=owner["headers"])).status_code == 403
    assert (await client.post(f"{url}/approve/", headers=stranger["headers"])).status_code == 404
    declined = await client.post(f"{url}/decline/", headers=member["headers"])
    assert declined.json()["status"] == "declined"
    assert declined.json()["member_id"] == member["id"]
    # A declined invitation can be sent anew.
    renewed = await client.post(
        "/api/access/invite/", json={"email": member["email"]}, headers=owner["headers"]
    )
    assert (renewed.status_code, renewed.json()["status"]) == (201, "invited")
    assert (await client.delete(f"{url}/", headers=member["headers"])).status_code == 403
    assert (await client.delete(f"{url}/", headers=owner["headers"])).status_code == 204
    assert (await client.delete(f"{url}/", headers=owner["headers"])).status_code == 404


async def test_member_reads_exactly_the_owners_rows(client):
    owner, member = await _account(client), await _account(client)
    await _seed_owner(client, owner)
    # The member's own data must never show through in member mode.
    await client.post(
        "/api/recording/events/",
        json=[make_event("m1", session_id="mine")],
        headers=member["headers"],
    )
    await client.post("/api/memory/facts/", json={"text": "Member fact"}, headers=member["headers"])
    await _share(client, owner, member)
    shared = _as_member(member, owner)
    for path in (
        "/api/recording/sessions/",
        "/api/recording/sessions/own/events/",
        "/api/recording/events/o1/",
        "/api/memory/facts/",
        "/api/memory/raw/",
        "/api/memory/episodes/",
        "/api/memory/profile/",
        "/api/memory/stats/",
        "/api/memory/export/",
        "/api/predictions/",
        "/api/predictions/stats/",
    ):
        as_owner = await client.get(path, headers=owner["headers"])
        as_member = await client.get(path, headers=shared)
        assert as_member.status_code == as_owner.status_code == 200, (path, as_member.text)
        assert as_member.json() == as_owner.json(), path
    facts = (await client.get("/api/memory/facts/", headers=shared)).json()["results"]
    assert [fact["text"] for fact in facts] == ["Owner fact"]
    mine = await client.get("/api/recording/sessions/mine/", headers=shared)
    assert mine.status_code == 404  # the member's own session is not the owner's
    query = """{ recordingSessions { nodes { sessionId events { nodes { eventId } } } }
                 facts { nodes { text } } profile { summary } predictionStats { total } }"""
    as_member = await graphql(client, query, headers=shared)
    assert "errors" not in as_member, as_member
    assert as_member == await graphql(client, query, headers=owner["headers"])
    assert as_member["data"]["recordingSessions"]["nodes"][0]["sessionId"] == "own"


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_WRITES)
async def test_every_member_write_is_403_and_changes_nothing(client, method, path, body):
    owner, member = await _account(client), await _account(client)
    await _seed_owner(client, owner)
    await _share(client, owner, member)
    before = (await client.get("/api/memory/stats/", headers=owner["headers"])).json()
    kwargs = {"headers": _as_member(member, owner)}
    if body is not None:
        kwargs["json"] = body
    response = await client.request(method.upper(), path, **kwargs)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert (await client.get("/api/memory/stats/", headers=owner["headers"])).json() == before


async def test_member_mode_refuses_graphql_mutations_and_unshared_reads(client):
    owner, member = await _account(client), await _account(client)
    await _seed_owner(client, owner)
    await _share(client, owner, member)
    shared = _as_member(member, owner)
    for mutation in (
        'mutation { createFact(input: {text: "x"}) { text } }',
        "mutation { ingestEvents(events: []) { accepted } }",
        'mutation { inviteMember(email: "z@example.com") { id } }',
    ):
        body = await graphql(client, mutation, headers=shared)
        assert body["errors"][0]["extensions"]["status"] == 403, (mutation, body)
    for unshared in (
        "{ me { email } }",
        "{ apiKeys { nodes { name } } }",
        "{ jobs { nodes { id } } }",
    ):
        body = await graphql(client, unshared, headers=shared)
        assert body["errors"][0]["extensions"]["status"] == 403, (unshared, body)
    for path in ("/api/auth/me/", "/api/auth/keys/", "/api/jobs/", "/api/access/members/"):
        assert (await client.get(path, headers=shared)).status_code == 403, path
    facts = (await client.get("/api/memory/facts/", headers=owner["headers"])).json()
    assert [fact["text"] for fact in facts["results"]] == ["Owner fact"]


async def test_no_access_without_an_approved_membership(client):
    owner, member, stranger = [await _account(client) for _ in range(3)]
    await _seed_owner(client, owner)
    invited = (
        await client.post(
            "/api/access/invite/", json={"email": member["email"]}, headers=owner["headers"]
        )
    ).json()
    path = "/api/memory/facts/"
    # Invited but not yet approved; a stranger; an unknown account; a malformed header.
    assert (await client.get(path, headers=_as_member(member, owner))).status_code == 403
    assert (await client.get(path, headers=_as_member(stranger, owner))).status_code == 403
    unknown = member["headers"] | {"X-Clone-Account": "00000000-0000-4000-8000-000000000000"}
    assert (await client.get(path, headers=unknown)).status_code == 403
    malformed = member["headers"] | {"X-Clone-Account": "owner"}
    assert (await client.get(path, headers=malformed)).status_code == 400
    # Your own id is just your own account.
    own = member["headers"] | {"X-Clone-Account": member["id"]}
    assert (await client.post(path, json={"text": "mine"}, headers=own)).status_code == 201
    # Approve, read, then the owner revokes: the very next request is refused.
    await client.post(f"/api/access/{invited['id']}/approve/", headers=member["headers"])
    assert (await client.get(path, headers=_as_member(member, owner))).status_code == 200
    await client.delete(f"/api/access/{invited['id']}/", headers=owner["headers"])
    assert (await client.get(path, headers=_as_member(member, owner))).status_code == 403
    body = await graphql(client, "{ facts { nodes { text } } }", headers=_as_member(member, owner))
    assert body["errors"][0]["extensions"]["status"] == 403


async def test_access_in_graphql(client):
    owner, member = await _account(client), await _account(client)
    invited = await graphql(
        client,
        "mutation ($e: String!) { inviteMember(email: $e) { id status role ownerEmail } }",
        {"e": member["email"]},
        owner["headers"],
    )
    membership = invited["data"]["inviteMember"]
    assert (membership["status"], membership["role"]) == ("invited", "owner")
    approved = await graphql(
        client,
        "mutation ($id: ID!) { approveMembership(memberId: $id) { status role memberId } }",
        {"id": membership["id"]},
        member["headers"],
    )
    assert approved["data"]["approveMembership"] == {
        "status": "approved",
        "role": "member",
        "memberId": member["id"],
    }
    listed = await graphql(
        client, "{ members { totalCount nodes { ownerId status } } }", headers=member["headers"]
    )
    assert listed["data"]["members"] == {
        "totalCount": 1,
        "nodes": [{"ownerId": owner["id"], "status": "approved"}],
    }
    revoked = await graphql(
        client,
        "mutation ($id: ID!) { revokeMembership(memberId: $id) }",
        {"id": membership["id"]},
        owner["headers"],
    )
    assert revoked["data"]["revokeMembership"] is True
    empty = await graphql(client, "{ members { nodes { id } } }", headers=member["headers"])
    assert empty["data"]["members"] == {"nodes": []}

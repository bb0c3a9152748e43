"""News (SPEC §7): public reads, newest first; staff-only writes; REST and GraphQL."""

import uuid

import pytest

from graph.accounts import ops as accounts_ops
from tests.helpers import PASSWORD, bearer, graphql, signup, unique_email

NEWS = "/api/news/"
ITEM_KEYS = {"id", "title", "url", "summary", "tags", "published_at"}


async def staff_tokens(client) -> dict:
    """A staff account made the way an operator makes one (the CLI's domain operation)."""
    services = client._transport.app.state.services
    email = unique_email("staff")
    async with services.database.sessions() as db:
        await accounts_ops.create_user(db, email=email, password=PASSWORD, is_staff=True)
    response = await client.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def staff(client):
    return bearer(await staff_tokens(client))


async def publish(client, staff, **fields) -> dict:
    response = await client.post(NEWS, json={"title": "Hello", **fields}, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()


# --- writing ----------------------------------------------------------------------------------


async def test_staff_publishes_and_anyone_reads(client, staff):
    item = await publish(
        client,
        staff,
        title="Clone 1.0",
        url="https://example.com/release?x=1",
        summary="The first release.",
        tags=["release", " launch ", "release"],
        published_at="2026-05-05T14:00:00+02:00",
    )
    assert set(item) == ITEM_KEYS
    assert uuid.UUID(item["id"])
    assert (item["title"], item["url"], item["summary"]) == (
        "Clone 1.0",
        "https://example.com/release?x=1",
        "The first release.",
    )
    assert item["tags"] == ["release", "launch"]  # trimmed, duplicates dropped
    assert item["published_at"] == "2026-05-05T12:00:00Z"

    # Public: no credential needed, list and detail alike.
    detail = await client.get(f"{NEWS}{item['id']}/")
    assert detail.status_code == 200
    assert detail.json() == item
    listing = await client.get(NEWS)
    assert listing.status_code == 200
    assert listing.json() == {
        "results": [item],
        "count": 1,
        "limit": 20,
        "offset": 0,
        "next": None,
        "previous": None,
    }


async def test_defaults_published_now(client, staff):
    item = await publish(client, staff, title="  Minimal  ")
    assert (item["title"], item["url"], item["summary"], item["tags"]) == ("Minimal", None, "", [])
    assert item["published_at"].endswith("Z")
    same = await publish(client, staff, published_at=None)
    assert same["published_at"] >= item["published_at"]


async def test_patch_changes_only_the_given_fields(client, staff):
    item = await publish(client, staff, url="http://example.com/a", summary="s", tags=["a"])
    response = await client.patch(
        f"{NEWS}{item['id']}/", json={"title": "Renamed", "url": None}, headers=staff
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["title"], patched["url"], patched["summary"], patched["tags"]) == (
        "Renamed",
        None,
        "s",
        ["a"],
    )
    assert patched["published_at"] == item["published_at"]
    response = await client.patch(
        f"{NEWS}{item['id']}/", json={"published_at": "2020-01-01T00:00:00Z"}, headers=staff
    )
    assert response.json()["published_at"] == "2020-01-01T00:00:00Z"
    assert (await client.get(f"{NEWS}{item['id']}/")).json() == response.json()


async def test_delete(client, staff):
    item = await publish(client, staff)
    response = await client.delete(f"{NEWS}{item['id']}/", headers=staff)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{NEWS}{item['id']}/")).status_code == 404
    assert (await client.delete(f"{NEWS}{item['id']}/", headers=staff)).status_code == 404
    assert (await client.get(NEWS)).json()["count"] == 0


async def test_writes_are_staff_only(client, staff):
    item = await publish(client, staff)
    user = bearer(await signup(client))
    url = f"{NEWS}{item['id']}/"
    for headers, status in ((user, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)):
        assert (await client.post(NEWS, json={"title": "x"}, headers=headers)).status_code == status
        assert (await client.patch(url, json={"title": "x"}, headers=headers)).status_code == status
        assert (await client.delete(url, headers=headers)).status_code == status
    # Refused before the body is looked at: a non-staff user learns nothing from validation.
    response = await client.post(NEWS, content=b"not json", headers=user)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert (await client.get(url)).json()["title"] == "Hello"  # unchanged
    assert (await client.get(NEWS)).json()["count"] == 1


async def test_unknown_ids_are_404(client, staff):
    missing = f"{NEWS}{uuid.uuid4()}/"
    assert (await client.get(missing)).status_code == 404
    assert (await client.patch(missing, json={"title": "x"}, headers=staff)).status_code == 404
    assert (await client.delete(missing, headers=staff)).status_code == 404
    response = await client.get(f"{NEWS}not-a-uuid/")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "code"}


INVALID = {
    "no_title": {"summary": "x"},
    "null_title": {"title": None},
    "blank_title": {"title": "   "},
    "long_title": {"title": "t" * 301},
    "title_number": {"title": 1},
    "ftp_url": {"title": "t", "url": "ftp://example.com/file"},
    "relative_url": {"title": "t", "url": "/news/1"},
    "no_host_url": {"title": "t", "url": "https://"},
    "url_space": {"title": "t", "url": "https://example.com/a b"},
    "long_url": {"title": "t", "url": "https://example.com/" + "a" * 2000},
    "url_number": {"title": "t", "url": 5},
    "summary_list": {"title": "t", "summary": ["x"]},
    "tags_string": {"title": "t", "tags": "release"},
    "tags_numbers": {"title": "t", "tags": [1, 2]},
    "bad_date": {"title": "t", "published_at": "yesterday"},
    "naive_date": {"title": "t", "published_at": "2026-05-05T12:00:00"},
    "date_number": {"title": "t", "published_at": 1700000000},
    "unknown_field": {"title": "t", "author": "me"},
    "nul": {"title": "t\x00"},
}


@pytest.mark.parametrize("name", INVALID, ids=list(INVALID))
async def test_validation(client, staff, name):
    response = await client.post(NEWS, json=INVALID[name], headers=staff)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "code"}
    assert (await client.get(NEWS)).json()["count"] == 0


async def test_patch_validation(client, staff):
    item = await publish(client, staff)
    url = f"{NEWS}{item['id']}/"
    for body in ({"title": ""}, {"published_at": None}, {"tags": [None]}, {"id": item["id"]}):
        response = await client.patch(url, json=body, headers=staff)
        assert response.status_code == 400, (body, response.text)
    assert (await client.patch(url, content=b"[]", headers=staff)).status_code == 400
    headers = {**staff, "Content-Type": "text/plain"}
    assert (await client.patch(url, content=b"x", headers=headers)).status_code == 415
    assert (await client.get(url)).json() == item


# --- reading ----------------------------------------------------------------------------------


async def test_newest_first_with_pages(client, staff):
    for day in (3, 1, 4, 2, 5):
        await publish(client, staff, title=f"day {day}", published_at=f"2026-05-0{day}T09:00:00Z")
    body = (await client.get(NEWS)).json()
    assert [item["title"] for item in body["results"]] == [f"day {d}" for d in (5, 4, 3, 2, 1)]

    page = (await client.get(f"{NEWS}?limit=2&offset=2")).json()
    assert [item["title"] for item in page["results"]] == ["day 3", "day 2"]
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 2)
    assert page["next"].endswith("/api/news/?limit=2&offset=4")
    assert page["previous"].endswith("/api/news/?limit=2&offset=0")

    assert (await client.get(f"{NEWS}?limit=1000")).json()["limit"] == 100  # clamped
    for bad in ("limit=-1", "offset=-1", "limit=x"):
        assert (await client.get(f"{NEWS}?{bad}")).status_code == 400


async def test_ties_in_published_at_have_a_stable_order(client, staff):
    when = "2026-05-05T09:00:00Z"
    made = [await publish(client, staff, title=f"t{i}", published_at=when) for i in range(4)]
    expected = sorted((item["id"] for item in made), reverse=True)
    first = [item["id"] for item in (await client.get(f"{NEWS}?limit=2")).json()["results"]]
    rest = [item["id"] for item in (await client.get(f"{NEWS}?offset=2")).json()["results"]]
    assert first + rest == expected


async def test_public_reads_ignore_credentials(client, staff):
    """Like every public endpoint: a stale token must not stop a reader (README decisions)."""
    await publish(client, staff)
    response = await client.get(NEWS, headers={"Authorization": "Bearer expired-or-bad"})
    assert response.status_code == 200
    assert response.json()["count"] == 1


# --- GraphQL ----------------------------------------------------------------------------------

CREATE = """
mutation ($input: JSON!) { createNews(input: $input) { id newsId title url tags publishedAt } }
"""


async def test_graphql_news(client, staff):
    result = await graphql(
        client,
        CREATE,
        {
            "input": {
                "title": "From GraphQL",
                "tags": ["gql"],
                "published_at": "2026-01-02T03:04:05Z",
            }
        },
        staff,
    )
    assert "errors" not in result, result
    created = result["data"]["createNews"]
    assert (created["title"], created["tags"], created["publishedAt"]) == (
        "From GraphQL",
        ["gql"],
        "2026-01-02T03:04:05+00:00",
    )
    await publish(client, staff, title="Newer", published_at="2026-02-01T00:00:00Z")

    # Public query, newest first, paged.
    result = await graphql(
        client, "{ news(first: 1) { totalCount pageInfo { endCursor } nodes { title newsId } } }"
    )
    assert [item["title"] for item in result["data"]["news"]["nodes"]] == ["Newer"]
    assert result["data"]["news"]["totalCount"] == 2
    result = await graphql(
        client,
        "query ($after: String) { news(first: 5, after: $after) { nodes { title } } }",
        {"after": result["data"]["news"]["pageInfo"]["endCursor"]},
    )
    assert result["data"]["news"]["nodes"] == [{"title": "From GraphQL"}]
    result = await graphql(
        client,
        'mutation ($id: ID!) { updateNews(newsId: $id, input: {summary: "more"}) { summary } }',
        {"id": created["newsId"]},
        staff,
    )
    assert result["data"]["updateNews"] == {"summary": "more"}
    result = await graphql(
        client, "mutation ($id: ID!) { deleteNews(newsId: $id) }", {"id": created["newsId"]}, staff
    )
    assert result["data"]["deleteNews"] is True
    result = await graphql(
        client,
        "query ($id: ID!) { newsItem(newsId: $id) { title } }",
        {"id": created["newsId"]},
    )
    assert result["data"]["newsItem"] is None


async def test_graphql_writes_are_staff_only_and_validated(client, staff):
    user = bearer(await signup(client))
    result = await graphql(client, CREATE, {"input": {"title": "x"}}, user)
    assert result["errors"][0]["extensions"] == {"code": "FORBIDDEN", "status": 403}
    result = await graphql(client, CREATE, {"input": {"title": "x"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await graphql(client, CREATE, {"input": {"title": "x", "url": "javascript:1"}}, staff)
    assert result["errors"][0]["extensions"] == {"code": "INVALID", "status": 400}
    result = await graphql(
        client,
        "mutation ($id: ID!) { deleteNews(newsId: $id) }",
        {"id": str(uuid.uuid4())},
        staff,
    )
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await client.get(NEWS)).json()["count"] == 0


async def test_graphql_node_resolves_news_for_anyone(client, staff):
    item = await publish(client, staff, title="Noded")
    listed = await graphql(client, "{ news { nodes { id newsId } } }")
    [entry] = listed["data"]["news"]["nodes"]
    assert entry["newsId"] == item["id"]
    result = await graphql(
        client,
        "query ($id: ID!) { node(id: $id) { ... on NewsItem { title newsId } } }",
        {"id": entry["id"]},
    )
    assert result["data"]["node"] == {"title": "Noded", "newsId": item["id"]}

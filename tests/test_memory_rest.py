"""SPEC §5 and §10 (memory) through the REST face: `/api/memory/*` (LLM promotion excluded).

Every test runs once per backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) and
asserts what a client sees: status codes, bodies and field values, plus the stored rows where
"nothing created" or "exactly once" is the rule. Large data sets are inserted straight into the
tables (through the application's own table definitions) to keep the tests fast.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from models.memory import EpisodicMemory, FactEpisode, RawMemory, SemanticMemory
from tests.helpers import bearer, count_statements, make_event, signup

MEMORY = "/api/memory"
RAW_URL = f"{MEMORY}/raw/"
EPISODES_URL = f"{MEMORY}/episodes/"
FACTS_URL = f"{MEMORY}/facts/"
PROFILE_URL = f"{MEMORY}/profile/"
CONTEXT_URL = f"{MEMORY}/context/"
SYNC_URL = f"{MEMORY}/sync/"
STATS_URL = f"{MEMORY}/stats/"
EXPORT_URL = f"{MEMORY}/export/"
EVENTS_URL = "/api/recording/events/"

RAW_FIELDS = {
    "id",
    "source",
    "source_detail",
    "kind",
    "content",
    "payload",
    "occurred_at",
    "session_id",
    "recording_event_id",
    "episode_id",
    "created_at",
}
EPISODE_FIELDS = {
    "id",
    "title",
    "summary",
    "started_at",
    "ended_at",
    "sources",
    "tags",
    "raw_ids",
    "created_at",
    "updated_at",
}
FACT_FIELDS = {
    "id",
    "text",
    "kind",
    "importance",
    "confidence",
    "tags",
    "episode_ids",
    "created_at",
    "updated_at",
}
PROFILE_FIELDS = {"display_name", "summary", "attributes", "updated_at"}
PAGE_FIELDS = {"results", "count", "limit", "offset", "next", "previous"}
BUNDLE_FIELDS = {"profile", "facts", "episodes", "raw", "meta"}
DEFAULT_CAPS = {"max_facts": 20, "max_episodes": 10, "max_raw": 50}


# --- helpers ------------------------------------------------------------------------------------


def at(hour: int, minute: int = 0, second: int = 0) -> str:
    """2026-05-05 at the given UTC time, exactly as the server writes it back."""
    return f"2026-05-05T{hour:02d}:{minute:02d}:{second:02d}Z"


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def parse_utc(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def new_user(client, **extra: Any) -> tuple[dict[str, str], str]:
    """(auth headers, user id) of a fresh account."""
    body = await signup(client, **extra)
    return bearer(body), body["user"]["id"]


def assert_error(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code"}
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["code"], str)
    assert body["code"]
    return body


async def call(client, method: str, url: str, headers, status: int, **kwargs: Any) -> Any:
    response = await client.request(method, url, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def get(client, headers, url: str, status: int = 200, **params: Any) -> Any:
    return await call(client, "GET", url, headers, status, params=params)


async def post(client, headers, url: str, body: Any, status: int = 201) -> Any:
    return await call(client, "POST", url, headers, status, json=body)


async def patch(client, headers, url: str, body: Any, status: int = 200) -> Any:
    return await call(client, "PATCH", url, headers, status, json=body)


async def delete(client, headers, url: str, status: int = 204) -> None:
    response = await client.delete(url, headers=headers)
    assert response.status_code == status, response.text
    if status == 204:
        assert response.content == b""


async def make_raw(client, headers, **fields: Any) -> dict[str, Any]:
    body = {"source": "cli", "kind": "note", "content": "a note", **fields}
    return await post(client, headers, RAW_URL, body)


async def make_episode(client, headers, **fields: Any) -> dict[str, Any]:
    body = {"title": "An episode", "started_at": at(12), "ended_at": at(13), **fields}
    return await post(client, headers, EPISODES_URL, body)


async def make_fact(client, headers, **fields: Any) -> dict[str, Any]:
    return await post(client, headers, FACTS_URL, {"text": "Likes tea", **fields})


async def raw_detail(client, headers, raw_id: str, status: int = 200) -> Any:
    return await get(client, headers, f"{RAW_URL}{raw_id}/", status)


async def episode_detail(client, headers, episode_id: str, status: int = 200) -> Any:
    return await get(client, headers, f"{EPISODES_URL}{episode_id}/", status)


async def fact_detail(client, headers, fact_id: str, status: int = 200) -> Any:
    return await get(client, headers, f"{FACTS_URL}{fact_id}/", status)


async def ids(client, headers, url: str, **params: Any) -> list[str]:
    return [item["id"] for item in (await get(client, headers, url, **params))["results"]]


async def context(client, headers, body: Any = None, status: int = 200) -> Any:
    kwargs = {} if body is None else {"json": body}
    return await call(client, "POST", CONTEXT_URL, headers, status, **kwargs)


async def ingest(client, headers, events: list[dict[str, Any]]) -> None:
    response = await client.post(EVENTS_URL, json=events, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"accepted": len(events), "duplicates": 0, "invalid": []}


async def sync(client, headers) -> dict[str, int]:
    return await post(client, headers, SYNC_URL, None, 200)


def db_scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def table_count(engine: sa.Engine, table: str) -> int:
    return db_scalar(engine, f"SELECT count(*) FROM {table}")


def insert_rows(engine: sa.Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(model.__table__.insert(), rows)


def raw_rows(user_id: str, times: list[datetime], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "user_id": uuid.UUID(user_id),
            "source": "cli",
            "source_detail": None,
            "kind": "note",
            "content": f"bulk {i}",
            "payload": {"i": i},
            "occurred_at": when,
            "session_id": None,
            "recording_event_id": None,
            "episode_id": None,
            "created_at": datetime.now(UTC),
            **extra,
        }
        for i, when in enumerate(times)
    ]


# --- raw: create and validate ---------------------------------------------------------------------


async def test_raw_create_returns_exact_row_and_detail_matches(client):
    headers, _ = await new_user(client)
    body = {
        "source": "integration",
        "source_detail": "github",
        "kind": "commit",
        "content": "Pushed the fix",
        "payload": {"sha": "abc", "files": [1, 2], "nested": {"x": None}},
        "occurred_at": at(12),
        "session_id": "sess-raw",
    }
    response = await client.post(RAW_URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    row = response.json()
    assert set(row) == RAW_FIELDS
    assert uuid.UUID(row["id"])
    assert row["source"] == "integration"
    assert row["source_detail"] == "github"
    assert row["kind"] == "commit"
    assert row["content"] == "Pushed the fix"
    assert row["payload"] == body["payload"]
    assert row["occurred_at"] == at(12)
    assert row["session_id"] == "sess-raw"
    assert row["recording_event_id"] is None
    assert row["episode_id"] is None
    assert abs(parse_utc(row["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert await raw_detail(client, headers, row["id"]) == row


async def test_raw_create_minimal_fills_defaults(client):
    headers, _ = await new_user(client)
    row = await post(client, headers, RAW_URL, {"source": "desktop", "kind": "note"})
    assert row["source_detail"] is None
    assert row["content"] == ""
    assert row["payload"] == {}
    assert row["session_id"] is None
    assert abs(parse_utc(row["occurred_at"]) - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "body",
    [
        {"source": "claude-code", "kind": "note"},
        {"source": "CLI", "kind": "note"},
        {"kind": "note"},
        {"source": "cli"},
        {"source": "cli", "kind": ""},
        {"source": "cli", "kind": 5},
        {"source": "cli", "kind": "note", "payload": [1, 2]},
        {"source": "cli", "kind": "note", "payload": "text"},
        {"source": "cli", "kind": "note", "occurred_at": "2026-05-05T12:00:00"},
        {"source": "cli", "kind": "note", "occurred_at": "yesterday"},
        {"source": "cli", "kind": "note", "occurred_at": 1714910400},
        {"source": "cli", "kind": "note", "content": 42},
        {"source": "cli", "kind": "note", "unknown": 1},
        {"source": "cli", "kind": "note", "episode_id": str(uuid.uuid4())},
        {"source": "cli", "kind": "note", "recording_event_id": "evt-1"},
        {"source": "cli", "kind": "note", "id": str(uuid.uuid4())},
    ],
)
async def test_raw_create_validation_is_400_and_stores_nothing(client, maintenance_engine, body):
    headers, _ = await new_user(client)
    assert_error(await client.post(RAW_URL, json=body, headers=headers), 400)
    assert table_count(maintenance_engine, "raw_memories") == 0


async def test_raw_create_rejects_non_object_and_non_json_bodies(client, maintenance_engine):
    headers, _ = await new_user(client)
    assert_error(await client.post(RAW_URL, json=[{"source": "cli"}], headers=headers), 400)
    assert_error(await client.post(RAW_URL, content=b"{oops", headers=headers), 400)
    response = await client.post(
        RAW_URL, content=b"source=cli", headers={**headers, "content-type": "text/plain"}
    )
    assert_error(response, 415)
    assert table_count(maintenance_engine, "raw_memories") == 0


async def test_raw_rows_are_append_only(client):
    headers, _ = await new_user(client)
    row = await make_raw(client, headers)
    response = await client.patch(f"{RAW_URL}{row['id']}/", json={"content": "x"}, headers=headers)
    assert_error(response, 405)
    assert await raw_detail(client, headers, row["id"]) == row


async def test_timestamps_with_an_offset_are_answered_in_utc(client):
    """SPEC §1: every datetime is written back in UTC, in the create/patch answer as later."""
    headers, _ = await new_user(client)
    row = await make_raw(client, headers, occurred_at="2026-05-05T14:00:00+02:00")
    assert row["occurred_at"] == at(12)
    assert row == await raw_detail(client, headers, row["id"])

    episode = await make_episode(
        client,
        headers,
        started_at="2026-05-05T14:00:00+02:00",
        ended_at="2026-05-05T08:30:00-05:00",
    )
    assert (episode["started_at"], episode["ended_at"]) == (at(12), at(13, 30))
    assert episode == await episode_detail(client, headers, episode["id"])

    url = f"{EPISODES_URL}{episode['id']}/"
    patched = await patch(client, headers, url, {"ended_at": "2026-05-05T16:00:00+02:00"})
    assert patched["ended_at"] == at(14)
    assert patched == await episode_detail(client, headers, episode["id"])


async def test_datetimes_outside_the_utc_range_are_400_not_500(client, maintenance_engine):
    """Year 1 at +01:00 (or 9999-12-31 at -01:00) is valid ISO-8601 but has no UTC equivalent."""
    headers, _ = await new_user(client)
    early = "0001-01-01T00:00:00+01:00"
    body = {"source": "cli", "kind": "note", "occurred_at": early}
    assert_error(await client.post(RAW_URL, json=body, headers=headers), 400)
    body = {"title": "t", "started_at": early, "ended_at": at(12)}
    assert_error(await client.post(EPISODES_URL, json=body, headers=headers), 400)
    assert_error(await client.get(RAW_URL, params={"since": early}, headers=headers), 400)
    assert_error(await client.get(EPISODES_URL, params={"until": early}, headers=headers), 400)
    late = {"until": "9999-12-31T23:59:59-01:00"}
    assert_error(await client.get(RAW_URL, params=late, headers=headers), 400)
    assert table_count(maintenance_engine, "raw_memories") == 0
    assert table_count(maintenance_engine, "episodic_memories") == 0


async def test_nul_characters_are_refused_or_kept_never_a_500(client):
    """PostgreSQL text cannot hold U+0000; the answer must be a 400 or a faithful row."""
    headers, _ = await new_user(client)
    for url, body, field in (
        (RAW_URL, {"source": "cli", "kind": "note", "content": "a\x00b"}, "content"),
        (RAW_URL, {"source": "cli", "kind": "note", "payload": {"k": "a\x00b"}}, "payload"),
        (FACTS_URL, {"text": "a\x00b"}, "text"),
    ):
        response = await client.post(url, json=body, headers=headers)
        if response.status_code == 201:
            assert response.json()[field] == body[field]
        else:
            assert_error(response, 400)
    for url, params in ((FACTS_URL, {"q": "zz\x00"}), (EPISODES_URL, {"tag": "zz\x00"})):
        response = await client.get(url, params=params, headers=headers)
        if response.status_code == 200:
            assert response.json()["results"] == []
        else:
            assert_error(response, 400)


# --- raw: list, filters, pagination ---------------------------------------------------------------


async def test_raw_list_is_newest_first_with_drf_page_shape(client):
    headers, _ = await new_user(client)
    middle = await make_raw(client, headers, occurred_at=at(12))
    newest = await make_raw(client, headers, occurred_at=at(14))
    oldest = await make_raw(client, headers, occurred_at=at(10))
    page = await get(client, headers, RAW_URL)
    assert set(page) == PAGE_FIELDS
    assert page["results"] == [newest, middle, oldest]
    assert page["count"] == 3
    assert page["limit"] == 50
    assert page["offset"] == 0
    assert page["next"] is None
    assert page["previous"] is None


async def test_raw_list_default_limit_50_and_maximum_200(client, maintenance_engine):
    headers, user_id = await new_user(client)
    base = datetime(2026, 5, 5, tzinfo=UTC)
    times = [base + timedelta(minutes=i) for i in range(205)]
    insert_rows(maintenance_engine, RawMemory, raw_rows(user_id, times))

    first = await get(client, headers, RAW_URL)
    assert (first["count"], first["limit"], first["offset"]) == (205, 50, 0)
    assert len(first["results"]) == 50
    assert first["results"][0]["content"] == "bulk 204"
    assert first["previous"] is None
    assert parse_qs(urlsplit(first["next"]).query) == {"limit": ["50"], "offset": ["50"]}

    clamped = await get(client, headers, RAW_URL, limit=1000)
    assert (clamped["count"], clamped["limit"]) == (205, 200)
    assert len(clamped["results"]) == 200
    assert parse_qs(urlsplit(clamped["next"]).query) == {"limit": ["200"], "offset": ["200"]}

    last = await get(client, headers, RAW_URL, limit=200, offset=200)
    assert [row["content"] for row in last["results"]] == [f"bulk {i}" for i in range(4, -1, -1)]
    assert last["next"] is None
    assert parse_qs(urlsplit(last["previous"]).query) == {"limit": ["200"], "offset": ["0"]}

    seen = [row["id"] for row in clamped["results"] + last["results"]]
    assert len(set(seen)) == 205


@pytest.mark.parametrize(
    "query", [{"limit": -1}, {"offset": -1}, {"limit": "ten"}, {"offset": "x"}]
)
async def test_raw_list_bad_paging_is_400(client, query):
    headers, _ = await new_user(client)
    assert_error(await client.get(RAW_URL, params=query, headers=headers), 400)


async def test_raw_list_filters_source_and_session(client):
    headers, _ = await new_user(client)
    a = await make_raw(client, headers, source="cli", session_id="s1", occurred_at=at(10))
    b = await make_raw(client, headers, source="desktop", session_id="s1", occurred_at=at(11))
    c = await make_raw(client, headers, source="cli", session_id="s2", occurred_at=at(12))
    await make_raw(client, headers, source="mobile", occurred_at=at(13))
    assert await ids(client, headers, RAW_URL, source="cli") == [c["id"], a["id"]]
    assert await ids(client, headers, RAW_URL, session_id="s1") == [b["id"], a["id"]]
    assert await ids(client, headers, RAW_URL, source="cli", session_id="s1") == [a["id"]]
    assert await ids(client, headers, RAW_URL, source="agent") == []
    page = await get(client, headers, RAW_URL, session_id="s1")
    assert page["count"] == 2


async def test_raw_list_since_until_are_inclusive_on_occurred_at(client):
    headers, _ = await new_user(client)
    rows = [await make_raw(client, headers, occurred_at=at(10 + i)) for i in range(4)]
    r10, r11, r12, r13 = (row["id"] for row in rows)
    assert await ids(client, headers, RAW_URL, since=at(11)) == [r13, r12, r11]
    assert await ids(client, headers, RAW_URL, until=at(11)) == [r11, r10]
    assert await ids(client, headers, RAW_URL, since=at(11), until=at(12)) == [r12, r11]
    assert await ids(client, headers, RAW_URL, since=at(12), until=at(12)) == [r12]
    assert await ids(client, headers, RAW_URL, since="2026-05-05T13:00:00+01:00") == [
        r13,
        r12,
    ]
    assert await ids(client, headers, RAW_URL, since=at(11, 0, 1), until=at(11, 59, 59)) == []
    assert (await get(client, headers, RAW_URL, since=at(11)))["count"] == 3


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00:00Z"},
        {"since": "2026-05-05T12:00:00"},
        {"since": at(13), "until": at(12)},
        {"source": "claude-code"},
    ],
)
async def test_raw_list_bad_filters_are_400(client, query):
    headers, _ = await new_user(client)
    await make_raw(client, headers, occurred_at=at(12))
    assert_error(await client.get(RAW_URL, params=query, headers=headers), 400)


# --- raw: detail and delete -----------------------------------------------------------------------


async def test_raw_delete_is_204_then_404(client, maintenance_engine):
    headers, _ = await new_user(client)
    keep = await make_raw(client, headers, content="keep")
    gone = await make_raw(client, headers, content="gone")
    await delete(client, headers, f"{RAW_URL}{gone['id']}/")
    assert_error(await client.get(f"{RAW_URL}{gone['id']}/", headers=headers), 404)
    assert_error(await client.delete(f"{RAW_URL}{gone['id']}/", headers=headers), 404)
    assert await ids(client, headers, RAW_URL) == [keep["id"]]
    assert table_count(maintenance_engine, "raw_memories") == 1


async def test_raw_unknown_id_is_404(client):
    headers, _ = await new_user(client)
    missing = uuid.uuid4()
    assert_error(await client.get(f"{RAW_URL}{missing}/", headers=headers), 404)
    assert_error(await client.delete(f"{RAW_URL}{missing}/", headers=headers), 404)
    assert_error(await client.get(f"{RAW_URL}not-a-uuid/", headers=headers), 404)


async def test_deleting_a_cited_raw_row_drops_it_from_the_episode(client):
    headers, _ = await new_user(client)
    r1 = await make_raw(client, headers, occurred_at=at(12))
    r2 = await make_raw(client, headers, occurred_at=at(12, 30))
    episode = await make_episode(client, headers, raw_ids=[r1["id"], r2["id"]])
    await delete(client, headers, f"{RAW_URL}{r1['id']}/")
    assert (await episode_detail(client, headers, episode["id"]))["raw_ids"] == [r2["id"]]


# --- episodes: create -----------------------------------------------------------------------------


async def test_episode_create_minimal_returns_exact_shape(client):
    headers, _ = await new_user(client)
    episode = await make_episode(client, headers, title="Morning standup")
    assert set(episode) == EPISODE_FIELDS
    assert uuid.UUID(episode["id"])
    assert episode["title"] == "Morning standup"
    assert episode["summary"] == ""
    assert episode["started_at"] == at(12)
    assert episode["ended_at"] == at(13)
    assert episode["sources"] == []
    assert episode["tags"] == []
    assert episode["raw_ids"] == []
    assert abs(parse_utc(episode["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert parse_utc(episode["updated_at"]) >= parse_utc(episode["created_at"])
    assert await episode_detail(client, headers, episode["id"]) == episode


async def test_episode_with_raw_ids_links_rows_and_defaults_sources(client):
    headers, _ = await new_user(client)
    late = await make_raw(
        client, headers, source="cli", source_detail="claude-code", occurred_at=at(12, 40)
    )
    early = await make_raw(client, headers, source="desktop", occurred_at=at(12, 10))
    same = await make_raw(
        client, headers, source="cli", source_detail="claude-code", occurred_at=at(12, 20)
    )
    outside = await make_raw(client, headers, occurred_at=at(12, 30))
    episode = await make_episode(
        client,
        headers,
        title="Debugging",
        summary="Chased a flaky test",
        tags=["dev", "tests"],
        raw_ids=[late["id"], early["id"], same["id"], late["id"]],
    )
    assert episode["raw_ids"] == [early["id"], same["id"], late["id"]]  # oldest first
    assert episode["sources"] == ["claude-code", "desktop"]
    assert episode["summary"] == "Chased a flaky test"
    assert episode["tags"] == ["dev", "tests"]
    for row in (early, same, late):
        assert (await raw_detail(client, headers, row["id"]))["episode_id"] == episode["id"]
    assert (await raw_detail(client, headers, outside["id"]))["episode_id"] is None
    listed = {
        row["id"]: row["episode_id"] for row in (await get(client, headers, RAW_URL))["results"]
    }
    assert listed[late["id"]] == episode["id"]
    assert listed[outside["id"]] is None


async def test_episode_explicit_sources_win_over_the_default(client):
    headers, _ = await new_user(client)
    row = await make_raw(client, headers, source="cli", source_detail="claude-code")
    episode = await make_episode(client, headers, sources=["manual"], raw_ids=[row["id"]])
    assert episode["sources"] == ["manual"]


async def test_episode_citing_unknown_or_foreign_raw_is_400_and_creates_nothing(
    client, maintenance_engine
):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    mine = await make_raw(client, headers)
    theirs = await make_raw(client, other)
    for cited in ([mine["id"], theirs["id"]], [mine["id"], str(uuid.uuid4())], [theirs["id"]]):
        body = {"title": "x", "started_at": at(12), "ended_at": at(13), "raw_ids": cited}
        assert_error(await client.post(EPISODES_URL, json=body, headers=headers), 400)
    assert table_count(maintenance_engine, "episodic_memories") == 0
    assert (await get(client, headers, EPISODES_URL))["count"] == 0
    assert (await raw_detail(client, headers, mine["id"]))["episode_id"] is None
    assert (await raw_detail(client, other, theirs["id"]))["episode_id"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"started_at": at(14), "ended_at": at(13)},
        {"title": None},
        {"title": "   "},
        {"started_at": None},
        {"ended_at": None},
        {"started_at": "2026-05-05T12:00:00"},
        {"ended_at": "soon"},
        {"tags": "dev"},
        {"tags": [1]},
        {"sources": "cli"},
        {"raw_ids": "abc"},
        {"raw_ids": ["not-a-uuid"]},
        {"summary": 3},
        {"color": "red"},
    ],
)
async def test_episode_create_validation_is_400(client, maintenance_engine, change):
    headers, _ = await new_user(client)
    body = {"title": "x", "started_at": at(12), "ended_at": at(13), **change}
    body = {key: value for key, value in body.items() if value is not None}
    assert_error(await client.post(EPISODES_URL, json=body, headers=headers), 400)
    assert table_count(maintenance_engine, "episodic_memories") == 0


async def test_episode_may_start_and_end_at_the_same_instant(client):
    headers, _ = await new_user(client)
    episode = await make_episode(client, headers, started_at=at(12), ended_at=at(12))
    assert episode["started_at"] == episode["ended_at"] == at(12)


# --- episodes: list -------------------------------------------------------------------------------


async def test_episode_list_newest_first_with_overlap_window(client):
    headers, _ = await new_user(client)
    a = (await make_episode(client, headers, started_at=at(10), ended_at=at(11)))["id"]
    c = (await make_episode(client, headers, started_at=at(14), ended_at=at(15)))["id"]
    b = (await make_episode(client, headers, started_at=at(12), ended_at=at(13)))["id"]
    page = await get(client, headers, EPISODES_URL)
    assert set(page) == PAGE_FIELDS
    assert [e["id"] for e in page["results"]] == [c, b, a]
    assert (page["count"], page["limit"], page["offset"]) == (3, 50, 0)

    assert await ids(client, headers, EPISODES_URL, since=at(12, 30)) == [c, b]
    assert await ids(client, headers, EPISODES_URL, since=at(13)) == [c, b]  # inclusive
    assert await ids(client, headers, EPISODES_URL, until=at(12)) == [b, a]  # inclusive
    assert await ids(client, headers, EPISODES_URL, since=at(11), until=at(12)) == [b, a]
    assert await ids(client, headers, EPISODES_URL, since=at(12, 15), until=at(12, 45)) == [b]
    assert await ids(client, headers, EPISODES_URL, since=at(11, 15), until=at(11, 45)) == []
    assert (await get(client, headers, EPISODES_URL, since=at(12, 30)))["count"] == 2


async def test_episode_list_limit_is_clamped(client):
    headers, _ = await new_user(client)
    for hour in range(10, 13):
        await make_episode(client, headers, started_at=at(hour), ended_at=at(hour, 30))
    page = await get(client, headers, EPISODES_URL, limit=1000)
    assert (page["limit"], page["count"], len(page["results"])) == (200, 3, 3)
    page = await get(client, headers, EPISODES_URL, limit=2, offset=1)
    assert [e["started_at"] for e in page["results"]] == [at(11), at(10)]
    assert page["next"] is None
    assert page["previous"] is not None


async def test_episode_list_tag_is_an_exact_match(client):
    headers, _ = await new_user(client)
    devops = (await make_episode(client, headers, tags=["devops"], ended_at=at(13)))["id"]
    dev = (await make_episode(client, headers, tags=["x", "dev"], ended_at=at(14)))["id"]
    await make_episode(client, headers, tags=[], ended_at=at(15))
    await make_episode(client, headers, tags=["Dev"], ended_at=at(16))
    assert await ids(client, headers, EPISODES_URL, tag="dev") == [dev]
    assert await ids(client, headers, EPISODES_URL, tag="devops") == [devops]
    assert await ids(client, headers, EPISODES_URL, tag="de") == []
    assert await ids(client, headers, EPISODES_URL, tag="dev%") == []
    page = await get(client, headers, EPISODES_URL, tag="dev")
    assert page["count"] == 1


@pytest.mark.parametrize(
    "query",
    [
        {"since": "not-a-date"},
        {"until": "2026-05-05T12:00"},  # naive: no time zone
        {"since": at(14), "until": at(13)},
    ],
)
async def test_episode_list_bad_window_is_400(client, query):
    headers, _ = await new_user(client)
    assert_error(await client.get(EPISODES_URL, params=query, headers=headers), 400)


# --- episodes: patch and delete -------------------------------------------------------------------


async def test_episode_patch_changes_only_given_fields(client):
    headers, _ = await new_user(client)
    episode = await make_episode(
        client, headers, title="Old", summary="s", tags=["a"], sources=["cli"]
    )
    await asyncio.sleep(0.01)
    url = f"{EPISODES_URL}{episode['id']}/"
    patched = await patch(client, headers, url, {"title": "New", "tags": ["b", "c"]})
    assert patched["title"] == "New"
    assert patched["tags"] == ["b", "c"]
    for unchanged in ("summary", "started_at", "ended_at", "sources", "raw_ids", "created_at"):
        assert patched[unchanged] == episode[unchanged]
    assert parse_utc(patched["updated_at"]) > parse_utc(episode["updated_at"])
    assert await episode_detail(client, headers, episode["id"]) == patched

    moved = await patch(client, headers, url, {"started_at": at(9), "ended_at": at(10)})
    assert (moved["started_at"], moved["ended_at"]) == (at(9), at(10))


@pytest.mark.parametrize(
    "body",
    [
        {"started_at": at(14)},  # after the stored ended_at
        {"ended_at": at(11)},  # before the stored started_at
        {"title": ""},
        {"tags": "x"},
        {"id": str(uuid.uuid4())},
        {"raw_ids": [str(uuid.uuid4())]},
    ],
)
async def test_episode_patch_validation_is_400_and_changes_nothing(client, body):
    headers, _ = await new_user(client)
    row = await make_raw(client, headers)
    episode = await make_episode(client, headers, raw_ids=[row["id"]], tags=["t"])
    url = f"{EPISODES_URL}{episode['id']}/"
    assert_error(await client.patch(url, json=body, headers=headers), 400)
    assert await episode_detail(client, headers, episode["id"]) == episode
    assert (await raw_detail(client, headers, row["id"]))["episode_id"] == episode["id"]


async def test_episode_patch_raw_ids_replaces_the_cited_set(client):
    headers, _ = await new_user(client)
    r1, r2, r3 = [await make_raw(client, headers, occurred_at=at(12, m)) for m in (1, 2, 3)]
    episode = await make_episode(client, headers, raw_ids=[r1["id"], r2["id"]])
    url = f"{EPISODES_URL}{episode['id']}/"

    patched = await patch(client, headers, url, {"raw_ids": [r3["id"], r2["id"]]})
    assert patched["raw_ids"] == [r2["id"], r3["id"]]
    assert (await raw_detail(client, headers, r1["id"]))["episode_id"] is None
    assert (await raw_detail(client, headers, r2["id"]))["episode_id"] == episode["id"]
    assert (await raw_detail(client, headers, r3["id"]))["episode_id"] == episode["id"]

    emptied = await patch(client, headers, url, {"raw_ids": []})
    assert emptied["raw_ids"] == []
    for row in (r1, r2, r3):
        assert (await raw_detail(client, headers, row["id"]))["episode_id"] is None


async def test_episode_patch_with_foreign_raw_id_is_400(client):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    mine = await make_raw(client, headers)
    theirs = await make_raw(client, other)
    episode = await make_episode(client, headers, raw_ids=[mine["id"]])
    url = f"{EPISODES_URL}{episode['id']}/"
    assert_error(await client.patch(url, json={"raw_ids": [theirs["id"]]}, headers=headers), 400)
    assert (await episode_detail(client, headers, episode["id"]))["raw_ids"] == [mine["id"]]
    assert (await raw_detail(client, other, theirs["id"]))["episode_id"] is None


async def test_citing_a_row_moves_it_between_episodes(client):
    headers, _ = await new_user(client)
    row = await make_raw(client, headers)
    first = await make_episode(client, headers, raw_ids=[row["id"]])
    second = await make_episode(client, headers, raw_ids=[row["id"]])
    assert second["raw_ids"] == [row["id"]]
    assert (await episode_detail(client, headers, first["id"]))["raw_ids"] == []
    assert (await raw_detail(client, headers, row["id"]))["episode_id"] == second["id"]


async def test_episode_delete_keeps_raw_rows_and_drops_fact_citations(client):
    headers, _ = await new_user(client)
    row = await make_raw(client, headers)
    episode = await make_episode(client, headers, raw_ids=[row["id"]], title="Doomed")
    kept = await make_episode(client, headers, title="Kept")
    fact = await make_fact(client, headers, episode_ids=[episode["id"], kept["id"]])
    assert sorted(fact["episode_ids"]) == sorted([episode["id"], kept["id"]])

    await delete(client, headers, f"{EPISODES_URL}{episode['id']}/")
    assert_error(await client.get(f"{EPISODES_URL}{episode['id']}/", headers=headers), 404)
    assert_error(await client.delete(f"{EPISODES_URL}{episode['id']}/", headers=headers), 404)
    assert await ids(client, headers, EPISODES_URL) == [kept["id"]]
    after = await raw_detail(client, headers, row["id"])
    assert after == {**row, "episode_id": None}
    assert (await fact_detail(client, headers, fact["id"]))["episode_ids"] == [kept["id"]]


# --- facts: create --------------------------------------------------------------------------------


async def test_fact_create_minimal_has_defaults_and_exact_shape(client):
    headers, _ = await new_user(client)
    fact = await make_fact(client, headers, text="Prefers dark mode")
    assert set(fact) == FACT_FIELDS
    assert uuid.UUID(fact["id"])
    assert fact["text"] == "Prefers dark mode"
    assert fact["kind"] == "other"
    assert fact["importance"] == 0.5
    assert fact["confidence"] == 0.5
    assert fact["tags"] == []
    assert fact["episode_ids"] == []
    assert abs(parse_utc(fact["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert await fact_detail(client, headers, fact["id"]) == fact


@pytest.mark.parametrize("kind", ["preference", "habit", "skill", "artifact", "other"])
async def test_fact_every_kind_is_accepted(client, kind):
    headers, _ = await new_user(client)
    fact = await make_fact(client, headers, kind=kind, importance=0, confidence=1)
    assert (fact["kind"], fact["importance"], fact["confidence"]) == (kind, 0, 1)


async def test_fact_full_create_with_own_episodes(client):
    headers, _ = await new_user(client)
    e1 = await make_episode(client, headers, title="one")
    e2 = await make_episode(client, headers, title="two")
    fact = await make_fact(
        client,
        headers,
        text="Writes tests first",
        kind="habit",
        importance=0.9,
        confidence=0.25,
        tags=["dev", "tdd"],
        episode_ids=[e1["id"], e2["id"], e1["id"]],
    )
    assert fact["kind"] == "habit"
    assert (fact["importance"], fact["confidence"]) == (0.9, 0.25)
    assert fact["tags"] == ["dev", "tdd"]
    assert sorted(fact["episode_ids"]) == sorted([e1["id"], e2["id"]])
    assert await fact_detail(client, headers, fact["id"]) == fact


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": 7},
        {"text": "t", "kind": "hobby"},
        {"text": "t", "kind": None},
        {"text": "t", "importance": 1.01},
        {"text": "t", "importance": -0.01},
        {"text": "t", "confidence": 2},
        {"text": "t", "confidence": -1},
        {"text": "t", "confidence": "0.5"},
        {"text": "t", "importance": True},
        {"text": "t", "importance": None},
        {"text": "t", "tags": "dev"},
        {"text": "t", "episode_ids": [str(uuid.uuid4())]},
        {"text": "t", "episode_ids": ["nope"]},
        {"text": "t", "source": "cli"},
    ],
)
async def test_fact_create_validation_is_400_and_stores_nothing(client, maintenance_engine, body):
    headers, _ = await new_user(client)
    assert_error(await client.post(FACTS_URL, json=body, headers=headers), 400)
    assert table_count(maintenance_engine, "semantic_memories") == 0


async def test_fact_citing_another_users_episode_is_400(client, maintenance_engine):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    mine = await make_episode(client, headers)
    theirs = await make_episode(client, other)
    body = {"text": "t", "episode_ids": [mine["id"], theirs["id"]]}
    assert_error(await client.post(FACTS_URL, json=body, headers=headers), 400)
    assert table_count(maintenance_engine, "semantic_memories") == 0
    assert table_count(maintenance_engine, "fact_episodes") == 0


# --- facts: list and filters ----------------------------------------------------------------------


async def test_fact_list_page_and_filters(client):
    headers, _ = await new_user(client)
    tea = await make_fact(
        client, headers, text="Drinks green TEA", kind="habit", tags=["food"], confidence=0.9
    )
    vim = await make_fact(
        client, headers, text="Uses vim", kind="skill", tags=["dev", "editor"], confidence=0.7
    )
    ops = await make_fact(
        client,
        headers,
        text="Likes devops tooling",
        kind="preference",
        tags=["devops"],
        confidence=0.3,
    )
    page = await get(client, headers, FACTS_URL)
    assert set(page) == PAGE_FIELDS
    assert (page["count"], page["limit"], page["offset"]) == (3, 50, 0)
    assert {f["id"] for f in page["results"]} == {tea["id"], vim["id"], ops["id"]}

    assert await ids(client, headers, FACTS_URL, kind="habit") == [tea["id"]]
    assert await ids(client, headers, FACTS_URL, kind="artifact") == []
    assert await ids(client, headers, FACTS_URL, tag="dev") == [vim["id"]]
    assert await ids(client, headers, FACTS_URL, tag="devops") == [ops["id"]]
    assert await ids(client, headers, FACTS_URL, tag="d") == []
    assert await ids(client, headers, FACTS_URL, q="tea") == [tea["id"]]
    assert await ids(client, headers, FACTS_URL, q="GREEN t") == [tea["id"]]
    assert set(await ids(client, headers, FACTS_URL, q="s")) == {tea["id"], vim["id"], ops["id"]}
    assert await ids(client, headers, FACTS_URL, q="coffee") == []
    assert set(await ids(client, headers, FACTS_URL, min_confidence=0.7)) == {tea["id"], vim["id"]}
    assert await ids(client, headers, FACTS_URL, min_confidence=0.9) == [tea["id"]]
    assert await ids(client, headers, FACTS_URL, min_confidence=0.95) == []
    assert await ids(client, headers, FACTS_URL, q="u", min_confidence=0.5, kind="skill") == [
        vim["id"]
    ]
    assert (await get(client, headers, FACTS_URL, min_confidence=0.7))["count"] == 2


async def test_fact_q_treats_like_wildcards_literally(client):
    headers, _ = await new_user(client)
    pct = await make_fact(client, headers, text="Wants 100% test coverage")
    under = await make_fact(client, headers, text="Names files snake_case")
    slash = await make_fact(client, headers, text="Uses a/b testing")
    plain = await make_fact(client, headers, text="Names files snakeXcase and 100 tests")
    assert await ids(client, headers, FACTS_URL, q="%") == [pct["id"]]
    assert await ids(client, headers, FACTS_URL, q="100%") == [pct["id"]]
    assert await ids(client, headers, FACTS_URL, q="_") == [under["id"]]
    assert await ids(client, headers, FACTS_URL, q="snake_case") == [under["id"]]
    assert await ids(client, headers, FACTS_URL, q="a/b") == [slash["id"]]
    assert await ids(client, headers, FACTS_URL, q="%test%") == []
    assert await ids(client, headers, FACTS_URL, q="snakeXcase") == [plain["id"]]


async def test_fact_q_and_goal_are_case_insensitive_beyond_ascii(client):
    headers, _ = await new_user(client)
    fact = await make_fact(client, headers, text="Éclair lover from Ürümqi")
    await make_fact(client, headers, text="Plain text")
    for q in ("éclair", "ÉCLAIR", "ürümqi", "ÜRÜMQI"):
        assert await ids(client, headers, FACTS_URL, q=q) == [fact["id"]], q
    bundle = await context(client, headers, {"goal": "éclair"})
    assert [f["id"] for f in bundle["facts"]] == [fact["id"]]


@pytest.mark.parametrize(
    "query",
    [{"min_confidence": "high"}, {"min_confidence": "0.5x"}, {"kind": "hobby"}, {"limit": -5}],
)
async def test_fact_list_bad_filters_are_400(client, query):
    headers, _ = await new_user(client)
    await make_fact(client, headers)
    assert_error(await client.get(FACTS_URL, params=query, headers=headers), 400)


# --- facts: patch and delete ----------------------------------------------------------------------


async def test_fact_patch_changes_given_fields_and_replaces_citations(client):
    headers, _ = await new_user(client)
    e1 = await make_episode(client, headers, title="one")
    e2 = await make_episode(client, headers, title="two")
    fact = await make_fact(client, headers, text="Old", tags=["a"], episode_ids=[e1["id"]])
    await asyncio.sleep(0.01)
    url = f"{FACTS_URL}{fact['id']}/"
    patched = await patch(
        client, headers, url, {"text": "New text", "kind": "skill", "importance": 1, "tags": []}
    )
    assert (patched["text"], patched["kind"], patched["importance"]) == ("New text", "skill", 1)
    assert patched["tags"] == []
    assert patched["confidence"] == 0.5
    assert patched["episode_ids"] == [e1["id"]]
    assert patched["created_at"] == fact["created_at"]
    assert parse_utc(patched["updated_at"]) > parse_utc(fact["updated_at"])
    assert await fact_detail(client, headers, fact["id"]) == patched

    recited = await patch(client, headers, url, {"episode_ids": [e2["id"]]})
    assert recited["episode_ids"] == [e2["id"]]
    assert recited["text"] == "New text"
    cleared = await patch(client, headers, url, {"episode_ids": []})
    assert cleared["episode_ids"] == []
    assert await ids(client, headers, FACTS_URL, q="new text") == [fact["id"]]
    assert await ids(client, headers, FACTS_URL, q="old") == []


@pytest.mark.parametrize(
    "body",
    [
        {"importance": 1.5},
        {"confidence": -0.1},
        {"kind": "mood"},
        {"text": ""},
        {"tags": [None]},
        {"episode_ids": [str(uuid.uuid4())]},
        {"normalized_text": "x"},
    ],
)
async def test_fact_patch_validation_is_400_and_changes_nothing(client, body):
    headers, _ = await new_user(client)
    episode = await make_episode(client, headers)
    fact = await make_fact(client, headers, tags=["keep"], episode_ids=[episode["id"]])
    assert_error(await client.patch(f"{FACTS_URL}{fact['id']}/", json=body, headers=headers), 400)
    assert await fact_detail(client, headers, fact["id"]) == fact


async def test_fact_patch_citing_another_users_episode_is_400(client):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    mine = await make_episode(client, headers)
    theirs = await make_episode(client, other)
    fact = await make_fact(client, headers, episode_ids=[mine["id"]])
    body = {"episode_ids": [theirs["id"]]}
    assert_error(await client.patch(f"{FACTS_URL}{fact['id']}/", json=body, headers=headers), 400)
    assert (await fact_detail(client, headers, fact["id"]))["episode_ids"] == [mine["id"]]


async def test_fact_delete_is_204_then_404_and_keeps_its_episodes(client, maintenance_engine):
    headers, _ = await new_user(client)
    episode = await make_episode(client, headers)
    fact = await make_fact(client, headers, episode_ids=[episode["id"]])
    other_fact = await make_fact(client, headers, text="Other")
    await delete(client, headers, f"{FACTS_URL}{fact['id']}/")
    assert_error(await client.get(f"{FACTS_URL}{fact['id']}/", headers=headers), 404)
    assert_error(await client.delete(f"{FACTS_URL}{fact['id']}/", headers=headers), 404)
    assert_error(
        await client.patch(f"{FACTS_URL}{fact['id']}/", json={"text": "x"}, headers=headers), 404
    )
    assert await ids(client, headers, FACTS_URL) == [other_fact["id"]]
    assert await episode_detail(client, headers, episode["id"]) == episode
    assert table_count(maintenance_engine, "fact_episodes") == 0


# --- profile --------------------------------------------------------------------------------------


async def test_profile_lifecycle_create_merge_delete(client):
    headers, _ = await new_user(client)
    assert_error(await client.get(PROFILE_URL, headers=headers), 404)

    response = await client.post(
        PROFILE_URL,
        json={"display_name": "Ada", "summary": "# Ada\nBuilds things.", "attributes": {"a": 1}},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == PROFILE_FIELDS
    assert created["display_name"] == "Ada"
    assert created["summary"] == "# Ada\nBuilds things."
    assert created["attributes"] == {"a": 1}
    assert await get(client, headers, PROFILE_URL) == created

    await asyncio.sleep(0.01)
    merged = await post(
        client, headers, PROFILE_URL, {"attributes": {"b": {"deep": True}, "a": 2}}, 200
    )
    assert merged["display_name"] == "Ada"
    assert merged["summary"] == "# Ada\nBuilds things."
    assert merged["attributes"] == {"a": 2, "b": {"deep": True}}
    assert parse_utc(merged["updated_at"]) > parse_utc(created["updated_at"])

    renamed = await post(client, headers, PROFILE_URL, {"summary": "Short", "attributes": {}}, 200)
    assert renamed["summary"] == "Short"
    assert renamed["display_name"] == "Ada"
    assert renamed["attributes"] == {"a": 2, "b": {"deep": True}}
    assert await get(client, headers, PROFILE_URL) == renamed

    await delete(client, headers, PROFILE_URL)
    assert_error(await client.get(PROFILE_URL, headers=headers), 404)
    assert_error(await client.delete(PROFILE_URL, headers=headers), 404)

    again = await post(client, headers, PROFILE_URL, {"summary": "Fresh"}, 201)
    assert again["summary"] == "Fresh"
    assert again["attributes"] == {}


@pytest.mark.parametrize(
    "body",
    [{"attributes": [1]}, {"attributes": "x"}, {"display_name": 5}, {"summary": 1}, {"age": 3}],
)
async def test_profile_validation_is_400_and_stores_nothing(client, body):
    headers, _ = await new_user(client)
    assert_error(await client.post(PROFILE_URL, json=body, headers=headers), 400)
    assert_error(await client.get(PROFILE_URL, headers=headers), 404)
    await post(client, headers, PROFILE_URL, {"summary": "s", "attributes": {"k": 1}})
    before = await get(client, headers, PROFILE_URL)
    assert_error(await client.post(PROFILE_URL, json=body, headers=headers), 400)
    assert await get(client, headers, PROFILE_URL) == before


# --- context bundle -------------------------------------------------------------------------------


async def test_context_empty_body_and_empty_object_give_defaults(client):
    headers, _ = await new_user(client)
    for body in (None, {}):
        bundle = await context(client, headers, body)
        assert set(bundle) == BUNDLE_FIELDS
        assert bundle["profile"] is None
        assert (bundle["facts"], bundle["episodes"], bundle["raw"]) == ([], [], [])
        meta = bundle["meta"]
        assert meta["caps"] == DEFAULT_CAPS
        assert meta["counts"] == {"facts": 0, "episodes": 0, "raw": 0}
        window = meta["window"]
        assert window["recency_minutes"] == 60
        since, until = parse_utc(window["since"]), parse_utc(window["until"])
        assert until - since == timedelta(minutes=60)
        assert abs(until - datetime.now(UTC)) < timedelta(minutes=1)


async def test_context_bundle_carries_profile_and_wire_shapes(client):
    headers, _ = await new_user(client)
    profile = await post(client, headers, PROFILE_URL, {"summary": "Me", "attributes": {"x": 1}})
    row = await make_raw(client, headers, occurred_at=ago(5))
    episode = await make_episode(
        client, headers, started_at=ago(20), ended_at=ago(10), raw_ids=[row["id"]]
    )
    fact = await make_fact(client, headers, episode_ids=[episode["id"]])
    bundle = await context(client, headers, {})
    assert bundle["profile"] == profile
    assert bundle["facts"] == [fact]
    assert bundle["episodes"] == [episode]
    assert bundle["raw"] == [{**row, "episode_id": episode["id"]}]
    assert bundle["meta"]["counts"] == {"facts": 1, "episodes": 1, "raw": 1}


async def test_context_facts_ordered_by_importance_times_confidence(client):
    headers, _ = await new_user(client)
    scored = [(0.5, 0.9), (0.2, 1.0), (0.9, 0.9), (0.6, 0.6), (1.0, 0.5)]  # .45 .2 .81 .36 .5
    facts = [
        await make_fact(client, headers, text=f"f{i}", importance=imp, confidence=conf)
        for i, (imp, conf) in enumerate(scored)
    ]
    bundle = await context(client, headers)
    assert [f["text"] for f in bundle["facts"]] == ["f2", "f4", "f0", "f3", "f1"]
    assert {f["id"] for f in bundle["facts"]} == {f["id"] for f in facts}


async def test_context_goal_and_tags_filter_facts(client):
    headers, _ = await new_user(client)
    py = await make_fact(client, headers, text="Writes Python daily", tags=["python"])
    rust = await make_fact(client, headers, text="Learning Rust", tags=["rust", "cli"])
    await make_fact(client, headers, text="Likes Go", tags=["go"])
    await make_fact(client, headers, text="Untagged python note")
    await make_fact(client, headers, text="Pythonic tag only", tags=["py"])

    bundle = await context(client, headers, {"tags": ["python", "cli"]})
    assert {f["id"] for f in bundle["facts"]} == {py["id"], rust["id"]}
    assert bundle["meta"]["counts"]["facts"] == 2
    assert (await context(client, headers, {"tags": ["pyth"]}))["facts"] == []

    by_goal = await context(client, headers, {"goal": "python"})
    assert {f["text"] for f in by_goal["facts"]} == {
        "Writes Python daily",
        "Untagged python note",
        "Pythonic tag only",
    }
    both = await context(client, headers, {"goal": "python", "tags": ["python", "go"]})
    assert [f["id"] for f in both["facts"]] == [py["id"]]
    assert (await context(client, headers, {"goal": "100%"}))["facts"] == []


async def test_context_window_selects_recent_episodes_and_raw_newest_first(client):
    headers, _ = await new_user(client)
    ep = {}
    for name, start, end in [
        ("e10", 15, 10),
        ("long", 300, 5),  # began long ago, ended inside the window
        ("e30", 40, 30),
        ("e90", 120, 90),  # ended before the window
    ]:
        ep[name] = (
            await make_episode(
                client, headers, title=name, started_at=ago(start), ended_at=ago(end)
            )
        )["id"]
    raw = {}
    for minutes in (20, 1, 59, 61, 600):
        raw[minutes] = (await make_raw(client, headers, occurred_at=ago(minutes)))["id"]

    bundle = await context(client, headers, {})
    assert [e["id"] for e in bundle["episodes"]] == [ep["long"], ep["e10"], ep["e30"]]
    assert [r["id"] for r in bundle["raw"]] == [raw[1], raw[20], raw[59]]
    assert bundle["meta"]["counts"] == {"facts": 0, "episodes": 3, "raw": 3}

    wide = await context(client, headers, {"recency_minutes": 120})
    assert [e["id"] for e in wide["episodes"]] == [ep["long"], ep["e10"], ep["e30"], ep["e90"]]
    assert [r["id"] for r in wide["raw"]] == [raw[1], raw[20], raw[59], raw[61]]
    assert wide["meta"]["window"]["recency_minutes"] == 120
    window = wide["meta"]["window"]
    assert parse_utc(window["until"]) - parse_utc(window["since"]) == timedelta(minutes=120)

    narrow = await context(client, headers, {"recency_minutes": 3})
    assert narrow["episodes"] == []
    assert [r["id"] for r in narrow["raw"]] == [raw[1]]

    week = await context(client, headers, {"recency_minutes": 10080})
    assert len(week["raw"]) == 5
    assert len(week["episodes"]) == 4


async def test_context_caps_apply_but_counts_are_before_capping(client):
    headers, _ = await new_user(client)
    for i in range(5):
        await make_fact(client, headers, text=f"fact {i}", importance=i / 10, confidence=1)
        await make_episode(client, headers, started_at=ago(50), ended_at=ago(40 - i))
        await make_raw(client, headers, occurred_at=ago(30 - i), content=f"raw {i}")
    bundle = await context(client, headers, {"max_facts": 2, "max_episodes": 3, "max_raw": 1})
    assert [f["text"] for f in bundle["facts"]] == ["fact 4", "fact 3"]
    assert [parse_utc(e["ended_at"]) for e in bundle["episodes"]] == sorted(
        (parse_utc(e["ended_at"]) for e in bundle["episodes"]), reverse=True
    )
    assert len(bundle["episodes"]) == 3
    assert [r["content"] for r in bundle["raw"]] == ["raw 4"]
    meta = bundle["meta"]
    assert meta["caps"] == {"max_facts": 2, "max_episodes": 3, "max_raw": 1}
    assert meta["counts"] == {"facts": 5, "episodes": 5, "raw": 5}

    most = await context(client, headers, {"max_facts": 100, "max_episodes": 50, "max_raw": 500})
    assert most["meta"]["caps"] == {"max_facts": 100, "max_episodes": 50, "max_raw": 500}
    assert (len(most["facts"]), len(most["episodes"]), len(most["raw"])) == (5, 5, 5)


@pytest.mark.parametrize(
    "body",
    [
        {"recency_minutes": 0},
        {"recency_minutes": 10081},
        {"recency_minutes": -5},
        {"recency_minutes": "60"},
        {"recency_minutes": 1.5},
        {"recency_minutes": True},
        {"max_facts": 0},
        {"max_facts": 101},
        {"max_facts": "ten"},
        {"max_episodes": 0},
        {"max_episodes": 51},
        {"max_raw": 0},
        {"max_raw": 501},
        {"max_raw": 2.0},
        {"tags": "python"},
        {"tags": [1]},
        {"goal": 5},
        {"window": 60},
    ],
)
async def test_context_out_of_range_or_malformed_is_400(client, body):
    headers, _ = await new_user(client)
    assert_error(await client.post(CONTEXT_URL, json=body, headers=headers), 400)


async def test_context_non_object_body_is_400(client):
    headers, _ = await new_user(client)
    assert_error(await client.post(CONTEXT_URL, json=[1], headers=headers), 400)
    assert_error(await client.post(CONTEXT_URL, content=b"{bad", headers=headers), 400)


async def test_context_statement_count_does_not_grow_with_memory(client, maintenance_engine):
    headers, user_id = await new_user(client)
    await post(client, headers, PROFILE_URL, {"summary": "me"})
    caps = {"max_facts": 100, "max_episodes": 50, "max_raw": 500}

    def add(n: int) -> None:
        now = datetime.now(UTC)
        owner = uuid.UUID(user_id)
        episodes = [
            {
                "id": uuid.uuid4(),
                "user_id": owner,
                "title": f"ep {i}",
                "summary": "",
                "started_at": now - timedelta(minutes=30),
                "ended_at": now - timedelta(minutes=10, seconds=i),
                "sources": ["cli"],
                "tags": ["t"],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        facts = [
            {
                "id": uuid.uuid4(),
                "user_id": owner,
                "text": f"fact {i}",
                "normalized_text": f"fact {i}",
                "kind": "other",
                "importance": 0.5,
                "confidence": 0.5,
                "tags": ["t"],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        times = [now - timedelta(minutes=5, seconds=i) for i in range(n)]
        raws = [
            {**row, "episode_id": episode["id"]}
            for row, episode in zip(raw_rows(user_id, times), episodes, strict=True)
        ]
        links = [
            {"fact_id": fact["id"], "episode_id": episode["id"]}
            for fact, episode in zip(facts, episodes, strict=True)
        ]
        insert_rows(maintenance_engine, EpisodicMemory, episodes)
        insert_rows(maintenance_engine, SemanticMemory, facts)
        insert_rows(maintenance_engine, RawMemory, raws)
        insert_rows(maintenance_engine, FactEpisode, links)

    add(1)
    with count_statements(client) as small:
        one = await context(client, headers, caps)
    assert one["meta"]["counts"] == {"facts": 1, "episodes": 1, "raw": 1}
    assert len(one["facts"][0]["episode_ids"]) == 1
    assert len(one["episodes"][0]["raw_ids"]) == 1

    add(199)
    with count_statements(client) as large:
        many = await context(client, headers, caps)
    assert many["meta"]["counts"] == {"facts": 200, "episodes": 200, "raw": 200}
    assert (len(many["facts"]), len(many["episodes"]), len(many["raw"])) == (100, 50, 200)
    assert all(len(f["episode_ids"]) == 1 for f in many["facts"])
    assert all(len(e["raw_ids"]) == 1 for e in many["episodes"])
    assert len(small) == len(large), (small, large)


# --- sync from recording --------------------------------------------------------------------------


def recorded_events(prefix: str, session_id: str) -> list[dict[str, Any]]:
    return [
        make_event(f"{prefix}-start", "session.started", session_id=session_id, occurred_at=at(12)),
        make_event(
            f"{prefix}-prompt",
            "agent.prompt",
            session_id=session_id,
            occurred_at=at(12, 1),
            prompt="Shall I deploy to staging now?",
        ),
        make_event(
            f"{prefix}-reply",
            "agent.response",
            session_id=session_id,
            occurred_at=at(12, 2),
            response="Yes, but run the migrations first",
            in_response_to=f"{prefix}-prompt",
        ),
        make_event(
            f"{prefix}-focus",
            "app.focused",
            session_id=session_id,
            occurred_at=at(12, 3),
            source="desktop",
            source_detail=None,
        ),
        make_event(f"{prefix}-click", "input.click", session_id=session_id, occurred_at=at(12, 4)),
        make_event(
            f"{prefix}-stop", "session.stopped", session_id=session_id, occurred_at=at(12, 5)
        ),
    ]


async def test_sync_derives_one_readable_raw_row_per_event(client, maintenance_engine):
    headers, _ = await new_user(client)
    events = recorded_events("e", "sess-sync")
    await ingest(client, headers, events)
    assert await sync(client, headers) == {"created": 6, "skipped": 0}

    page = await get(client, headers, RAW_URL)
    assert page["count"] == 6
    by_event = {row["recording_event_id"]: row for row in page["results"]}
    assert set(by_event) == {event["id"] for event in events}
    assert [row["recording_event_id"] for row in page["results"]] == [
        e["id"] for e in reversed(events)
    ]  # newest first by occurred_at
    for event in events:
        row = by_event[event["id"]]
        assert set(row) == RAW_FIELDS
        assert row["kind"] == event["type"]
        assert row["occurred_at"] == event["occurred_at"]
        assert row["session_id"] == "sess-sync"
        assert row["source"] == event["source"]
        assert row["source_detail"] == event["source_detail"]
        assert row["payload"] == event
        assert row["episode_id"] is None
        assert isinstance(row["content"], str)
        assert 0 < len(row["content"]) <= 200
        assert not row["content"].lstrip().startswith("{")
        assert await raw_detail(client, headers, row["id"]) == row
    assert "Shall I deploy to staging now?" in by_event["e-prompt"]["content"]
    assert "Yes, but run the migrations first" in by_event["e-reply"]["content"]
    assert by_event["e-focus"]["source"] == "desktop"
    assert by_event["e-focus"]["source_detail"] is None
    assert "Terminal" in by_event["e-focus"]["content"]
    assert len({row["content"] for row in page["results"]}) == 6
    assert table_count(maintenance_engine, "raw_memories") == 6


async def test_sync_is_idempotent_and_picks_up_later_events(client, maintenance_engine):
    headers, _ = await new_user(client)
    assert await sync(client, headers) == {"created": 0, "skipped": 0}
    await ingest(client, headers, recorded_events("a", "sess-a"))
    assert await sync(client, headers) == {"created": 6, "skipped": 0}
    first = await get(client, headers, RAW_URL)
    assert await sync(client, headers) == {"created": 0, "skipped": 6}
    assert await get(client, headers, RAW_URL) == first

    later = [
        make_event("late-1", session_id="sess-a", occurred_at=at(9), prompt="Earlier prompt?"),
        make_event("late-2", session_id="sess-b", occurred_at=at(15), prompt="Later prompt?"),
    ]
    await ingest(client, headers, later)
    assert await sync(client, headers) == {"created": 2, "skipped": 6}
    assert await sync(client, headers) == {"created": 0, "skipped": 8}
    rows = (await get(client, headers, RAW_URL))["results"]
    assert len(rows) == 8
    assert rows[0]["recording_event_id"] == "late-2"
    assert rows[-1]["recording_event_id"] == "late-1"
    assert rows[-1]["occurred_at"] == at(9)
    assert table_count(maintenance_engine, "raw_memories") == 8


async def test_concurrent_syncs_create_each_row_exactly_once(client, maintenance_engine):
    headers, _ = await new_user(client)
    events = [
        make_event(f"c-{i}", session_id="sess-c", occurred_at=at(12, i // 60, i % 60))
        for i in range(300)
    ]
    await ingest(client, headers, events)
    results = await asyncio.gather(*(sync(client, headers) for _ in range(3)))
    assert sum(result["created"] for result in results) == 300
    assert all(result["created"] + result["skipped"] == 300 for result in results)
    assert table_count(maintenance_engine, "raw_memories") == 300
    distinct = db_scalar(
        maintenance_engine, "SELECT count(DISTINCT recording_event_id) FROM raw_memories"
    )
    assert distinct == 300
    assert (await get(client, headers, RAW_URL))["count"] == 300
    assert await sync(client, headers) == {"created": 0, "skipped": 300}


async def test_sync_never_takes_another_users_events(client):
    alice, _ = await new_user(client)
    bob, _ = await new_user(client)
    await ingest(client, alice, [make_event("shared-id", session_id="sess-alice", prompt="A?")])
    await ingest(
        client,
        bob,
        [
            make_event("shared-id", session_id="sess-bob", prompt="B?"),
            make_event("bob-only", session_id="sess-bob", prompt="B2?"),
        ],
    )
    assert await sync(client, alice) == {"created": 1, "skipped": 0}
    rows = (await get(client, alice, RAW_URL))["results"]
    assert [(r["recording_event_id"], r["session_id"]) for r in rows] == [
        ("shared-id", "sess-alice")
    ]
    assert rows[0]["payload"]["prompt"] == "A?"

    assert await sync(client, bob) == {"created": 2, "skipped": 0}
    bob_rows = (await get(client, bob, RAW_URL))["results"]
    assert {r["recording_event_id"] for r in bob_rows} == {"shared-id", "bob-only"}
    assert all(r["session_id"] == "sess-bob" for r in bob_rows)
    assert (await get(client, alice, RAW_URL))["results"] == rows
    assert await sync(client, alice) == {"created": 0, "skipped": 1}


async def test_sync_does_not_bring_back_a_deleted_raw_row(client):
    """A memory the user deleted stays deleted: its event was already derived."""
    headers, _ = await new_user(client)
    await ingest(client, headers, recorded_events("d", "sess-d"))
    assert await sync(client, headers) == {"created": 6, "skipped": 0}
    prompt = (await get(client, headers, RAW_URL, limit=1, offset=4))["results"][0]
    assert prompt["recording_event_id"] == "d-prompt"
    await delete(client, headers, f"{RAW_URL}{prompt['id']}/")
    assert (await sync(client, headers))["created"] == 0
    remaining = await get(client, headers, RAW_URL)
    assert remaining["count"] == 5
    assert "d-prompt" not in {row["recording_event_id"] for row in remaining["results"]}


async def test_sync_covers_more_events_than_one_chunk(client, maintenance_engine):
    headers, _ = await new_user(client)
    events = [
        make_event(f"bulk-{i}", session_id="sess-bulk", occurred_at=at(10, i // 60 % 60, i % 60))
        for i in range(2150)
    ]
    for start in range(0, len(events), 1000):
        await ingest(client, headers, events[start : start + 1000])
    assert await sync(client, headers) == {"created": 2150, "skipped": 0}
    assert table_count(maintenance_engine, "raw_memories") == 2150
    assert (await get(client, headers, RAW_URL))["count"] == 2150
    assert await sync(client, headers) == {"created": 0, "skipped": 2150}


# --- stats ----------------------------------------------------------------------------------------


async def test_stats_empty_and_counted(client):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    stats = await get(client, headers, STATS_URL)
    assert stats == {
        "raw": 0,
        "episodes": 0,
        "facts": {"count": 0, "last_updated_at": None},
        "profile": {"exists": False, "updated_at": None},
    }

    for _ in range(3):
        await make_raw(client, headers)
    await make_episode(client, headers)
    await make_episode(client, headers)
    first = await make_fact(client, headers, text="one")
    await make_fact(client, headers, text="two")
    await asyncio.sleep(0.01)
    latest = await patch(client, headers, f"{FACTS_URL}{first['id']}/", {"confidence": 0.9})
    profile = await post(client, headers, PROFILE_URL, {"summary": "s"})
    await make_raw(client, other)
    await make_fact(client, other)
    await post(client, other, PROFILE_URL, {"summary": "other"})

    stats = await get(client, headers, STATS_URL)
    assert stats == {
        "raw": 3,
        "episodes": 2,
        "facts": {"count": 2, "last_updated_at": latest["updated_at"]},
        "profile": {"exists": True, "updated_at": profile["updated_at"]},
    }

    await delete(client, headers, PROFILE_URL)
    await delete(client, headers, f"{FACTS_URL}{first['id']}/")
    stats = await get(client, headers, STATS_URL)
    assert stats["profile"] == {"exists": False, "updated_at": None}
    assert stats["facts"]["count"] == 1
    assert stats["facts"]["last_updated_at"] is not None
    assert parse_utc(stats["facts"]["last_updated_at"]) < parse_utc(latest["updated_at"])


# --- export ---------------------------------------------------------------------------------------


async def seed_knowledge(client, headers) -> dict[str, Any]:
    profile = await post(
        client,
        headers,
        PROFILE_URL,
        {"display_name": "Ada", "summary": "Builds compilers.", "attributes": {"city": "Turin"}},
    )
    row = await make_raw(client, headers, source="cli", source_detail="claude-code")
    episode = await make_episode(
        client,
        headers,
        title="Refactoring the parser",
        summary="Split the lexer out",
        started_at=at(9),
        ended_at=at(11, 30),
        raw_ids=[row["id"]],
    )
    lonely = await make_episode(client, headers, title="Reading docs", sources=["desktop"])
    cited = await make_fact(
        client,
        headers,
        text="Prefers small pull requests",
        episode_ids=[episode["id"]],
        importance=0.9,
        confidence=0.9,
    )
    loose = await make_fact(client, headers, text="Drinks espresso", kind="habit")
    return {
        "profile": profile,
        "episode": episode,
        "lonely": lonely,
        "cited": cited,
        "loose": loose,
    }


async def test_export_json_is_the_default_and_cites_episodes(client):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    seeded = await seed_knowledge(client, headers)
    await make_fact(client, other, text="Secret of another user")
    await make_episode(client, other, title="Another user's episode")

    response = await client.get(EXPORT_URL, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert await get(client, headers, EXPORT_URL, format="json") == body
    assert set(body) >= {"profile", "facts", "episodes"}
    assert body["profile"] == seeded["profile"]

    facts = {fact["text"]: fact for fact in body["facts"]}
    assert set(facts) == {"Prefers small pull requests", "Drinks espresso"}
    cited = facts["Prefers small pull requests"]
    assert cited["id"] == seeded["cited"]["id"]
    assert cited["episode_ids"] == [seeded["episode"]["id"]]
    assert cited["episodes"] == [{"id": seeded["episode"]["id"], "title": "Refactoring the parser"}]
    assert facts["Drinks espresso"]["episodes"] == []
    assert facts["Drinks espresso"]["kind"] == "habit"

    episodes = {episode["id"]: episode for episode in body["episodes"]}
    assert set(episodes) == {seeded["episode"]["id"], seeded["lonely"]["id"]}
    exported = episodes[seeded["episode"]["id"]]
    assert exported["title"] == "Refactoring the parser"
    assert (exported["started_at"], exported["ended_at"]) == (at(9), at(11, 30))
    assert exported["sources"] == ["claude-code"]
    assert episodes[seeded["lonely"]["id"]]["sources"] == ["desktop"]


async def test_export_markdown_is_readable_text(client):
    headers, _ = await new_user(client)
    other, _ = await new_user(client)
    await seed_knowledge(client, headers)
    await make_fact(client, other, text="Secret of another user")
    await make_episode(client, other, title="Another user's episode")

    response = await client.get(EXPORT_URL, params={"format": "markdown"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert not text.lstrip().startswith("{")
    for expected in (
        "Ada",
        "Builds compilers.",
        "Turin",
        "Prefers small pull requests",
        "Drinks espresso",
        "Refactoring the parser",
        "Reading docs",
        "Split the lexer out",
    ):
        assert expected in text, expected
    assert "Secret of another user" not in text
    assert "Another user's episode" not in text


async def test_export_of_an_empty_memory(client):
    headers, _ = await new_user(client)
    body = await get(client, headers, EXPORT_URL)
    assert body["profile"] is None
    assert body["facts"] == []
    assert body["episodes"] == []
    response = await client.get(EXPORT_URL, params={"format": "markdown"}, headers=headers)
    assert response.status_code == 200
    assert response.text.strip()


@pytest.mark.parametrize("form", ["xml", "csv", "JSON", "md"])
async def test_export_unknown_format_is_400(client, form):
    headers, _ = await new_user(client)
    assert_error(await client.get(EXPORT_URL, params={"format": form}, headers=headers), 400)


# --- tenancy and authentication -------------------------------------------------------------------


async def test_another_users_rows_are_404_and_unchanged(client):
    alice, _ = await new_user(client)
    bob, _ = await new_user(client)
    row = await make_raw(client, alice)
    episode = await make_episode(client, alice, raw_ids=[row["id"]])
    fact = await make_fact(client, alice, episode_ids=[episode["id"]])
    row = await raw_detail(client, alice, row["id"])

    for url, body in (
        (f"{RAW_URL}{row['id']}/", None),
        (f"{EPISODES_URL}{episode['id']}/", {"title": "hijacked", "raw_ids": []}),
        (f"{FACTS_URL}{fact['id']}/", {"text": "hijacked", "episode_ids": []}),
    ):
        assert_error(await client.get(url, headers=bob), 404)
        if body is not None:
            assert_error(await client.patch(url, json=body, headers=bob), 404)
        assert_error(await client.delete(url, headers=bob), 404)

    assert await raw_detail(client, alice, row["id"]) == row
    assert await episode_detail(client, alice, episode["id"]) == episode
    assert await fact_detail(client, alice, fact["id"]) == fact


async def test_lists_stats_context_never_show_another_users_rows(client):
    alice, _ = await new_user(client)
    bob, _ = await new_user(client)
    row = await make_raw(client, alice, occurred_at=ago(1), session_id="s")
    episode = await make_episode(client, alice, started_at=ago(10), ended_at=ago(2), tags=["t"])
    await make_fact(client, alice, tags=["t"], text="alice fact")
    await post(client, alice, PROFILE_URL, {"summary": "alice"})

    empty_page = {"count": 0, "results": []}
    for url, params in (
        (RAW_URL, {}),
        (RAW_URL, {"session_id": "s", "source": "cli"}),
        (EPISODES_URL, {"tag": "t"}),
        (FACTS_URL, {"tag": "t", "q": "alice"}),
    ):
        page = await get(client, bob, url, **params)
        assert {key: page[key] for key in empty_page} == empty_page, url
    assert_error(await client.get(PROFILE_URL, headers=bob), 404)
    assert await get(client, bob, STATS_URL) == {
        "raw": 0,
        "episodes": 0,
        "facts": {"count": 0, "last_updated_at": None},
        "profile": {"exists": False, "updated_at": None},
    }
    bundle = await context(client, bob, {"tags": ["t"], "goal": "alice"})
    assert bundle["profile"] is None
    assert (bundle["facts"], bundle["episodes"], bundle["raw"]) == ([], [], [])
    assert bundle["meta"]["counts"] == {"facts": 0, "episodes": 0, "raw": 0}
    export = await get(client, bob, EXPORT_URL)
    assert (export["profile"], export["facts"], export["episodes"]) == (None, [], [])

    mine = await context(client, alice, {})
    assert [r["id"] for r in mine["raw"]] == [row["id"]]
    assert [e["id"] for e in mine["episodes"]] == [episode["id"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "raw/"),
        ("POST", "raw/"),
        ("GET", "raw/{id}/"),
        ("DELETE", "raw/{id}/"),
        ("GET", "episodes/"),
        ("POST", "episodes/"),
        ("GET", "episodes/{id}/"),
        ("PATCH", "episodes/{id}/"),
        ("DELETE", "episodes/{id}/"),
        ("GET", "facts/"),
        ("POST", "facts/"),
        ("GET", "facts/{id}/"),
        ("PATCH", "facts/{id}/"),
        ("DELETE", "facts/{id}/"),
        ("GET", "profile/"),
        ("POST", "profile/"),
        ("DELETE", "profile/"),
        ("POST", "context/"),
        ("POST", "sync/"),
        ("GET", "stats/"),
        ("GET", "export/"),
    ],
)
async def test_memory_endpoints_need_credentials(client, maintenance_engine, method, path):
    url = f"{MEMORY}/{path.format(id=uuid.uuid4())}"
    kwargs = {"json": {"text": "x"}} if method in ("POST", "PATCH") else {}
    assert_error(await client.request(method, url, **kwargs), 401)
    bad = {"Authorization": "Bearer not-a-token"}
    assert_error(await client.request(method, url, headers=bad, **kwargs), 401)
    assert table_count(maintenance_engine, "semantic_memories") == 0

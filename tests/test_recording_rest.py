"""SPEC §3, §4 and §10 (recording) through the REST face: `/api/recording/*`.

Every test runs once per backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) and
asserts what a client sees: status codes, bodies and field values, plus the stored rows where
"nothing stored" or "never stored" is the rule.
"""

import asyncio
import copy
import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import sqlalchemy as sa

import models
from graph.recording import ops
from tests.helpers import bearer, count_statements, signup

EVENTS_URL = "/api/recording/events/"
SESSIONS_URL = "/api/recording/sessions/"
BASE_TIME = datetime(2026, 5, 5, 12, 0, 0, tzinfo=UTC)

SESSION_FIELDS = {
    "id",
    "source",
    "source_detail",
    "started_at",
    "ended_at",
    "event_count",
    "last_event_at",
    "created_at",
}
EVENT_FIELDS = {
    "id",
    "session_id",
    "type",
    "source",
    "source_detail",
    "occurred_at",
    "received_at",
    "payload",
}
PAGE_FIELDS = {"results", "count", "limit", "offset", "next", "previous"}
FOREIGN = ["session belongs to another user"]

EXTRA: dict[str, dict[str, Any]] = {
    "session.started": {},
    "session.stopped": {},
    "app.focused": {"app": "Terminal", "window_title": "zsh"},
    "capture.frame": {
        "uri": "s3://frames/1.webp",
        "content_hash": "sha256:abc",
        "width": 1920,
        "height": 1080,
    },
    "input.keystroke": {
        "event_type": "press",
        "modifiers": {"shift": False, "ctrl": True, "alt": False, "meta": False},
    },
    "input.click": {"x": 0, "y": 10, "button": "left"},
    "input.scroll": {"x": 5, "y": 0, "delta_x": 0, "delta_y": -3.5},
    "agent.prompt": {"agent": "claude-code", "prompt": "Run the tests?"},
    "agent.response": {"agent": "claude-code", "response": "yes", "in_response_to": "evt-0"},
}
EVENT_TYPES = list(EXTRA)
_ids = itertools.count(1)


def ts(seconds: float = 0) -> str:
    """BASE_TIME + seconds, as the server returns it (UTC, `Z`, whole seconds)."""
    return (BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_event(event_type: str, /, **fields: Any) -> dict[str, Any]:
    """A valid CloneEvent of `event_type` with a fresh id; `fields` override or add fields."""
    event: dict[str, Any] = {
        "id": f"evt-{next(_ids)}",
        "session_id": "sess-1",
        "occurred_at": ts(0),
        "source": "desktop",
        "source_detail": None,
        "type": event_type,
        **copy.deepcopy(EXTRA[event_type]),
    }
    event.update(fields)
    return event


async def new_user(client) -> dict[str, str]:
    return bearer(await signup(client))


async def ingest(client, headers, events: Any, expected_status: int | None = None):
    response = await client.post(EVENTS_URL, json=events, headers=headers)
    if expected_status is not None:
        assert response.status_code == expected_status, response.text
    return response


async def get_json(client, headers, url: str, expected_status: int = 200) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status_code == expected_status, response.text
    return response.json()


async def get_session(client, headers, session_id: str) -> dict[str, Any]:
    return await get_json(client, headers, f"{SESSIONS_URL}{quote(session_id, safe='')}/")


async def get_event(client, headers, event_id: str, expected_status: int = 200) -> Any:
    return await get_json(
        client, headers, f"{EVENTS_URL}{quote(event_id, safe='')}/", expected_status
    )


async def session_event_ids(client, headers, session_id: str, query: str = "") -> list[str]:
    page = await get_json(client, headers, f"{SESSIONS_URL}{session_id}/events/{query}")
    return [event["id"] for event in page["results"]]


def db_scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def db_counts(engine: sa.Engine) -> tuple[int, int]:
    """(recording_events rows, recording_sessions rows) across every user."""
    return (
        db_scalar(engine, "SELECT count(*) FROM recording_events"),
        db_scalar(engine, "SELECT count(*) FROM recording_sessions"),
    )


def assert_error(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code"}
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["code"], str)
    assert body["code"]
    return body


def parse_utc(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- ingest: accepted, duplicates, invalid ------------------------------------------------------


async def test_valid_batch_of_every_type_is_201_and_stored_as_sent(client, maintenance_engine):
    headers = await new_user(client)
    events = [make_event(t, occurred_at=ts(i)) for i, t in enumerate(EVENT_TYPES)]
    response = await ingest(client, headers, events, 201)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"accepted": 9, "duplicates": 0, "invalid": []}
    for event in events:
        stored = await get_event(client, headers, event["id"])
        assert stored["payload"] == event
        assert stored["type"] == event["type"]
        assert stored["session_id"] == "sess-1"
    session = await get_session(client, headers, "sess-1")
    assert session["event_count"] == 9
    assert db_counts(maintenance_engine) == (9, 1)


async def test_special_characters_are_stored_exactly(client):
    """Tabs, newlines, carriage returns and backslashes (COPY's special characters on
    PostgreSQL) in the id, session id, source detail and payload come back exactly as sent,
    next to a plain event of the same batch; so does a literal `\\N` (COPY's NULL)."""
    headers = await new_user(client)
    odd = make_event(
        "agent.prompt",
        id="odd\tid\\with\nall\rof them",
        session_id="sess\\odd\t1",
        source_detail="line one\nline two\\",
        prompt="\\N tab\there back\\slash \\\\N",
    )
    literal_null = make_event("agent.prompt", session_id="sess\\odd\t1", source_detail="\\N")
    plain = make_event("agent.prompt", session_id="plain", source_detail="zsh")
    await ingest(client, headers, [odd, literal_null, plain], 201)
    for event in (odd, literal_null, plain):
        stored = await get_event(client, headers, event["id"])
        assert stored["payload"] == event
        assert (stored["id"], stored["session_id"]) == (event["id"], event["session_id"])
        assert stored["source_detail"] == event["source_detail"]
    assert (await get_session(client, headers, "sess\\odd\t1"))["event_count"] == 2
    assert (await get_session(client, headers, "plain"))["event_count"] == 1


async def test_repost_is_200_all_duplicates_and_changes_nothing(client, maintenance_engine):
    headers = await new_user(client)
    events = [
        make_event("session.started", occurred_at=ts(0)),
        make_event("app.focused", occurred_at=ts(10), window_title="first"),
        make_event("session.stopped", occurred_at=ts(20)),
    ]
    await ingest(client, headers, events, 201)
    session_before = await get_session(client, headers, "sess-1")
    details_before = [await get_event(client, headers, e["id"]) for e in events]

    changed = copy.deepcopy(events)
    changed[0].update(occurred_at=ts(-100), source="cli", source_detail="zsh")
    changed[1].update(occurred_at=ts(500), window_title="second", app="Other")
    changed[2].update(occurred_at=ts(1000))
    response = await ingest(client, headers, changed, 200)
    assert response.json() == {"accepted": 0, "duplicates": 3, "invalid": []}
    again = await ingest(client, headers, events, 200)
    assert again.json() == {"accepted": 0, "duplicates": 3, "invalid": []}

    assert await get_session(client, headers, "sess-1") == session_before
    assert [await get_event(client, headers, e["id"]) for e in events] == details_before
    assert details_before[1]["payload"]["window_title"] == "first"
    assert db_counts(maintenance_engine) == (3, 1)


async def test_resent_batch_is_settled_by_one_read_and_inserts_nothing(client, maintenance_engine):
    """Known ids are filtered out before the insert: no INSERT for an all-duplicate batch, and
    (on PostgreSQL, where a conflicting INSERT would still draw a number per row) the event
    sequence does not move, so the next new event follows the last stored one directly."""
    headers = await new_user(client)
    events = [make_event("agent.prompt", id=f"resent-{i:04d}") for i in range(1000)]
    await ingest(client, headers, events, 201)
    with count_statements(client) as statements:
        response = await ingest(client, headers, events, 200)
    assert response.json() == {"accepted": 0, "duplicates": 1000, "invalid": []}
    assert not [s for s in statements if "INSERT" in s.upper()], statements
    last = db_scalar(maintenance_engine, "SELECT max(seq) FROM recording_events")
    await ingest(client, headers, [make_event("agent.prompt", id="after-resend")], 201)
    after = db_scalar(
        maintenance_engine, "SELECT seq FROM recording_events WHERE id = 'after-resend'"
    )
    assert after == last + 1


@pytest.mark.parametrize("known", [[0, 3], [1, 3]], ids=["sampled-ids-known", "others-known"])
async def test_batches_overlapping_stored_ids_store_exactly_the_new_ones(
    client, maintenance_engine, known
):
    """Whether or not the stored ids are among those ingest samples to spot a re-send (first,
    middle, last of the sorted batch), each id is stored once and counted once."""
    headers = await new_user(client)
    events = [make_event("agent.prompt", id=f"overlap-{i}") for i in range(5)]
    await ingest(client, headers, [events[i] for i in known], 201)
    response = await ingest(client, headers, events, 201)
    assert response.json() == {"accepted": 3, "duplicates": 2, "invalid": []}
    assert db_counts(maintenance_engine) == (5, 1)
    assert (await get_session(client, headers, "sess-1"))["event_count"] == 5


async def test_known_id_lookup_probes_the_unique_index_per_id(client, maintenance_engine):
    """The lookup behind re-send detection probes the unique index per id on a table whose
    statistics were never gathered (as right after a burst of ingest). A join plan scanned all
    of the user's rows on SQLite, which this catches; on PostgreSQL a join went wrong only on
    large tables (a hash join over the whole table, seen in bench/ingest.py), which the LATERAL
    form rules out by construction; here it must show the index probe."""
    headers = await new_user(client)
    await ingest(client, headers, [make_event("input.click") for _ in range(1000)], 201)
    user_id = uuid.UUID((await client.get("/api/auth/me/", headers=headers)).json()["id"])
    ids = [f"evt-probe-{i}" for i in range(1000)]
    with maintenance_engine.connect() as conn:
        sql = str(ops._stored_ids_statement(conn.dialect.name).compile(dialect=conn.dialect))
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(f"EXPLAIN {sql}", {"user_id": user_id, "ids": ids})
        else:
            params = (user_id.hex, orjson.dumps(ids).decode())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "\n".join(str(row[-1]) for row in rows)
    if conn.dialect.name == "postgresql":
        assert "Seq Scan on recording_events" not in plan, plan
        assert "using uq_recording_events_user_id_id on recording_events" in plan, plan
    else:
        assert "(user_id=? AND id=?)" in plan, plan


async def test_repost_under_another_session_id_is_a_duplicate_and_creates_no_session(
    client, maintenance_engine
):
    """Re-posting a stored id "changes nothing" (SPEC §3), not even an empty new session."""
    headers = await new_user(client)
    event = make_event("app.focused", session_id="sess-a")
    await ingest(client, headers, [event], 201)
    moved = {**event, "session_id": "sess-b", "occurred_at": ts(-3600)}
    response = await ingest(client, headers, [moved], 200)
    assert response.json() == {"accepted": 0, "duplicates": 1, "invalid": []}
    page = await get_json(client, headers, SESSIONS_URL)
    assert [s["id"] for s in page["results"]] == ["sess-a"]
    assert page["count"] == 1
    await get_json(client, headers, f"{SESSIONS_URL}sess-b/", 404)
    assert (await get_event(client, headers, event["id"]))["session_id"] == "sess-a"
    assert db_counts(maintenance_engine) == (1, 1)


async def test_mixed_batch_reports_exact_counts_and_invalid_items(client, maintenance_engine):
    headers = await new_user(client)
    stored = make_event("app.focused", occurred_at=ts(0))
    await ingest(client, headers, [stored], 201)

    missing_app = make_event("app.focused")
    del missing_app["app"]
    new_one = make_event("input.click", occurred_at=ts(1))
    bad_click = make_event("input.click", x=-1, button="double")
    new_two = make_event("agent.prompt", occurred_at=ts(2))
    batch = [new_one, missing_app, {**stored, "window_title": "changed"}, bad_click, new_two]
    response = await ingest(client, headers, batch, 201)
    assert response.json() == {
        "accepted": 2,
        "duplicates": 1,
        "invalid": [
            {"index": 1, "errors": ["app: required field is missing"]},
            {
                "index": 3,
                "errors": [
                    "x: must be an integer >= 0 (got -1)",
                    "button: 'double' is not a valid button (one of left, middle, right)",
                ],
            },
        ],
    }
    assert (await get_session(client, headers, "sess-1"))["event_count"] == 3
    await get_event(client, headers, missing_app["id"], 404)
    await get_event(client, headers, bad_click["id"], 404)
    assert (await get_event(client, headers, stored["id"]))["payload"] == stored
    assert db_counts(maintenance_engine) == (3, 1)


async def test_invalid_item_gets_at_most_three_messages_naming_fields(client):
    headers = await new_user(client)
    broken = make_event("capture.frame", uri="", content_hash=5, width=0, height=0, extra=1)
    response = await ingest(client, headers, [make_event("session.started"), broken], 201)
    body = response.json()
    assert body["accepted"] == 1
    assert body["invalid"] == [
        {
            "index": 1,
            "errors": [
                "uri: must be a non-empty string (got '')",
                "content_hash: must be a string or null (got 5)",
                "width: must be an integer >= 1 (got 0)",
            ],
        }
    ]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"type": "app.blurred"}, "type: 'app.blurred' is not a valid event type"),
        ({"occurred_at": "2026-05-05 12:00:00"}, "occurred_at:"),
        ({"occurred_at": "2026-05-05T12:00:00"}, "occurred_at:"),
        ({"id": ""}, "id:"),
        ({"id": "x" * 201}, "id:"),
        ({"session_id": 7}, "session_id:"),
        ({"source": "laptop"}, "source:"),
        ({"window_title": 3}, "window_title:"),
        ({"surprise": True}, "surprise: unknown field"),
    ],
)
async def test_each_invalid_field_is_named_in_its_message(client, change, fragment):
    headers = await new_user(client)
    response = await ingest(client, headers, [make_event("app.focused", **change)], 200)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert [item["index"] for item in body["invalid"]] == [0]
    errors = body["invalid"][0]["errors"]
    assert 1 <= len(errors) <= 3
    assert any(fragment in message for message in errors), errors


async def test_missing_nullable_field_is_invalid_but_null_is_accepted(client):
    headers = await new_user(client)
    nulls = [
        make_event("app.focused", window_title=None),
        make_event("capture.frame", content_hash=None),
        make_event("agent.response", in_response_to=None),
    ]
    missing = [copy.deepcopy(e) for e in nulls]
    for event, name in zip(
        missing, ["window_title", "content_hash", "in_response_to"], strict=True
    ):
        del event[name]
        event["id"] += "-missing"
    response = await ingest(client, headers, nulls + missing, 201)
    body = response.json()
    assert body["accepted"] == 3
    assert [item["index"] for item in body["invalid"]] == [3, 4, 5]
    for item, name in zip(
        body["invalid"], ["window_title", "content_hash", "in_response_to"], strict=True
    ):
        assert item["errors"] == [
            f"{name}: required field is missing (it may be null, but must be present)"
        ]
    for event in nulls:
        assert (await get_event(client, headers, event["id"]))["payload"] == event


async def test_non_object_items_are_invalid_one_by_one(client):
    headers = await new_user(client)
    valid = make_event("input.scroll")
    response = await ingest(client, headers, [42, "event", None, [], valid, True], 201)
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "invalid": [
            {"index": i, "errors": ["event must be a JSON object"]} for i in (0, 1, 2, 3, 5)
        ],
    }


async def test_same_id_twice_in_one_batch_is_one_accepted_one_duplicate(client, maintenance_engine):
    headers = await new_user(client)
    first = make_event("app.focused", window_title="first", occurred_at=ts(1))
    second = {**first, "window_title": "second", "occurred_at": ts(2)}
    response = await ingest(client, headers, [first, second], 201)
    assert response.json() == {"accepted": 1, "duplicates": 1, "invalid": []}
    assert (await get_event(client, headers, first["id"]))["payload"] == first
    session = await get_session(client, headers, "sess-1")
    assert session["event_count"] == 1
    assert session["last_event_at"] == ts(1)
    assert db_counts(maintenance_engine) == (1, 1)


async def test_only_duplicates_and_invalid_is_200(client):
    headers = await new_user(client)
    event = make_event("input.click")
    await ingest(client, headers, [event], 201)
    response = await ingest(client, headers, [event, {**event, "id": "bad", "x": "0"}], 200)
    assert response.json() == {
        "accepted": 0,
        "duplicates": 1,
        "invalid": [{"index": 1, "errors": ["x: must be an integer >= 0 (got '0')"]}],
    }


async def test_all_invalid_batch_is_200_and_creates_no_session(client, maintenance_engine):
    headers = await new_user(client)
    response = await ingest(client, headers, [make_event("input.click", button="back")], 200)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert [item["index"] for item in body["invalid"]] == [0]
    assert (await get_json(client, headers, SESSIONS_URL))["count"] == 0
    await get_json(client, headers, f"{SESSIONS_URL}sess-1/", 404)
    assert db_counts(maintenance_engine) == (0, 0)


# --- ingest: whole-batch refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "object",  # a single valid event, not wrapped in an array
        "a string",
        None,
        42,
        [],
    ],
    ids=["object", "string", "null", "number", "empty-array"],
)
async def test_body_that_is_not_a_non_empty_array_is_400(client, maintenance_engine, body):
    headers = await new_user(client)
    if body == "object":
        body = make_event("session.started")
    response = await ingest(client, headers, body)
    assert_error(response, 400)
    assert db_counts(maintenance_engine) == (0, 0)
    assert (await get_json(client, headers, SESSIONS_URL))["count"] == 0


async def test_batch_of_1001_is_400_and_nothing_stored(client, maintenance_engine):
    headers = await new_user(client)
    events = [make_event("input.click", occurred_at=ts(i)) for i in range(1001)]
    response = await ingest(client, headers, events)
    assert "1000" in assert_error(response, 400)["error"]
    assert db_counts(maintenance_engine) == (0, 0)
    assert (await get_json(client, headers, SESSIONS_URL))["count"] == 0


async def test_batch_of_exactly_1000_is_accepted(client, maintenance_engine):
    headers = await new_user(client)
    events = [make_event("input.click", occurred_at=ts(i)) for i in range(1000)]
    response = await ingest(client, headers, events, 201)
    assert response.json() == {"accepted": 1000, "duplicates": 0, "invalid": []}
    session = await get_session(client, headers, "sess-1")
    assert session["event_count"] == 1000
    assert (session["started_at"], session["last_event_at"]) == (ts(0), ts(999))
    assert db_counts(maintenance_engine) == (1000, 1)


@pytest.mark.parametrize("raw", [b"[{", b"", b"   ", b"not json", b'[{"id": "a",}]'])
async def test_malformed_json_is_400(client, maintenance_engine, raw):
    headers = await new_user(client)
    response = await client.post(
        EVENTS_URL, content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert_error(response, 400)
    assert db_counts(maintenance_engine) == (0, 0)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_non_json_content_type_is_415(client, maintenance_engine, content_type):
    headers = await new_user(client)
    response = await client.post(
        EVENTS_URL,
        content=orjson.dumps([make_event("session.started")]),
        headers={**headers, "Content-Type": content_type},
    )
    assert_error(response, 415)
    assert db_counts(maintenance_engine) == (0, 0)


async def test_json_content_type_with_charset_is_accepted(client):
    headers = await new_user(client)
    response = await client.post(
        EVENTS_URL,
        content=orjson.dumps([make_event("session.started")]),
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_body_over_10_mib_is_413_and_nothing_stored(client, maintenance_engine):
    headers = await new_user(client)
    big = make_event("agent.prompt", prompt="x" * (10 * 1024 * 1024))
    response = await ingest(client, headers, [big])
    assert_error(response, 413)
    assert db_counts(maintenance_engine) == (0, 0)


async def test_recording_opt_out_is_403_and_nothing_stored(client, maintenance_engine):
    headers = await new_user(client)
    patched = await client.patch("/api/auth/me/", json={"recording_opt_in": False}, headers=headers)
    assert patched.status_code == 200
    events = [make_event("session.started"), make_event("app.focused")]
    assert_error(await ingest(client, headers, events), 403)
    assert db_counts(maintenance_engine) == (0, 0)
    assert (await get_json(client, headers, SESSIONS_URL))["count"] == 0

    await client.patch("/api/auth/me/", json={"recording_opt_in": True}, headers=headers)
    response = await ingest(client, headers, events, 201)
    assert response.json()["accepted"] == 2


# --- tenancy ----------------------------------------------------------------------------------


async def test_same_event_id_for_two_users_is_stored_for_each(client, maintenance_engine):
    alice, bob = await new_user(client), await new_user(client)
    alices = make_event("agent.prompt", id="shared-id", session_id="alice-s", prompt="alice")
    bobs = make_event("agent.prompt", id="shared-id", session_id="bob-s", prompt="bob")
    assert (await ingest(client, alice, [alices], 201)).json()["accepted"] == 1
    assert (await ingest(client, bob, [bobs], 201)).json() == {
        "accepted": 1,
        "duplicates": 0,
        "invalid": [],
    }
    assert (await get_event(client, alice, "shared-id"))["payload"] == alices
    assert (await get_event(client, bob, "shared-id"))["payload"] == bobs
    assert (await get_event(client, bob, "shared-id"))["session_id"] == "bob-s"
    assert db_counts(maintenance_engine) == (2, 2)
    # a re-post stays a duplicate for each of them
    assert (await ingest(client, alice, [alices], 200)).json()["duplicates"] == 1
    assert (await ingest(client, bob, [bobs], 200)).json()["duplicates"] == 1


async def test_deleting_a_user_removes_their_sessions_and_events_only(client, maintenance_engine):
    """Events have no foreign keys (migrations 0007, 0008): the users' cascade to sessions and
    the sessions' delete trigger must still take them along with the user, in one statement."""
    alice, bob = await new_user(client), await new_user(client)
    await ingest(client, alice, [make_event("agent.prompt", session_id=f"a{i}") for i in range(3)])
    await ingest(client, bob, [make_event("agent.prompt", session_id="b0")], 201)
    alice_id = (await client.get("/api/auth/me/", headers=alice)).json()["id"]
    users = models.metadata.tables["users"]
    with maintenance_engine.begin() as conn:
        conn.execute(sa.delete(users).where(users.c.id == uuid.UUID(alice_id)))
    assert db_counts(maintenance_engine) == (1, 1)
    assert (await client.get(f"{SESSIONS_URL}b0/", headers=bob)).status_code == 200


async def test_deleting_sessions_removes_exactly_their_events(client, maintenance_engine):
    """The sessions' delete trigger (migration 0008) takes each deleted session's events, in a
    statement deleting several sessions too, and leaves every other session's events alone."""
    alice = await new_user(client)
    await ingest(
        client,
        alice,
        [make_event("agent.prompt", session_id=f"s{i % 4}") for i in range(12)],
        201,
    )
    sessions = models.metadata.tables["recording_sessions"]
    with maintenance_engine.begin() as conn:
        conn.execute(sa.delete(sessions).where(sessions.c.id == "s0"))
    assert db_counts(maintenance_engine) == (9, 3)
    with maintenance_engine.begin() as conn:
        conn.execute(sa.delete(sessions).where(sessions.c.id.in_(["s1", "s2"])))
    assert db_counts(maintenance_engine) == (3, 1)
    remaining = db_scalar(
        maintenance_engine, "SELECT count(*) FROM recording_events WHERE session_id = 's3'"
    )
    assert remaining == 3


async def test_events_for_another_users_session_are_invalid_per_item(client, maintenance_engine):
    alice, bob = await new_user(client), await new_user(client)
    await ingest(
        client,
        alice,
        [make_event("session.started", session_id="alice-s", source="cli", source_detail="zsh")],
        201,
    )
    alice_before = await get_session(client, alice, "alice-s")

    intruding = [
        make_event("app.focused", session_id="alice-s", occurred_at=ts(-50)),
        make_event("session.stopped", session_id="alice-s", occurred_at=ts(99)),
    ]
    own = make_event("input.click", session_id="bob-s")
    invalid_own = make_event("input.click", session_id="bob-s", y=-5)
    response = await ingest(client, bob, [intruding[0], own, intruding[1], invalid_own], 201)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert body["invalid"][:2] == [
        {"index": 0, "errors": FOREIGN},
        {"index": 2, "errors": FOREIGN},
    ]
    assert body["invalid"][2]["index"] == 3
    assert body["invalid"][2]["errors"][0].startswith("y:")

    # nothing of the intrusion is stored, for either user
    assert await get_session(client, alice, "alice-s") == alice_before
    for event in intruding:
        await get_event(client, bob, event["id"], 404)
        await get_event(client, alice, event["id"], 404)
    bob_sessions = await get_json(client, bob, SESSIONS_URL)
    assert [s["id"] for s in bob_sessions["results"]] == ["bob-s"]
    await get_json(client, bob, f"{SESSIONS_URL}alice-s/", 404)
    assert db_counts(maintenance_engine) == (2, 2)

    # only foreign: 200, nothing accepted
    again = await ingest(client, bob, [make_event("app.focused", session_id="alice-s")], 200)
    assert again.json() == {
        "accepted": 0,
        "duplicates": 0,
        "invalid": [{"index": 0, "errors": FOREIGN}],
    }


async def test_other_users_rows_are_404(client):
    alice, bob = await new_user(client), await new_user(client)
    event = make_event("session.started", session_id="alice-s", id="alice-evt")
    await ingest(client, alice, [event], 201)
    for url in (
        f"{SESSIONS_URL}alice-s/",
        f"{SESSIONS_URL}alice-s/events/",
        f"{SESSIONS_URL}alice-s/stream/",
        f"{EVENTS_URL}alice-evt/",
    ):
        assert_error(await client.get(url, headers=bob), 404)
        assert (await client.get(url.replace("alice", "nobody"), headers=alice)).status_code == 404
    assert (await get_json(client, bob, SESSIONS_URL))["count"] == 0


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", EVENTS_URL),
        ("get", f"{EVENTS_URL}evt-x/"),
        ("get", SESSIONS_URL),
        ("get", f"{SESSIONS_URL}sess-1/"),
        ("get", f"{SESSIONS_URL}sess-1/events/"),
        ("get", f"{SESSIONS_URL}sess-1/stream/"),
    ],
)
async def test_recording_endpoints_require_a_credential(client, maintenance_engine, method, url):
    headers = await new_user(client)
    await ingest(client, headers, [make_event("session.started", id="evt-x")], 201)
    kwargs: dict[str, Any] = {"json": [make_event("app.focused")]} if method == "post" else {}
    for bad in ({}, {"Authorization": "Bearer not-a-token"}, {"X-Clone-API-Key": "clone_nope"}):
        response = await getattr(client, method)(url, headers=bad, **kwargs)
        assert_error(response, 401)
    assert db_counts(maintenance_engine) == (1, 1)


async def test_api_key_works_like_the_bearer_token(client):
    tokens = await signup(client)
    created = await client.post("/api/auth/keys/", json={"name": "cli"}, headers=bearer(tokens))
    key_headers = {"X-Clone-API-Key": created.json()["key"]}
    event = make_event("session.started", session_id="keyed")
    response = await ingest(client, key_headers, [event], 201)
    assert response.json() == {"accepted": 1, "duplicates": 0, "invalid": []}
    # the same account, whichever credential reads it
    for headers in (key_headers, bearer(tokens)):
        assert (await get_event(client, headers, event["id"]))["payload"] == event
        assert (await get_session(client, headers, "keyed"))["event_count"] == 1
        assert await session_event_ids(client, headers, "keyed") == [event["id"]]
    assert (await ingest(client, bearer(tokens), [event], 200)).json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", EVENTS_URL),
        ("put", EVENTS_URL),
        ("delete", f"{EVENTS_URL}evt-x/"),
        ("post", SESSIONS_URL),
        ("delete", f"{SESSIONS_URL}sess-1/"),
    ],
)
async def test_wrong_method_is_405(client, method, url):
    headers = await new_user(client)
    response = await client.request(method.upper(), url, headers=headers)
    assert_error(response, 405)


# --- bookends and counters ----------------------------------------------------------------------


async def test_session_started_arriving_late_sets_started_at_source_and_detail(client):
    headers = await new_user(client)
    await ingest(
        client,
        headers,
        [
            make_event("app.focused", occurred_at=ts(5)),
            make_event("input.click", occurred_at=ts(3), source="mobile", source_detail="ios"),
        ],
        201,
    )
    before = await get_session(client, headers, "sess-1")
    assert before["started_at"] == ts(3)
    assert before["ended_at"] is None

    started = make_event("session.started", occurred_at=ts(10), source="cli", source_detail="zsh")
    await ingest(client, headers, [started], 201)
    after = await get_session(client, headers, "sess-1")
    assert (after["started_at"], after["source"], after["source_detail"]) == (ts(10), "cli", "zsh")
    assert after["event_count"] == 3
    assert after["last_event_at"] == ts(10)

    # an earlier event arriving after the session.started does not move started_at
    await ingest(client, headers, [make_event("app.focused", occurred_at=ts(-100))], 201)
    later = await get_session(client, headers, "sess-1")
    assert (later["started_at"], later["source"], later["source_detail"]) == (ts(10), "cli", "zsh")
    assert later["event_count"] == 4


async def test_session_started_in_the_same_batch_wins_over_earlier_events(client):
    headers = await new_user(client)
    batch = [
        make_event("input.click", occurred_at=ts(1), source="desktop"),
        make_event("session.started", occurred_at=ts(2), source="agent", source_detail="claude"),
        make_event("input.click", occurred_at=ts(0), source="desktop"),
    ]
    await ingest(client, headers, batch, 201)
    session = await get_session(client, headers, "sess-1")
    assert (session["started_at"], session["source"], session["source_detail"]) == (
        ts(2),
        "agent",
        "claude",
    )


async def test_without_session_started_started_at_is_the_earliest_occurred_at(client):
    headers = await new_user(client)
    await ingest(
        client,
        headers,
        [
            make_event("input.click", occurred_at=ts(50)),
            make_event("app.focused", occurred_at=ts(20)),
        ],
        201,
    )
    assert (await get_session(client, headers, "sess-1"))["started_at"] == ts(20)
    # a later batch brings an earlier event
    await ingest(client, headers, [make_event("input.scroll", occurred_at=ts(-30))], 201)
    session = await get_session(client, headers, "sess-1")
    assert session["started_at"] == ts(-30)
    # ... and a later one does not move it
    await ingest(client, headers, [make_event("input.scroll", occurred_at=ts(100))], 201)
    session = await get_session(client, headers, "sess-1")
    assert session["started_at"] == ts(-30)
    assert session["last_event_at"] == ts(100)
    assert session["ended_at"] is None
    assert session["event_count"] == 4


async def test_session_stopped_sets_ended_at_only_when_later(client):
    headers = await new_user(client)
    await ingest(client, headers, [make_event("session.started", occurred_at=ts(0))], 201)
    assert (await get_session(client, headers, "sess-1"))["ended_at"] is None
    await ingest(client, headers, [make_event("input.click", occurred_at=ts(500))], 201)
    assert (await get_session(client, headers, "sess-1"))["ended_at"] is None

    await ingest(client, headers, [make_event("session.stopped", occurred_at=ts(100))], 201)
    assert (await get_session(client, headers, "sess-1"))["ended_at"] == ts(100)
    await ingest(client, headers, [make_event("session.stopped", occurred_at=ts(50))], 201)
    assert (await get_session(client, headers, "sess-1"))["ended_at"] == ts(100)
    await ingest(client, headers, [make_event("session.stopped", occurred_at=ts(300))], 201)
    assert (await get_session(client, headers, "sess-1"))["ended_at"] == ts(300)
    # several in one batch: the latest wins, whatever their order
    await ingest(
        client,
        headers,
        [
            make_event("session.stopped", occurred_at=ts(900)),
            make_event("session.stopped", occurred_at=ts(400)),
        ],
        201,
    )
    session = await get_session(client, headers, "sess-1")
    assert session["ended_at"] == ts(900)
    assert session["event_count"] == 7
    assert session["started_at"] == ts(0)


async def test_event_count_and_last_event_at_across_batches(client):
    headers = await new_user(client)
    first = [make_event("input.click", occurred_at=ts(i)) for i in (10, 30, 20)]
    await ingest(client, headers, first, 201)
    session = await get_session(client, headers, "sess-1")
    assert (session["event_count"], session["last_event_at"]) == (3, ts(30))

    bad = make_event("input.click", occurred_at=ts(1000), button="none")
    second = [make_event("input.click", occurred_at=ts(5)), first[0], bad]
    body = (await ingest(client, headers, second, 201)).json()
    assert (body["accepted"], body["duplicates"], len(body["invalid"])) == (1, 1, 1)
    session = await get_session(client, headers, "sess-1")
    assert (session["event_count"], session["last_event_at"]) == (4, ts(30))

    await ingest(client, headers, [make_event("input.click", occurred_at=ts(60))], 201)
    session = await get_session(client, headers, "sess-1")
    assert (session["event_count"], session["last_event_at"]) == (5, ts(60))
    assert session["started_at"] == ts(5)
    page = await get_json(client, headers, f"{SESSIONS_URL}sess-1/events/")
    assert page["count"] == 5


async def test_one_batch_spanning_several_sessions(client):
    headers = await new_user(client)
    batch = [
        make_event("session.started", session_id="s-a", occurred_at=ts(0)),
        make_event("input.click", session_id="s-b", occurred_at=ts(7)),
        make_event("input.click", session_id="s-a", occurred_at=ts(3)),
        make_event("session.stopped", session_id="s-b", occurred_at=ts(9)),
    ]
    await ingest(client, headers, batch, 201)
    a, b = await get_session(client, headers, "s-a"), await get_session(client, headers, "s-b")
    assert (a["event_count"], a["started_at"], a["ended_at"], a["last_event_at"]) == (
        2,
        ts(0),
        None,
        ts(3),
    )
    assert (b["event_count"], b["started_at"], b["ended_at"], b["last_event_at"]) == (
        2,
        ts(7),
        ts(9),
        ts(9),
    )


# --- keystrokes and messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "private", [{"keychar": "a"}, {"keycode": 65}, {"keychar": "p", "keycode": 80}]
)
async def test_keystroke_keychar_and_keycode_are_stripped_and_never_stored(
    client, maintenance_engine, private
):
    headers = await new_user(client)
    event = make_event("input.keystroke", **private)
    response = await ingest(client, headers, [event], 201)
    assert response.json() == {"accepted": 1, "duplicates": 0, "invalid": []}
    expected = {k: v for k, v in event.items() if k not in ("keychar", "keycode")}
    detail = await get_event(client, headers, event["id"])
    assert detail["payload"] == expected
    page = await get_json(client, headers, f"{SESSIONS_URL}sess-1/events/")
    assert page["results"][0]["payload"] == expected
    with maintenance_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT payload FROM recording_events")).scalars().all()
    assert len(rows) == 1
    assert "keychar" not in rows[0]
    assert "keycode" not in rows[0]
    assert orjson.loads(rows[0]) == expected


async def test_keystroke_stripping_does_not_hide_other_errors(client, maintenance_engine):
    headers = await new_user(client)
    event = make_event("input.keystroke", keychar="a", keycode=65, event_type="down")
    response = await ingest(client, headers, [event], 200)
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "invalid": [
            {
                "index": 0,
                "errors": ["event_type: 'down' is not a valid event_type (one of press, release)"],
            }
        ],
    }
    assert db_counts(maintenance_engine) == (0, 0)


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if t != "input.keystroke"])
@pytest.mark.parametrize("name", ["keychar", "keycode"])
async def test_keychar_or_keycode_on_other_types_is_an_unknown_field(
    client, maintenance_engine, event_type, name
):
    headers = await new_user(client)
    response = await ingest(client, headers, [make_event(event_type, **{name: "a"})], 200)
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "invalid": [{"index": 0, "errors": [f"{name}: unknown field"]}],
    }
    assert db_counts(maintenance_engine) == (0, 0)


async def test_producer_name_in_source_points_to_source_detail(client):
    headers = await new_user(client)
    response = await ingest(
        client, headers, [make_event("agent.prompt", source="claude-code")], 200
    )
    (item,) = response.json()["invalid"]
    assert item["index"] == 0
    (message,) = item["errors"]
    assert message.startswith("source:")
    assert "'claude-code'" in message
    assert "source_detail" in message


@pytest.mark.parametrize("detail", [None, ""])
async def test_integration_source_needs_a_source_detail(client, detail):
    headers = await new_user(client)
    bad = make_event("app.focused", source="integration", source_detail=detail)
    good = make_event("app.focused", source="integration", source_detail="github")
    response = await ingest(client, headers, [bad, good], 201)
    body = response.json()
    assert body["accepted"] == 1
    (item,) = body["invalid"]
    assert item["index"] == 0
    assert item["errors"][0].startswith("source_detail:")
    assert "integration" in item["errors"][0]


@pytest.mark.parametrize(
    "field_change",
    [
        {"window_title": "tab\u0000title"},
        {"app": "\u0000"},
        {"source_detail": "nul\u0000detail"},
        {"id": "evt-\u0000"},
        {"session_id": "sess-\u0000"},
    ],
    ids=["window_title", "app", "source_detail", "id", "session_id"],
)
async def test_nul_character_is_reported_per_item(client, maintenance_engine, field_change):
    headers = await new_user(client)
    nul = make_event("app.focused", **field_change)
    ok = make_event("app.focused", session_id="clean")
    response = await ingest(client, headers, [ok, nul], 201)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    (item,) = body["invalid"]
    assert item["index"] == 1
    assert len(item["errors"]) == 1
    assert "NUL" in item["errors"][0]
    assert db_counts(maintenance_engine) == (1, 1)


async def test_nul_character_in_an_agent_prompt_is_invalid_not_a_500(client, maintenance_engine):
    headers = await new_user(client)
    raw = b'[{"id": "p1", "session_id": "s", "occurred_at": "2026-05-05T12:00:00Z", '
    raw += b'"source": "agent", "source_detail": null, "type": "agent.prompt", '
    raw += b'"agent": "a", "prompt": "before\\u0000after"}]'
    response = await client.post(
        EVENTS_URL, content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert body["invalid"][0]["index"] == 0
    assert "NUL" in body["invalid"][0]["errors"][0]
    assert db_counts(maintenance_engine) == (0, 0)


async def test_long_and_non_ascii_ids_are_stored(client):
    headers = await new_user(client)
    event = make_event("app.focused", id="é" * 200, session_id="会" * 200, app="ünïcødé ✓")
    await ingest(client, headers, [event], 201)
    detail = await get_event(client, headers, event["id"])
    assert detail["payload"] == event
    assert (await get_session(client, headers, "会" * 200))["event_count"] == 1


# --- time zones ---------------------------------------------------------------------------------


async def test_occurred_at_with_an_offset_is_returned_in_utc(client):
    headers = await new_user(client)
    started = make_event("session.started", occurred_at="2026-05-05T17:30:00+05:30")
    stopped = make_event("session.stopped", occurred_at="2026-05-05T08:15:00-04:00")
    await ingest(client, headers, [started, stopped], 201)
    detail = await get_event(client, headers, started["id"])
    assert detail["occurred_at"] == "2026-05-05T12:00:00Z"
    assert detail["payload"]["occurred_at"] == "2026-05-05T17:30:00+05:30"  # as accepted
    assert (await get_event(client, headers, stopped["id"]))[
        "occurred_at"
    ] == "2026-05-05T12:15:00Z"
    session = await get_session(client, headers, "sess-1")
    assert session["started_at"] == "2026-05-05T12:00:00Z"
    assert session["ended_at"] == "2026-05-05T12:15:00Z"
    assert session["last_event_at"] == "2026-05-05T12:15:00Z"


def _utc(hour: int, minute: int, second: int, microsecond: int, day: int = 5) -> datetime:
    return datetime(2026, 5, day, hour, minute, second, microsecond, UTC)


@pytest.mark.parametrize(
    ("sent", "instant"),
    [
        ("2026-05-05T12:00:00Z", _utc(12, 0, 0, 0)),
        ("2026-05-05T12:00:00.5Z", _utc(12, 0, 0, 500000)),
        ("2026-05-05T12:00:00.123456Z", _utc(12, 0, 0, 123456)),
        ("2026-05-05T12:00:00.1234567Z", _utc(12, 0, 0, 123456)),
        ("2026-05-05T12:00:00.999999999Z", _utc(12, 0, 0, 999999)),
        ("2026-05-05T17:30:00.654321+05:30", _utc(12, 0, 0, 654321)),
        ("2026-05-05T08:00:00.9999996-04:00", _utc(12, 0, 0, 999999)),
        ("2026-05-05T23:59:59.25-11:00", _utc(10, 59, 59, 250000, day=6)),
    ],
)
async def test_occurred_at_keeps_microseconds_and_truncates_beyond(client, sent, instant):
    """Whichever form reaches the database (the producer's text or our own), the stored
    instant is the same: UTC, microseconds kept, digits past them cut off, never rounded."""
    headers = await new_user(client)
    event = make_event("input.click", occurred_at=sent)
    await ingest(client, headers, [event], 201)
    stored = await get_event(client, headers, event["id"])
    assert parse_utc(stored["occurred_at"]) == instant
    assert stored["payload"]["occurred_at"] == sent  # as accepted


@pytest.mark.parametrize("sent", ["2026-05-05T12:00:00Z", "2026-05-05T17:30:00.000005+05:30"])
async def test_event_times_are_stored_as_the_same_text_as_every_other_time(
    client, maintenance_engine, sent
):
    """Event rows are written without SQLAlchemy's per-value processing (SQLite) or as COPY
    text (PostgreSQL); their times must still be stored exactly as the session row's, which
    go through it, or comparisons between the two tables would go wrong on SQLite's text."""
    headers = await new_user(client)
    await ingest(client, headers, [make_event("session.started", occurred_at=sent)], 201)
    event = db_scalar(
        maintenance_engine,
        "SELECT occurred_at || ' ' || received_at FROM recording_events",
    )
    session = db_scalar(
        maintenance_engine,
        "SELECT started_at || ' ' || created_at FROM recording_sessions",
    )
    assert event == session


async def test_events_are_ordered_by_instant_whatever_their_offset(client):
    headers = await new_user(client)
    batch = [
        make_event("input.click", id="c-noon", occurred_at="2026-05-05T12:00:00Z"),
        make_event("input.click", id="a-1130", occurred_at="2026-05-05T12:30:00+01:00"),
        make_event("input.click", id="b-1145", occurred_at="2026-05-05T06:45:00-05:00"),
        make_event("input.click", id="e-half", occurred_at="2026-05-05T12:00:00.5Z"),
        make_event("input.click", id="d-nano", occurred_at="2026-05-05T12:00:00.000000001Z"),
    ]
    await ingest(client, headers, batch, 201)
    ids = await session_event_ids(client, headers, "sess-1")
    assert ids == ["a-1130", "b-1145", "c-noon", "d-nano", "e-half"]
    session = await get_session(client, headers, "sess-1")
    assert session["started_at"] == "2026-05-05T11:30:00Z"
    assert parse_utc(session["last_event_at"]) == datetime(2026, 5, 5, 12, 0, 0, 500000, UTC)


# --- reads: sessions ----------------------------------------------------------------------------


async def test_session_detail_has_exactly_the_published_fields(client):
    headers = await new_user(client)
    before = datetime.now(UTC)
    await ingest(
        client,
        headers,
        [
            make_event(
                "session.started", occurred_at=ts(0), source="smartglass", source_detail="g2"
            ),
            make_event("capture.frame", occurred_at=ts(4)),
        ],
        201,
    )
    session = await get_session(client, headers, "sess-1")
    assert set(session) == SESSION_FIELDS
    created_at = parse_utc(session.pop("created_at"))
    assert before - timedelta(seconds=5) <= created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert session == {
        "id": "sess-1",
        "source": "smartglass",
        "source_detail": "g2",
        "started_at": ts(0),
        "ended_at": None,
        "event_count": 2,
        "last_event_at": ts(4),
    }


async def test_sessions_list_is_most_recent_first_with_the_drf_page_shape(client):
    headers = await new_user(client)
    other = await new_user(client)
    await ingest(client, other, [make_event("session.started", session_id="not-mine")], 201)
    # arrival order differs from start order on purpose
    for session_id, start in (("middle", 100), ("oldest", 0), ("newest", 200)):
        await ingest(
            client,
            headers,
            [make_event("input.click", session_id=session_id, occurred_at=ts(start))],
            201,
        )
    page = await get_json(client, headers, SESSIONS_URL)
    assert set(page) == PAGE_FIELDS
    assert [s["id"] for s in page["results"]] == ["newest", "middle", "oldest"]
    assert (page["count"], page["limit"], page["offset"]) == (3, 50, 0)
    assert (page["next"], page["previous"]) == (None, None)
    assert all(set(s) == SESSION_FIELDS for s in page["results"])
    assert page["results"][0] == await get_session(client, headers, "newest")


async def test_sessions_list_paging_links(client):
    headers = await new_user(client)
    await ingest(
        client,
        headers,
        [make_event("input.click", session_id=f"s{i}", occurred_at=ts(i)) for i in range(5)],
        201,
    )
    page = await get_json(client, headers, f"{SESSIONS_URL}?limit=2&offset=2")
    assert [s["id"] for s in page["results"]] == ["s2", "s1"]
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 2)
    assert page["next"] == f"http://testserver{SESSIONS_URL}?limit=2&offset=4"
    assert page["previous"] == f"http://testserver{SESSIONS_URL}?limit=2&offset=0"
    following = await get_json(client, headers, page["next"])
    assert [s["id"] for s in following["results"]] == ["s0"]
    assert following["next"] is None
    beyond = await get_json(client, headers, f"{SESSIONS_URL}?offset=10")
    assert (beyond["results"], beyond["count"], beyond["next"]) == ([], 5, None)


async def test_sessions_list_default_limit_is_50_and_maximum_200(client):
    headers = await new_user(client)
    batch = [
        make_event("input.click", session_id=f"s{i:03d}", occurred_at=ts(i)) for i in range(201)
    ]
    await ingest(client, headers, batch, 201)
    default = await get_json(client, headers, SESSIONS_URL)
    assert (len(default["results"]), default["count"], default["limit"]) == (50, 201, 50)
    assert default["results"][0]["id"] == "s200"
    assert default["next"] is not None
    clamped = await get_json(client, headers, f"{SESSIONS_URL}?limit=100000")
    assert (len(clamped["results"]), clamped["count"], clamped["limit"]) == (200, 201, 200)
    assert clamped["next"] == f"http://testserver{SESSIONS_URL}?limit=200&offset=200"


@pytest.mark.parametrize(
    "query", ["limit=-1", "offset=-1", "limit=abc", "offset=abc", "limit=1.5", "offset=2.0"]
)
@pytest.mark.parametrize("url", [SESSIONS_URL, f"{SESSIONS_URL}sess-1/events/"])
async def test_negative_or_non_integer_limit_or_offset_is_400(client, url, query):
    headers = await new_user(client)
    await ingest(client, headers, [make_event("session.started")], 201)
    assert_error(await client.get(f"{url}?{query}", headers=headers), 400)


async def test_since_and_until_are_not_filters_of_these_lists(client):
    headers = await new_user(client)
    await ingest(
        client,
        headers,
        [
            make_event("input.click", occurred_at=ts(0)),
            make_event("input.click", occurred_at=ts(60)),
        ],
        201,
    )
    for query in ("since=2100-01-01T00:00:00Z", "until=2000-01-01T00:00:00Z", "since=garbage"):
        sessions = await get_json(client, headers, f"{SESSIONS_URL}?{query}")
        assert sessions["count"] == 1
        events = await get_json(client, headers, f"{SESSIONS_URL}sess-1/events/?{query}")
        assert (events["count"], len(events["results"])) == (2, 2)


# --- reads: a session's events ------------------------------------------------------------------


async def test_session_events_are_oldest_first_with_ties_in_arrival_order(client):
    headers = await new_user(client)
    await ingest(
        client,
        headers,
        [
            make_event("input.click", id="z-late", occurred_at=ts(30)),
            make_event("input.click", id="y-tie-1", occurred_at=ts(10)),
        ],
        201,
    )
    await ingest(
        client,
        headers,
        [
            make_event("input.click", id="a-tie-2", occurred_at=ts(10)),
            make_event("input.click", id="m-first", occurred_at=ts(0)),
        ],
        201,
    )
    await ingest(
        client, headers, [make_event("input.click", id="b-tie-3", occurred_at=ts(10))], 201
    )
    page = await get_json(client, headers, f"{SESSIONS_URL}sess-1/events/")
    assert set(page) == PAGE_FIELDS
    assert [e["id"] for e in page["results"]] == [
        "m-first",
        "y-tie-1",
        "a-tie-2",
        "b-tie-3",
        "z-late",
    ]
    assert (page["count"], page["limit"], page["offset"]) == (5, 500, 0)
    assert all(set(e) == EVENT_FIELDS for e in page["results"])


async def test_ties_inside_one_batch_keep_the_batch_order(client):
    """Arrival order within a batch is the order of the array (SPEC §10: ties by arrival)."""
    headers = await new_user(client)
    batch = [
        make_event("input.click", id=event_id, occurred_at=ts(0))
        for event_id in ("charlie", "alpha", "delta", "bravo")
    ]
    await ingest(client, headers, batch, 201)
    assert await session_event_ids(client, headers, "sess-1") == [
        "charlie",
        "alpha",
        "delta",
        "bravo",
    ]


async def test_session_events_default_limit_is_500_and_maximum_2000(client):
    headers = await new_user(client)
    for start in range(0, 2001, 1000):
        batch = [
            make_event("input.click", id=f"e{i:05d}", occurred_at=ts(i))
            for i in range(start, min(start + 1000, 2001))
        ]
        await ingest(client, headers, batch, 201)
    url = f"{SESSIONS_URL}sess-1/events/"
    default = await get_json(client, headers, url)
    assert (len(default["results"]), default["count"], default["limit"]) == (500, 2001, 500)
    assert (default["results"][0]["id"], default["results"][-1]["id"]) == ("e00000", "e00499")
    assert default["next"] == f"http://testserver{url}?limit=500&offset=500"
    clamped = await get_json(client, headers, f"{url}?limit=5000")
    assert (len(clamped["results"]), clamped["count"], clamped["limit"]) == (2000, 2001, 2000)
    last = await get_json(client, headers, f"{url}?limit=5000&offset=2000")
    assert [e["id"] for e in last["results"]] == ["e02000"]
    assert (last["next"], last["offset"]) == (None, 2000)
    assert last["previous"] == f"http://testserver{url}?limit=2000&offset=0"


async def test_session_events_type_filter_and_its_count(client):
    headers = await new_user(client)
    events = [make_event(t, occurred_at=ts(i)) for i, t in enumerate(EVENT_TYPES)]
    events += [make_event("app.focused", occurred_at=ts(100 + i)) for i in range(3)]
    await ingest(client, headers, events, 201)
    url = f"{SESSIONS_URL}sess-1/events/"
    focused = await get_json(client, headers, f"{url}?type=app.focused")
    assert focused["count"] == 4
    assert [e["id"] for e in focused["results"]] == [
        e["id"] for e in events if e["type"] == "app.focused"
    ]
    assert {e["type"] for e in focused["results"]} == {"app.focused"}
    paged = await get_json(client, headers, f"{url}?type=app.focused&limit=1&offset=1")
    assert (paged["count"], len(paged["results"]), paged["limit"]) == (4, 1, 1)
    assert paged["next"] == f"http://testserver{url}?type=app.focused&limit=1&offset=2"
    for event_type in EVENT_TYPES:
        page = await get_json(client, headers, f"{url}?type={event_type}")
        expected = 4 if event_type == "app.focused" else 1
        assert page["count"] == expected == len(page["results"])
    everything = await get_json(client, headers, url)
    assert everything["count"] == 12
    for unknown in ("app.blurred", "APP.FOCUSED", "session"):
        assert_error(await client.get(f"{url}?type={unknown}", headers=headers), 400)


async def test_session_events_of_an_unknown_session_is_404(client):
    headers = await new_user(client)
    assert_error(await client.get(f"{SESSIONS_URL}nope/events/", headers=headers), 404)


# --- reads: one event ---------------------------------------------------------------------------


async def test_event_detail_has_exactly_the_published_fields(client):
    headers = await new_user(client)
    before = datetime.now(UTC)
    event = make_event(
        "agent.response",
        session_id="agent-s",
        occurred_at="2026-05-05T12:00:00.250Z",
        source="agent",
        source_detail="claude-code",
        response="sure — ship it ✓",
        in_response_to="p-1",
    )
    await ingest(client, headers, [event], 201)
    detail = await get_event(client, headers, event["id"])
    assert set(detail) == EVENT_FIELDS
    received_at = parse_utc(detail.pop("received_at"))
    assert before - timedelta(seconds=5) <= received_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert parse_utc(detail.pop("occurred_at")) == datetime(2026, 5, 5, 12, 0, 0, 250000, UTC)
    assert detail == {
        "id": event["id"],
        "session_id": "agent-s",
        "type": "agent.response",
        "source": "agent",
        "source_detail": "claude-code",
        "payload": event,
    }
    # the list serves the same object
    page = await get_json(client, headers, f"{SESSIONS_URL}agent-s/events/")
    assert page["results"] == [await get_event(client, headers, event["id"])]


async def test_unknown_event_is_404(client):
    headers = await new_user(client)
    body = assert_error(await client.get(f"{EVENTS_URL}missing/", headers=headers), 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize(
    "event_id",
    [
        "with/slash",
        "a/b/c",
        "trailing/",
        "with space",
        "  padded  ",
        "percent%20literal",
        "q?mark#hash",
        "plus+sign&amp=1",
        "ünïcode-✓",
    ],
)
async def test_event_ids_with_special_characters_are_retrievable(client, event_id):
    headers = await new_user(client)
    event = make_event("app.focused", id=event_id)
    await ingest(client, headers, [event], 201)
    detail = await get_event(client, headers, event_id)
    assert detail["id"] == event_id
    assert detail["payload"] == event


# --- concurrency ----------------------------------------------------------------------------------


async def test_concurrent_identical_batches_store_each_event_exactly_once(
    client, maintenance_engine
):
    headers = await new_user(client)
    events = [make_event("input.click", id=f"c{i:04d}", occurred_at=ts(i)) for i in range(1000)]
    responses = await asyncio.gather(*(ingest(client, headers, events) for _ in range(8)))
    statuses = [r.status_code for r in responses]
    assert all(status in (200, 201) for status in statuses), [
        (r.status_code, r.text[:300]) for r in responses
    ]
    bodies = [r.json() for r in responses]
    assert sum(b["accepted"] for b in bodies) == 1000
    for body, status in zip(bodies, statuses, strict=True):
        assert body["accepted"] + body["duplicates"] == 1000
        assert body["invalid"] == []
        assert status == (201 if body["accepted"] else 200)
    assert db_scalar(maintenance_engine, "SELECT count(*) FROM recording_events") == 1000
    session = await get_session(client, headers, "sess-1")
    assert session["event_count"] == 1000
    assert (session["started_at"], session["last_event_at"]) == (ts(0), ts(999))


async def test_concurrent_users_claiming_one_session_id_get_exactly_one_owner(
    client, maintenance_engine
):
    users = [await new_user(client) for _ in range(4)]
    batches = [
        [make_event("input.click", id=f"u{n}-{i}", session_id="contested") for i in range(50)]
        for n in range(len(users))
    ]
    responses = await asyncio.gather(
        *(ingest(client, headers, batch) for headers, batch in zip(users, batches, strict=True))
    )
    assert [r.status_code for r in responses].count(201) == 1, [r.text[:200] for r in responses]
    winners = [r.json() for r in responses if r.status_code == 201]
    assert winners[0] == {"accepted": 50, "duplicates": 0, "invalid": []}
    for response in responses:
        if response.status_code == 200:
            assert response.json()["invalid"] == [
                {"index": i, "errors": FOREIGN} for i in range(50)
            ]
    assert db_counts(maintenance_engine) == (50, 1)


# --- live stream ----------------------------------------------------------------------------------


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    frames = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        frames.append((fields["event"], orjson.loads(fields["data"])))
    return frames


async def test_stream_delivers_new_events_and_ends_after_session_stopped(client):
    headers = await new_user(client)
    other = await new_user(client)
    await ingest(client, headers, [make_event("session.started", session_id="live")], 201)
    stream = asyncio.create_task(client.get(f"{SESSIONS_URL}live/stream/", headers=headers))
    # The subscription is set up once the request is running: keep sending small batches until
    # one of them (a click then a stop) reaches the stream and ends it.
    sent: list[list[dict[str, Any]]] = []
    for attempt in range(200):
        await asyncio.sleep(0.05)
        if stream.done():
            break
        await ingest(
            client, other, [make_event("input.click", session_id="elsewhere", id=f"o{attempt}")]
        )
        await ingest(
            client, headers, [make_event("input.click", session_id="sibling", id=f"x{attempt}")]
        )
        batch = [
            make_event(
                "input.click", session_id="live", id=f"k{attempt}", occurred_at=ts(attempt * 2 + 1)
            ),
            make_event(
                "session.stopped",
                session_id="live",
                id=f"s{attempt}",
                occurred_at=ts(attempt * 2 + 2),
            ),
        ]
        await ingest(client, headers, batch, 201)
        sent.append(batch)
    response = await asyncio.wait_for(stream, 10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse_sse(response.text)
    assert frames, response.text
    assert {name for name, _ in frames} == {"clone_event"}
    # the stream starts at some batch and ends with that batch's session.stopped
    first = next(i for i, batch in enumerate(sent) if batch[0]["id"] == frames[0][1]["id"])
    assert [data["id"] for _, data in frames] == [e["id"] for e in sent[first]]
    assert frames[-1][1]["type"] == "session.stopped"
    for (_, data), event in zip(frames, sent[first], strict=True):
        assert set(data) == EVENT_FIELDS
        assert data["payload"] == event
        assert data["session_id"] == "live"
        assert data["occurred_at"] == event["occurred_at"]


async def test_huge_offset_is_not_a_server_error(client):
    headers = await new_user(client)
    await ingest(client, headers, [make_event("session.started")], 201)
    for url in (SESSIONS_URL, f"{SESSIONS_URL}sess-1/events/"):
        response = await client.get(f"{url}?offset={10**30}", headers=headers)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert response.json()["results"] == []
        else:
            assert_error(response, 400)


@pytest.mark.parametrize(
    "session_id", ["proj/run-1", "with space", "a/b/c", "ünï ✓", "run/events", "run/stream"]
)
async def test_session_ids_with_special_characters_are_retrievable(client, session_id):
    headers = await new_user(client)
    event = make_event("session.started", session_id=session_id)
    await ingest(client, headers, [event], 201)
    encoded = quote(session_id, safe="")
    session = await get_json(client, headers, f"{SESSIONS_URL}{encoded}/")
    assert session["id"] == session_id
    events = await get_json(client, headers, f"{SESSIONS_URL}{encoded}/events/")
    assert [e["id"] for e in events["results"]] == [event["id"]]


async def test_extreme_dates_are_stored_or_reported_per_item(client):
    headers = await new_user(client)
    low = make_event("input.click", id="low", occurred_at="0001-01-01T00:00:00Z")
    high = make_event("input.click", id="high", occurred_at="9999-12-31T23:59:59Z")
    under = make_event("input.click", id="under", occurred_at="0001-01-01T00:30:00+01:00")
    over = make_event("input.click", id="over", occurred_at="9999-12-31T23:30:00-01:00")
    response = await ingest(client, headers, [high, under, low, over], 201)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [item["index"] for item in body["invalid"]] == [1, 3]
    for item in body["invalid"]:
        assert len(item["errors"]) == 1
        assert item["errors"][0].startswith("occurred_at:")
    page = await get_json(client, headers, f"{SESSIONS_URL}sess-1/events/")
    assert [(e["id"], e["occurred_at"]) for e in page["results"]] == [
        ("low", "0001-01-01T00:00:00Z"),
        ("high", "9999-12-31T23:59:59Z"),
    ]
    session = await get_session(client, headers, "sess-1")
    assert (session["started_at"], session["last_event_at"]) == (
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    )


async def test_concurrent_overlapping_batches_over_several_sessions(client, maintenance_engine):
    """Overlapping, shuffled batches touching the same sessions: no deadlock, no lost count."""
    headers = await new_user(client)
    pool = [
        make_event("input.click", id=f"o{i:04d}", session_id=f"multi-{i % 6}", occurred_at=ts(i))
        for i in range(900)
    ]
    rng = random.Random(1234)
    batches = []
    for _ in range(8):
        batch = rng.sample(pool, 400)
        rng.shuffle(batch)
        batches.append(batch)
    responses = await asyncio.gather(*(ingest(client, headers, batch) for batch in batches))
    assert all(r.status_code in (200, 201) for r in responses), [
        (r.status_code, r.text[:300]) for r in responses
    ]
    distinct = {event["id"]: event for batch in batches for event in batch}
    bodies = [r.json() for r in responses]
    assert sum(b["accepted"] for b in bodies) == len(distinct)
    assert sum(b["duplicates"] for b in bodies) == 8 * 400 - len(distinct)
    assert db_counts(maintenance_engine) == (len(distinct), 6)
    for n in range(6):
        mine = sorted(
            (e for e in distinct.values() if e["session_id"] == f"multi-{n}"),
            key=lambda e: e["occurred_at"],
        )
        session = await get_session(client, headers, f"multi-{n}")
        assert session["event_count"] == len(mine)
        assert session["started_at"] == mine[0]["occurred_at"]
        assert session["last_event_at"] == mine[-1]["occurred_at"]

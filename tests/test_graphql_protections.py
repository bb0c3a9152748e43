"""GraphQL protections: depth, cost, alias, size and batch limits, and switching introspection
off. Every rejection happens while the document is validated: no resolver runs and no SQL
statement is sent (each test counts them), and the error carries a typed code."""

import time

import pytest
from graphql import get_introspection_query
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from graph.protection import DEFAULT_PAGE_SIZE, UNPAGED_LIST_SIZE
from tests.helpers import PASSWORD, bearer, count_statements, signup, unique_email


async def post(client, query, variables=None, headers=None):
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    return response.status_code, response.json()


async def rejected(client, query, code, variables=None, headers=None):
    """Run `query` expecting a validation-time rejection with `code`; no SQL may run."""
    with count_statements(client) as statements:
        status, body = await post(client, query, variables, headers)
    assert status == 200, body  # like every other GraphQL validation error (see README)
    assert body["data"] is None, body
    codes = [error["extensions"]["code"] for error in body["errors"]]
    assert code in codes, body
    assert statements == [], statements
    return next(error for error in body["errors"] if error["extensions"]["code"] == code)


async def accepted(client, query, variables=None, headers=None):
    status, body = await post(client, query, variables, headers)
    assert status == 200, body
    assert "errors" not in body, body
    return body["data"]


# Six nested selection sets: me > sessions > nodes > events > nodes > session.
DEEP = "{ me { sessions { nodes { events { nodes { session { sessionId } } } } } } }"


# --- settings --------------------------------------------------------------------------


def test_protection_settings_defaults_and_environment():
    defaults = Settings.from_env({"CLONE_SECRET_KEY": "s" * 40})
    assert defaults.graphql_max_depth == 12
    assert defaults.graphql_max_cost == 50_000
    assert defaults.graphql_max_aliases == 30
    assert defaults.graphql_max_tokens == 50_000
    assert defaults.graphql_max_batch == 10
    assert defaults.graphql_apq_cache_size == 1000
    custom = Settings.from_env(
        {
            "CLONE_SECRET_KEY": "s" * 40,
            "CLONE_GRAPHQL_MAX_DEPTH": "5",
            "CLONE_GRAPHQL_MAX_COST": "500",
            "CLONE_GRAPHQL_MAX_ALIASES": "0",
            "CLONE_GRAPHQL_MAX_TOKENS": "1000",
            "CLONE_GRAPHQL_MAX_BATCH": "1",
            "CLONE_GRAPHQL_APQ_CACHE_SIZE": "0",
        }
    )
    assert (
        custom.graphql_max_depth,
        custom.graphql_max_cost,
        custom.graphql_max_aliases,
        custom.graphql_max_tokens,
        custom.graphql_max_batch,
        custom.graphql_apq_cache_size,
    ) == (5, 500, 0, 1000, 1, 0)
    for name, value in [
        ("CLONE_GRAPHQL_MAX_DEPTH", "0"),
        ("CLONE_GRAPHQL_MAX_COST", "lots"),
        ("CLONE_GRAPHQL_MAX_BATCH", "0"),
        ("CLONE_GRAPHQL_APQ_CACHE_SIZE", "-1"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"CLONE_SECRET_KEY": "s" * 40, name: value})


# --- depth -----------------------------------------------------------------------------


async def test_too_deep_query_is_rejected_before_any_resolver(make_client):
    client = await make_client(graphql_max_depth=5)
    tokens = await signup(client)
    error = await rejected(client, DEEP, "QUERY_TOO_DEEP", headers=bearer(tokens))
    assert error["extensions"] == {
        "code": "QUERY_TOO_DEEP",
        "status": 400,
        "depth": 6,
        "maxDepth": 5,
    }
    assert "6 levels deep" in error["message"]
    assert "maximum is 5" in error["message"]
    # One level less runs, and does reach the database (so the statement count means something).
    with count_statements(client) as statements:
        data = await accepted(
            client,
            "{ me { sessions(first: 5) { nodes { events(first: 5) { nodes { eventId } } } } } }",
            headers=bearer(tokens),
        )
    assert data == {"me": {"sessions": {"nodes": []}}}
    assert statements


async def test_fragments_do_not_hide_depth(make_client):
    client = await make_client(graphql_max_depth=5)
    tokens = await signup(client)
    named = """
    query { me { ...Sessions } }
    fragment Sessions on User { sessions { nodes { ...Events } } }
    fragment Events on RecordingSession { events { nodes { ...Deeper } } }
    fragment Deeper on Event { session { sessionId } }
    """
    error = await rejected(client, named, "QUERY_TOO_DEEP", headers=bearer(tokens))
    assert error["extensions"]["depth"] == 6
    inline = """
    { me { ... on User { sessions { nodes { events { nodes { ... on AgentPromptEvent {
        session { sessionId } } } } } } } } }
    """
    error = await rejected(client, inline, "QUERY_TOO_DEEP", headers=bearer(tokens))
    assert error["extensions"]["depth"] == 6


async def test_default_depth_limit_is_twelve(client):
    levels = ["me", "sessions", "nodes", "events", "nodes"] + ["session", "events", "nodes"] * 4
    query = "{ " + " ".join(f"{level} {{" for level in levels) + " eventId" + " }" * 18
    error = await rejected(client, query, "QUERY_TOO_DEEP")
    assert error["extensions"]["depth"] == 17
    assert error["extensions"]["maxDepth"] == 12


# --- cost ------------------------------------------------------------------------------


async def test_costly_query_is_rejected_before_any_resolver(client):
    tokens = await signup(client)
    query = (
        "{ me { sessions(first: 200) { nodes { sessionId "
        "events(first: 500) { nodes { eventId } } } } } }"
    )
    error = await rejected(client, query, "QUERY_TOO_COSTLY", headers=bearer(tokens))
    # me 1 + sessions 1 + nodes 1 + 200 x (sessionId 1 + events 1 + nodes 1 + 500 x eventId 1)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "status": 400,
        "cost": 3 + 200 * (3 + 500),
        "maxCost": 50_000,
    }
    assert "estimated cost of 100603" in error["message"]
    # Smaller pages fit.
    await accepted(
        client,
        "{ me { sessions(first: 50) { nodes { sessionId "
        "events(first: 500) { nodes { eventId } } } } } }",
        headers=bearer(tokens),
    )


async def test_cost_uses_the_variables_values(client):
    tokens = await signup(client)
    query = (
        "query ($n: Int, $m: Int = 100) "
        "{ me { sessions(first: $n) { nodes { sessionId "
        "events(first: $m) { nodes { eventId } } } } } }"
    )
    error = await rejected(client, query, "QUERY_TOO_COSTLY", {"n": 1000}, bearer(tokens))
    assert error["extensions"]["cost"] == 3 + 1000 * (3 + 100)  # $m from its default
    error = await rejected(client, query, "QUERY_TOO_COSTLY", {"n": 10, "m": 9000}, bearer(tokens))
    assert error["extensions"]["cost"] == 3 + 10 * (3 + 9000)
    await accepted(client, query, {"n": 10}, bearer(tokens))


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ me { email displayName } }", 3),
        # A connection without a page size counts the default page size.
        ("{ me { sessions { nodes { sessionId } } } }", 3 + DEFAULT_PAGE_SIZE),
        ("{ me { sessions(first: 3) { nodes { sessionId eventCount } } } }", 3 + 3 * 2),
        ("{ me { email sessions(first: 0) { nodes { sessionId } } } }", 4),
        (
            "{ me { sessions(first: 3) { totalCount edges { cursor node { sessionId } } } } }",
            4 + 3 * 3,
        ),
        # A list without a page-size argument counts UNPAGED_LIST_SIZE items.
        (
            "{ predictions(first: 2) { nodes { agent jobs { kind } } } }",
            2 + 2 * (2 + UNPAGED_LIST_SIZE * 1),
        ),
        # Fragments count once per spread; aliased fields count like the others.
        (
            "{ a: me { ...U } b: me { ...U } } "
            "fragment U on User { email sessions(first: 4) { nodes { sessionId } } }",
            2 * (1 + 1 + 1 + 1 + 4),
        ),
        # __typename is free; introspection costs 1 per field, without multipliers.
        ("{ __typename me { __typename email } }", 2),
        ("{ __schema { types { name fields { name } } } }", 5),
    ],
)
async def test_cost_model(make_client, query, cost):
    client = await make_client(graphql_max_cost=1)
    error = await rejected(client, query, "QUERY_TOO_COSTLY")
    assert error["extensions"]["cost"] == cost
    assert error["extensions"]["maxCost"] == 1


async def test_a_query_within_the_cost_is_not_measured_as_rejected(make_client):
    client = await make_client(graphql_max_cost=2)
    assert (await accepted(client, "{ __typename a: __typename }")) == {
        "__typename": "Query",
        "a": "Query",
    }


async def test_absurd_page_sizes_are_refused_not_crashed_on(client):
    digits = "9" * 5000
    error = await rejected(
        client,
        f"{{ me {{ sessions(first: {digits}) {{ nodes {{ sessionId }} }} }} }}",
        "QUERY_TOO_COSTLY",
    )
    assert error["extensions"]["cost"] > 10**12


async def test_fragment_bomb_is_measured_quickly_and_rejected(client):
    """Each fragment spreads the next one twice: 2^25 fields when expanded, a few lines here."""
    depth = 25
    fragments = "\n".join(
        f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(depth)
    )
    query = f"{{ me {{ ...F0 }} }}\n{fragments}\nfragment F{depth} on User {{ email }}"
    started = time.perf_counter()
    error = await rejected(client, query, "QUERY_TOO_COSTLY")
    assert time.perf_counter() - started < 2
    assert error["extensions"]["cost"] >= 2**depth


# --- aliases ---------------------------------------------------------------------------


async def test_too_many_aliases_are_rejected(client):
    tokens = await signup(client)
    fields = " ".join(f"e{i}: email" for i in range(31))
    error = await rejected(
        client, f"{{ me {{ {fields} }} }}", "TOO_MANY_ALIASES", None, bearer(tokens)
    )
    assert error["extensions"] == {
        "code": "TOO_MANY_ALIASES",
        "status": 400,
        "aliases": 31,
        "maxAliases": 30,
    }
    thirty = " ".join(f"e{i}: email" for i in range(30))
    data = await accepted(client, f"{{ me {{ {thirty} }} }}", headers=bearer(tokens))
    assert len(data["me"]) == 30


async def test_aliases_in_fragments_count_per_spread(make_client):
    client = await make_client(graphql_max_aliases=5)
    query = """
    { a: me { ...Names } b: me { ...Names } }
    fragment Names on User { x: email y: displayName }
    """
    # 2 root aliases + 2 spreads x 2 aliases inside the fragment
    error = await rejected(client, query, "TOO_MANY_ALIASES")
    assert error["extensions"]["aliases"] == 6
    inline = "{ me { ... on User { a: email b: email c: email d: email e: email f: email } } }"
    error = await rejected(client, inline, "TOO_MANY_ALIASES")
    assert error["extensions"]["aliases"] == 6


# --- document size ---------------------------------------------------------------------


async def test_oversized_document_is_refused_while_parsing(make_client):
    client = await make_client(graphql_max_tokens=100)
    query = "{ " + " ".join("__typename" for _ in range(200)) + " }"
    error = await rejected(client, query, "QUERY_TOO_LARGE")
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE", "status": 400, "maxTokens": 100}
    assert (await accepted(client, "{ __typename }")) == {"__typename": "Query"}


# --- several limits at once, and every operation of a document --------------------------


async def test_every_exceeded_limit_is_reported(make_client):
    client = await make_client(graphql_max_depth=1, graphql_max_cost=2, graphql_max_aliases=0)
    with count_statements(client) as statements:
        _status, body = await post(client, "{ me { a: sessions { nodes { sessionId } } } }")
    assert statements == []
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {"QUERY_TOO_DEEP", "QUERY_TOO_COSTLY", "TOO_MANY_ALIASES"}


async def test_each_operation_of_a_document_is_measured(make_client):
    client = await make_client(graphql_max_depth=1)
    document = "query Shallow { __typename } query Deep { me { sessions { nodes { sessionId } } } }"
    response = await client.post("/graphql", json={"query": document, "operationName": "Shallow"})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert "operation 'Deep'" in error["message"]


# --- batches ---------------------------------------------------------------------------


async def test_batch_runs_operations_in_order(client):
    tokens = await signup(client)
    response = await client.post(
        "/graphql",
        json=[
            {"query": 'mutation { createApiKey(name: "batched") { apiKey { name } } }'},
            {"query": "{ me { apiKeys { nodes { name } } } }"},
            {
                "query": "query Q($x: Int) { me { sessions(first: $x) { nodes { sessionId } } } }",
                "variables": {"x": 1},
            },
        ],
        headers=bearer(tokens),
    )
    assert response.status_code == 200, response.text
    first, second, third = response.json()
    assert first["data"]["createApiKey"]["apiKey"]["name"] == "batched"
    assert second["data"]["me"]["apiKeys"] == {"nodes": [{"name": "batched"}]}  # sees the write
    assert third["data"] == {"me": {"sessions": {"nodes": []}}}


async def test_batch_above_the_limit_is_refused_before_anything_runs(make_client):
    client = await make_client(graphql_max_batch=3)
    tokens = await signup(client)
    operation = {"query": 'mutation { createApiKey(name: "never") { key } }'}
    with count_statements(client) as statements:
        response = await client.post("/graphql", json=[operation] * 4, headers=bearer(tokens))
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "a batch may hold at most 3 operations, not 4",
                "extensions": {
                    "code": "TOO_MANY_OPERATIONS",
                    "status": 400,
                    "operations": 4,
                    "maxOperations": 3,
                },
            }
        ],
    }
    assert statements == []
    keys = await client.get("/api/auth/keys/", headers=bearer(tokens))
    assert keys.json()["results"] == []
    empty = await client.post("/graphql", json=[], headers=bearer(tokens))
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["extensions"]["code"] == "EMPTY_BATCH"
    full = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 3)
    assert [item["data"] for item in full.json()] == [{"__typename": "Query"}] * 3


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([{"query": "{ __typename }"}, 7], "operation 1 of the batch: must be a JSON object"),
        ([{"query": ["{ __typename }"]}], "`query` must be a string or null"),
        ([{"query": "{ __typename }", "variables": "x"}], "`variables` must be an object"),
        ([{"query": "{ __typename }", "extensions": []}], "`extensions` must be an object"),
    ],
)
async def test_malformed_batch_members_are_a_400(client, batch, message):
    response = await client.post("/graphql", json=batch)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert message in error["message"]
    assert error["extensions"]["code"] == "INVALID_BATCH"


async def test_each_operation_of_a_batch_has_its_own_limits(make_client):
    client = await make_client(graphql_max_depth=5)
    tokens = await signup(client)
    response = await client.post(
        "/graphql",
        json=[{"query": DEEP}, {"query": "{ me { email } }"}],
        headers=bearer(tokens),
    )
    deep, fine = response.json()
    assert deep["data"] is None
    assert deep["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert fine["data"]["me"]["email"]


# --- introspection ---------------------------------------------------------------------


async def test_introspection_off_refuses_schema_and_type_and_hides_graphiql(make_client):
    client = await make_client(graphql_introspection=False)
    for query in (
        "{ __schema { queryType { name } } }",
        '{ __type(name: "User") { name fields { name } } }',
        'query { me { email } __type(name: "Query") { name } }',
    ):
        error = await rejected(client, query, "INTROSPECTION_DISABLED")
        assert "introspection" in error["message"].lower()
        assert error["extensions"] == {"code": "INTROSPECTION_DISABLED", "status": 400}
    assert (await accepted(client, "{ __typename }")) == {"__typename": "Query"}
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "graphiql" not in page.text.lower()
    asset = await client.get("/graphql/assets/graphiql.min.js")
    assert asset.status_code == 404


async def test_graphiql_page_and_assets_are_served_locally(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "https://" not in page.text  # nothing from a CDN
    assert "http://" not in page.text
    for name, kind in [
        ("graphiql.min.js", "javascript"),
        ("graphiql.min.css", "css"),
        ("react.production.min.js", "javascript"),
        ("react-dom.production.min.js", "javascript"),
    ]:
        assert f"graphql/assets/{name}" in page.text
        asset = await client.get(f"/graphql/assets/{name}")
        assert asset.status_code == 200, name
        assert kind in asset.headers["content-type"]
        assert len(asset.content) > 10_000


async def test_graphiql_introspection_query_passes_the_default_limits(client):
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    data = await accepted(client, query)
    names = {item["name"] for item in data["__schema"]["types"]}
    assert {"Query", "Mutation", "User"} <= names


async def test_nested_introspection_is_bounded(client):
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    _status, body = await post(client, query)
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Maximum introspection depth exceeded"


# --- subscriptions (WebSocket) go through the same validation ---------------------------


def test_subscriptions_are_protected_too(make_settings):
    app = create_app(make_settings(graphql_max_depth=3))
    with TestClient(app) as http:
        email = unique_email()
        created = http.post("/api/auth/signup/", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201
        access = created.json()["access"]
        with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {access}"}}
            )
            assert ws.receive_json()["type"] == "connection_ack"
            query = (
                'subscription { eventIngested(sessionId: "s") '
                "{ session { events { nodes { session { sessionId } } } } } }"
            )
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
            message = ws.receive_json()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"

"""Automatic Persisted Queries, as Apollo clients send them (POST and GET)."""

import hashlib
import json

import pytest

from graph.persisted import PersistedQueries, PersistedQueryError
from tests.helpers import bearer, count_statements, signup

ME = "{ me { email } }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query_hash: str, version: int = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": query_hash}}


NOT_FOUND = {
    "data": None,
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ],
}


async def test_unknown_hash_asks_for_the_query_then_the_hash_alone_runs_it(client):
    tokens = await signup(client)
    headers = bearer(tokens)
    with count_statements(client) as statements:
        miss = await client.post("/graphql", json={"extensions": apq(sha(ME))}, headers=headers)
    assert miss.status_code == 200  # Apollo's answer: the client retries with the full query
    assert miss.json() == NOT_FOUND
    assert statements == []

    registered = await client.post(
        "/graphql", json={"query": ME, "extensions": apq(sha(ME))}, headers=headers
    )
    assert registered.status_code == 200
    email = registered.json()["data"]["me"]["email"]

    hit = await client.post("/graphql", json={"extensions": apq(sha(ME))}, headers=headers)
    assert hit.status_code == 200
    assert hit.json() == {"data": {"me": {"email": email}}}


async def test_hash_that_does_not_match_the_query_is_refused_and_not_stored(client):
    with count_statements(client) as statements:
        response = await client.post(
            "/graphql", json={"query": ME, "extensions": apq(sha("{ __typename }"))}
        )
    assert response.status_code == 400
    assert response.json()["data"] is None
    assert response.json()["errors"] == [
        {
            "message": "provided sha does not match query",
            "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH", "status": 400},
        }
    ]
    assert statements == []
    for stored in (sha("{ __typename }"), sha(ME)):
        again = await client.post("/graphql", json={"extensions": apq(stored)})
        assert again.json() == NOT_FOUND


async def test_variables_and_operation_name_travel_with_the_hash(client):
    tokens = await signup(client)
    document = (
        "query Keys($n: Int) { me { apiKeys(first: $n) { nodes { name } } } } "
        "query Other { __typename }"
    )
    for name in ("a", "b", "c"):
        await client.post("/api/auth/keys/", json={"name": name}, headers=bearer(tokens))
    body = {
        "query": document,
        "variables": {"n": 2},
        "operationName": "Keys",
        "extensions": apq(sha(document)),
    }
    first = await client.post("/graphql", json=body, headers=bearer(tokens))
    assert len(first.json()["data"]["me"]["apiKeys"]["nodes"]) == 2
    del body["query"]
    body["variables"] = {"n": 3}
    second = await client.post("/graphql", json=body, headers=bearer(tokens))
    assert len(second.json()["data"]["me"]["apiKeys"]["nodes"]) == 3
    body["operationName"] = "Other"
    other = await client.post("/graphql", json=body, headers=bearer(tokens))
    assert other.json() == {"data": {"__typename": "Query"}}


async def test_get_with_extensions_in_the_url(client):
    tokens = await signup(client)
    query = "query ($n: Int) { me { email apiKeys(first: $n) { nodes { name } } } }"
    params = {
        "extensions": json.dumps(apq(sha(query))),
        "variables": json.dumps({"n": 5}),
    }
    # A browser-like Accept header must not turn an APQ GET into the GraphiQL page.
    headers = {**bearer(tokens), "Accept": "*/*"}
    miss = await client.get("/graphql", params=params, headers=headers)
    assert miss.status_code == 200
    assert miss.json() == NOT_FOUND

    registered = await client.get("/graphql", params={**params, "query": query}, headers=headers)
    assert registered.status_code == 200
    email = registered.json()["data"]["me"]["email"]

    hit = await client.get("/graphql", params=params, headers=headers)
    assert hit.status_code == 200
    assert hit.json() == {"data": {"me": {"email": email, "apiKeys": {"nodes": []}}}}


async def test_get_never_runs_a_mutation_even_from_the_store(client):
    tokens = await signup(client)
    mutation = 'mutation { createApiKey(name: "via-apq") { apiKey { name } } }'
    extensions = apq(sha(mutation))
    posted = await client.post(
        "/graphql", json={"query": mutation, "extensions": extensions}, headers=bearer(tokens)
    )
    assert posted.json()["data"]["createApiKey"]["apiKey"]["name"] == "via-apq"
    replay = await client.post("/graphql", json={"extensions": extensions}, headers=bearer(tokens))
    assert replay.json()["data"]["createApiKey"]["apiKey"]["name"] == "via-apq"

    refused = await client.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers=bearer(tokens)
    )
    assert refused.status_code == 400
    assert "mutation" in refused.text.lower()
    keys = await client.get("/api/auth/keys/", headers=bearer(tokens))
    assert [key["name"] for key in keys.json()["results"]] == ["via-apq", "via-apq"]


async def test_invalid_documents_are_not_stored(make_client):
    client = await make_client(graphql_max_depth=1)
    for query in ("{ me { nope } }", "{ me { sessions { sessionId } } }", "{ me "):
        response = await client.post(
            "/graphql", json={"query": query, "extensions": apq(sha(query))}
        )
        assert response.json()["errors"]
        again = await client.post("/graphql", json={"extensions": apq(sha(query))})
        assert again.json() == NOT_FOUND, query


async def test_execution_errors_do_not_prevent_storing(client):
    # Without credentials `me` fails while executing: the document itself is fine.
    response = await client.post("/graphql", json={"query": ME, "extensions": apq(sha(ME))})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await client.post("/graphql", json={"extensions": apq(sha(ME))})
    assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": "yes"}, "must be an object"),
        (apq(sha(ME), version=2), "Unsupported persisted query version"),
        ({"persistedQuery": {"version": True, "sha256Hash": sha(ME)}}, "version"),
        ({"persistedQuery": {"version": 1}}, "64 hexadecimal digits"),
        (apq("abc"), "64 hexadecimal digits"),
        (apq("z" * 64), "64 hexadecimal digits"),
    ],
)
async def test_malformed_persisted_query_extension_is_a_400(client, extensions, message):
    response = await client.post("/graphql", json={"query": ME, "extensions": extensions})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert message in error["message"]
    assert error["extensions"] == {"code": "PERSISTED_QUERY_INVALID", "status": 400}


async def test_upper_case_hash_is_accepted(client):
    query = "{ __typename }"
    await client.post("/graphql", json={"query": query, "extensions": apq(sha(query).upper())})
    hit = await client.post("/graphql", json={"extensions": apq(sha(query))})
    assert hit.json() == {"data": {"__typename": "Query"}}


async def test_store_size_zero_turns_persisted_queries_off(make_client):
    client = await make_client(graphql_apq_cache_size=0)
    response = await client.post("/graphql", json={"extensions": apq(sha(ME))})
    assert response.status_code == 200
    assert response.json()["errors"] == [
        {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
    ]
    plain = await client.post("/graphql", json={"query": "{ __typename }"})
    assert plain.json() == {"data": {"__typename": "Query"}}


async def test_the_store_keeps_the_most_recently_used(make_client):
    client = await make_client(graphql_apq_cache_size=2)
    queries = ["{ __typename }", "{ a: __typename }", "{ b: __typename }"]
    for query in queries[:2]:
        await client.post("/graphql", json={"query": query, "extensions": apq(sha(query))})
    # Using the first makes the second the least recently used one.
    assert (
        "data" in (await client.post("/graphql", json={"extensions": apq(sha(queries[0]))})).json()
    )
    await client.post("/graphql", json={"query": queries[2], "extensions": apq(sha(queries[2]))})
    results = [
        (await client.post("/graphql", json={"extensions": apq(sha(query))})).json()
        for query in queries
    ]
    assert results[0] == {"data": {"__typename": "Query"}}
    assert results[1] == NOT_FOUND
    assert results[2] == {"data": {"b": "Query"}}


async def test_persisted_queries_in_a_batch_are_per_operation(client):
    query = "{ __typename }"
    await client.post("/graphql", json={"query": query, "extensions": apq(sha(query))})
    response = await client.post(
        "/graphql",
        json=[{"extensions": apq(sha(query))}, {"extensions": apq(sha("{ unknown }"))}],
    )
    assert response.status_code == 200
    assert response.json() == [{"data": {"__typename": "Query"}}, NOT_FOUND]


def test_store_unit_rules():
    store = PersistedQueries(max_size=2)
    with pytest.raises(PersistedQueryError) as missing:
        store.resolve(None, apq(sha(ME)))
    assert missing.value.code == "PERSISTED_QUERY_NOT_FOUND"
    resolved = store.resolve(ME, apq(sha(ME)))
    assert resolved.register_hash == sha(ME)
    assert len(store) == 0  # stored by the view only once the document validated
    store.put(sha(ME), ME)
    assert store.resolve(None, apq(sha(ME))).query == ME
    assert store.resolve(None, apq(sha(ME))).register_hash is None
    assert store.resolve(ME, None).register_hash is None  # not a persisted-query request
    store.put("x" * 64, "{ x }" * 30_000)  # too long to keep
    assert store.get("x" * 64) is None

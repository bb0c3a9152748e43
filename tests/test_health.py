from tests.helpers import graphql


async def test_health_reports_database_and_version(client):
    response = await client.get("/api/monitoring/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["version"]


async def test_health_is_503_when_database_unreachable(make_client, tmp_path):
    unreachable = await make_client(database_url="postgresql://nobody@127.0.0.1:1/none")
    response = await unreachable.get("/api/monitoring/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["status"] == "unavailable"


async def test_graphql_answers(client):
    body = await graphql(client, "{ __typename }")
    assert body == {"data": {"__typename": "Query"}}

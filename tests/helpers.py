"""Small helpers the tests share: accounts and credentials through the public API."""

import itertools
from typing import Any

import httpx

PASSWORD = "correct horse battery"
_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def signup(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/signup/", json={"email": email or unique_email(), "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()

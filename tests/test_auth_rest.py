"""SPEC §2 through the REST face."""

import pytest

from tests.helpers import PASSWORD, bearer, signup, unique_email

USER_FIELDS = {
    "id",
    "email",
    "display_name",
    "is_staff",
    "date_joined",
    "recording_opt_in",
    "session_timeout_min",
}


async def test_signup_returns_user_and_tokens_with_defaults(client):
    body = await signup(client, email="Ada@Example.com", display_name="Ada")
    assert set(body) == {"user", "access", "refresh"}
    user = body["user"]
    assert set(user) == USER_FIELDS
    assert user["email"] == "ada@example.com"
    assert user["display_name"] == "Ada"
    assert user["is_staff"] is False
    assert user["recording_opt_in"] is True
    assert user["session_timeout_min"] == 30
    assert user["date_joined"].endswith("Z")
    me = await client.get("/api/auth/me/", headers=bearer(body))
    assert me.status_code == 200
    assert me.json() == user


@pytest.mark.parametrize("second", ["ada@example.com", "ADA@EXAMPLE.COM", " Ada@example.com "])
async def test_signup_duplicate_email_any_case_is_400(client, second):
    await signup(client, email="ada@example.com")
    response = await client.post("/api/auth/signup/", json={"email": second, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"email": "a@example.com", "password": "short"}, "at least 8"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email is required"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": 12345678}, "password"),
    ],
)
async def test_signup_validation(client, payload, fragment):
    response = await client.post("/api/auth/signup/", json=payload)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


async def test_login_and_wrong_password(client):
    await signup(client, email="bob@example.com")
    ok = await client.post(
        "/api/auth/login/", json={"email": "BOB@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 200
    assert set(ok.json()) == {"access", "refresh", "user"}
    wrong = await client.post(
        "/api/auth/login/", json={"email": "bob@example.com", "password": "wrong password"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "wrong email or password", "code": "invalid_credentials"}
    unknown = await client.post(
        "/api/auth/login/", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert unknown.status_code == 401


async def test_login_is_throttled_after_repeated_failures(client):
    await signup(client, email="carol@example.com")
    for _ in range(5):
        response = await client.post(
            "/api/auth/login/", json={"email": "carol@example.com", "password": "bad password"}
        )
        assert response.status_code == 401
    throttled = await client.post(
        "/api/auth/login/", json={"email": "carol@example.com", "password": PASSWORD}
    )
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "login_throttled"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    # Another email is not affected.
    await signup(client, email="dave@example.com")
    other = await client.post(
        "/api/auth/login/", json={"email": "dave@example.com", "password": PASSWORD}
    )
    assert other.status_code == 200


async def test_successful_login_resets_failure_count(client):
    await signup(client, email="erin@example.com")
    for _ in range(4):
        await client.post(
            "/api/auth/login/", json={"email": "erin@example.com", "password": "bad password"}
        )
    ok = await client.post(
        "/api/auth/login/", json={"email": "erin@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 200
    for _ in range(4):
        await client.post(
            "/api/auth/login/", json={"email": "erin@example.com", "password": "bad password"}
        )
    again = await client.post(
        "/api/auth/login/", json={"email": "erin@example.com", "password": PASSWORD}
    )
    assert again.status_code == 200


async def test_refresh_rotates_and_old_token_is_refused(client):
    tokens = await signup(client)
    rotated = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert set(new) == {"access", "refresh"}
    assert new["refresh"] != tokens["refresh"]
    assert (await client.get("/api/auth/me/", headers=bearer(new))).status_code == 200
    reused = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert reused.status_code == 401
    # Reuse of a rotated-out token revokes the whole family, the newest member included.
    newest = await client.post("/api/auth/token/refresh/", json={"refresh": new["refresh"]})
    assert newest.status_code == 401


async def test_refresh_with_an_access_token_is_401(client):
    tokens = await signup(client)
    response = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["access"]})
    assert response.status_code == 401


async def test_refresh_ignores_a_stale_authorization_header(client):
    tokens = await signup(client)
    response = await client.post(
        "/api/auth/token/refresh/",
        json={"refresh": tokens["refresh"]},
        headers={"Authorization": "Bearer expired.or.garbage"},
    )
    assert response.status_code == 200


async def test_logout_revokes_the_refresh_token(client):
    tokens = await signup(client)
    response = await client.post(
        "/api/auth/logout/", json={"refresh": tokens["refresh"]}, headers=bearer(tokens)
    )
    assert response.status_code == 204
    assert response.content == b""
    refused = await client.post("/api/auth/token/refresh/", json={"refresh": tokens["refresh"]})
    assert refused.status_code == 401
    again = await client.post(
        "/api/auth/logout/", json={"refresh": tokens["refresh"]}, headers=bearer(tokens)
    )
    assert again.status_code == 204


async def test_logout_refuses_another_users_refresh_token(client):
    alice = await signup(client)
    bob = await signup(client)
    response = await client.post(
        "/api/auth/logout/", json={"refresh": bob["refresh"]}, headers=bearer(alice)
    )
    assert response.status_code == 400
    still_valid = await client.post("/api/auth/token/refresh/", json={"refresh": bob["refresh"]})
    assert still_valid.status_code == 200


async def test_logout_requires_credentials(client):
    tokens = await signup(client)
    response = await client.post("/api/auth/logout/", json={"refresh": tokens["refresh"]})
    assert response.status_code == 401


async def test_patch_me(client):
    tokens = await signup(client)
    response = await client.patch(
        "/api/auth/me/",
        json={"display_name": "New Name", "recording_opt_in": False, "session_timeout_min": 90},
        headers=bearer(tokens),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["display_name"], body["recording_opt_in"], body["session_timeout_min"]) == (
        "New Name",
        False,
        90,
    )
    assert (await client.get("/api/auth/me/", headers=bearer(tokens))).json() == body


@pytest.mark.parametrize(
    "patch",
    [
        {"session_timeout_min": 4},
        {"session_timeout_min": 1441},
        {"session_timeout_min": "30"},
        {"recording_opt_in": "no"},
        {"display_name": "x" * 151},
        {"is_admin": True},
    ],
)
async def test_patch_me_rejects_bad_values(client, patch):
    tokens = await signup(client)
    response = await client.patch("/api/auth/me/", json=patch, headers=bearer(tokens))
    assert response.status_code == 400
    assert (await client.get("/api/auth/me/", headers=bearer(tokens))).json() == tokens["user"]


async def test_patch_me_cannot_grant_staff(client):
    tokens = await signup(client)
    response = await client.patch(
        "/api/auth/me/", json={"is_staff": True, "display_name": "x"}, headers=bearer(tokens)
    )
    assert response.status_code == 200
    assert response.json()["is_staff"] is False


async def test_me_requires_credentials(client):
    response = await client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_waitlist_is_idempotent(client):
    first = await client.post("/api/auth/waitlist/", json={"email": "Wait@Example.com"})
    assert first.status_code == 201
    assert first.json()["email"] == "wait@example.com"
    second = await client.post("/api/auth/waitlist/", json={"email": "wait@example.com"})
    assert second.status_code == 200
    assert second.json() == first.json()
    bad = await client.post("/api/auth/waitlist/", json={"email": "nope"})
    assert bad.status_code == 400


async def test_api_key_lifecycle(client):
    tokens = await signup(client)
    created = await client.post("/api/auth/keys/", json={"name": "laptop"}, headers=bearer(tokens))
    assert created.status_code == 201
    key = created.json()
    assert set(key) == {"id", "name", "key", "prefix", "created_at"}
    assert key["key"].startswith("clone_")
    assert key["key"].startswith(key["prefix"])

    me = await client.get("/api/auth/me/", headers={"X-Clone-API-Key": key["key"]})
    assert me.status_code == 200
    assert me.json()["id"] == tokens["user"]["id"]

    listed = await client.get("/api/auth/keys/", headers=bearer(tokens))
    assert listed.status_code == 200
    page = listed.json()
    assert page["count"] == 1
    assert page["results"][0]["id"] == key["id"]
    assert "key" not in page["results"][0]
    assert page["results"][0]["last_used_at"] is not None

    detail = await client.get(f"/api/auth/keys/{key['id']}/", headers=bearer(tokens))
    assert detail.status_code == 200
    assert set(detail.json()) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    }

    revoked = await client.delete(f"/api/auth/keys/{key['id']}/", headers=bearer(tokens))
    assert revoked.status_code == 204
    refused = await client.get("/api/auth/me/", headers={"X-Clone-API-Key": key["key"]})
    assert refused.status_code == 401
    after = await client.get(f"/api/auth/keys/{key['id']}/", headers=bearer(tokens))
    assert after.json()["revoked_at"] is not None


async def test_api_keys_of_another_user_are_404(client):
    alice = await signup(client)
    bob = await signup(client)
    key = (await client.post("/api/auth/keys/", json={"name": "a"}, headers=bearer(alice))).json()
    for method in ("get", "delete"):
        response = await getattr(client, method)(
            f"/api/auth/keys/{key['id']}/", headers=bearer(bob)
        )
        assert response.status_code == 404
    assert (await client.get("/api/auth/keys/", headers=bearer(bob))).json()["count"] == 0
    still = await client.get("/api/auth/me/", headers={"X-Clone-API-Key": key["key"]})
    assert still.status_code == 200


async def test_api_key_list_is_paginated(client):
    tokens = await signup(client)
    for index in range(5):
        await client.post("/api/auth/keys/", json={"name": f"k{index}"}, headers=bearer(tokens))
    page = (await client.get("/api/auth/keys/?limit=2&offset=1", headers=bearer(tokens))).json()
    assert page["count"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [item["name"] for item in page["results"]] == ["k3", "k2"]
    assert "offset=3" in page["next"]
    assert "offset=0" in page["previous"]
    clamped = (await client.get("/api/auth/keys/?limit=100000", headers=bearer(tokens))).json()
    assert clamped["limit"] == 200
    for bad in ("limit=-1", "offset=-2", "limit=abc"):
        response = await client.get(f"/api/auth/keys/?{bad}", headers=bearer(tokens))
        assert response.status_code == 400, bad


async def test_api_key_name_is_required(client):
    tokens = await signup(client)
    for body in ({}, {"name": ""}, {"name": "x" * 101}):
        response = await client.post("/api/auth/keys/", json=body, headers=bearer(tokens))
        assert response.status_code == 400


async def test_invites_are_staff_only(client):
    tokens = await signup(client)
    response = await client.post("/api/auth/invites/", json={"count": 2}, headers=bearer(tokens))
    assert response.status_code == 403


async def test_invite_only_signup(make_client, settings):
    client = await make_client(invite_only=True)
    staff = await _staff_tokens(client, settings)
    created = await client.post(
        "/api/auth/invites/", json={"count": 2, "note": "friends"}, headers=bearer(staff)
    )
    assert created.status_code == 201
    codes = created.json()["codes"]
    assert len(codes) == 2
    assert len(set(codes)) == 2

    no_code = await client.post(
        "/api/auth/signup/", json={"email": unique_email(), "password": PASSWORD}
    )
    assert no_code.status_code == 400
    bad_code = await client.post(
        "/api/auth/signup/",
        json={"email": unique_email(), "password": PASSWORD, "invite_code": "bogus"},
    )
    assert bad_code.status_code == 400

    valid = await client.post("/api/auth/invite/validate/", json={"code": codes[0]})
    assert valid.json() == {"valid": True}
    await signup(client, invite_code=codes[0])
    used = await client.post("/api/auth/invite/validate/", json={"code": codes[0]})
    assert used.json() == {"valid": False}
    reused = await client.post(
        "/api/auth/signup/",
        json={"email": unique_email(), "password": PASSWORD, "invite_code": codes[0]},
    )
    assert reused.status_code == 400
    await signup(client, invite_code=codes[1])


async def test_invite_count_bounds(make_client, settings):
    client = await make_client()
    staff = await _staff_tokens(client, settings)
    for count in (0, 101, "3", True):
        response = await client.post(
            "/api/auth/invites/", json={"count": count}, headers=bearer(staff)
        )
        assert response.status_code == 400, count
    default = await client.post("/api/auth/invites/", json={}, headers=bearer(staff))
    assert len(default.json()["codes"]) == 1


async def test_failed_invite_signup_does_not_burn_the_code(make_client, settings):
    client = await make_client(invite_only=True)
    staff = await _staff_tokens(client, settings)
    code = (await client.post("/api/auth/invites/", json={}, headers=bearer(staff))).json()[
        "codes"
    ][0]
    duplicate = await client.post(
        "/api/auth/signup/",
        json={"email": "staff@example.com", "password": PASSWORD, "invite_code": code},
    )
    assert duplicate.status_code == 400
    assert (await client.post("/api/auth/invite/validate/", json={"code": code})).json() == {
        "valid": True
    }


async def test_magic_link_creates_account_and_is_single_use(client):
    requested = await client.post("/api/auth/magic-link/", json={"email": "Magic@Example.com"})
    assert requested.status_code == 202
    body = requested.json()
    assert body["sent"] is True
    token = body["magic_token"]
    verified = await client.post("/api/auth/magic-link/verify/", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["user"]["email"] == "magic@example.com"
    assert (await client.get("/api/auth/me/", headers=bearer(verified.json()))).status_code == 200
    again = await client.post("/api/auth/magic-link/verify/", json={"token": token})
    assert again.status_code == 401
    # A second link for the same email signs in to the same account.
    token2 = (
        await client.post("/api/auth/magic-link/", json={"email": "magic@example.com"})
    ).json()["magic_token"]
    second = await client.post("/api/auth/magic-link/verify/", json={"token": token2})
    assert second.json()["user"]["id"] == verified.json()["user"]["id"]


async def test_magic_link_expires(client, maintenance_engine):
    import sqlalchemy as sa

    token = (await client.post("/api/auth/magic-link/", json={"email": "late@example.com"})).json()[
        "magic_token"
    ]
    with maintenance_engine.begin() as conn:
        conn.execute(sa.text("UPDATE magic_links SET expires_at = created_at"))
    response = await client.post("/api/auth/magic-link/verify/", json={"token": token})
    assert response.status_code == 401


async def test_magic_link_respects_invite_only(make_client, settings):
    client = await make_client(invite_only=True)
    refused = await client.post("/api/auth/magic-link/", json={"email": "new@example.com"})
    assert refused.status_code == 400
    staff = await _staff_tokens(client, settings)
    code = (await client.post("/api/auth/invites/", json={}, headers=bearer(staff))).json()[
        "codes"
    ][0]
    token = (
        await client.post(
            "/api/auth/magic-link/", json={"email": "new@example.com", "invite_code": code}
        )
    ).json()["magic_token"]
    verified = await client.post("/api/auth/magic-link/verify/", json={"token": token})
    assert verified.status_code == 200
    assert (await client.post("/api/auth/invite/validate/", json={"code": code})).json() == {
        "valid": False
    }
    # An existing account needs no invite to sign in.
    existing = await client.post("/api/auth/magic-link/", json={"email": "staff@example.com"})
    assert existing.status_code == 202


async def test_magic_link_is_refused_in_production_without_mail(make_client):
    client = await make_client(env="production")
    response = await client.post("/api/auth/magic-link/", json={"email": "p@example.com"})
    assert response.status_code == 503
    assert "magic_token" not in response.text


async def _staff_tokens(client, settings):
    """A staff account made the way an operator makes one (the CLI's domain operation)."""
    from gateway.services import Services
    from graph.accounts import ops

    services = Services.create(settings)
    try:
        async with services.database.sessions() as db:
            await ops.create_user(db, email="staff@example.com", password=PASSWORD, is_staff=True)
    finally:
        await services.aclose()
    response = await client.post(
        "/api/auth/login/", json={"email": "staff@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.json()

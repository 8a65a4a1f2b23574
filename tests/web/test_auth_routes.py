"""The authentication API over HTTP (Quart's test client), on SQLite and PostgreSQL: logins,
Basic, bearer and API-key requests, refresh, logout, sessions, invites, the guards, stream tokens
in the query, and the one error shape with its headers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client

from ingest.catalog import libraries
from ingest.catalog.database import Database
from ingest.models import LibraryKind
from ingest.state.memory import MemorySessionStore
from tests.fixtures.auth import PASSWORD, Clock, add_user, make_auth
from web.app import Services, create_app
from web.auth.principal import allow_stream_token, current_principal, require_login
from web.auth.routes import external_login
from web.auth.service import Auth

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(database: Database, clock: Clock) -> Auth:
    return make_auth(
        database, clock=clock, login_attempts_per_account=3, login_attempts_per_address=20
    )


def app_for(auth: Auth) -> Quart:
    app = create_app(Services(version="test", auth=auth))

    @app.get("/stream-test/<session_id>/index.m3u8")
    @allow_stream_token("session_id")
    async def playlist(session_id: str) -> ResponseReturnValue:
        return jsonify(session=session_id, method=current_principal().method)

    @app.get("/members-only")
    @require_login
    async def members_only() -> ResponseReturnValue:
        return jsonify(user=current_principal().username)

    return app


@pytest.fixture
def client(auth: Auth) -> Client:
    return app_for(auth).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, await response.get_data(as_text=True)
    body = await response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


async def login(client: Client, username: str = "ann", password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login", json={"username": username, "password": password, "device": "tv"}
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    body: dict[str, Any] = await response.get_json()
    return body


async def test_login_then_me_with_the_access_token(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "ann", role="admin")
    tokens = await login(client)
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"].startswith("rbr_")
    assert tokens["user"]["username"] == "ann" and tokens["user"]["roles"] == ["admin"]
    response = await client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    me = await response.get_json()
    assert response.status_code == 200
    assert (me["username"], me["auth_method"], me["session_id"], me["library_ids"]) == (
        "ann",
        "bearer",
        tokens["session_id"],
        None,
    )
    assert (await client.get("/healthz")).status_code == 200  # public routes stay public


async def test_failed_logins_answer_one_401_whoever_the_user(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "ann")
    answers = []
    for username in ("ann", "nobody"):
        response = await client.post(
            "/api/auth/login", json={"username": username, "password": "not it"}
        )
        error = await error_of(response, 401)
        answers.append((error, response.headers["WWW-Authenticate"]))
    assert answers[0] == answers[1]
    assert answers[0][0]["code"] == "unauthorized"
    assert answers[0][1] == 'Bearer realm="reelbox"'


async def test_too_many_attempts_answer_429_with_retry_after(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "ann")
    for _ in range(3):
        response = await client.post("/api/auth/login", json={"username": "ann", "password": "x"})
        assert response.status_code == 401
    response = await client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    error = await error_of(response, 429)
    assert error["code"] == "rate_limited" and error["details"]["retry_after_s"] > 0
    assert 1 <= int(response.headers["Retry-After"]) <= 900


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "ann"}, "password"),
        ({"username": 7, "password": PASSWORD}, "username"),
        ({"username": "ann", "password": ["x"]}, "password"),
        ({"username": "ann", "password": PASSWORD, "device": 3}, "device"),
    ],
)
async def test_bad_bodies_answer_400_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    error = await error_of(await client.post("/api/auth/login", json=body), 400)
    assert (error["code"], error["details"]["field"]) == ("invalid_request", field)


async def test_malformed_json_answers_400(client: Client) -> None:
    json = {"Content-Type": "application/json"}
    for data, headers, code in (
        ("{not json", json, "bad_request"),  # the API's code for a body that is not JSON
        ("", json, "bad_request"),
        ("[1, 2]", json, "invalid_request"),  # JSON, but not the object asked for
        ('{"username": "ann", "password": "x"}', {}, "invalid_request"),  # not sent as JSON
    ):
        response = await client.post("/api/auth/login", data=data, headers=headers)
        error = await error_of(response, 400)
        assert error["code"] == code, (data, error)
        if not headers:
            assert "Content-Type: application/json" in error["message"]


async def test_basic_auth_on_an_api_route(database: Database, auth: Auth, client: Client) -> None:
    await add_user(database, auth, "ann")
    response = await client.get("/api/users/me", headers=basic("ann", PASSWORD))
    assert response.status_code == 200
    assert (await response.get_json())["auth_method"] == "basic"
    response = await client.get("/api/users/me", headers=basic("ann", "wrong"))
    await error_of(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="reelbox", charset="UTF-8"'
    response = await client.get("/api/users/me", headers={"Authorization": "Basic !!!"})
    await error_of(response, 401)


async def test_unusable_tokens_fail_guarded_routes_only(
    database: Database, auth: Auth, client: Client, clock: Clock
) -> None:
    await add_user(database, auth, "ann")
    tokens = await login(client)
    clock.advance(15 * 60 + 31)
    headers = bearer(tokens["access_token"])
    response = await client.get("/api/users/me", headers=headers)
    error = await error_of(response, 401)
    assert error["details"] == {"reason": "expired"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="reelbox", error="invalid_token"'
    assert (await client.get("/healthz", headers=headers)).status_code == 200
    # The client refreshes with the stale token still attached, as clients do.
    response = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert response.status_code == 200
    fresh = await response.get_json()
    assert (
        await client.get("/members-only", headers=bearer(fresh["access_token"]))
    ).status_code == 200
    await error_of(await client.get("/members-only"), 401)
    response = await client.get("/members-only", headers={"Authorization": "Digest x"})
    await error_of(response, 401)


async def test_refresh_reuse_and_logout_over_http(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "ann")
    first = await login(client)
    response = await client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    second = await response.get_json()
    response = await client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert (await error_of(response, 401))["details"] == {"reason": "revoked"}
    response = await client.get("/api/users/me", headers=bearer(second["access_token"]))
    await error_of(response, 401)

    third = await login(client)
    response = await client.post("/api/auth/logout", headers=bearer(third["access_token"]))
    assert response.status_code == 204
    response = await client.get("/api/users/me", headers=bearer(third["access_token"]))
    await error_of(response, 401)
    # Logging out with only the refresh token (the access token has expired, say).
    fourth = await login(client)
    response = await client.post(
        "/api/auth/logout", json={"refresh_token": fourth["refresh_token"]}
    )
    assert response.status_code == 204
    response = await client.get("/api/users/me", headers=bearer(fourth["access_token"]))
    await error_of(response, 401)
    await error_of(await client.post("/api/auth/logout"), 401)


async def test_sessions_and_logout_everywhere_across_two_nodes(
    database: Database, clock: Clock
) -> None:
    store = MemorySessionStore()
    node_a = app_for(make_auth(database, clock=clock, store=store)).test_client()
    node_b = app_for(make_auth(database, clock=clock, store=store)).test_client()
    ann = await add_user(database, make_auth(database, clock=clock), "ann")
    phone, tv = await login(node_a), await login(node_b)
    response = await node_a.get("/api/auth/sessions", headers=bearer(phone["access_token"]))
    listed = (await response.get_json())["sessions"]
    assert {s["id"] for s in listed} == {phone["session_id"], tv["session_id"]}
    assert [s["current"] for s in listed if s["id"] == phone["session_id"]] == [True]
    assert all(s["device_name"] == "tv" for s in listed)

    response = await node_a.delete(
        f"/api/auth/sessions/{tv['session_id']}", headers=bearer(phone["access_token"])
    )
    assert response.status_code == 204
    await error_of(await node_b.get("/api/users/me", headers=bearer(tv["access_token"])), 401)

    tv = await login(node_b)
    response = await node_b.post("/api/auth/logout-all", headers=bearer(tv["access_token"]))
    assert (await response.get_json()) == {"revoked": 2}
    for node, tokens in ((node_a, phone), (node_b, phone), (node_a, tv)):
        await error_of(await node.get("/api/users/me", headers=bearer(tokens["access_token"])), 401)
    assert ann.id > 0


async def test_api_keys_over_http(database: Database, auth: Auth, client: Client) -> None:
    await add_user(database, auth, "ann")
    tokens = await login(client)
    headers = bearer(tokens["access_token"])
    response = await client.post("/api/auth/keys", json={"name": "script"}, headers=headers)
    assert response.status_code == 201
    made = await response.get_json()
    assert made["key"].startswith(made["prefix"]) and made["name"] == "script"
    for key_headers in ({"X-Api-Key": made["key"]}, {"Authorization": f"ApiKey {made['key']}"}):
        response = await client.get("/api/users/me", headers=key_headers)
        assert (await response.get_json())["auth_method"] == "api_key"
    listed = (await (await client.get("/api/auth/keys", headers=headers)).get_json())["keys"]
    assert [k["prefix"] for k in listed] == [made["prefix"]] and "key" not in listed[0]
    response = await client.delete(f"/api/auth/keys/{made['id']}", headers=headers)
    assert response.status_code == 204
    await error_of(await client.get("/api/users/me", headers={"X-Api-Key": made["key"]}), 401)
    await error_of(await client.delete(f"/api/auth/keys/{made['id']}", headers=headers), 404)
    await error_of(await client.post("/api/auth/keys", json={}, headers=headers), 400)


async def test_invites_are_for_admins_and_accepted_once(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "root", role="admin")
    await add_user(database, auth, "ann")
    async with database.begin() as conn:
        films = await libraries.create_library(conn, "Films", LibraryKind.MOVIES)
    admin = bearer((await login(client, "root"))["access_token"])
    member = bearer((await login(client, "ann"))["access_token"])
    body = {"role": "child", "library_ids": [films.id], "max_parental_rating": 7}
    error = await error_of(await client.post("/api/invites", json=body, headers=member), 403)
    assert error["code"] == "forbidden"
    await error_of(await client.get("/api/invites", headers=member), 403)
    await error_of(await client.post("/api/invites", json=body), 401)
    bad = await client.post("/api/invites", json={"library_ids": ["x"]}, headers=admin)
    assert (await error_of(bad, 400))["details"]["field"].startswith("library_ids")

    response = await client.post("/api/invites", json=body, headers=admin)
    assert response.status_code == 201
    invite = await response.get_json()
    assert (invite["role"], invite["library_ids"], invite["used_at"]) == ("child", [films.id], None)
    accept = {"code": invite["code"], "username": "kid", "password": "a long enough pass"}
    response = await client.post("/api/invites/accept", json=accept)
    assert response.status_code == 201
    kid = await response.get_json()
    assert kid["user"]["roles"] == ["child"] and kid["user"]["library_ids"] == [films.id]
    assert kid["user"]["max_parental_rating"] == 7
    response = await client.post("/api/invites/accept", json={**accept, "username": "kid2"})
    assert (await error_of(response, 410))["code"] == "invite_unusable"

    [listed] = (await (await client.get("/api/invites", headers=admin)).get_json())["invites"]
    assert listed["used_by"] == kid["user"]["id"] and "code" not in listed
    response = await client.post("/api/invites", json={}, headers=admin)
    unused = await response.get_json()
    assert unused["role"] == "member" and unused["library_ids"] is None
    response = await client.delete(f"/api/invites/{unused['id']}", headers=admin)
    assert response.status_code == 204
    await error_of(await client.delete(f"/api/invites/{unused['id']}", headers=admin), 404)


async def test_a_stream_token_in_the_query_opens_one_playback_session(
    database: Database, auth: Auth, client: Client
) -> None:
    await add_user(database, auth, "ann")
    tokens = await login(client)
    who = await auth.principal_for_access_token(tokens["access_token"])
    stream = (await auth.stream_token(who, "play-1")).token
    response = await client.get(f"/stream-test/play-1/index.m3u8?token={stream}")
    assert (await response.get_json()) == {"session": "play-1", "method": "stream"}
    error = await error_of(await client.get(f"/stream-test/play-2/index.m3u8?token={stream}"), 403)
    assert "only the playback session" in error["message"]
    await error_of(await client.get(f"/members-only?token={stream}"), 403)
    await error_of(await client.get(f"/api/users/me?token={stream}"), 403)
    await error_of(await client.get("/stream-test/play-1/index.m3u8?token=forged"), 401)
    await error_of(await client.get("/stream-test/play-1/index.m3u8"), 401)
    response = await client.get(
        "/stream-test/play-2/index.m3u8", headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 200  # the access token itself opens any playback
    await client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    await error_of(await client.get(f"/stream-test/play-1/index.m3u8?token={stream}"), 401)


@dataclass(frozen=True)
class Identity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


async def test_an_external_login_completes_into_the_same_tokens(
    database: Database, auth: Auth
) -> None:
    app = app_for(auth)
    complete = external_login(auth)

    @app.post("/oidc-test")
    async def finish() -> ResponseReturnValue:
        body = await request.get_json()
        return jsonify(await complete(Identity(**body)))

    client = app.test_client()
    identity = {
        "provider": "google",
        "subject": "s-1",
        "email": "ann@example.com",
        "email_verified": True,
        "name": "Ann",
    }
    tokens = await (await client.post("/oidc-test", json=identity)).get_json()
    assert tokens["user"]["username"] == "ann" and tokens["user"]["library_ids"] == []
    response = await client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    me = await response.get_json()
    assert (me["provider"], me["email"]) == ("google", "ann@example.com")
    again = await (await client.post("/oidc-test", json=identity)).get_json()
    assert again["user"]["id"] == tokens["user"]["id"]
    assert again["session_id"] != tokens["session_id"]

"""Users and libraries over HTTP on SQLite and PostgreSQL: what admins may do and others may not
(403 for what they see, 404 for what they do not), sessions ended by a change of access, and a
real library made through the API from a synthesised clip: scanned with progress, its item's
streams and image, the image resized with an ETag, the cache dropped by the scan.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from PIL import Image

from ingest import demo
from ingest.catalog.database import Database
from tests.fixtures.auth import PASSWORD
from tests.web.test_api_support import ApiEnv, Catalog, api_env, error_of, small_catalog

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(database: Database, tmp_path: Path) -> AsyncIterator[ApiEnv]:
    async with api_env(database, tmp_path) as made:
        yield made


@pytest.fixture
async def catalog(env: ApiEnv) -> Catalog:
    return await small_catalog(env)


# --- users --------------------------------------------------------------------------------------


async def test_only_admins_manage_users(env: ApiEnv) -> None:
    listed = await env.json("GET", "/api/users")
    assert [u["username"] for u in listed["users"]] == ["admin", "member", "child", "narrow"]
    assert listed["users"][0]["library_ids"] is None and listed["users"][3]["library_ids"] == []
    member = env.ids["member"]
    for username in ("member", "child"):
        for method, path in (
            ("GET", "/api/users"),
            ("GET", f"/api/users/{member}"),
            ("DELETE", f"/api/users/{env.ids['admin']}"),
        ):
            error = await env.error(method, path, username, 403)
            assert error["code"] == "forbidden"
    error = await env.error("PATCH", f"/api/users/{member}", "member", 403, json={"role": "admin"})
    assert error["code"] == "forbidden"
    await env.error("GET", "/api/users/424242", "admin", 404)


async def test_a_change_of_access_ends_the_users_sessions(env: ApiEnv, catalog: Catalog) -> None:
    member = env.ids["member"]
    assert len((await env.json("GET", "/api/items?limit=200", "member"))["items"]) == 9
    changed = await env.json(
        "PATCH",
        f"/api/users/{member}",
        json={"role": "child", "max_parental_rating": 10, "library_ids": [catalog.films[0]]},
    )
    assert (changed["roles"], changed["max_parental_rating"]) == (["child"], 10)
    assert changed["library_ids"] == [catalog.films[0]]
    # The old token carried the old access: it no longer works.
    response = await env.call("GET", "/api/items", "member")
    assert (await error_of(response, 401))["code"] == "unauthorized"
    env.forget("member")
    page = await env.json("GET", "/api/items?limit=200", "member")
    assert sorted(i["title"] for i in page["items"]) == ["Spirited Away", "Toy Story", "Up"]
    # Every library again, no limit: the display name alone does not end sessions.
    await env.json(
        "PATCH",
        f"/api/users/{member}",
        json={"library_ids": None, "max_parental_rating": None, "role": "member"},
    )
    env.forget("member")
    await env.json("PATCH", f"/api/users/{member}", json={"display_name": "Mem"})
    assert len((await env.json("GET", "/api/items?limit=200", "member"))["items"]) == 9


async def test_user_updates_are_validated(env: ApiEnv, catalog: Catalog) -> None:
    member = f"/api/users/{env.ids['member']}"
    for body, field in (
        ({"role": "emperor"}, "role"),
        ({"disabled": "yes"}, "disabled"),
        ({"max_parental_rating": "10"}, "max_parental_rating"),
        ({"max_parental_rating": 99}, "max_parental_rating"),
        ({"library_ids": [424242]}, "library_ids"),
        ({"library_ids": "all"}, "library_ids"),
        ({"email": "not an address"}, "email"),
        ({"password_hash": "x"}, "password_hash"),
    ):
        error = await env.error("PATCH", member, json=body)
        assert (error["code"], error["details"]["field"]) == ("invalid_request", field), body
    await env.json("PATCH", f"/api/users/{env.ids['child']}", json={"email": "kid@example.org"})
    error = await env.error("PATCH", member, status=409, json={"email": "KID@example.org"})
    assert error["code"] == "conflict"


async def test_admins_keep_themselves(env: ApiEnv) -> None:
    me = f"/api/users/{env.ids['admin']}"
    assert (await env.error("PATCH", me, status=409, json={"role": "member"}))["code"] == "conflict"
    await env.error("PATCH", me, status=409, json={"disabled": True})
    await env.error("DELETE", me, status=409)
    child = f"/api/users/{env.ids['child']}"
    assert (await env.call("DELETE", child)).status_code == 204
    await env.error("GET", child, status=404)
    await env.error("DELETE", child, status=404)


async def test_users_change_their_own_name_and_password(env: ApiEnv) -> None:
    me = await env.json("PATCH", "/api/users/me", "member", json={"display_name": "Mem"})
    assert (me["display_name"], me["sessions_ended"]) == ("Mem", 0)
    error = await env.error(
        "PATCH",
        "/api/users/me",
        "member",
        json={"current_password": "wrong", "new_password": "a new long password"},
    )
    assert error["details"]["field"] == "current_password"
    error = await env.error("PATCH", "/api/users/me", "member", json={"new_password": "short"})
    assert error["details"]["field"] == "new_password"
    error = await env.error("PATCH", "/api/users/me", "member", json={"roles": ["admin"]})
    assert error["details"]["field"] == "roles"
    done = await env.json(
        "PATCH",
        "/api/users/me",
        "member",
        json={"current_password": PASSWORD, "new_password": "a new long password"},
    )
    assert done["sessions_ended"] >= 1
    await error_of(await env.call("GET", "/api/libraries", "member"), 401)
    login = await env.client.post(
        "/api/auth/login", json={"username": "member", "password": "a new long password"}
    )
    assert login.status_code == 200


# --- libraries ----------------------------------------------------------------------------------


async def test_libraries_are_listed_as_each_user_may_see_them(
    env: ApiEnv, catalog: Catalog
) -> None:
    films, shows = catalog.films[0], catalog.shows[0]
    listed = await env.json("GET", "/api/libraries")
    assert [lib["name"] for lib in listed["libraries"]] == ["Films", "Shows"]
    assert listed["libraries"][0]["sources"][0] == {
        "id": catalog.films[1],
        "type": "local",
        "path": "/media/Films",
        "bucket": None,
        "prefix": "",
        "credentials": None,
    }
    member = await env.json("GET", "/api/libraries", "member")
    assert [lib["sources"] for lib in member["libraries"]] == [None, None]
    narrow = await env.json("GET", "/api/libraries", "narrow")
    assert [lib["name"] for lib in narrow["libraries"]] == ["Films"]
    # Hidden: 404 everywhere, admin-only routes included; visible but not theirs: 403.
    for method, path in (
        ("GET", f"/api/libraries/{shows}"),
        ("GET", f"/api/libraries/{shows}/scan"),
        ("POST", f"/api/libraries/{shows}/scan"),
        ("DELETE", f"/api/libraries/{shows}"),
    ):
        assert (await env.error(method, path, "narrow", 404))["code"] == "not_found"
    for method, path in (
        ("POST", f"/api/libraries/{films}/scan"),
        ("DELETE", f"/api/libraries/{films}"),
    ):
        assert (await env.error(method, path, "narrow", 403))["code"] == "forbidden"
        await env.error(method, path, "member", 403)
    source = {"source": {"type": "local", "path": "/"}}
    await env.error("POST", f"/api/libraries/{films}/sources", "member", 403, json=source)
    await env.error("POST", f"/api/libraries/{shows}/sources", "narrow", 404, json=source)
    new = {"name": "Mine", "kind": "movies", "sources": [{"type": "local", "path": "/"}]}
    await env.error("POST", "/api/libraries", "member", 403, json=new)
    status = await env.json("GET", f"/api/libraries/{films}/scan", "narrow")
    assert (status["state"], status["phase"]) == ("idle", "idle")


async def test_library_creation_is_validated(env: ApiEnv, tmp_path: Path) -> None:
    folder = str(tmp_path)
    for body, field in (
        ({"name": "A", "kind": "movies", "sources": []}, "sources"),
        ({"name": "A", "kind": "films", "sources": [{"type": "local", "path": folder}]}, "kind"),
        ({"name": "", "kind": "movies", "sources": [{"type": "local", "path": folder}]}, "name"),
        (
            {"name": "A", "kind": "movies", "sources": [{"type": "ftp", "path": folder}]},
            "sources.0",
        ),
        (
            {"name": "A", "kind": "movies", "sources": [{"type": "local", "path": "/nowhere/x"}]},
            "sources.0.path",
        ),
        (
            {"name": "A", "kind": "movies", "sources": [{"type": "local", "path": "relative"}]},
            "sources.0.path",
        ),
        (
            {
                "name": "A",
                "kind": "movies",
                "sources": [{"type": "s3", "bucket": "media", "credentials": "nas"}],
            },
            "sources.0.credentials",
        ),
        (
            {
                "name": "A",
                "kind": "movies",
                "sources": [{"type": "local", "path": folder}],
                "scan": 1,
            },
            "scan",
        ),
    ):
        error = await env.error("POST", "/api/libraries", json=body)
        assert error["details"]["field"] == field, (body, error)
    body = {"name": "Films", "kind": "movies", "sources": [{"type": "s3", "bucket": "media"}]}
    made = await env.json("POST", "/api/libraries", status=201, json={**body, "scan": False})
    assert made["sources"][0]["bucket"] == "media"
    assert (await env.error("POST", "/api/libraries", status=409, json=body))["code"] == "conflict"


async def test_a_library_made_through_the_api_is_scanned_and_served(
    env: ApiEnv, tmp_path: Path
) -> None:
    folder = tmp_path / "films"
    folder.mkdir()
    await anyio.to_thread.run_sync(
        lambda: demo.synthesize_clip(
            folder / "Big Clip (2020).mp4", seconds=2, width=320, height=240
        )
    )
    before = await env.json("GET", "/api/items", "member")  # cached empty, until the scan drops it
    assert before["items"] == []
    library = await env.json(
        "POST",
        "/api/libraries",
        status=201,
        json={
            "name": "Films",
            "kind": "movies",
            "sources": [{"type": "local", "path": str(folder)}],
        },
    )
    status = await env.json("GET", f"/api/libraries/{library['id']}/scan")
    with anyio.fail_after(30):
        while (
            status["state"] != "done"
            or (await env.json("GET", "/api/items", "member"))["items"] == []
        ):
            await anyio.sleep(0.05)
            status = await env.json("GET", f"/api/libraries/{library['id']}/scan")
    assert (status["phase"], status["added"], status["failed"]) == ("done", 1, 0)
    assert status["last_scan_at"] is not None
    [item] = (await env.json("GET", "/api/items", "member"))["items"]
    assert (item["title"], item["year"]) == ("Big Clip", 2020)
    detail = await env.json("GET", f"/api/items/{item['id']}", "member")
    media = [(s["kind"], s["codec"]) for s in detail["streams"] if s["kind"] in {"video", "audio"}]
    assert media == [("video", "h264"), ("audio", "aac")]
    [thumb] = detail["images"]
    assert thumb["kind"] == "thumb" and thumb["blurhash"] and thumb["width"] == 320
    assert item["image"] == thumb

    resized = await env.call("GET", thumb["url"] + "?width=100&format=jpeg", "member")
    assert resized.status_code == 200 and resized.content_type == "image/jpeg"
    picture = Image.open(io.BytesIO(await resized.get_data()))
    assert picture.format == "JPEG" and picture.size == (160, 120)  # 100 snaps up to 160
    assert resized.headers["Cache-Control"] == "private, max-age=3600"
    etag = resized.headers["ETag"]
    again = await env.call(
        "GET", thumb["url"] + "?width=150&format=jpeg", "member", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304  # 150 snaps to the same size: the same bytes
    original = await env.call("GET", thumb["url"], "member")
    assert Image.open(io.BytesIO(await original.get_data())).size == (320, 240)
    huge = await env.call("GET", thumb["url"] + "?height=4000&format=png", "member")
    assert Image.open(io.BytesIO(await huge.get_data())).size == (320, 240)  # never enlarged
    for query, field in (("width=0", "width"), ("format=gif", "format"), ("dpi=2", "dpi")):
        error = await env.error("GET", f"{thumb['url']}?{query}", "member")
        assert error["details"]["field"] == field
    await env.error("GET", f"/api/items/{item['id']}/images/poster", "member", 404)

    again_scan = await env.json("POST", f"/api/libraries/{library['id']}/scan", status=202)
    assert again_scan["state"] in {"queued", "running", "done"}
    assert (await env.call("DELETE", f"/api/libraries/{library['id']}")).status_code == 204
    assert (await env.json("GET", "/api/items", "member"))["items"] == []
    await env.error("GET", f"/api/items/{item['id']}", "member", 404)


async def test_admins_rename_libraries_and_remove_sources(env: ApiEnv, catalog: Catalog) -> None:
    (films, films_source), (shows, shows_source) = catalog.films, catalog.shows
    renamed = await env.json("PATCH", f"/api/libraries/{films}", json={"name": "  Cinema "})
    assert renamed["name"] == "Cinema" and renamed["sources"][0]["id"] == films_source
    listed = await env.json("GET", "/api/libraries", "member")
    assert [lib["name"] for lib in listed["libraries"]] == ["Cinema", "Shows"]
    unchanged = await env.json("PATCH", f"/api/libraries/{films}", json={})
    assert unchanged["name"] == "Cinema"
    clash = await env.error("PATCH", f"/api/libraries/{films}", status=409, json={"name": "Shows"})
    assert (clash["code"], clash["details"]["field"]) == ("conflict", "name")
    for body, field in (({"name": ""}, "name"), ({"name": 3}, "name"), ({"kind": "music"}, "kind")):
        error = await env.error("PATCH", f"/api/libraries/{films}", json=body)
        assert error["details"]["field"] == field, (body, error)
    await env.error("PATCH", f"/api/libraries/{films}", "member", 403, json={"name": "Mine"})
    await env.error("PATCH", f"/api/libraries/{shows}", "narrow", 404, json={"name": "Mine"})

    # Removing a source removes its items; a source of another library is not this one's.
    path = f"/api/libraries/{films}/sources/{films_source}"
    await env.error("DELETE", path, "member", 403)
    await env.error("DELETE", f"/api/libraries/{films}/sources/{shows_source}", status=404)
    assert len((await env.json("GET", "/api/items?type=movie", "member"))["items"]) == 5
    assert (await env.call("DELETE", path)).status_code == 204
    assert (await env.json("GET", "/api/items?type=movie", "member"))["items"] == []
    assert (await env.json("GET", f"/api/libraries/{films}"))["sources"] == []
    await env.error("DELETE", path, status=404)
    assert len((await env.json("GET", "/api/items?type=episode", "member"))["items"]) == 4

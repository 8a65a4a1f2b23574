"""Playlists over HTTP on SQLite and PostgreSQL: owners, shares to view or edit, ordering, and a
child who never sees an R-rated entry of a playlist shared with them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ingest.catalog.database import Database
from tests.web.test_api_support import ApiEnv, Catalog, api_env, small_catalog

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(database: Database, tmp_path: Path) -> AsyncIterator[ApiEnv]:
    async with api_env(database, tmp_path) as made:
        yield made


@pytest.fixture
async def catalog(env: ApiEnv) -> Catalog:
    return await small_catalog(env)


def entry_titles(playlist: dict[str, list[dict[str, dict[str, str]]]]) -> list[str]:
    return [e["item"]["title"] for e in playlist["entries"]]


async def test_owner_builds_orders_and_shares_a_playlist(env: ApiEnv, catalog: Catalog) -> None:
    films = catalog.film_ids
    made = await env.json("POST", "/api/playlists", "member", 201, json={"name": "Friday"})
    assert (made["access"], made["item_count"], made["is_public"]) == ("own", 0, False)
    path = f"/api/playlists/{made['id']}"
    wanted = [films["The Matrix"], films["Up"], films["Amélie"], films["Toy Story"]]
    added = await env.json("POST", f"{path}/items", "member", 201, json={"item_ids": wanted})
    assert len(added["entry_ids"]) == 4
    playlist = await env.json("GET", path, "member")
    assert entry_titles(playlist) == ["The Matrix", "Up", "Amélie", "Toy Story"]
    moved = await env.call(
        "PATCH", f"{path}/items/{added['entry_ids'][3]}", "member", json={"index": 0}
    )
    assert moved.status_code == 204
    removed = await env.call("DELETE", f"{path}/items/{added['entry_ids'][2]}", "member")
    assert removed.status_code == 204
    await env.error("DELETE", f"{path}/items/{added['entry_ids'][2]}", "member", 404)
    playlist = await env.json("GET", path, "member")
    assert entry_titles(playlist) == ["Toy Story", "The Matrix", "Up"]

    # Hidden from the child until shared; then the R-rated film is not among what they see.
    await env.error("GET", path, "child", 404)
    assert (await env.json("GET", "/api/playlists", "child"))["playlists"] == []
    shared = await env.call("PUT", f"{path}/shares/{env.ids['child']}", "member", json={})
    assert shared.status_code == 204
    seen = await env.json("GET", path, "child")
    assert entry_titles(seen) == ["Toy Story", "Up"] and seen["shares"] == []
    assert seen["playlist"]["access"] == "view" and seen["playlist"]["item_count"] == 2
    [listed] = (await env.json("GET", "/api/playlists", "child"))["playlists"]
    assert listed["item_count"] == 2
    owner_view = await env.json("GET", path, "member")
    assert owner_view["shares"] == [
        {"user_id": env.ids["child"], "username": "child", "can_edit": False}
    ]

    # A viewer may not change it (403); an R-rated item is 404 to the child even as an editor.
    spirited = {"item_ids": [films["Spirited Away"]]}
    assert (await env.error("POST", f"{path}/items", "child", 403, json=spirited))[
        "code"
    ] == "forbidden"
    await env.error("PATCH", path, "child", 403, json={"name": "Mine"})
    await env.error("DELETE", path, "child", 403)
    await env.call("PUT", f"{path}/shares/{env.ids['child']}", "member", json={"can_edit": True})
    await env.json("POST", f"{path}/items", "child", 201, json=spirited)
    error = await env.error(
        "POST", f"{path}/items", "child", 404, json={"item_ids": [films["Amélie"]]}
    )
    assert error["code"] == "not_found"
    await env.error("PATCH", path, "child", 403, json={"name": "Mine"})
    await env.error("PUT", f"{path}/shares/{env.ids['narrow']}", "child", 403, json={})

    renamed = await env.json("PATCH", path, "member", json={"name": "Saturday"})
    assert renamed["name"] == "Saturday"
    assert (
        await env.call("DELETE", f"{path}/shares/{env.ids['child']}", "member")
    ).status_code == 204
    await env.error("DELETE", f"{path}/shares/{env.ids['child']}", "member", 404)
    await env.error("GET", path, "child", 404)
    await env.error("PUT", f"{path}/shares/424242", "member", 404, json={})
    assert (await env.call("DELETE", path, "member")).status_code == 204
    await env.error("GET", path, "member", 404)


async def test_playlist_requests_are_validated(env: ApiEnv, catalog: Catalog) -> None:
    made = await env.json("POST", "/api/playlists", "member", 201, json={"name": "A"})
    path = f"/api/playlists/{made['id']}"
    for method, url, body, field in (
        ("POST", "/api/playlists", {"name": ""}, "name"),
        ("POST", "/api/playlists", {"name": 5}, "name"),
        ("POST", "/api/playlists", {"name": "x", "is_public": "yes"}, "is_public"),
        ("POST", "/api/playlists", {"name": "x", "owner_id": 1}, "owner_id"),
        ("POST", f"{path}/items", {"item_ids": []}, "item_ids"),
        ("POST", f"{path}/items", {"item_ids": ["1"]}, "item_ids.0"),
        ("POST", f"{path}/items", {"item_ids": [0]}, "item_ids.0"),
        ("PATCH", f"{path}/items/1", {"index": -1}, "index"),
        ("PUT", f"{path}/shares/{env.ids['child']}", {"can_edit": 1}, "can_edit"),
    ):
        error = await env.error(method, url, "member", json=body)
        assert (error["code"], error["details"]["field"]) == ("invalid_request", field), body
    await env.error("GET", "/api/playlists/424242", "member", 404)
    await env.error("PATCH", f"{path}/items/424242", "member", 404, json={"index": 0})
    # Another user's private playlist does not exist for them, whatever they try.
    for method, url, body in (
        ("GET", path, None),
        ("PATCH", path, {"name": "B"}),
        ("DELETE", path, None),
        ("POST", f"{path}/items", {"item_ids": [catalog.film_ids["Up"]]}),
    ):
        await env.error(method, url, "narrow", 404, json=body)

"""Browsing over HTTP on SQLite and PostgreSQL: grids with every filter and sort, cursor and offset
pages, details, series and seasons, search, facets, home rows; what a child and a user without
access never see; the metadata cache and its invalidation; ETags and 304.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ingest.catalog.database import Database
from tests.web.test_api_support import (
    ApiEnv,
    Catalog,
    add_items,
    api_env,
    movie,
    small_catalog,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(database: Database, tmp_path: Path) -> AsyncIterator[ApiEnv]:
    async with api_env(database, tmp_path) as made:
        yield made


@pytest.fixture
async def catalog(env: ApiEnv) -> Catalog:
    return await small_catalog(env)


def titles(page: dict[str, object]) -> list[str]:
    return [item["title"] for item in page["items"]]  # type: ignore[attr-defined,index]


async def test_browse_filters_and_sorts(env: ApiEnv, catalog: Catalog) -> None:
    films = catalog.films[0]
    page = await env.json("GET", f"/api/items?library_id={films}")
    assert titles(page) == ["Amélie", "The Matrix", "Spirited Away", "Toy Story", "Up"]
    assert page["next_cursor"] is None and page["total"] is None
    item = page["items"][0]
    assert item["type"] == "movie" and item["user"]["played"] is False
    page = await env.json("GET", f"/api/items?library_id={films}&sort=year&order=desc&total=true")
    assert titles(page)[:1] == ["Up"] and page["total"] == 5
    page = await env.json("GET", "/api/items?type=episode&sort=title")
    assert len(page["items"]) == 4
    page = await env.json("GET", "/api/items?type=movie,episode&limit=200")
    assert len(page["items"]) == 9
    page = await env.json("GET", "/api/items?type=movie&type=episode&year=2001")
    assert titles(page) == ["Amélie", "Spirited Away"]
    page = await env.json("GET", "/api/items?year_min=2000&year_max=2005&type=movie")
    assert titles(page) == ["Amélie", "Spirited Away"]
    page = await env.json("GET", "/api/items?search=matrix")
    assert titles(page) == ["The Matrix"]
    genres = (await env.json("GET", f"/api/genres?library_id={films}"))["genres"]
    animation = next(g for g in genres if g["name"] == "Animation")
    assert animation["count"] == 3
    page = await env.json("GET", f"/api/items?genre={animation['id']}&sort=title")
    assert titles(page) == ["Spirited Away", "Toy Story", "Up"]
    years = (await env.json("GET", "/api/years?type=movie"))["years"]
    assert years[0] == {"year": 2009, "count": 1}


async def test_cursor_pages_walk_everything_once(env: ApiEnv, catalog: Catalog) -> None:
    await add_items(
        env.database, catalog.films, [movie(f"Extra {n:02}", 2000 + n, "G") for n in range(12)]
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "/api/items?type=movie&sort=added&order=desc&limit=5"
        page = await env.json("GET", query + (f"&cursor={cursor}" if cursor else ""))
        seen += titles(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 17 == len(set(seen))
    offset = await env.json("GET", "/api/items?type=movie&sort=added&order=desc&limit=5&offset=5")
    assert titles(offset) == seen[5:10]
    error = await env.error("GET", "/api/items?cursor=not-a-cursor")
    assert error["code"] == "invalid_cursor" and error["details"]["field"] == "cursor"
    other_sort = await env.json("GET", "/api/items?sort=title&limit=2")
    error = await env.error("GET", f"/api/items?sort=year&cursor={other_sort['next_cursor']}")
    assert error["code"] == "invalid_cursor"
    error = await env.error("GET", f"/api/items?offset=3&cursor={other_sort['next_cursor']}")
    assert error["details"]["field"] == "offset"


async def test_query_strings_are_validated(env: ApiEnv, catalog: Catalog) -> None:
    for query, field in (
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=201", "limit"),
        ("sort=color", "sort"),
        ("type=movie,sofa", "type.1"),
        ("library_id=-1", "library_id"),
        ("year=99999999999", "year"),
        ("unwatched=maybe", "unwatched"),
        ("colour=red", "colour"),
    ):
        error = await env.error("GET", f"/api/items?{query}")
        assert error["code"] == "invalid_request", query
        assert error["details"]["field"] == field, (query, error)
    error = await env.error("GET", "/api/search")
    assert error["details"]["field"] == "q"


async def test_detail_search_and_home(env: ApiEnv, catalog: Catalog) -> None:
    up = catalog.film_ids["Up"]
    detail = await env.json("GET", f"/api/items/{up}")
    assert detail["item"]["title"] == "Up" and detail["genres"] == ["Animation", "Family"]
    assert [s["kind"] for s in detail["streams"]] == ["video", "audio"]
    assert detail["streams"][0]["width"] == 1920 and detail["images"] == []
    found = await env.json("GET", "/api/search?q=amelei")  # a typo, no accent
    assert titles(found) == ["Amélie"]
    first = catalog.episode_ids[0]
    await env.json("POST", f"/api/items/{first}/played", "member")
    await env.json("PUT", f"/api/items/{up}/progress", "member", json={"position_us": HALF})
    # the member's other devices hear of both (over the WebSocket, in a served app)
    member = env.ids["member"]
    assert [(u, i, d["played"]) for u, i, d in env.heard] == [
        (member, first, True),
        (member, up, False),
    ]
    assert env.heard[1][2]["position_us"] == HALF
    home = await env.json("GET", "/api/home?limit=5", "member")
    assert titles({"items": home["continue_watching"]}) == ["Up"]
    assert titles({"items": home["next_up"]}) == ["Bluey 1x02"]
    assert len(home["recently_added"]) == 5
    episode = await env.json("GET", f"/api/items/{first}")
    season = await env.json("GET", f"/api/seasons/{episode['item']['season_id']}", "member")
    assert [e["user"]["played"] for e in season["episodes"]] == [True, False, False]
    series = await env.json("GET", f"/api/series/{episode['item']['series_id']}", "member")
    assert [(s["number"], s["unplayed_count"]) for s in series["seasons"]] == [(1, 2), (2, 1)]


HALF = 1_800_000_000


async def test_what_a_user_may_not_see_is_absent_or_404(env: ApiEnv, catalog: Catalog) -> None:
    matrix = catalog.film_ids["The Matrix"]
    episode = catalog.episode_ids[0]
    # The child (limit 10) never sees an R-rated film: not in grids, search, home, detail.
    page = await env.json("GET", "/api/items?type=movie&limit=200", "child")
    assert titles(page) == ["Spirited Away", "Toy Story", "Up"]
    assert titles(await env.json("GET", "/api/search?q=matrix", "child")) == []
    home = await env.json("GET", "/api/home", "child")
    assert "The Matrix" not in titles({"items": home["recently_added"]})
    for path in (
        f"/api/items/{matrix}",
        f"/api/items/{matrix}/userdata",
        f"/api/items/{matrix}/images/thumb",
    ):
        error = await env.error("GET", path, "child", 404)
        assert error["code"] == "not_found"
    await env.error("POST", f"/api/items/{matrix}/played", "child", 404)
    # A user who may see the films only: the shows' items, series and library are 404.
    page = await env.json("GET", "/api/items?limit=200", "narrow")
    assert len(page["items"]) == 5
    await env.error("GET", f"/api/items/{episode}", "narrow", 404)
    page = await env.json("GET", f"/api/items?library_id={catalog.shows[0]}", "narrow")
    assert page["items"] == []


async def test_bad_ids_are_404(env: ApiEnv, catalog: Catalog) -> None:
    for path in (
        "/api/items/0",
        "/api/items/-1",
        "/api/items/abc",
        "/api/items/99999999999999999999999",
        f"/api/items/{2**63 - 1}",
        "/api/series/424242",
        "/api/seasons/424242",
        "/api/albums/424242",
        "/api/items/1/images/sofa",
    ):
        error = await env.error("GET", path, "admin", 404)
        assert error["code"] == "not_found", path


async def test_etags_answer_304_and_change_with_the_data(env: ApiEnv, catalog: Catalog) -> None:
    up = catalog.film_ids["Up"]
    first = await env.call("GET", f"/api/items/{up}", "member")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
    again = await env.call("GET", f"/api/items/{up}", "member", headers={"If-None-Match": etag})
    assert again.status_code == 304 and await again.get_data() == b""
    await env.json("POST", f"/api/items/{up}/favorite", "member")
    changed = await env.call("GET", f"/api/items/{up}", "member", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert (await changed.get_json())["item"]["user"]["is_favorite"] is True
    grid = await env.call("GET", "/api/items?type=movie", "member")
    grid_again = await env.call(
        "GET", "/api/items?type=movie", "member", headers={"If-None-Match": grid.headers["ETag"]}
    )
    assert grid_again.status_code == 304


async def test_cache_serves_fresh_user_data_and_drops_on_library_change(
    env: ApiEnv, catalog: Catalog
) -> None:
    films = catalog.films[0]
    query = f"/api/items?library_id={films}&limit=200"
    await env.json("GET", query, "member")
    before = env.cache.statistics()
    page = await env.json("GET", query, "member")  # a hit, shared with users who see the same
    assert env.cache.statistics().hits == before.hits + 1
    up = catalog.film_ids["Up"]
    await env.json("POST", f"/api/items/{up}/played", "member")
    page = await env.json("GET", query, "member")
    assert next(i for i in page["items"] if i["id"] == up)["user"]["played"] is True
    other = await env.json("GET", query, "admin")  # the same entry, the admin's own data
    assert next(i for i in other["items"] if i["id"] == up)["user"]["played"] is False
    # A change the cache does not see (written straight to the catalog) shows after a scan or
    # library change invalidates it.
    assert titles(await env.json("GET", "/api/search?q=heat", "member")) == []
    await add_items(env.database, catalog.films, [movie("Heat", 1995, "R", "Crime")])
    assert "Heat" not in titles(await env.json("GET", query, "member"))
    assert "Heat" not in titles(await env.json("GET", "/api/search?q=heat", "member"))
    await env.cache.library_changed(films)
    assert "Heat" in titles(await env.json("GET", query, "member"))
    assert titles(await env.json("GET", "/api/search?q=heat", "member")) == ["Heat"]

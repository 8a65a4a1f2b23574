"""What the REST API tests share (no tests here): an app over a real catalog, real logins for an
admin, a member, a child and a member restricted to one library, and a small catalog written the
way the scanner writes it.

Each test module makes its own fixture with ``api_env(database, tmp_path)``; the scan queue runs
in a task group for as long as the context is open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from quart import Quart
from quart.typing import TestClientProtocol as Client

from ingest.artwork import Artwork
from ingest.catalog import users
from ingest.catalog.database import Database
from ingest.imagestore import LocalImageStore
from ingest.models import ItemType, LibraryKind, Titles
from ingest.opener import SourceOpener
from ingest.scanner import Scanner
from ingest.state.memory import MemoryCache
from tests.fixtures.auth import PASSWORD, Clock, add_user, make_auth
from tests.ingest import test_browse as browse_tests
from web.api import Api
from web.api.cache import MetadataCache
from web.api.scans import ScanQueue
from web.app import Services, create_app
from web.auth.service import Auth


@dataclass
class ApiEnv:
    app: Quart
    client: Client
    database: Database
    auth: Auth
    cache: MetadataCache
    images: LocalImageStore
    scanner: Scanner
    ids: dict[str, int] = field(default_factory=dict)  # user name -> id
    # What the API told of user data changes: (user id, item id, the new data).
    heard: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def headers(self, username: str) -> dict[str, str]:
        """A bearer token of ``username``'s (logged in once per test)."""
        if username not in self._headers:
            response = await self.client.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, await response.get_data(as_text=True)
            token = (await response.get_json())["access_token"]
            self._headers[username] = {"Authorization": f"Bearer {token}"}
        return self._headers[username]

    def forget(self, username: str) -> None:
        self._headers.pop(username, None)

    async def call(self, method: str, path: str, username: str = "admin", **kwargs: Any) -> Any:
        headers = {**(await self.headers(username)), **kwargs.pop("headers", {})}
        return await self.client.open(path, method=method, headers=headers, **kwargs)

    async def json(
        self, method: str, path: str, username: str = "admin", status: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.call(method, path, username, **kwargs)
        assert response.status_code == status, await response.get_data(as_text=True)
        return await response.get_json()

    async def error(
        self, method: str, path: str, username: str = "admin", status: int = 400, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self.call(method, path, username, **kwargs)
        return await error_of(response, status)


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, await response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = await response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


@asynccontextmanager
async def api_env(
    database: Database, tmp_path: Path, *, cache: bool = True
) -> AsyncIterator[ApiEnv]:
    auth = make_auth(database, clock=Clock())
    images = LocalImageStore(tmp_path / "images")
    metadata = MetadataCache(MemoryCache() if cache else None)
    opener = SourceOpener({})
    scanner = Scanner(database, opener, concurrency=2)
    artwork = Artwork(database, opener, images)

    async def after_scan(library_id: int) -> None:
        await artwork.render_library(library_id)
        await metadata.library_changed(library_id)

    scans = ScanQueue(scanner, after_scan=after_scan)
    heard: list[tuple[int, int, dict[str, Any]]] = []

    async def user_data_changed(user_id: int, item_id: int, data: Mapping[str, Any]) -> None:
        heard.append((user_id, item_id, dict(data)))

    api = Api(
        database=database,
        auth=auth,
        images=images,
        cache=metadata,
        scans=scans,
        user_data_changed=user_data_changed,
    )
    app = create_app(Services(version="test", auth=auth, api=api))
    env = ApiEnv(app, app.test_client(), database, auth, metadata, images, scanner, heard=heard)
    for name, role, limit in (
        ("admin", "admin", None),
        ("member", "member", None),
        ("child", "child", 10),
    ):
        user = await add_user(database, auth, name, role=role, max_parental_rating=limit)
        env.ids[name] = user.id
    user = await add_user(database, auth, "narrow", all_libraries=False)
    env.ids["narrow"] = user.id
    async with anyio.create_task_group() as tg:
        await tg.start(scans.run)
        try:
            yield env
        finally:
            tg.cancel_scope.cancel()


# --- a catalog ----------------------------------------------------------------------------------


async def add_library(database: Database, name: str, kind: LibraryKind) -> tuple[int, int]:
    async with database.begin() as conn:
        return await browse_tests.add_library(conn, name, kind)


async def add_items(
    database: Database, library: tuple[int, int], titles: list[Titles]
) -> list[int]:
    """Write probed items the way the scanner does (one batch)."""
    async with database.begin() as conn:
        return await browse_tests.add_items(conn, library, titles)


async def grant(database: Database, user_id: int, library_ids: list[int]) -> None:
    async with database.begin() as conn:
        await users.set_library_access(conn, user_id, library_ids)


def movie(title: str, year: int | None, rating: str | None, *genres: str) -> Titles:
    return Titles(
        type=ItemType.MOVIE, title=title, year=year, official_rating=rating, genres=genres
    )


def episode(show: str, season: int, number: int, rating: str = "TV-Y") -> Titles:
    return Titles(
        type=ItemType.EPISODE,
        title=f"{show} {season}x{number:02}",
        series_title=show,
        season_number=season,
        episode_number=number,
        official_rating=rating,
    )


FILMS = [
    movie("Amélie", 2001, "R", "Comedy", "Romance"),
    movie("The Matrix", 1999, "R", "Action", "Science Fiction"),
    movie("Spirited Away", 2001, "PG", "Animation", "Family"),
    movie("Up", 2009, "PG", "Animation", "Family"),
    movie("Toy Story", 1995, "G", "Animation"),
]


@dataclass(frozen=True)
class Catalog:
    films: tuple[int, int]  # library id, source id
    shows: tuple[int, int]
    film_ids: dict[str, int]  # title -> id
    episode_ids: list[int]


async def small_catalog(env: ApiEnv) -> Catalog:
    """Five films (two rated R), a series of four episodes in another library; ``narrow`` may
    see the films only."""
    films = await add_library(env.database, "Films", LibraryKind.MOVIES)
    shows = await add_library(env.database, "Shows", LibraryKind.SHOWS)
    film_ids = await add_items(env.database, films, FILMS)
    episodes = [episode("Bluey", 1, n) for n in (1, 2, 3)] + [episode("Bluey", 2, 1)]
    episode_ids = await add_items(env.database, shows, episodes)
    await grant(env.database, env.ids["narrow"], [films[0]])
    return Catalog(
        films, shows, {t.title: i for t, i in zip(FILMS, film_ids, strict=True)}, episode_ids
    )

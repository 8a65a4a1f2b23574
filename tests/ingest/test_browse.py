"""Browsing on SQLite and PostgreSQL: filters, sorts, cursors, visibility, search, home rows."""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.catalog import browse, images, items, libraries, schema, userdata, users
from ingest.catalog.browse import InvalidCursor, ItemQuery, Sort, Viewer
from ingest.catalog.database import Database
from ingest.catalog.schema import albums, genres, library_access, media_items, series
from ingest.models import (
    ChapterInfo,
    Entry,
    ItemType,
    ItemWrite,
    LibraryKind,
    Person,
    ProbeResult,
    StreamInfo,
    Titles,
)

pytestmark = pytest.mark.anyio

HOUR = 3_600_000_000
PROBE = ProbeResult(
    container="matroska,webm",
    duration_us=HOUR,
    bit_rate=2_000_000,
    streams=(
        StreamInfo(0, "video", "h264", width=1920, height=1080, time_base=Fraction(1, 1000)),
        StreamInfo(1, "audio", "aac", channels=2, sample_rate=48000, language="eng"),
    ),
    chapters=(ChapterInfo(0, 0, HOUR // 2, "One"), ChapterInfo(1, HOUR // 2, HOUR, "Two")),
)
_keys = itertools.count()


# --- building a catalog -------------------------------------------------------------------------


async def add_library(conn: AsyncConnection, name: str, kind: LibraryKind) -> tuple[int, int]:
    lib = await libraries.create_library(conn, name, kind)
    src = await libraries.add_local_source(conn, lib.id, f"/media/{name}")
    return lib.id, src.id


async def add_items(
    conn: AsyncConnection, library: tuple[int, int], titles: list[Titles]
) -> list[int]:
    """Write probed items the way the scanner does (one batch)."""
    writes = [
        ItemWrite(
            entry=Entry(key=f"{next(_keys)}/{t.title}.mkv", size=1000),
            status="ok",
            error_reason=None,
            titles=t,
            version="v1",
            probe=PROBE,
        )
        for t in titles
    ]
    return await items.write_items(conn, library[0], library[1], writes, {})


async def add_user(
    conn: AsyncConnection,
    name: str,
    role: str,
    library_ids: list[int],
    limit: int | None = None,
) -> Viewer:
    """A user and the viewer they are (an admin sees every library, others their grants)."""
    user = await users.create_user(conn, name, roles=[role])
    if role == "admin":
        return Viewer(user.id, None, limit)
    if library_ids:
        await conn.execute(
            library_access.insert(), [{"user_id": user.id, "library_id": i} for i in library_ids]
        )
    return Viewer(user.id, frozenset(library_ids), limit)


def movie(title: str, year: int | None, rating: str | None, score: float | None, *g: str) -> Titles:
    return Titles(
        type=ItemType.MOVIE,
        title=title,
        year=year,
        official_rating=rating,
        community_rating=score,
        genres=g,
    )


def episode(show: str, season: int, number: int, rating: str) -> Titles:
    return Titles(
        type=ItemType.EPISODE,
        title=f"{show} {season}x{number:02}",
        series_title=show,
        season_number=season,
        episode_number=number,
        official_rating=rating,
    )


def track(album: str, disc: int, number: int) -> Titles:
    return Titles(
        type=ItemType.TRACK,
        title=f"{album} {disc}-{number}",
        album=album,
        artist="Miles Davis",
        disc_number=disc,
        track_number=number,
    )


FILMS = [
    movie("Amélie", 2001, "R", 8.3, "Comedy", "Romance"),
    movie("The Matrix", 1999, "R", 8.7, "Action", "Science Fiction"),
    movie("The Matrix Reloaded", 2003, "R", 7.2, "Action", "Science Fiction"),
    movie("Spirited Away", 2001, "PG", 8.6, "Animation", "Family"),
    movie("Up", 2009, "PG", 8.3, "Animation", "Family"),
    movie("Toy Story", 1995, "G", 8.3, "Animation"),
    movie("Heat", 1995, "R", None, "Crime"),
    movie("Unrated Documentary", None, None, None),
]
SHOWS = [
    *(episode("Bluey", 1, n, "TV-Y") for n in (1, 2, 3)),
    *(episode("Bluey", 2, n, "TV-Y") for n in (1, 2)),
    *(episode("The Wire", 1, n, "TV-MA") for n in (1, 2)),
]
MUSIC = [track("Kind of Blue", 1, n) for n in (3, 1, 2)]


@dataclass
class World:
    admin: Viewer
    member: Viewer  # Films only
    kid: Viewer  # Films and Shows, rated 10 at most
    ids: dict[str, int] = field(default_factory=dict)  # items by title
    libs: dict[str, int] = field(default_factory=dict)
    genre: dict[str, int] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    album: dict[str, int] = field(default_factory=dict)

    def titles(self, found: Any) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[x.id] for x in found]


async def world(db: Database) -> World:
    async with db.begin() as conn:
        libs = {
            "Films": await add_library(conn, "Films", LibraryKind.MOVIES),
            "Shows": await add_library(conn, "Shows", LibraryKind.SHOWS),
            "Music": await add_library(conn, "Music", LibraryKind.MUSIC),
        }
        ids: dict[str, int] = {}
        for name, titles in (("Films", FILMS), ("Shows", SHOWS), ("Music", MUSIC)):
            written = await add_items(conn, libs[name], titles)
            ids.update((t.title, i) for t, i in zip(titles, written, strict=True))
        w = World(
            admin=await add_user(conn, "ann", "admin", []),
            member=await add_user(conn, "bob", "member", [libs["Films"][0]]),
            kid=await add_user(conn, "kid", "child", [libs["Films"][0], libs["Shows"][0]], 10),
            ids=ids,
            libs={k: v[0] for k, v in libs.items()},
        )
        for table, column in ((genres, w.genre), (series, w.series), (albums, w.album)):
            names = table.c.name if table is genres else table.c.title
            column.update((await conn.execute(sa.select(names, table.c.id))).all())
    return w


async def page(
    db: Database, viewer: Viewer, query: ItemQuery | None = None, **fields: Any
) -> browse.Page[browse.ItemSummary]:
    async with db.connect() as conn:
        return await browse.browse_items(conn, viewer, query or ItemQuery(**fields))


# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "age"),
    [
        ("G", 0),
        ("TV-Y", 0),
        ("TV-G", 0),
        ("PG", 10),
        ("tv-pg", 10),
        ("PG-13", 13),
        ("TV-14", 13),
        (" R ", 17),
        ("TV-MA", 17),
        ("NC-17", 18),
        ("12", 12),
        ("12A", 12),
        ("15", 15),
        ("18", 18),
        ("FSK 12", 12),
        ("FSK-16", 16),
        ("US-PG-13", 13),
        ("DE-12", 12),
        ("UK:15", 15),
        ("MA15+", 15),
        ("NR", None),
        ("Unrated", None),
        (None, None),
    ],
)
def test_rating_labels_map_to_ages(label: str | None, age: int | None) -> None:
    assert browse.rating_age(label) == age


@pytest.mark.parametrize(
    ("needle", "text", "low", "high"),
    [
        ("matirx", "the matrix", 0.42, 0.44),  # pg_trgm says 0.4286
        ("matrix", "the matrix reloaded", 1.0, 1.0),
        ("amelie", "Amélie", 1.0, 1.0),
        ("heat", "the matrix", 0.0, 0.0),
        ("", "anything", 0.0, 0.0),
    ],
)
def test_word_similarity_follows_pg_trgm(needle: str, text: str, low: float, high: float) -> None:
    assert low <= browse.word_similarity(needle, text) <= high


# --- filters and sorts --------------------------------------------------------------------------

CASES: list[tuple[str, Callable[[World], ItemQuery], list[str]]] = [
    (
        "films by title",
        lambda w: ItemQuery(library_id=w.libs["Films"]),
        ["Amélie", "Heat", "The Matrix", "The Matrix Reloaded", "Spirited Away", "Toy Story",
         "Unrated Documentary", "Up"],
    ),
    (
        "animation, newest first",
        lambda w: ItemQuery(genre_ids=frozenset({w.genre["Animation"]}), sort=Sort.YEAR,
                            descending=True),
        ["Up", "Spirited Away", "Toy Story"],
    ),
    (
        "either genre",
        lambda w: ItemQuery(genre_ids=frozenset({w.genre["Crime"], w.genre["Comedy"]})),
        ["Amélie", "Heat"],
    ),
    (
        "years 1999-2001 by year, then title",
        lambda w: ItemQuery(year_min=1999, year_max=2001, sort=Sort.YEAR),
        ["The Matrix", "Amélie", "Spirited Away"],
    ),
    (
        "rating, best first, unrated last",
        lambda w: ItemQuery(library_id=w.libs["Films"], sort=Sort.RATING, descending=True),
        ["The Matrix", "Spirited Away", "Amélie", "Toy Story", "Up", "The Matrix Reloaded",
         "Heat", "Unrated Documentary"],
    ),
    (
        "year ascending, no year last",
        lambda w: ItemQuery(library_id=w.libs["Films"], sort=Sort.YEAR),
        ["Heat", "Toy Story", "The Matrix", "Amélie", "Spirited Away", "The Matrix Reloaded",
         "Up", "Unrated Documentary"],
    ),
    (
        "a series' episodes in order",
        lambda w: ItemQuery(series_id=w.series["Bluey"], sort=Sort.INDEX),
        ["Bluey 1x01", "Bluey 1x02", "Bluey 1x03", "Bluey 2x01", "Bluey 2x02"],
    ),
    (
        "an album's tracks in order",
        lambda w: ItemQuery(album_id=w.album["Kind of Blue"], sort=Sort.INDEX),
        ["Kind of Blue 1-1", "Kind of Blue 1-2", "Kind of Blue 1-3"],
    ),
    (
        "types",
        lambda w: ItemQuery(types=frozenset({ItemType.TRACK, ItemType.EPISODE}), search="wire"),
        ["The Wire 1x01", "The Wire 1x02"],
    ),
    (
        "search is a substring filter, accents folded",
        lambda w: ItemQuery(search="AMEL"),
        ["Amélie"],
    ),
    ("short search", lambda w: ItemQuery(search="up"), ["Up"]),
    ("unwatched", lambda w: ItemQuery(library_id=w.libs["Music"], unwatched=True),
     ["Kind of Blue 1-2", "Kind of Blue 1-3"]),
    ("favourites", lambda w: ItemQuery(favorite=True), ["Heat"]),
]  # fmt: skip


async def test_filters_and_sorts(database: Database) -> None:
    w = await world(database)
    async with database.begin() as conn:
        await userdata.set_played(conn, w.admin.user_id, w.ids["Kind of Blue 1-1"], True)
        await userdata.set_favorite(conn, w.admin.user_id, w.ids["Heat"], True)
        [first] = (await browse.browse_items(conn, w.admin, ItemQuery(search="bluey 1x01"))).items
        season_id = first.season_id
    for name, make, expected in CASES:
        found = await page(database, w.admin, make(w))
        assert w.titles(found.items) == expected, name
    season = await page(database, w.admin, season_id=season_id, sort=Sort.INDEX)
    assert w.titles(season.items) == ["Bluey 1x01", "Bluey 1x02", "Bluey 1x03"]


async def test_summaries_carry_what_a_tile_needs(database: Database) -> None:
    w = await world(database)
    async with database.begin() as conn:
        await images.set_image(
            conn, w.ids["Up"], kind="thumb", store_key="up-thumb", width=1, height=1, blurhash="T"
        )
        await images.set_image(
            conn, w.ids["Up"], kind="poster", store_key="up-poster", width=2, height=3, blurhash="P"
        )
        await userdata.record_progress(
            conn, w.admin.user_id, w.ids["Up"], HOUR // 2, duration_us=HOUR, final=False
        )
    found = await page(database, w.admin, search="up", with_total=True)
    assert found.total == 1 and found.next_cursor is None
    [up] = found.items
    assert (up.type, up.year, up.duration_us, up.community_rating) == (
        ItemType.MOVIE,
        2009,
        HOUR,
        8.3,
    )
    assert up.image == browse.ImageRef("up-poster", "poster", 2, 3, "P")
    assert (up.user.position_us, up.user.played, up.user.is_favorite) == (HOUR // 2, False, False)
    [ep] = (await page(database, w.admin, search="bluey 2x02")).items
    assert (ep.series_title, ep.season_number, ep.episode_number) == ("Bluey", 2, 2)
    assert ep.image is None and ep.user == browse.UserState()


# --- pagination ---------------------------------------------------------------------------------


def _model_order(rows: list[dict[str, Any]], sort: Sort, descending: bool) -> list[int]:
    """The expected order: the sort's keys (turned by ``descending``), then ties A to Z."""
    turned, ties = {
        Sort.TITLE: (["sort_title", "id"], []),
        Sort.ADDED: (["added_at", "id"], []),
        Sort.YEAR: (["year"], ["sort_title", "id"]),
        Sort.RATING: (["community_rating"], ["sort_title", "id"]),
        Sort.INDEX: (
            ["season_number", "episode_number", "disc_number", "track_number"],
            ["sort_title", "id"],
        ),
    }[sort]
    keys = [(name, descending) for name in turned] + [(name, False) for name in ties]

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, desc in keys:
            x, y = a[name], b[name]
            if x == y:
                continue
            if x is None or y is None:  # nulls last in both directions
                return 1 if x is None else -1
            return (1 if x > y else -1) * (-1 if desc else 1)
        return 0

    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


async def test_cursor_walks_every_row_exactly_once_even_with_equal_keys(
    database: Database,
) -> None:
    rng = random.Random(7)
    titles = [
        Titles(
            type=ItemType.EPISODE if i % 3 else ItemType.MOVIE,
            title=rng.choice(["Alpha", "Beta", "Gamma"]),
            year=rng.choice([None, 1990, 2000]),
            community_rating=rng.choice([None, 5.5, 7.0]),
            series_title="Show" if i % 3 else None,
            season_number=rng.choice([None, 1, 2]) if i % 3 else None,
            episode_number=rng.choice([None, 1, 2]) if i % 3 else None,
        )
        for i in range(61)
    ]
    async with database.begin() as conn:
        lib = await add_library(conn, "Lib", LibraryKind.MIXED)
        await add_items(conn, lib, titles[:30])
        await add_items(conn, lib, titles[30:])
        # two distinct insertion times, many equal ones
        await conn.execute(
            media_items.update()
            .where(media_items.c.id % 2 == 0)
            .values(added_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
        admin = await add_user(conn, "ann", "admin", [])
        rows = [dict(r._mapping) for r in await conn.execute(sa.select(media_items))]
    for sort, descending in itertools.product(Sort, (False, True)):
        walked: list[int] = []
        cursor = None
        while True:
            got = await page(database, admin, sort=sort, descending=descending, limit=7,
                             cursor=cursor)  # fmt: skip
            walked += [x.id for x in got.items]
            if got.next_cursor is None:
                break
            cursor = got.next_cursor
        assert walked == _model_order(rows, sort, descending), (sort, descending)
        by_offset: list[int] = []
        for offset in range(0, 61, 10):
            got = await page(database, admin, sort=sort, descending=descending, limit=10,
                             offset=offset)  # fmt: skip
            by_offset += [x.id for x in got.items]
        assert by_offset == walked


async def test_cursors_are_checked_and_limits_capped(database: Database) -> None:
    async with database.begin() as conn:
        lib = await add_library(conn, "Lib", LibraryKind.MOVIES)
        await add_items(conn, lib, [movie(f"M{i}", 2000, None, None) for i in range(205)])
        admin = await add_user(conn, "ann", "admin", [])
    first = await page(database, admin, limit=1000)
    assert len(first.items) == browse.MAX_LIMIT and first.next_cursor
    rest = await page(database, admin, cursor=first.next_cursor, limit=1000)
    assert len(rest.items) == 5 and rest.next_cursor is None
    for bad in ("garbage!", "e30", first.next_cursor[:-3]):
        with pytest.raises(InvalidCursor):
            await page(database, admin, cursor=bad)
    with pytest.raises(InvalidCursor, match="another sort"):
        await page(database, admin, cursor=first.next_cursor, sort=Sort.YEAR)
    with pytest.raises(ValueError, match="not both"):
        await page(database, admin, cursor=first.next_cursor, offset=3)


# --- visibility ---------------------------------------------------------------------------------


async def test_library_access_and_parental_limits_hide_items_everywhere(
    database: Database,
) -> None:
    w = await world(database)
    matrix, wire = w.ids["The Matrix"], w.ids["The Wire 1x01"]
    async with database.begin() as conn:
        for viewer in (w.admin, w.member, w.kid):
            # progress recorded before a limit was set, say
            for item in (matrix, wire, w.ids["Up"]):
                await userdata.record_progress(
                    conn, viewer.user_id, item, HOUR // 2, duration_us=HOUR, final=False
                )
            await userdata.set_played(conn, viewer.user_id, w.ids["Bluey 1x01"], True)
            await userdata.set_played(conn, viewer.user_id, w.ids["The Wire 1x01"], True)
    everything = [*FILMS, *SHOWS, *MUSIC]
    allowed = {
        "admin": {t.title for t in everything},
        "member": {t.title for t in FILMS},
        "kid": {"Spirited Away", "Up", "Toy Story", *(t.title for t in SHOWS[:5])},
    }
    for name, viewer in (("admin", w.admin), ("member", w.member), ("kid", w.kid)):
        listed = await page(database, viewer, limit=200)
        assert set(w.titles(listed.items)) == allowed[name], name
        async with database.connect() as conn:
            for title, item_id in w.ids.items():
                detail = await browse.item_detail(conn, viewer, item_id)
                assert (detail is not None) == (title in allowed[name]), (name, title)
                assert await browse.is_visible(conn, viewer, item_id) == (title in allowed[name])
            for text in ("matrix", "matirx", "wire", "amelie"):
                found = w.titles(await browse.search_items(conn, viewer, text))
                assert set(found) <= allowed[name], (name, text)
            home = [
                *await browse.continue_watching(conn, viewer),
                *await browse.next_up(conn, viewer),
                *await browse.recently_added(conn, viewer, 200),
            ]
            assert set(w.titles(home)) <= allowed[name], name
    async with database.connect() as conn:
        assert {g.name for g in await browse.list_genres(conn, w.kid)} == {"Animation", "Family"}
        assert {y.year for y in await browse.list_years(conn, w.kid)} == {1995, 2001, 2009}
        member_genres = await browse.list_genres(conn, w.member, ItemQuery(year_max=2001))
        assert [(g.name, g.count) for g in member_genres if g.name in ("Action", "Animation")] == [
            ("Action", 1),
            ("Animation", 2),
        ]
        assert w.titles(await browse.continue_watching(conn, w.kid)) == ["Up"]
        assert w.titles(await browse.next_up(conn, w.kid)) == ["Bluey 1x02"]
        assert await browse.search_items(conn, w.kid, "matrix") == []
        assert await browse.series_detail(conn, w.admin, w.series["The Wire"]) is not None
        assert await browse.series_detail(conn, w.kid, w.series["The Wire"]) is None
        assert await browse.series_detail(conn, w.kid, w.series["Bluey"]) is not None
        nobody = Viewer(w.admin.user_id, frozenset())
        assert (await browse.browse_items(conn, nobody, ItemQuery())).items == ()


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amelie", ["Amélie"]),
        ("AMÉLIE!", ["Amélie"]),
        ("matrix", ["The Matrix", "The Matrix Reloaded"]),
        ("matirx", ["The Matrix", "The Matrix Reloaded"]),  # a typo
        ("spirit", ["Spirited Away"]),
        ("spirted away", ["Spirited Away"]),
        ("up", ["Up"]),
        ("zzzz", []),
        (" !! ", []),
    ],
)
async def test_search_forgives_accents_and_typos(
    database: Database, text: str, expected: list[str]
) -> None:
    async with database.begin() as conn:
        lib = await add_library(conn, "Films", LibraryKind.MOVIES)
        await add_items(conn, lib, FILMS)
        admin = await add_user(conn, "ann", "admin", [])
    async with database.connect() as conn:
        found = await browse.search_items(conn, admin, text, limit=2)
    assert [x.title for x in found] == expected


# --- details ------------------------------------------------------------------------------------


async def test_item_detail_has_streams_images_people_and_user_data(database: Database) -> None:
    async with database.begin() as conn:
        lib = await add_library(conn, "Films", LibraryKind.MOVIES)
        titles = Titles(
            type=ItemType.MOVIE,
            title="Heat",
            year=1995,
            overview="Cops and robbers.",
            genres=("Crime", "Drama"),
            people=(Person("Al Pacino", "actor", "Hanna"), Person("Michael Mann", "director")),
        )
        [heat] = await add_items(conn, lib, [titles])
        await images.set_image(
            conn, heat, kind="poster", store_key="p", width=2, height=3, blurhash="LKO2"
        )
        admin = await add_user(conn, "ann", "admin", [])
        await userdata.set_favorite(conn, admin.user_id, heat, True)
    async with database.connect() as conn:
        detail = await browse.item_detail(conn, admin, heat)
        assert await browse.item_detail(conn, admin, heat + 1000) is None
    assert detail is not None
    assert (detail.item.title, detail.item.overview) == ("Heat", "Cops and robbers.")
    assert [s.codec for s in detail.streams] == ["h264", "aac"]
    assert [c.title for c in detail.chapters] == ["One", "Two"]
    assert [(i.kind, i.blurhash) for i in detail.images] == [("poster", "LKO2")]
    assert detail.genres == ("Crime", "Drama")
    assert [(c.name, c.role, c.character) for c in detail.people] == [
        ("Al Pacino", "actor", "Hanna"),
        ("Michael Mann", "director", None),
    ]
    assert detail.summary.user.is_favorite and detail.summary.image is not None


async def test_series_season_and_album_details(database: Database) -> None:
    w = await world(database)
    async with database.begin() as conn:
        await userdata.set_played(conn, w.kid.user_id, w.ids["Bluey 1x02"], True)
        series_id, album_id = w.series["Bluey"], w.album["Kind of Blue"]
        await conn.execute(
            schema.images.insert().values(
                series_id=series_id, kind="poster", store_key="bluey", width=1, height=1
            )
        )
        show = await browse.series_detail(conn, w.kid, series_id)
        assert show is not None and show.title == "Bluey"
        assert [(s.number, s.episode_count, s.unplayed_count) for s in show.seasons] == [
            (1, 3, 2),
            (2, 2, 2),
        ]
        assert [i.store_key for i in show.images] == ["bluey"]
        season = await browse.season_detail(conn, w.kid, show.seasons[1].id)
        assert season is not None and season.series_title == "Bluey"
        assert [e.title for e in season.episodes] == ["Bluey 2x01", "Bluey 2x02"]
        # an episode without a picture of its own shows its series' poster
        assert season.episodes[0].image is not None
        assert season.episodes[0].image.store_key == "bluey"
        album = await browse.album_detail(conn, w.admin, album_id)
        assert album is not None and album.artist == "Miles Davis"
        assert [(t.disc_number, t.track_number) for t in album.tracks] == [(1, 1), (1, 2), (1, 3)]
        assert await browse.album_detail(conn, w.kid, album_id) is None
        assert await browse.season_detail(conn, w.admin, 999_999) is None


# --- home rows ----------------------------------------------------------------------------------


async def test_next_up_follows_the_last_played_episode_across_seasons(database: Database) -> None:
    w = await world(database)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # (episodes played in this order, what comes next for Bluey)
    cases: list[tuple[list[str], list[str]]] = [
        ([], []),
        (["Bluey 1x01"], ["Bluey 1x02"]),
        (["Bluey 1x01", "Bluey 1x03"], ["Bluey 2x01"]),  # 1x02 skipped: after the last played
        (["Bluey 1x03", "Bluey 1x01"], ["Bluey 2x01"]),  # the last in order, not in time
        (["Bluey 2x01"], ["Bluey 2x02"]),
        ([t.title for t in SHOWS[:5]], []),  # all seen
    ]
    async with database.begin() as conn:
        for n, (played, expected) in enumerate(cases):
            viewer = await add_user(conn, f"u{n}", "member", [w.libs["Shows"]])
            for i, title in enumerate(played):
                await userdata.set_played(conn, viewer.user_id, w.ids[title], True,
                                          now=t0 + timedelta(minutes=i))  # fmt: skip
            assert w.titles(await browse.next_up(conn, viewer)) == expected, played
        # two series: the most recently watched comes first
        await userdata.set_played(conn, w.admin.user_id, w.ids["Bluey 1x01"], True, now=t0)
        await userdata.set_played(
            conn, w.admin.user_id, w.ids["The Wire 1x01"], True, now=t0 + timedelta(hours=1)
        )
        assert w.titles(await browse.next_up(conn, w.admin)) == ["The Wire 1x02", "Bluey 1x02"]
        assert w.titles(await browse.next_up(conn, w.admin, limit=1)) == ["The Wire 1x02"]


async def test_continue_watching_and_recently_added(database: Database) -> None:
    w = await world(database)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.begin() as conn:
        for minutes, title in enumerate(["Up", "Heat", "Toy Story"]):
            await userdata.record_progress(
                conn, w.admin.user_id, w.ids[title], HOUR // 3, duration_us=HOUR, final=False,
                now=t0 + timedelta(minutes=minutes),
            )  # fmt: skip
        await userdata.set_played(conn, w.admin.user_id, w.ids["Heat"], True)
        assert w.titles(await browse.continue_watching(conn, w.admin)) == ["Toy Story", "Up"]
        await conn.execute(
            media_items.update()
            .where(media_items.c.id == w.ids["Heat"])
            .values(added_at=datetime(2030, 1, 1, tzinfo=UTC))
        )
        assert w.titles(await browse.recently_added(conn, w.admin, 1)) == ["Heat"]
        tracks = await browse.recently_added(conn, w.admin, 5, type=ItemType.TRACK)
        assert {t.type for t in tracks} == {ItemType.TRACK} and len(tracks) == 3


# --- user data ----------------------------------------------------------------------------------


async def test_marking_played_unplayed_and_favourite(database: Database) -> None:
    w = await world(database)
    user, up, heat = w.admin.user_id, w.ids["Up"], w.ids["Heat"]
    async with database.begin() as conn:
        await userdata.record_progress(conn, user, up, HOUR // 2, duration_us=HOUR, final=False)
        done = await userdata.set_played(conn, user, up, True)
        assert (done.played, done.play_count, done.position_us) == (True, 1, 0)
        again = await userdata.set_played(conn, user, up, True)
        assert again.play_count == 1  # already played: not counted twice
        await userdata.record_progress(conn, user, up, HOUR // 2, duration_us=HOUR, final=False)
        undone = await userdata.set_played(conn, user, up, False)
        assert (undone.played, undone.play_count, undone.position_us) == (False, 1, 0)
        assert (await userdata.set_played(conn, user, up, True)).play_count == 2
        fresh = await userdata.set_played(conn, user, heat, False)
        assert (fresh.played, fresh.play_count, fresh.is_favorite) == (False, 0, False)
        assert (await userdata.set_favorite(conn, user, heat, True)).is_favorite
        assert not (await userdata.set_favorite(conn, user, up, False)).is_favorite
        bulk = await userdata.list_user_data(conn, user, [up, heat, w.ids["Toy Story"]])
        assert set(bulk) == {up, heat} and bulk[heat].is_favorite and bulk[up].played
        assert await userdata.list_user_data(conn, user, []) == {}
        # the other user's state is theirs
        assert await userdata.list_user_data(conn, w.member.user_id, [up, heat]) == {}

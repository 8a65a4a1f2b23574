"""Catalog queries and migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sqlalchemy as sa

from engine.segmenter.keyframes import KeyframeIndex
from ingest.catalog import browse, images, items, libraries, migrate, userdata, users
from ingest.catalog.database import Database, open_database
from ingest.errors import DatabaseAhead, DatabaseBehind
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
EVERYONE = browse.Viewer(user_id=0)  # no library or rating limit

KF = KeyframeIndex(time_base=Fraction(1, 12800), pts=(0, 25600, 51200), duration=76800)


def _probe() -> ProbeResult:
    return ProbeResult(
        container="mov,mp4,m4a,3gp,3g2,mj2",
        duration_us=6_000_000,
        bit_rate=800_000,
        streams=(
            StreamInfo(
                index=0,
                kind="video",
                codec="h264",
                profile="High",
                level=31,
                width=1280,
                height=720,
                fps=Fraction(25),
                time_base=Fraction(1, 12800),
            ),
            StreamInfo(
                index=1,
                kind="audio",
                codec="aac",
                channels=2,
                sample_rate=48000,
                language="eng",
                is_default=True,
            ),
        ),
        chapters=(ChapterInfo(0, 0, 3_000_000, "Start"), ChapterInfo(1, 3_000_000, 6_000_000)),
        keyframes=KF,
        keyframe_stream=0,
    )


def _write(
    key: str,
    titles: Titles,
    *,
    size: int = 1000,
    status: str = "ok",
    reason: str | None = None,
    probe: ProbeResult | None = None,
) -> ItemWrite:
    return ItemWrite(
        entry=Entry(key=key, size=size, mtime_ns=1_700_000_000_000_000_000),
        status=status,
        error_reason=reason,
        titles=titles,
        version=f"v{size}",
        probe=probe if status == "ok" else None,
        content_hash="h" + key,
    )


async def _library(db: Database, kind: LibraryKind = LibraryKind.MIXED) -> tuple[int, int]:
    async with db.begin() as conn:
        lib = await libraries.create_library(conn, f"Lib {kind}", kind)
        src = await libraries.add_local_source(conn, lib.id, "/media")
    return lib.id, src.id


async def _with_one_item(database: Database, key: str, titles: Titles) -> tuple[int, int, int]:
    """A library holding one probed item: (library id, source id, item id)."""
    lib_id, src_id = await _library(database)
    async with database.begin() as conn:
        [item_id] = await items.write_items(
            conn, lib_id, src_id, [_write(key, titles, probe=_probe())], {}
        )
    return lib_id, src_id, item_id


async def test_migrated_database_passes_the_schema_check(database: Database) -> None:
    assert await migrate.check_schema(database) == migrate.head_revision()


async def test_items_round_trip_with_streams_keyframes_chapters_and_groups(
    database: Database,
) -> None:
    lib_id, src_id = await _library(database)
    episode = Titles(
        type=ItemType.EPISODE,
        title="Pilot",
        series_title="The Show",
        season_number=1,
        episode_number=1,
        genres=("Drama", "Drama ", "Crime"),
        people=(Person("Ann Actor", "actor", "Jo"), Person("Dee Rector", "director")),
    )
    movie = Titles(type=ItemType.MOVIE, title="Amélie", year=2001)
    async with database.begin() as conn:
        ids = await items.write_items(
            conn,
            lib_id,
            src_id,
            [
                _write("Show/S01E01.mkv", episode, probe=_probe()),
                _write("Amelie (2001).mkv", movie, probe=_probe()),
            ],
            {},
        )
    async with database.connect() as conn:
        item = await items.get_item(conn, ids[0])
        assert item is not None
        assert (item.type, item.title, item.season_number, item.episode_number) == (
            ItemType.EPISODE,
            "Pilot",
            1,
            1,
        )
        assert item.series_id is not None
        assert (item.width, item.height, item.duration_us) == (1280, 720, 6_000_000)
        streams = await items.get_streams(conn, ids[0])
        assert [s.codec for s in streams] == ["h264", "aac"]
        assert streams[0].fps == Fraction(25) and streams[1].language == "eng"
        assert await items.get_keyframes(conn, ids[0]) == (0, KF)
        assert [c.title for c in await items.get_chapters(conn, ids[0])] == ["Start", None]
        assert await items.get_genres(conn, ids[0]) == ["Crime", "Drama"]
        fingerprints = await items.load_fingerprints(conn, src_id)
        assert set(fingerprints) == {"Show/S01E01.mkv", "Amelie (2001).mkv"}
        assert fingerprints["Amelie (2001).mkv"].matches(1000, 1_700_000_000_000_000_000, None)
        assert not fingerprints["Amelie (2001).mkv"].matches(1001, 1_700_000_000_000_000_000, None)


async def test_rewrite_replaces_children_and_keeps_the_id(database: Database) -> None:
    titles = Titles(type=ItemType.MOVIE, title="Film", genres=("A",))
    lib_id, src_id, item_id = await _with_one_item(database, "f.mkv", titles)
    async with database.begin() as conn:
        known = await items.load_fingerprints(conn, src_id)
        changed = Titles(type=ItemType.MOVIE, title="Film", genres=("B",))
        [again] = await items.write_items(
            conn, lib_id, src_id, [_write("f.mkv", changed, size=2000, probe=_probe())], known
        )
    assert again == item_id
    async with database.connect() as conn:
        assert await items.get_genres(conn, item_id) == ["B"]
        assert len(await items.get_streams(conn, item_id)) == 2


async def test_a_failed_reprobe_keeps_what_was_known(database: Database) -> None:
    titles = Titles(type=ItemType.MOVIE, title="Good Film", year=1999)
    lib_id, src_id, item_id = await _with_one_item(database, "good.mkv", titles)
    for status, size in (("corrupt", 500), ("unreadable", 700)):
        async with database.begin() as conn:
            known = await items.load_fingerprints(conn, src_id)
            await items.write_items(
                conn,
                lib_id,
                src_id,
                [
                    _write(
                        "good.mkv",
                        Titles(type=ItemType.UNKNOWN, title="good"),
                        size=size,
                        status=status,
                        reason=f"{status} file",
                    )
                ],
                known,
            )
        async with database.connect() as conn:
            item = await items.get_item(conn, item_id)
            assert item is not None
            assert (item.status, item.error_reason) == (status, f"{status} file")
            assert (item.title, item.year, item.type) == ("Good Film", 1999, ItemType.MOVIE)
            assert len(await items.get_streams(conn, item_id)) == 2
    # corrupt took the new fingerprint; unreadable did not, so the next scan retries the file
    async with database.connect() as conn:
        assert (await items.load_fingerprints(conn, src_id))["good.mkv"].size == 500


async def test_search_finds_substrings_and_ignores_accents(database: Database) -> None:
    lib_id, src_id = await _library(database)
    names = ["Amélie", "The Matrix", "The Matrix Reloaded", "Spirited Away", "Up"]
    async with database.begin() as conn:
        await items.write_items(
            conn,
            lib_id,
            src_id,
            [
                _write(f"{n}.mkv", Titles(type=ItemType.MOVIE, title=n), probe=_probe())
                for n in names
            ],
            {},
        )
    async with database.connect() as conn:

        async def titles(text: str) -> list[str]:
            return [i.title for i in await browse.search_items(conn, EVERYONE, text)]

        assert await titles("amelie") == ["Amélie"]
        assert sorted(await titles("MATRIX")) == ["The Matrix", "The Matrix Reloaded"]
        assert await titles("spirit") == ["Spirited Away"]
        assert await titles("up") == ["Up"]
        assert await titles("zzz") == []
        assert await titles("  !! ") == []
        # the FTS index follows deletes
        found = await browse.search_items(conn, EVERYONE, "amelie")
        await items.delete_items(conn, [i.id for i in found])
        assert await browse.search_items(conn, EVERYONE, "amelie") == []


async def test_move_keeps_the_item(database: Database) -> None:
    _, src_id, item_id = await _with_one_item(
        database, "old name.mkv", Titles(type=ItemType.MOVIE, title="X")
    )
    async with database.begin() as conn:
        await items.move_item(conn, item_id, src_id, Entry("new name.mkv", 1000, 5), "v2")
    async with database.connect() as conn:
        assert list(await items.load_fingerprints(conn, src_id)) == ["new name.mkv"]


async def test_pruning_removes_empty_series_and_albums(database: Database) -> None:
    lib_id, src_id = await _library(database)
    async with database.begin() as conn:
        ids = await items.write_items(
            conn,
            lib_id,
            src_id,
            [
                _write(
                    "a.mkv",
                    Titles(
                        type=ItemType.EPISODE,
                        title="E",
                        series_title="S",
                        season_number=2,
                        episode_number=1,
                    ),
                    probe=_probe(),
                ),
                _write(
                    "b.m4a",
                    Titles(type=ItemType.TRACK, title="T", album="Al", artist="Ar"),
                    probe=_probe(),
                ),
            ],
            {},
        )
        await items.delete_items(conn, ids)
        await items.prune_empty_groups(conn, lib_id)
        for table in ("series", "seasons", "albums"):
            count = (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar()
            assert count == 0, table


async def test_images_upsert_and_todo_list(database: Database) -> None:
    lib_id, _, item_id = await _with_one_item(
        database, "m.mkv", Titles(type=ItemType.MOVIE, title="M")
    )
    async with database.begin() as conn:
        todo = await images.items_without_image(conn, lib_id)
        assert [t.item_id for t in todo] == [item_id]
        await images.set_image(
            conn,
            item_id,
            kind="thumb",
            store_key="k1",
            width=1,
            height=1,
            blurhash="LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
        )
        await images.set_image(
            conn, item_id, kind="thumb", store_key="k2", width=640, height=360, blurhash=None
        )
        assert await images.items_without_image(conn, lib_id) == []
        [image] = await images.get_images(conn, item_id)
        assert (image.store_key, image.width) == ("k2", 640)


async def test_users_and_libraries(database: Database) -> None:
    async with database.begin() as conn:
        user = await users.create_user(conn, "ann", roles=["admin"], password_hash="x")
        assert (await users.get_user_by_username(conn, "ann")) == user
        assert user.roles == ("admin",) and await users.count_users(conn) == 1
        with pytest.raises(ValueError, match="unknown roles"):
            await users.create_user(conn, "bob", roles=["superuser"])
        lib = await libraries.create_library(conn, "Films", LibraryKind.MOVIES)
        await libraries.add_s3_source(conn, lib.id, "bucket", "films/", None)
        [src] = await libraries.list_sources(conn, lib.id)
        assert src.describe() == "s3://bucket/films/"
        assert [x.name for x in await libraries.list_libraries(conn)] == ["Films"]


async def test_schema_check_refuses_newer_and_older_databases(catalog_url: str) -> None:
    db = open_database(catalog_url)
    try:
        async with db.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(DatabaseAhead, match="newer version"):
            await migrate.check_schema(db)
        with pytest.raises(DatabaseAhead):
            await migrate.upgrade(db)
        async with db.begin() as conn:
            await conn.execute(sa.text("DELETE FROM alembic_version"))
        with pytest.raises(DatabaseBehind, match="reelbox db upgrade"):
            await migrate.check_schema(db)
    finally:
        await db.dispose()


def test_progress_rules_are_the_resume_thresholds_users_know() -> None:
    hour = 3_600_000_000
    assert userdata.Progress.of(60_000_000, hour) == userdata.Progress(0, False)  # < 5 %
    assert userdata.Progress.of(hour // 2, hour) == userdata.Progress(hour // 2, False)
    assert userdata.Progress.of(hour * 95 // 100, hour) == userdata.Progress(0, True)  # > 90 %
    assert userdata.Progress.of(-5, hour) == userdata.Progress(0, False)
    assert userdata.Progress.of(1234, None) == userdata.Progress(1234, False)


async def test_playback_progress_is_stored_per_user(database: Database) -> None:
    _, _, item_id = await _with_one_item(
        database, "Film (2001).mp4", Titles(type=ItemType.MOVIE, title="Film", year=2001)
    )
    duration = 6_000_000
    async with database.begin() as conn:
        ann = await users.create_user(conn, "ann", roles=["member"])
        bob = await users.create_user(conn, "bob", roles=["member"])
        assert await userdata.get_user_data(conn, ann.id, item_id) is None
        halfway = await userdata.record_progress(
            conn, ann.id, item_id, 3_000_000, duration_us=duration, final=False
        )
        assert (halfway.position_us, halfway.played, halfway.play_count) == (3_000_000, False, 0)
        # the final report past 90 %: played once, nothing left to resume
        done = await userdata.record_progress(
            conn, ann.id, item_id, 5_900_000, duration_us=duration, final=True
        )
        assert (done.position_us, done.played, done.play_count) == (0, True, 1)
        # watched again, stopped halfway: still played, resumable, not counted again
        again = await userdata.record_progress(
            conn, ann.id, item_id, 2_000_000, duration_us=duration, final=True
        )
        assert (again.position_us, again.played, again.play_count) == (2_000_000, True, 1)
        assert await userdata.get_user_data(conn, bob.id, item_id) is None
        stored = await userdata.get_user_data(conn, ann.id, item_id)
        assert stored == again and stored.last_played_at is not None

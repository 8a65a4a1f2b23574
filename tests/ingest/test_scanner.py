"""The scanner end to end: real files (synthesised by PyAV), real catalogs, a real S3 endpoint."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aioboto3
import anyio
import pytest

from ingest.artwork import Artwork
from ingest.catalog import browse
from ingest.catalog import images as image_queries
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.demo import (
    synthesize_audio,
    synthesize_clip,
    synthesize_photo,
    synthesize_subtitle_only,
)
from ingest.imagestore import LocalImageStore
from ingest.models import ItemType, LibraryKind
from ingest.opener import SourceOpener
from ingest.scanner import Scanner
from ingest.sources import S3Config
from ingest.watcher import LibraryWatcher

pytestmark = pytest.mark.anyio

GOOD = {
    "Films/Colour Bars (2021)/Colour Bars (2021).mp4",
    "Films/Night Test (1999).mkv",
    "Shows/Pattern Show/Season 01/Pattern Show - S01E01 - Pilot.mkv",
    "Shows/Pattern Show/Season 01/Pattern Show - S01E02 - Second.mkv",
    "Music/Artist/Album/01 - One.m4a",
    "Photos/holiday.jpg",
    "Odd/Ünïcode “quotes” #1 % été 🎬.mp4",
}
BAD = {
    "Bad/empty.mkv": "empty",
    "Bad/truncated.mp4": "corrupt",
    "Bad/not a video.mkv": "not_media",
    "Bad/subtitles only.mkv": "unsupported",
}
# A file name that is not UTF-8 (Latin-1 "é"): stored under a reversible key, probed and named.
LATIN1_NAME = b"Films/Caf\xe9 Society (2016).mp4"
TOTAL = len(GOOD) + len(BAD) + 1


@pytest.fixture(scope="session")
def library_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan-template")
    for key in GOOD:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if key.endswith(".m4a"):
            synthesize_audio(
                path,
                seconds=1.0,
                tags={"title": "One", "artist": "Artist", "album": "Album", "track": "1/2"},
            )
        elif key.endswith(".jpg"):
            synthesize_photo(path, width=160, height=120)
        else:
            synthesize_clip(path, seconds=2.0, width=160, height=120, gop=25)
    bad = root / "Bad"
    bad.mkdir()
    (bad / "empty.mkv").write_bytes(b"")
    whole = (root / "Films/Night Test (1999).mkv").read_bytes()
    synthesize_clip(bad / "full.mp4", seconds=2.0, width=160, height=120)
    full = (bad / "full.mp4").read_bytes()
    (bad / "full.mp4").unlink()
    (bad / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (bad / "not a video.mkv").write_text("this is a shopping list, not a film\n" * 20)
    synthesize_subtitle_only(bad / "subtitles only.mkv")
    synthesize_clip(root / "latin1.mp4", seconds=1.0, width=160, height=120)
    os.rename(root / "latin1.mp4", os.fsencode(root) + b"/" + LATIN1_NAME)
    (root / "Films" / "notes.txt").write_text("ignored: not media")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.mkv").write_bytes(whole)
    return root


@pytest.fixture
def media_root(tmp_path: Path, library_template: Path) -> Path:
    root = tmp_path / "media"
    shutil.copytree(library_template, root)
    return root


@pytest.fixture
async def catalog(database: Database, media_root: Path) -> AsyncIterator[tuple[Database, int]]:
    async with database.begin() as conn:
        library = await library_queries.create_library(conn, "Everything", LibraryKind.MIXED)
        await library_queries.add_local_source(conn, library.id, str(media_root))
    yield database, library.id


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scanner(db: Database, s3: S3Config | None = None) -> Scanner:
    return Scanner(db, SourceOpener({None: s3} if s3 else {}), concurrency=2, batch_size=4)


async def _items(db: Database, library_id: int) -> dict[str, item_queries.MediaItem]:
    async with db.connect() as conn:
        found = await item_queries.list_items(conn, library_id=library_id, status=None, limit=1000)
    return {item.key: item for item in found}


async def test_first_scan_records_every_file_with_its_status(
    catalog: tuple[Database, int],
) -> None:
    db, library_id = catalog
    stats = await _scanner(db).scan(library_id)
    assert stats.phase == "done" and not stats.source_errors
    assert stats.discovered == TOTAL
    assert (stats.added, stats.probed, stats.failed) == (TOTAL, TOTAL, len(BAD))
    found = await _items(db, library_id)
    [latin1] = set(found) - GOOD - set(BAD)  # hidden files and notes.txt are not items
    assert latin1.startswith("/b64/")
    assert (found[latin1].status, found[latin1].title, found[latin1].year) == (
        "ok",
        "Café Society",
        2016,
    )
    for key, status in BAD.items():
        assert found[key].status == status, key
        assert found[key].error_reason
    for key in GOOD:
        assert found[key].status == "ok", (key, found[key].error_reason)
    movie = found["Films/Colour Bars (2021)/Colour Bars (2021).mp4"]
    assert (movie.type, movie.title, movie.year) == (ItemType.MOVIE, "Colour Bars", 2021)
    episode = found["Shows/Pattern Show/Season 01/Pattern Show - S01E02 - Second.mkv"]
    assert (episode.type, episode.season_number, episode.episode_number) == (ItemType.EPISODE, 1, 2)
    track = found["Music/Artist/Album/01 - One.m4a"]
    assert (track.type, track.title, track.artist) == (ItemType.TRACK, "One", "Artist")
    assert found["Photos/holiday.jpg"].type is ItemType.PHOTO
    async with db.connect() as conn:
        stream_index, index = await item_queries.get_keyframes(conn, movie.id) or (None, None)
        assert stream_index == 0 and index is not None
        assert len(index.pts) == 2  # 2 s at 25 fps with a 25-frame GOP
        assert await browse.search_items(conn, browse.Viewer(0), "unicode quotes") != []


async def test_worker_processes_give_the_same_catalog_as_threads(
    catalog: tuple[Database, int], tmp_path: Path, library_template: Path
) -> None:
    db, library_id = catalog
    await _scanner(db).scan(library_id)
    by_threads = await _items(db, library_id)
    async with db.begin() as conn:
        other = await library_queries.create_library(conn, "Again", LibraryKind.MIXED)
        copy = tmp_path / "copy"
        shutil.copytree(library_template, copy)
        await library_queries.add_local_source(conn, other.id, str(copy))
    scanner = Scanner(db, SourceOpener({}), concurrency=1, processes=2, process_threshold=1)
    stats = await scanner.scan(other.id)
    assert (stats.probed, stats.failed) == (TOTAL, len(BAD))
    by_processes = await _items(db, other.id)
    assert set(by_processes) == set(by_threads)
    for key, item in by_processes.items():
        twin = by_threads[key]
        assert (item.status, item.type, item.title, item.year, item.duration_us) == (
            twin.status,
            twin.type,
            twin.title,
            twin.year,
            twin.duration_us,
        ), key
    async with db.connect() as conn:
        key = "Films/Night Test (1999).mkv"
        assert await item_queries.get_keyframes(conn, by_processes[key].id) == (
            await item_queries.get_keyframes(conn, by_threads[key].id)
        )


async def test_rescan_of_an_unchanged_library_probes_nothing(
    catalog: tuple[Database, int],
) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    await scanner.scan(library_id)
    before = await _items(db, library_id)
    again = await scanner.scan(library_id)
    assert (again.probed, again.added, again.removed) == (0, 0, 0)
    assert again.unchanged == TOTAL
    assert await _items(db, library_id) == before


async def test_changes_moves_and_removals(catalog: tuple[Database, int], media_root: Path) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    await scanner.scan(library_id)
    before = await _items(db, library_id)
    old = "Films/Night Test (1999).mkv"
    new = "Films/Renamed/Night Test (1999).mkv"
    (media_root / new).parent.mkdir()
    (media_root / old).rename(media_root / new)
    (media_root / "Photos/holiday.jpg").unlink()
    synthesize_clip(media_root / "Films/Fresh (2024).mp4", seconds=1.0, width=160, height=120)
    changed = media_root / "Films/Colour Bars (2021)/Colour Bars (2021).mp4"
    synthesize_clip(changed, seconds=3.0, width=160, height=120)
    stats = await scanner.scan(library_id)
    assert (stats.moved, stats.added, stats.updated, stats.removed) == (1, 1, 1, 1)
    after = await _items(db, library_id)
    assert after[new].id == before[old].id  # same item: user data and ids survive a rename
    assert old not in after and "Photos/holiday.jpg" not in after
    colour = after["Films/Colour Bars (2021)/Colour Bars (2021).mp4"]
    assert colour.id == before["Films/Colour Bars (2021)/Colour Bars (2021).mp4"].id
    assert colour.duration_us is not None and colour.duration_us >= 2_900_000


async def test_a_file_that_goes_bad_keeps_its_catalog_entry(
    catalog: tuple[Database, int], media_root: Path
) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    await scanner.scan(library_id)
    key = "Films/Night Test (1999).mkv"
    path = media_root / key
    path.write_bytes(path.read_bytes()[:200])
    stats = await scanner.scan(library_id)
    assert stats.failed == 1
    item = (await _items(db, library_id))[key]
    assert item.status in {"corrupt", "not_media"} and item.error_reason
    assert (item.title, item.year, item.type) == ("Night Test", 1999, ItemType.MOVIE)


async def test_an_unavailable_source_removes_nothing(
    catalog: tuple[Database, int], media_root: Path
) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    await scanner.scan(library_id)
    count = len(await _items(db, library_id))
    media_root.rename(media_root.with_name("unmounted"))
    stats = await scanner.scan(library_id)
    assert stats.source_errors and "media" in stats.source_errors[0]
    assert stats.removed == 0
    assert len(await _items(db, library_id)) == count
    # an empty mount point left behind by an unmounted disk is no different
    media_root.mkdir()
    stats = await scanner.scan(library_id)
    assert stats.source_errors and "nothing was removed" in stats.source_errors[0]
    assert len(await _items(db, library_id)) == count


async def test_nfo_overrides_and_changing_it_reprobes(
    catalog: tuple[Database, int], media_root: Path
) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    nfo = media_root / "Films/Night Test (1999).nfo"
    nfo.write_text(
        "<movie><title>The Real Title</title><year>2001</year><genre>Drama</genre></movie>"
    )
    await scanner.scan(library_id)
    item = (await _items(db, library_id))["Films/Night Test (1999).mkv"]
    assert (item.title, item.year) == ("The Real Title", 2001)
    nfo.write_text("<movie><title>Edited Title</title></movie>")
    os.utime(nfo, ns=(0, 1_000_000_000))
    stats = await scanner.scan(library_id)
    assert stats.probed == 1
    assert (await _items(db, library_id))["Films/Night Test (1999).mkv"].title == "Edited Title"


async def test_sidecar_subtitles_become_streams(
    catalog: tuple[Database, int], media_root: Path
) -> None:
    db, library_id = catalog
    srt = "1\n00:00:00,000 --> 00:00:01,000\nHello\n"
    (media_root / "Films/Night Test (1999).en.srt").write_text(srt)
    (media_root / "Films/Night Test (1999).fr.forced.srt").write_text(srt)
    await _scanner(db).scan(library_id)
    item = (await _items(db, library_id))["Films/Night Test (1999).mkv"]
    async with db.connect() as conn:
        subs = [s for s in await item_queries.get_streams(conn, item.id) if s.external_key]
    assert [(s.language, s.is_forced, s.codec) for s in subs] == [
        ("en", False, "subrip"),
        ("fr", True, "subrip"),
    ]


async def test_images_are_rendered_after_the_scan(
    catalog: tuple[Database, int], tmp_path: Path
) -> None:
    db, library_id = catalog
    opener = SourceOpener({})
    await Scanner(db, opener, concurrency=2).scan(library_id)
    store = LocalImageStore(tmp_path / "images")
    made = await Artwork(db, opener, store).render_library(library_id)
    assert made >= len(GOOD) - 1
    found = await _items(db, library_id)
    async with db.connect() as conn:
        [thumb] = await image_queries.get_images(conn, found["Films/Night Test (1999).mkv"].id)
        [photo] = await image_queries.get_images(conn, found["Photos/holiday.jpg"].id)
        # the only item left without an image is the track, which carries no cover art
        left = await image_queries.items_without_image(conn, library_id)
        assert [todo.key for todo in left] == ["Music/Artist/Album/01 - One.m4a"]
    assert thumb.kind == "thumb" and thumb.blurhash and thumb.width == 160
    assert photo.kind == "photo" and photo.blurhash
    assert (await store.get(thumb.store_key))[:4] == b"RIFF"


async def test_the_watcher_applies_changes_within_seconds(
    catalog: tuple[Database, int], media_root: Path
) -> None:
    db, library_id = catalog
    scanner = _scanner(db)
    await scanner.scan(library_id)
    watcher = LibraryWatcher(db, scanner, debounce_ms=200)
    async with anyio.create_task_group() as tg:
        await tg.start(watcher.run)
        await anyio.sleep(0.3)  # inotify watches are in place once awatch has started
        target = media_root / "Films/Watched (2020).mp4"
        staging = media_root / ".incoming"  # hidden: neither scanned nor watched
        staging.mkdir()
        synthesize_clip(staging / "new.mp4", seconds=1.0, width=160, height=120)
        (staging / "new.mp4").rename(target)
        (media_root / "Photos/holiday.jpg").unlink()
        with anyio.fail_after(15):
            while True:
                found = await _items(db, library_id)
                if "Films/Watched (2020).mp4" in found and "Photos/holiday.jpg" not in found:
                    break
                await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    assert found["Films/Watched (2020).mp4"].status == "ok"
    assert watcher.statistics().batches >= 1


async def test_s3_library(
    database: Database, library_template: Path, s3_settings: dict[str, str]
) -> None:
    bucket = f"media-{os.getpid()}-{id(database)}"
    session = aioboto3.Session()
    async with session.client("s3", **s3_settings) as s3:
        await s3.create_bucket(Bucket=bucket)
        for path in library_template.rglob("*"):
            key = "library/" + path.relative_to(library_template).as_posix()
            if not _is_utf8(key):
                continue  # S3 keys are UTF-8: a non-UTF-8 local name has no S3 twin
            if path.is_file() and not path.name.startswith("."):
                await s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    async with database.begin() as conn:
        library = await library_queries.create_library(conn, "Cloud", LibraryKind.MIXED)
        await library_queries.add_s3_source(conn, library.id, bucket, "library/")
    config = S3Config(
        endpoint_url=s3_settings["endpoint_url"],
        region="us-east-1",
        access_key_id=s3_settings["aws_access_key_id"],
        secret_access_key=s3_settings["aws_secret_access_key"],
    )
    scanner = _scanner(database, config)
    stats = await scanner.scan(library.id)
    assert not stats.source_errors
    found = await _items(database, library.id)
    assert {k for k, v in found.items() if v.status == "ok"} == GOOD
    for key, status in BAD.items():
        assert found[key].status == status
    again = await scanner.scan(library.id)
    assert (again.probed, again.removed) == (0, 0)
    # a bucket that vanished is a source error, and nothing is removed
    async with session.client("s3", **s3_settings) as s3:
        listing = await s3.list_objects_v2(Bucket=bucket)
        for obj in listing.get("Contents", []):
            await s3.delete_object(Bucket=bucket, Key=obj["Key"])
        await s3.delete_bucket(Bucket=bucket)
    gone = await scanner.scan(library.id)
    assert gone.source_errors and gone.removed == 0
    assert len(await _items(database, library.id)) == len(found)

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.errors import SourceError, Unreadable
from ingest.models import Entry
from ingest.sources import LocalSource
from ingest.sources.local import decode_key, encode_key

pytestmark = pytest.mark.anyio

ODD_NAMES = [
    "with space.mkv",
    "Amélie (2001).mkv",
    "🎬 emoji.mp4",
    'quote\'s "double".mkv',
    "hash#percent%question?.mkv",
    "new\nline.mkv",
    "日本語のタイトル.mp4",
    "back\\slash.mkv",
]
NON_UTF8 = b"caf\xe9-latin1.mkv"


async def collect(source: LocalSource) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    async for batch in source.discover():
        assert batch, "empty batches are not yielded"
        for entry in batch:
            assert entry.key not in found
            found[entry.key] = entry
    return found


def write(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def test_nested_folders_hidden_skipped(tmp_path: Path) -> None:
    write(tmp_path / "Movies" / "Alien (1979)" / "Alien.mkv", b"alien")
    write(tmp_path / "Shows" / "Dark" / "Season 1" / "S01E01.mkv", b"dark!")
    write(tmp_path / "top.mp3", b"")
    write(tmp_path / ".hidden.mkv")
    write(tmp_path / ".trash" / "deleted.mkv")
    write(tmp_path / "Movies" / ".DS_Store")
    (tmp_path / "empty").mkdir()

    source = LocalSource(7, tmp_path)
    found = await collect(source)

    assert set(found) == {
        "Movies/Alien (1979)/Alien.mkv",
        "Shows/Dark/Season 1/S01E01.mkv",
        "top.mp3",
    }
    alien = found["Movies/Alien (1979)/Alien.mkv"]
    assert alien.size == 5
    assert alien.mtime_ns == (tmp_path / "Movies/Alien (1979)/Alien.mkv").stat().st_mtime_ns
    assert found["top.mp3"].size == 0
    stats = source.statistics()
    assert stats.entries == 3
    assert stats.listings == 7  # root, Movies, Alien, Shows, Dark, Season 1, empty
    assert source.source_id == 7


async def test_many_files_come_in_batches(tmp_path: Path) -> None:
    for i in range(1203):
        write(tmp_path / f"d{i % 3}" / f"{i:05}.mkv")
    sizes = []
    async for batch in LocalSource(1, tmp_path).discover():
        sizes.append(len(batch))
    assert sum(sizes) == 1203
    assert len(sizes) > 1


async def test_symlink_loop_and_duplicate_link_are_visited_once(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "film.mkv")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")
    os.symlink(tmp_path / "a" / "b", tmp_path / "again")
    os.symlink(tmp_path / "a" / "b" / "film.mkv", tmp_path / "linked.mkv")
    source = LocalSource(1, tmp_path)
    found = await collect(source)
    # the film is listed once through its folder (whichever way the walk reached it first)
    # and once through the file link, which is a file of its own to the library
    film_keys = [k for k in found if k.endswith("film.mkv")]
    assert len(film_keys) == 1
    assert "linked.mkv" in found
    assert source.statistics().skipped >= 1


async def test_odd_names_round_trip(tmp_path: Path) -> None:
    for index, name in enumerate(ODD_NAMES):
        write(tmp_path / "odd" / name, name.encode())
        del index
    raw_dir = os.fsencode(tmp_path / "odd")
    with open(raw_dir + b"/" + NON_UTF8, "wb") as f:
        f.write(b"latin-1 bytes")

    source = LocalSource(1, tmp_path)
    found = await collect(source)
    assert len(found) == len(ODD_NAMES) + 1
    for name in ODD_NAMES:
        key = f"odd/{name}"
        assert key in found
        with source.open(key) as f:
            assert f.read() == name.encode()
        assert await source.stat(key) == found[key]
        assert source.local_path(key) == tmp_path / "odd" / name

    (b64_key,) = [k for k in found if k.startswith("/b64/")]
    b64_key.encode("utf-8")  # storable as text: no surrogates
    assert decode_key(b64_key) == b"odd/" + NON_UTF8
    described = source.describe(b64_key)
    with source.open(b64_key) as f:
        assert f.read() == b"latin-1 bytes"
        assert f.name == described
    assert await source.stat(b64_key) == found[b64_key]
    assert os.fsencode(source.local_path(b64_key)) == raw_dir + b"/" + NON_UTF8
    described.encode("utf-8")
    assert described.endswith("caf\\xe9-latin1.mkv")
    assert source.key_for(source.local_path(b64_key)) == b64_key
    assert source.key_for(tmp_path / "odd" / ODD_NAMES[0]) == f"odd/{ODD_NAMES[0]}"
    assert source.key_for(tmp_path / ".hidden" / "x.mkv") is None
    assert source.key_for(tmp_path.parent / "elsewhere.mkv") is None


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "", "/b64/not base64!"]
)
def test_keys_outside_the_root_are_refused(tmp_path: Path, key: str) -> None:
    source = LocalSource(1, tmp_path)
    with pytest.raises(ValueError):
        decode_key(key)
    with pytest.raises(Unreadable):
        source.open(key)


def test_key_encoding_is_reversible() -> None:
    for raw in [b"a/b.mkv", NON_UTF8, b"dir\xff/\xfe\xfd.mkv", "é/ü.mkv".encode()]:
        assert decode_key(encode_key(raw)) == raw
    assert encode_key(b"plain/name.mkv") == "plain/name.mkv"


async def test_missing_root_raises_source_error(tmp_path: Path) -> None:
    source = LocalSource(1, tmp_path / "not-mounted")
    with pytest.raises(SourceError, match="not-mounted"):
        await collect(source)
    with pytest.raises(SourceError):
        await source.stat("film.mkv")


async def test_root_that_is_a_file_raises_source_error(tmp_path: Path) -> None:
    write(tmp_path / "file")
    with pytest.raises(SourceError, match="not a directory"):
        await collect(LocalSource(1, tmp_path / "file"))


async def test_vanished_file_is_skipped(tmp_path: Path) -> None:
    # A link whose target vanished is what a file deleted between listing and stat looks like.
    write(tmp_path / "keep.mkv")
    write(tmp_path / "gone.mkv")
    os.symlink(tmp_path / "gone.mkv", tmp_path / "link.mkv")
    (tmp_path / "gone.mkv").unlink()
    source = LocalSource(1, tmp_path)
    assert set(await collect(source)) == {"keep.mkv"}
    assert source.statistics().skipped == 1
    assert await source.stat("gone.mkv") is None
    assert await source.stat("link.mkv") is None


async def test_unlistable_subfolder_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, which chmod cannot lock out: make scandir refuse one folder instead.
    write(tmp_path / "ok" / "a.mkv")
    write(tmp_path / "locked" / "b.mkv")
    real_scandir = os.scandir
    locked = os.fsencode(tmp_path / "locked")

    def scandir(path: bytes) -> object:
        if path == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    source = LocalSource(1, tmp_path)
    assert set(await collect(source)) == {"ok/a.mkv"}
    assert source.statistics().skipped == 1


async def test_stat_of_missing_file_and_folder(tmp_path: Path) -> None:
    write(tmp_path / "d" / "f.mkv", b"abc")
    source = LocalSource(1, tmp_path)
    assert await source.stat("nope.mkv") is None
    assert await source.stat("d") is None
    assert await source.stat("d/f.mkv/x") is None
    entry = await source.stat("d/f.mkv")
    assert entry is not None and entry.size == 3


def test_open_errors_are_unreadable(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "fifo.mkv")
    source = LocalSource(1, tmp_path)
    with pytest.raises(Unreadable, match=r"nope\.mkv"):
        source.open("nope.mkv")
    with pytest.raises(Unreadable):
        source.open("d")
    with pytest.raises(Unreadable, match="not a regular file"):
        source.open("fifo.mkv")


async def test_open_is_seekable(tmp_path: Path) -> None:
    write(tmp_path / "f.bin", bytes(range(256)))
    source = LocalSource(1, tmp_path)
    with source.open("f.bin") as f:
        assert f.seekable()
        f.seek(-6, os.SEEK_END)
        assert f.read() == bytes(range(250, 256))
    assert source.statistics().opened == 1
    await source.aclose()

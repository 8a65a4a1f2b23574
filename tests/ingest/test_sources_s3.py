from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from ingest.errors import SourceError, Unreadable
from ingest.models import Entry
from ingest.sources import S3Config, S3Source, open_s3_client
from ingest.sources.s3 import S3RangeReader
from tests.fixtures.services import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.s3]

KIB = 1024
MIB = 1024 * KIB
ODD_KEYS = [
    "Movies/Alien (1979)/Alien.mkv",
    "Movies/with space & plus+.mkv",
    "Movies/Amélie 🎬.mkv",
    "Movies/hash#percent%question?.mkv",
    'Movies/quote\'s "double".mkv',
    "Shows/Dark/Season 1/S01E01.mkv",
]


def config_for(settings: dict[str, str], **overrides: Any) -> S3Config:
    values: dict[str, Any] = {
        "endpoint_url": settings["endpoint_url"],
        "region": settings["region_name"],
        "access_key_id": settings["aws_access_key_id"],
        "secret_access_key": settings["aws_secret_access_key"],
    }
    values.update(overrides)
    return S3Config(**values)


@pytest.fixture
async def s3(s3_settings: dict[str, str]) -> AsyncIterator[Any]:
    async with open_s3_client(config_for(s3_settings)) as client:
        yield client


@pytest.fixture
async def bucket(s3: Any) -> str:
    name = f"media-{uuid.uuid4().hex[:12]}"
    await s3.create_bucket(Bucket=name)
    return name


async def collect(source: S3Source) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    async for batch in source.discover():
        for entry in batch:
            assert entry.key not in found
            found[entry.key] = entry
    return found


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def test_discover_lists_keys_relative_to_prefix(s3: Any, bucket: str) -> None:
    before_ns = time.time_ns() - 2_000_000_000
    bodies = {key: key.encode() * (i + 1) for i, key in enumerate(ODD_KEYS)}
    for key, body in bodies.items():
        await s3.put_object(Bucket=bucket, Key=f"library/{key}", Body=body)
    await s3.put_object(Bucket=bucket, Key="library/Movies/", Body=b"")  # folder marker
    await s3.put_object(Bucket=bucket, Key="library/.hidden/x.mkv", Body=b"x")
    await s3.put_object(Bucket=bucket, Key="library/Movies/.DS_Store", Body=b"x")
    await s3.put_object(Bucket=bucket, Key="library-other/outside.mkv", Body=b"x")
    await s3.put_object(Bucket=bucket, Key="elsewhere.mkv", Body=b"x")

    source = S3Source(3, s3, bucket, "/library/", page_size=2)
    found = await collect(source)

    assert set(found) == set(ODD_KEYS)
    for key, body in bodies.items():
        entry = found[key]
        assert entry.size == len(body)
        assert entry.etag == hashlib.md5(body).hexdigest()  # single-part upload: no quotes
        assert entry.mtime_ns is not None and entry.mtime_ns >= before_ns
        assert await source.stat(key) == entry
    stats = source.statistics()
    assert stats.entries == len(ODD_KEYS)
    assert stats.listings >= 5  # pages of two keys
    assert source.describe("a b.mkv") == f"s3://{bucket}/library/a b.mkv"
    assert source.local_path("a b.mkv") is None


async def test_whole_bucket_without_prefix(s3: Any, bucket: str) -> None:
    await s3.put_object(Bucket=bucket, Key="a.mkv", Body=b"a")
    await s3.put_object(Bucket=bucket, Key="d/b.mkv", Body=b"bb")
    found = await collect(S3Source(1, s3, bucket))
    assert {k: e.size for k, e in found.items()} == {"a.mkv": 1, "d/b.mkv": 2}


async def test_stat_of_missing_key_and_bucket(s3: Any, bucket: str) -> None:
    assert await S3Source(1, s3, bucket, "p").stat("nope.mkv") is None
    with pytest.raises(SourceError, match="no such bucket"):
        await S3Source(1, s3, f"{bucket}-missing").stat("nope.mkv")


async def test_missing_bucket_raises_source_error(s3: Any, bucket: str) -> None:
    source = S3Source(1, s3, f"{bucket}-missing", "library")
    with pytest.raises(SourceError, match="no such bucket"):
        await collect(source)


async def test_endpoint_down_raises_source_error(s3_settings: dict[str, str]) -> None:
    config = config_for(s3_settings, endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1)
    async with open_s3_client(config) as client:
        with pytest.raises(SourceError, match="cannot list"):
            await collect(S3Source(1, client, "media"))


async def test_ranged_reads_match_the_object(s3: Any, bucket: str) -> None:
    data = payload(3 * MIB + 123)
    await s3.put_object(Bucket=bucket, Key="lib/blob.bin", Body=data)
    source = S3Source(1, s3, bucket, "lib", block_size=64 * KIB, cache_blocks=3)

    def check() -> S3RangeReader:
        rng = random.Random(7)
        reader = source.open_reader("blob.bin")
        assert reader.size == len(data)
        assert reader.seekable() and reader.readable()
        for _ in range(200):
            offset = rng.randrange(0, len(data) + 10)
            length = rng.choice([1, 7, 4096, 65 * KIB, 300 * KIB])
            assert reader.seek(offset) == offset
            assert reader.read(length) == data[offset : offset + length]
            assert reader.tell() == min(offset + length, len(data)) or offset > len(data)
        assert reader.seek(-10, 2) == len(data) - 10
        assert reader.read() == data[-10:]
        assert reader.read(5) == b""
        reader.seek(100)
        reader.seek(50, 1)
        assert reader.read(10) == data[150:160]
        with pytest.raises(ValueError):
            reader.seek(-1)
        reader.seek(0)
        assert reader.read() == data
        reader.close()
        with pytest.raises(ValueError):
            reader.read(1)
        return reader

    reader = await anyio.to_thread.run_sync(check)
    assert reader.statistics().cache_hits > 0

    def sequential() -> S3RangeReader:
        reader = source.open_reader("blob.bin", size=len(data))
        for i in range(64):
            assert reader.read(4096) == data[i * 4096 : (i + 1) * 4096]
        return reader

    stats = (await anyio.to_thread.run_sync(sequential)).statistics()
    assert (stats.requests, stats.bytes_fetched) == (4, 256 * KIB)  # 64 KiB blocks
    assert stats.cache_hits == 60


async def test_partial_read_of_a_large_object_fetches_a_fraction(s3: Any, bucket: str) -> None:
    data = payload(12 * MIB, seed=2)
    await s3.put_object(Bucket=bucket, Key="big.mkv", Body=data)
    source = S3Source(1, s3, bucket)

    def read_head_and_tail() -> S3RangeReader:
        reader = source.open_reader("big.mkv", size=len(data))
        for _ in range(100):  # a demuxer's many small reads
            assert reader.read(188) == data[reader.tell() - 188 : reader.tell()]
        reader.seek(-4096, 2)
        assert reader.read() == data[-4096:]
        reader.seek(len(data) // 2)
        assert reader.read(100) == data[len(data) // 2 : len(data) // 2 + 100]
        return reader

    stats = (await anyio.to_thread.run_sync(read_head_and_tail)).statistics()
    assert stats.requests == 3
    assert stats.bytes_fetched == 3 * MIB
    assert stats.bytes_fetched < len(data) / 3


async def test_open_missing_key_is_unreadable(s3: Any, bucket: str) -> None:
    source = S3Source(1, s3, bucket, "lib")
    with pytest.raises(Unreadable, match=r"s3://.*/lib/nope\.mkv: no such object"):
        await anyio.to_thread.run_sync(source.open, "nope.mkv")
    # With a size from an earlier listing, the failure shows on the first read.
    reader = await anyio.to_thread.run_sync(source.open, "nope.mkv", 10)
    with pytest.raises(Unreadable, match="no such object"):
        await anyio.to_thread.run_sync(reader.read, 5)


async def test_object_replaced_while_reading_is_unreadable(s3: Any, bucket: str) -> None:
    await s3.put_object(Bucket=bucket, Key="f.bin", Body=payload(200 * KIB))
    source = S3Source(1, s3, bucket, block_size=64 * KIB)
    reader = await anyio.to_thread.run_sync(source.open_reader, "f.bin")
    await anyio.to_thread.run_sync(reader.read, 10)
    await s3.put_object(Bucket=bucket, Key="f.bin", Body=payload(200 * KIB, seed=9))
    reader.seek(150 * KIB)
    with pytest.raises(Unreadable, match="changed"):
        await anyio.to_thread.run_sync(reader.read, 10)


async def test_reader_refuses_the_event_loop_thread(s3: Any, bucket: str) -> None:
    await s3.put_object(Bucket=bucket, Key="f.bin", Body=b"0123456789")
    source = S3Source(1, s3, bucket)
    reader = await anyio.to_thread.run_sync(source.open_reader, "f.bin")
    with pytest.raises(RuntimeError, match="event loop thread"):
        reader.read(1)


@pytest.fixture(scope="module", params=[".mkv", ".mp4"])
def clip(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> bytes:
    from ingest import demo

    # mp4 from this muxer keeps its index (moov) at the end: the reader must seek there
    path = tmp_path_factory.mktemp("s3clip") / f"clip{request.param}"
    demo.synthesize_clip(path, seconds=8.0, width=640, height=360, bit_rate=4_000_000)
    return path.read_bytes()


async def test_pyav_probes_and_thumbnails_through_the_reader(
    s3: Any, bucket: str, clip: bytes
) -> None:
    import av

    from ingest.images import video_thumbnail

    assert len(clip) > 1 * MIB
    await s3.put_object(Bucket=bucket, Key="lib/Movies/Clip (2024)/clip.mkv", Body=clip)
    source = S3Source(1, s3, bucket, "lib", block_size=256 * KIB)
    (entry,) = (await collect(source)).values()

    def probe() -> tuple[tuple[str, ...], int | None, S3RangeReader]:
        reader = source.open_reader(entry.key, entry.size)
        with av.open(reader) as container:
            kinds = tuple(s.type for s in container.streams)
            duration = container.duration
        return kinds, duration, reader

    kinds, duration, reader = await anyio.to_thread.run_sync(probe)
    assert kinds[:2] == ("video", "audio")  # mp4 adds a chapter (data) track
    assert duration is not None and 7_500_000 <= duration <= 8_500_000
    stats = reader.statistics()
    assert stats.bytes_fetched < len(clip) / 2  # probing did not download the file
    assert stats.requests <= 3

    def thumbnail() -> tuple[int, int]:
        with source.open(entry.key, entry.size) as f:
            thumb = video_thumbnail(f, duration_us=duration)
        assert thumb is not None
        return thumb.width, thumb.height

    assert await anyio.to_thread.run_sync(thumbnail) == (640, 360)

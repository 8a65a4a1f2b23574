from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ingest.imagestore import ImageStore, LocalImageStore, S3ImageStore
from ingest.sources import S3Config, open_s3_client

pytestmark = pytest.mark.anyio

BAD_KEYS = ["../escape.webp", "/etc/passwd", "a/../../b.webp", "a//b.webp", "", "a\\b", "./a"]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ImageStore]:
    if request.param == "local":
        yield LocalImageStore(tmp_path / "images")
        return
    settings: dict[str, str] = request.getfixturevalue("s3_settings")
    config = S3Config(
        endpoint_url=settings["endpoint_url"],
        region=settings["region_name"],
        access_key_id=settings["aws_access_key_id"],
        secret_access_key=settings["aws_secret_access_key"],
    )
    async with open_s3_client(config) as client:
        bucket = f"images-{uuid.uuid4().hex[:12]}"
        await client.create_bucket(Bucket=bucket)
        yield S3ImageStore(client, bucket, prefix="reelbox/")


async def test_round_trip(store: ImageStore) -> None:
    key = "items/42/thumb-3.webp"
    assert not await store.exists(key)
    await store.put(key, b"RIFF-first", "image/webp")
    assert await store.exists(key)
    assert await store.get(key) == b"RIFF-first"
    await store.put(key, b"RIFF-second", "image/webp")
    assert await store.get(key) == b"RIFF-second"
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # missing is fine


async def test_missing_key(store: ImageStore) -> None:
    with pytest.raises(KeyError):
        await store.get("items/1/none.webp")
    assert not await store.exists("items/1/none.webp")


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_escape_are_refused(store: ImageStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x", "image/webp")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    with pytest.raises(ValueError):
        await store.exists(key)


async def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path)
    for i in range(5):
        await store.put("a/b/c.webp", bytes([i]) * 100, "image/webp")
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["c.webp"]
    assert store.path_for("a/b/c.webp").read_bytes() == bytes([4]) * 100
    assert not await store.exists("a/b")  # a folder is not an image
    with pytest.raises(KeyError):
        await store.get("a/b")


@pytest.mark.s3
async def test_s3_objects_carry_prefix_and_content_type(s3_settings: dict[str, str]) -> None:
    config = S3Config(
        s3_settings["endpoint_url"],
        s3_settings["region_name"],
        s3_settings["aws_access_key_id"],
        s3_settings["aws_secret_access_key"],
    )
    async with open_s3_client(config) as client:
        bucket = f"images-{uuid.uuid4().hex[:12]}"
        await client.create_bucket(Bucket=bucket)
        store = S3ImageStore(client, bucket, prefix="/reelbox")
        await store.put("items/1/cover-1.webp", b"data", "image/webp")
        head: dict[str, Any] = await client.head_object(
            Bucket=bucket, Key="reelbox/items/1/cover-1.webp"
        )
        assert head["ContentType"] == "image/webp"
        missing = S3ImageStore(client, f"{bucket}-missing")
        with pytest.raises(OSError, match="no such bucket"):
            await missing.put("x.webp", b"x", "image/webp")

"""Downloads: a title as one MP4 at a quality, made from the streaming segments, decoded by
FFmpeg (PyAV) whole; the qualities offered; refusals."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest

from ingest.catalog import users
from ingest.demo import synthesize_clip
from tests.fixtures.auth import PASSWORD, add_user
from tests.fixtures.server import Server, running_server

pytestmark = pytest.mark.anyio
FPS = 25
SECONDS = 14


@pytest.fixture
async def server(sqlite_catalog_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Take Away (2021).mp4", seconds=SECONDS, width=640, height=480, fps=FPS,
        gop=2 * FPS,
    )  # fmt: skip
    async with running_server(sqlite_catalog_url, source) as server:
        yield server


def _video_packets(data: bytes | Path) -> list[str]:
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        return [
            hashlib.sha256(bytes(p)).hexdigest()
            for p in container.demux(video=0)
            if p.size and p.dts is not None
        ]


def _decoded(data: bytes) -> tuple[int, float, int, float]:
    """Video frames and the last one's time; audio samples and the first audio time."""
    with av.open(io.BytesIO(data)) as container:
        frames = [f.time for f in container.decode(video=0)]
    with av.open(io.BytesIO(data)) as container:
        audio = list(container.decode(audio=0))
    return len(frames), frames[-1], sum(f.samples for f in audio), audio[0].time


async def test_a_title_downloads_whole_at_each_quality(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        offered = (await client.get(f"/api/items/{server.item_id}/downloads")).json()
        assert [(q["quality"], q["height"], q["transcoded"]) for q in offered["qualities"]] == [
            ("original", 480, False),
            ("360p", 360, True),
        ]
        assert all(q["size_bytes"] > 0 and q["bit_rate"] > 0 for q in offered["qualities"])

        original = await client.get(f"/api/items/{server.item_id}/download")
        assert original.status_code == 200, original.text
        assert original.headers["content-type"] == "video/mp4"
        assert original.headers["content-disposition"] == (
            'attachment; filename="Take Away (2021) - original.mp4"; '
            "filename*=UTF-8''Take%20Away%20%282021%29%20-%20original.mp4"
        )
        # the original's video is the source's, packet for packet; the audio is all there
        assert _video_packets(original.content) == _video_packets(server.source)
        frames, last, samples, _ = _decoded(original.content)
        assert frames == SECONDS * FPS
        assert samples >= SECONDS * 48_000 - 1024

        smaller = await client.get(
            f"/api/items/{server.item_id}/download", params={"quality": "360p"}
        )
        assert smaller.status_code == 200 and len(smaller.content) < len(original.content)
        with av.open(io.BytesIO(smaller.content)) as container:
            assert container.streams.video[0].height == 360
        frames_360, last_360, samples_360, first_audio_360 = _decoded(smaller.content)
        assert (frames_360, last_360, samples_360) == (frames, last, samples)
        # audio starts where it starts in the original: the two files line up the same way
        assert first_audio_360 == _decoded(original.content)[3]


async def test_downloads_are_refused_clearly(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        path = f"/api/items/{server.item_id}/download"
        unknown = await client.get(path, params={"quality": "1080p"})
        assert unknown.status_code == 404
        assert "offered: original, 360p" in unknown.json()["error"]["message"]
        bad = await client.get(path, params={"quality": "best"})
        assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "quality"
        missing = await client.get("/api/items/999/download")
        assert missing.status_code == 404


async def test_with_logins_only_those_who_see_the_title_download_it(
    sqlite_catalog_url: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(media / "Kept (2020).mp4", seconds=4, fps=FPS, gop=FPS)
    async with running_server(sqlite_catalog_url, source, with_auth=True) as server:
        assert server.auth is not None
        ann = await add_user(server.database, server.auth, "ann", all_libraries=False)
        await add_user(server.database, server.auth, "bob", all_libraries=False)
        async with server.database.begin() as conn:
            await users.set_library_access(conn, ann.id, [server.library_id])
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            path = f"/api/items/{server.item_id}/download"
            assert (await client.get(path)).status_code == 401
            for name, status in (("ann", 200), ("bob", 404)):
                login = await client.post(
                    "/api/auth/login", json={"username": name, "password": PASSWORD}
                )
                bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
                assert (await client.get(path, headers=bearer)).status_code == status, name
                listed = await client.get(f"{path}s", headers=bearer)
                assert listed.status_code == status, name

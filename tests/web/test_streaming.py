"""Streaming from a running server: the real ffmpeg CLI plays what Reelbox serves."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aioboto3
import anyio
import av
import httpx
import pytest

from engine.segmenter.renditions import RenditionKind
from engine.sessions.profiles import BUILT_IN
from ingest.catalog import userdata, users
from ingest.catalog.database import open_database
from ingest.demo import synthesize_clip
from ingest.sources import S3Config
from tests.fixtures.auth import PASSWORD, add_user
from tests.fixtures.server import Server, running_server
from tests.fixtures.services import ffmpeg_frames, require_ffmpeg

pytestmark = pytest.mark.anyio
SECONDS = 16
FPS = 25


@pytest.fixture
async def server(sqlite_catalog_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Test Card (2020).mp4",
        seconds=SECONDS,
        width=640,
        height=480,
        fps=FPS,
        gop=2 * FPS,
    )
    async with running_server(sqlite_catalog_url, source) as server:
        yield server


async def _start(server: Server, **extra: object) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/api/playback", json={"item_id": server.item_id, "profile": "chromium", **extra}
        )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_ffmpeg_plays_the_hls_stream_from_the_server(server: Server) -> None:
    started = await _start(server)
    assert started["method"] == "direct_play"  # h264 + aac in mp4, for Chromium
    renditions = started["renditions"]
    assert isinstance(renditions, list) and len(renditions) >= 3  # original, 360p, audio
    master = f"{server.url}{started['master_url']}"
    async with httpx.AsyncClient() as client:
        response = await client.get(master, headers={"Origin": "http://localhost:8081"})
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "#EXT-X-STREAM-INF" in response.text
    original = f"{server.url}/stream/{started['session_id']}/{renditions[0]}/index.m3u8"
    frames = await anyio.to_thread.run_sync(ffmpeg_frames, original)
    reference = await anyio.to_thread.run_sync(ffmpeg_frames, server.source)
    assert len(frames) == SECONDS * FPS
    assert [f.split(",")[-1] for f in frames] == [r.split(",")[-1] for r in reference]
    # the whole master playlist too: the first variant with its audio group
    audio = await anyio.to_thread.run_sync(ffmpeg_frames, master, "a:0")
    assert len(audio) > SECONDS * 40  # 48 kHz AAC: ~47 frames a second


async def test_transcoded_rendition_and_ts_segments(server: Server) -> None:
    started = await _start(server)
    session = started["session_id"]
    renditions = started["renditions"]
    assert isinstance(renditions, list)
    ladder = f"{server.url}/stream/{session}/{renditions[1]}/index.m3u8"
    frames = await anyio.to_thread.run_sync(ffmpeg_frames, ladder)
    assert len(frames) == SECONDS * FPS
    ts = f"{server.url}/stream/{session}/{renditions[0]}/index.m3u8?container=ts"
    assert len(await anyio.to_thread.run_sync(ffmpeg_frames, ts)) == SECONDS * FPS


async def test_bad_requests_answer_json(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        missing = await client.get("/stream/nope/master.m3u8")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        bad = await client.post("/api/playback", content=b"not json")
        assert bad.status_code == 400 and "a JSON object" in bad.json()["error"]["message"]
        wrong = await client.post("/api/playback", json={"item_id": "x"})
        assert wrong.status_code == 400 and "item_id" in wrong.json()["error"]["message"]
        profile = await client.post(
            "/api/playback", json={"item_id": server.item_id, "profile": "toaster"}
        )
        assert profile.status_code == 400 and "chromium" in profile.json()["error"]["message"]
        gone = await client.post("/api/playback", json={"item_id": 999})
        assert gone.status_code == 404
        started = (await client.post("/api/playback", json={"item_id": server.item_id})).json()
        base = f"/stream/{started['session_id']}"
        assert (await client.get(f"{base}/nope/index.m3u8")).status_code == 404
        assert (await client.get(f"{base}/{started['renditions'][0]}/999.m4s")).status_code == 404
        progress = await client.post(
            f"/api/playback/{started['session_id']}/progress",
            json={"position_us": 5_000_000, "paused": True},
        )
        assert progress.status_code == 204
        assert (await client.delete(f"/api/playback/{started['session_id']}")).status_code == 204
        assert (await client.get(f"{base}/master.m3u8")).status_code == 404


async def test_ffmpeg_plays_the_dash_manifest(server: Server) -> None:
    started = await _start(server)
    manifest = f"{server.url}{started['dash_url']}"
    async with httpx.AsyncClient() as client:
        response = await client.get(manifest)
    assert response.headers["content-type"] == "application/dash+xml"
    frames = await anyio.to_thread.run_sync(ffmpeg_frames, manifest, "v:0")
    assert len(frames) == SECONDS * FPS


async def test_direct_play_serves_the_file_with_ranges(server: Server) -> None:
    started = await _start(server)
    direct = f"{server.url}{started['direct_url']}"
    size = server.source.stat().st_size
    async with httpx.AsyncClient() as client:
        part = await client.get(direct, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
        assert part.content == server.source.read_bytes()[1000:2000]
        assert part.headers["content-type"] == "video/mp4"
        tail = await client.get(direct, headers={"Range": "bytes=-100"})
        assert tail.content == server.source.read_bytes()[-100:]


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("storm") / "media"
    folder.mkdir()
    return synthesize_clip(
        folder / "Long Film (2021).mp4", seconds=600, width=160, height=96, fps=FPS, gop=2 * FPS
    )


def _pictures(data: bytes) -> list[str]:
    """A hash of each decoded picture (its luma plane), in presentation order."""
    with av.open(io.BytesIO(data)) as container:
        frames = sorted(container.decode(video=0), key=lambda f: f.pts or 0)
        return [hashlib.sha1(bytes(f.planes[0])).hexdigest() for f in frames]


@pytest.mark.slow
async def test_seek_storm_every_segment_matches_the_source(
    sqlite_catalog_url: str, ten_minutes: Path
) -> None:
    """50 random segments of a 10-minute film, fetched out of order and 8 at a time (a player
    seeking wildly, or many players): every one arrives, and each decodes to exactly the
    source's pictures between its boundaries."""
    source = await anyio.to_thread.run_sync(lambda: _pictures(ten_minutes.read_bytes()))
    assert len(source) == 600 * FPS
    async with running_server(sqlite_catalog_url, ten_minutes) as server:
        started = await _start(server)
        session = server.playback.session(str(started["session_id"]))
        plan = session.plan
        video = plan.renditions[0].id
        assert plan.renditions[0].is_remux and plan.segment_count > 100
        chosen = random.Random(11).sample(range(plan.segment_count), 50)
        base = f"{server.url}/stream/{session.id}/{video}"
        fetched: dict[int, bytes] = {}
        limit = anyio.Semaphore(8)
        async with httpx.AsyncClient(timeout=30) as client:
            init = (await client.get(f"{base}/init.mp4")).content

            async def fetch(n: int) -> None:
                async with limit:
                    response = await client.get(f"{base}/{n}.m4s")
                assert response.status_code == 200, response.text
                fetched[n] = response.content

            async with anyio.create_task_group() as tg:
                for n in chosen:
                    tg.start_soon(fetch, n)
    assert sorted(fetched) == sorted(chosen)
    origin = plan.boundaries[0]
    for n in chosen:
        first, last = (
            round((b - origin) * plan.time_base * FPS) for b in plan.boundaries[n : n + 2]
        )
        pictures = await anyio.to_thread.run_sync(_pictures, init + fetched[n])
        assert pictures == source[first:last], f"segment {n}"


async def test_a_damaged_region_fails_only_its_segments(
    sqlite_catalog_url: str, tmp_path: Path
) -> None:
    """The file is cut short after it was scanned (an interrupted copy): segments past the cut
    fail with a clear error, one request at a time; earlier ones play, the session and the
    server go on."""
    media = tmp_path / "media"
    media.mkdir()
    raw = synthesize_clip(
        tmp_path / "raw.mp4", seconds=SECONDS, width=320, height=240, fps=FPS, gop=2 * FPS
    )
    source = media / "Cut Short (2019).mp4"
    # the index at the front, as downloads have it, so the head of a cut file still plays
    await anyio.run_process(
        [
            require_ffmpeg(),
            "-v",
            "error",
            "-i",
            str(raw),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(source),
        ]
    )
    async with running_server(sqlite_catalog_url, source) as server:
        started = await _start(server)
        session = server.playback.session(str(started["session_id"]))
        video = session.plan.renditions[0].id
        last = session.plan.segment_count - 1
        data = source.read_bytes()
        source.write_bytes(data[: len(data) * 2 // 5])
        base = f"{server.url}/stream/{session.id}/{video}"
        async with httpx.AsyncClient(timeout=30) as client:
            broken = await client.get(f"{base}/{last}.m4s")
            assert broken.status_code == 422, broken.text
            error = broken.json()["error"]
            assert error["code"] == "corrupt_source" and "cut short" in error["message"]
            assert (await client.get(f"{base}/0.m4s")).status_code == 200
            again = await client.get(f"{base}/{last}.m4s")  # a retry fails the same way
            assert again.status_code == 422
            assert (await client.get(f"{server.url}/healthz")).status_code == 200
            assert (await client.get(f"{base}/index.m3u8")).status_code == 200
        assert session.child.alive


async def test_subtitles_are_served_as_webvtt(sqlite_catalog_url: str, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Subtitled (2021).mp4", seconds=8, fps=FPS, gop=FPS, subtitles=True
    )
    async with running_server(sqlite_catalog_url, source) as server:
        started = await _start(server)
        session = started["session_id"]
        assert isinstance(session, str)
        offset = server.playback.session(session).plan.presentation_offset
        master = f"{server.url}{started['master_url']}"
        base = master.rsplit("/", 1)[0]
        async with httpx.AsyncClient() as client:
            text = (await client.get(master)).text
            [media_tag] = [line for line in text.splitlines() if "TYPE=SUBTITLES" in line]
            assert 'GROUP-ID="subs"' in media_tag and 'SUBTITLES="subs"' in text
            uri = media_tag.split('URI="')[1].rstrip('"')
            playlist = await client.get(f"{base}/{uri}")
            assert playlist.status_code == 200
            assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
            segments = [line for line in playlist.text.splitlines() if line.endswith(".vtt")]
            assert segments and "#EXT-X-MAP" not in playlist.text
            bodies = []
            for name in segments:
                answer = await client.get(f"{base}/{uri.rsplit('/', 1)[0]}/{name}")
                assert answer.status_code == 200
                assert answer.headers["content-type"] == "text/vtt; charset=utf-8"
                assert "immutable" in answer.headers["cache-control"]
                assert answer.text.startswith("WEBVTT\n")
                bodies.append(answer.text)
        everything = "".join(bodies)
        for number, start_s in enumerate((0, 2, 4), start=1):
            assert f"Cue {number}" in everything
            start_ms = round((start_s + offset) * 1000)
            assert f"00:00:{start_ms // 1000:02d}.{start_ms % 1000:03d} --> " in everything
        # A master playlist with a SUBTITLES group still plays in ffmpeg (whose HLS demuxer
        # skips subtitle renditions with a warning: it cannot read WebVTT segments yet).
        frames = await anyio.to_thread.run_sync(ffmpeg_frames, master, "v:0")
        assert len(frames) == 8 * FPS


async def test_an_s3_item_streams_and_direct_plays_by_redirect(
    sqlite_catalog_url: str, tmp_path: Path, s3_settings: dict[str, str]
) -> None:
    """Segments are cut from the object with range reads; direct play redirects the client to
    a presigned URL, so the file's bytes never pass through Reelbox."""
    source = synthesize_clip(
        tmp_path / "Cloud Film (2022).mp4", seconds=8, width=320, height=240, fps=FPS, gop=FPS
    )
    bucket = f"stream-{uuid.uuid4().hex[:12]}"
    async with aioboto3.Session().client("s3", **s3_settings) as s3:
        await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket=bucket, Key=f"films/{source.name}", Body=source.read_bytes())
    config = S3Config(
        endpoint_url=s3_settings["endpoint_url"],
        region=s3_settings["region_name"],
        access_key_id=s3_settings["aws_access_key_id"],
        secret_access_key=s3_settings["aws_secret_access_key"],
        read_block_size=256 * 1024,
    )
    async with running_server(sqlite_catalog_url, source, s3=(config, bucket, "films")) as server:
        started = await _start(server)
        assert started["method"] == "direct_play"
        async with httpx.AsyncClient() as client:
            direct = await client.get(f"{server.url}{started['direct_url']}")
            assert direct.status_code == 307
            location = direct.headers["location"]
            assert location.startswith(s3_settings["endpoint_url"]) and bucket in location
            part = await client.get(location, headers={"Range": "bytes=100-199"})
            assert part.status_code == 206 and part.content == source.read_bytes()[100:200]
        renditions = started["renditions"]
        assert isinstance(renditions, list)
        session = started["session_id"]
        original = f"{server.url}/stream/{session}/{renditions[0]}/index.m3u8"
        frames = await anyio.to_thread.run_sync(ffmpeg_frames, original)
        reference = await anyio.to_thread.run_sync(ffmpeg_frames, source)
        assert [f.split(",")[-1] for f in frames] == [r.split(",")[-1] for r in reference]
        audio = f"{server.url}/stream/{session}/{renditions[-1]}/index.m3u8"
        assert len(await anyio.to_thread.run_sync(ffmpeg_frames, audio, "a:0")) > 8 * 40
        # the object vanishes: a segment not yet made fails alone, naming the object
        async with aioboto3.Session().client("s3", **s3_settings) as s3:
            await s3.delete_object(Bucket=bucket, Key=f"films/{source.name}")
        server.playback.session(str(session))  # the session is still there
        async with httpx.AsyncClient() as client:
            gone = await client.get(f"{server.url}/stream/{session}/{renditions[0]}/0.ts")
            assert gone.status_code == 422, gone.text
            assert "no such object" in gone.json()["error"]["message"]
            assert (await client.get(f"{server.url}/healthz")).status_code == 200


async def test_a_corrupted_region_fails_only_the_transcodes_over_it(
    sqlite_catalog_url: str, tmp_path: Path
) -> None:
    """Garbage in the middle of the file (a bad disk sector): the encoder's segments over it
    fail with a clear 422, one request each, retries included; the segments around it play,
    the session lives on, the server stays healthy."""
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Bad Sector (2018).mp4", seconds=SECONDS, width=640, height=480, fps=FPS, gop=FPS
    )
    async with running_server(sqlite_catalog_url, source) as server:
        started = await _start(server)
        session = server.playback.session(str(started["session_id"]))
        [ladder] = [
            r for r in session.plan.renditions if r.kind is RenditionKind.VIDEO and not r.is_remux
        ]
        data = bytearray(source.read_bytes())
        noise = random.Random(3)
        for i in range(len(data) * 45 // 100, len(data) * 55 // 100):
            data[i] = noise.randrange(256)
        source.write_bytes(data)
        base = f"{server.url}/stream/{session.id}/{ladder.id}"
        statuses: dict[int, int] = {}
        async with httpx.AsyncClient(timeout=60) as client:
            for n in range(session.plan.segment_count):
                answer = await client.get(f"{base}/{n}.m4s")
                statuses[n] = answer.status_code
                if answer.status_code != 200:
                    assert answer.status_code == 422, answer.text
                    error = answer.json()["error"]
                    assert error["code"] == "corrupt_source"
                    assert "cannot decode" in error["message"]
            failed = [n for n, status in statuses.items() if status != 200]
            assert failed and statuses[0] == statuses[len(statuses) - 1] == 200, statuses
            again = await client.get(f"{base}/{failed[0]}.m4s")
            assert again.status_code == 422
            assert (await client.get(f"{server.url}/healthz")).status_code == 200
        assert session.child.alive


async def test_a_users_progress_is_kept_and_the_end_marks_it_played(
    sqlite_catalog_url: str, server: Server
) -> None:
    db = open_database(sqlite_catalog_url)
    try:
        async with db.begin() as conn:
            ann = await users.create_user(conn, "ann", roles=["member"])
        chromium = BUILT_IN["chromium"]
        first = await server.playback.create(server.item_id, chromium, user_id=ann.id)
        server.playback.progress(first.id, 9_000_000, paused=True)
        await server.playback.close(first.id)
        async with db.connect() as conn:
            kept = await userdata.get_user_data(conn, ann.id, server.item_id)
        assert kept is not None and (kept.position_us, kept.played) == (9_000_000, False)
        again = await server.playback.create(server.item_id, chromium, user_id=ann.id)
        assert again.plan is first.plan  # the same media version: planned once
        server.playback.progress(again.id, (SECONDS - 1) * 1_000_000)
        await server.playback.close(again.id)
        async with db.connect() as conn:
            done = await userdata.get_user_data(conn, ann.id, server.item_id)
        assert done is not None and (done.position_us, done.played, done.play_count) == (0, True, 1)
        assert server.heard[-1] == done  # what was stored is told (to the WebSocket clients)
    finally:
        await db.dispose()


async def test_a_session_ending_late_does_not_undo_newer_progress(
    sqlite_catalog_url: str, server: Server
) -> None:
    """Watched on the TV, then on with the phone: when the TV's session ends (closed, or timed
    out a minute later) its last position does not replace the phone's newer one."""
    db = open_database(sqlite_catalog_url)
    try:
        async with db.begin() as conn:
            ann = await users.create_user(conn, "ann", roles=["member"])
        chromium = BUILT_IN["chromium"]

        async def stored() -> int | None:
            async with db.connect() as conn:
                found = await userdata.get_user_data(conn, ann.id, server.item_id)
            return None if found is None else found.position_us

        async def until_stored(position_us: int) -> None:
            with anyio.fail_after(30):
                while await stored() != position_us:
                    await anyio.sleep(0.01)

        tv = await server.playback.create(server.item_id, chromium, user_id=ann.id)
        server.playback.progress(tv.id, 4_000_000, paused=True)
        await until_stored(4_000_000)
        phone = await server.playback.create(server.item_id, chromium, user_id=ann.id)
        server.playback.progress(phone.id, 9_000_000)
        await until_stored(9_000_000)
        await server.playback.close(tv.id)
        assert await stored() == 9_000_000
        await server.playback.close(phone.id)  # the newest session's own last word is kept
        assert await stored() == 9_000_000
    finally:
        await db.dispose()


async def test_with_logins_a_session_is_its_owners_and_its_urls_carry_a_stream_token(
    sqlite_catalog_url: str, tmp_path: Path
) -> None:
    """As served: starting needs a login and an item the user may see; the playlists' URIs all
    carry the session's stream token (so ffmpeg, like hls.js, plays the master URL as given);
    anyone else finds no such session; a logout ends the token at once."""
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(media / "Members Only (2020).mp4", seconds=6, fps=FPS, gop=FPS)
    async with running_server(sqlite_catalog_url, source, with_auth=True) as server:
        assert server.auth is not None
        ann = await add_user(server.database, server.auth, "ann", all_libraries=False)
        bob = await add_user(server.database, server.auth, "bob", all_libraries=False)
        async with server.database.begin() as conn:
            await users.set_library_access(conn, ann.id, [server.library_id])
        async with httpx.AsyncClient(base_url=server.url) as client:
            body = {"item_id": server.item_id, "profile": "chromium"}
            anonymous = await client.post("/api/playback", json=body)
            assert anonymous.status_code == 401
            assert anonymous.json()["error"]["code"] == "unauthorized"
            tokens = {}
            for name in ("ann", "bob"):
                answer = await client.post(
                    "/api/auth/login", json={"username": name, "password": PASSWORD}
                )
                assert answer.status_code == 200, answer.text
                tokens[name] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            hidden = await client.post("/api/playback", json=body, headers=tokens["bob"])
            assert hidden.status_code == 404  # bob may not see the library: no such item
            started = await client.post("/api/playback", json=body, headers=tokens["ann"])
            assert started.status_code == 201, started.text
            session = started.json()
            token = session["stream_token"]
            assert session["master_url"].endswith(f"?token={token}")
            master = await client.get(session["master_url"])
            assert master.status_code == 200
            uris = [line for line in master.text.splitlines() if line and line[0] != "#"]
            uris += [
                line.split('URI="')[1].rstrip('"')
                for line in master.text.splitlines()
                if 'URI="' in line
            ]
            assert uris and all(uri.endswith(f"?token={token}") for uri in uris)
            frames = await anyio.to_thread.run_sync(
                ffmpeg_frames, f"{server.url}{session['master_url']}", "v:0"
            )
            assert len(frames) == 6 * FPS
            bare = session["master_url"].split("?")[0]
            assert (await client.get(bare)).status_code == 401
            assert (await client.get(bare, headers=tokens["ann"])).status_code == 200
            assert (await client.get(bare, headers=tokens["bob"])).status_code == 404
            # a stream token opens its own session only
            other = await client.post("/api/playback", json=body, headers=tokens["ann"])
            foreign = f"/stream/{other.json()['session_id']}/master.m3u8?token={token}"
            assert (await client.get(foreign)).status_code == 403
            # ann's other devices hear of her sessions (the WebSocket's session events)
            progress = f"/api/playback/{session['session_id']}/progress"
            reported = {"position_us": 2_000_000, "paused": True}
            assert (await client.post(progress, json=reported, headers=tokens["ann"])).is_success
            ended = await client.delete(f"/api/playback/{session['session_id']}?token={token}")
            assert ended.status_code == 204
            with anyio.fail_after(5):
                while len(server.told) < 4:
                    await anyio.sleep(0.01)
            first, second = session["session_id"], other.json()["session_id"]
            method = session["method"]
            assert server.told == [
                (
                    ann.id,
                    "started",
                    {"session_id": first, "item_id": server.item_id, "method": method},
                ),
                (
                    ann.id,
                    "started",
                    {"session_id": second, "item_id": server.item_id, "method": method},
                ),
                (ann.id, "progress", {"session_id": first, "item_id": server.item_id, **reported}),
                (ann.id, "ended", {"session_id": first, "item_id": server.item_id}),
            ]
            logout = await client.post("/api/auth/logout-all", headers=tokens["ann"])
            assert logout.status_code in (200, 204), logout.text
            assert (await client.get(session["master_url"])).status_code == 401
        assert bob.id != ann.id


async def test_a_shutdown_finishes_the_segment_responses_in_flight(
    sqlite_catalog_url: str, tmp_path: Path
) -> None:
    """Hypercorn stops taking requests and drains: a transcoded segment being encoded when the
    server is told to stop is still encoded and sent whole."""
    media = tmp_path / "media"
    media.mkdir()
    source = synthesize_clip(
        media / "Last Call (2020).mp4", seconds=14, width=640, height=480, fps=FPS, gop=2 * FPS
    )
    answered: list[tuple[float, httpx.Response]] = []
    async with (
        anyio.create_task_group() as tg,
        running_server(sqlite_catalog_url, source) as server,
    ):
        started = await _start(server)
        renditions = started["renditions"]
        assert isinstance(renditions, list)
        transcode = renditions[1]  # below the 480p original: a 360p encode
        url = f"{server.url}/stream/{started['session_id']}/{transcode}/1.m4s"

        async def fetch() -> None:
            async with httpx.AsyncClient(timeout=60) as client:
                response = await client.get(url)
                answered.append((anyio.current_time(), response))

        tg.start_soon(fetch)
        assert server.workers is not None
        with anyio.fail_after(30):  # the server has the request: the segment is being made
            while not server.workers.statistics().in_flight:
                await anyio.sleep(0.005)
        stopping = anyio.current_time()
    # leaving running_server stopped the server: Hypercorn waited for the response
    [(at, response)] = answered
    assert at > stopping, "the segment was done before the stop: nothing was in flight"
    assert response.status_code == 200 and response.headers["content-type"] == "video/iso.segment"
    boxes, at = [], 0  # the fragment whole: top-level boxes that tile the body exactly
    while at < len(response.content):
        size = int.from_bytes(response.content[at : at + 4], "big")
        boxes.append(response.content[at + 4 : at + 8])
        at += size
    assert at == len(response.content) and boxes[:1] == [b"moof"] and b"mdat" in boxes

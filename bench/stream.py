"""``python -m bench stream``: starting and seeking a stream, Reelbox against Jellyfin's way.

The source is a generated 1080p25 H.264 (~8 Mbit/s, 2 s GOP) + AAC clip of 10 minutes, cached
between runs. Both sides are real HTTP servers on loopback in this process, and the player is an
``httpx`` client that times every exchange:

- **Reelbox**: the real server (Hypercorn, a fresh SQLite catalog with the clip scanned, segment
  workers and playback sessions, as ``reelbox serve`` builds them). A start is
  ``POST /api/playback``, the master playlist, the rendition's media playlist, its init segment
  and its first segment. A seek is a new session, the media playlist, the init segment and the
  segment holding 75% of the clip (found from the playlist's EXTINF durations). Every
  measurement is cold: the session and prefetch of the one before have ended and the segment
  cache is emptied, so nothing comes from a cache or competes for the cores.
- **Baseline**: Jellyfin's HLS streaming, rebuilt where its time goes (``Jellyfin``): one ffmpeg
  per playback, started when the init segment is requested, with Jellyfin's arguments (``-f hls``,
  fMP4, 6 s segments when copying, 3 s with ``-force_key_frames`` when transcoding); a segment is
  served only once the next one's file exists, polled every 100 ms as Jellyfin polls; a segment
  more than 24 s ahead of the transcode kills ffmpeg and starts a new one with ``-ss`` before
  ``-i``. Playlists are written from the duration without ffmpeg, as Jellyfin writes them. A
  start is the same five exchanges; a seek happens in the started playback, as a player seeks:
  the media playlist, the init segment and the segment at 75%, which restarts ffmpeg there.

Only video is counted in the ``*_ms`` fields: Reelbox serves the AAC track as a rendition of its
own, whose playlist, init and first segment are timed after the video and reported apart
(``audio_*`` in ``breakdown_ms``); Jellyfin's segments carry both.

``transcode_fps`` is steady throughput to the transcode rung: Reelbox serves ~30 s of
consecutive segments to a player fetching them in order (its session prefetching ahead, as it
always does), frames counted in what it served; the baseline is the ffmpeg CLI encoding the same
span with the same encoder settings (libx264, preset, profile, level, rate control, an IDR at each
of Reelbox's segment starts) to a fragmented MP4 file, frames over wall seconds. Rounds alternate
which side goes first; the JSON reports medians, ratios and whether each target is met.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import av
import httpx
from anyio.abc import Process
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, jsonify, request
from quart.typing import ResponseReturnValue

from bench.hls import durations as _durations
from bench.hls import join as _join
from bench.hls import uris as _uris
from bench.hls import variant as _variant
from bench.machine import describe
from bench.scan import CACHE
from engine.segmenter.cache import CacheStatistics, MemorySegmentCache, SegmentKey
from engine.segmenter.renditions import VideoEncoding
from engine.segmenter.transcode import X264_PARAMS
from engine.segmenter.workers import SegmentWorkers
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog import migrate
from ingest.catalog.database import open_database
from ingest.demo import synthesize_clip
from ingest.models import LibraryKind
from ingest.opener import SourceOpener
from ingest.scanner import Scanner
from web.app import Services, create_app
from web.playback import Playback

SEEK_AT = 0.75  # of the clip's duration
POLL_S = 0.1  # Jellyfin's Task.Delay(100) while it waits for a segment file
RESTART_GAP_S = 24  # Jellyfin restarts ffmpeg for a segment further ahead than this
TARGETS = {  # Reelbox against the baseline: times faster (``_ms``), as fast (``_fps``)
    "remux_start_ms": 5.0,
    "remux_seek_ms": 5.0,
    "transcode_start_ms": 3.0,
    "transcode_seek_ms": 3.0,
    "transcode_fps": 0.95,
}
MODES = ("remux", "transcode")


@dataclass(frozen=True, slots=True)
class ClipSpec:
    seconds: int
    width: int
    height: int
    fps: int
    gop: int
    bit_rate: int
    rung: int  # the height of the ladder rendition that transcodes are measured on

    @property
    def folder(self) -> Path:
        return CACHE / f"stream-v1-{self.height}p-{self.seconds}s"


FULL = ClipSpec(seconds=600, width=1920, height=1080, fps=25, gop=50, bit_rate=8_000_000, rung=720)
QUICK = ClipSpec(seconds=60, width=854, height=480, fps=25, gop=50, bit_rate=1_500_000, rung=360)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first")
    parser.add_argument("--fps-seconds", type=float, default=30.0, help="transcode_fps span")
    parser.add_argument(
        "--encoders",
        type=int,
        default=max(1, (os.cpu_count() or 1) // 2),
        help="Reelbox's concurrent encodes (as REELBOX_STREAM__ENCODERS; serve's default)",
    )


def clip(spec: ClipSpec) -> Path:
    """The clip of ``spec``, alone in its folder (the library Reelbox scans); made once."""
    path = spec.folder / "Stream Bench (2026).mp4"
    if path.exists():
        return path
    spec.folder.mkdir(parents=True, exist_ok=True)
    partial = CACHE / f".{spec.folder.name}.partial.mp4"
    synthesize_clip(
        partial,
        seconds=spec.seconds,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        gop=spec.gop,
        bit_rate=spec.bit_rate,
    )
    os.replace(partial, path)
    return path


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("ffmpeg") is None:
        raise SystemExit("bench stream needs ffmpeg for the baseline: apt-get install ffmpeg")
    spec = QUICK if args.quick else FULL
    source = clip(spec)
    with source.open("rb") as handle:  # into the page cache, where both sides then read it
        while handle.read(16 << 20):
            pass
    bench = _Bench(source, spec, args.encoders, 6.0 if args.quick else args.fps_seconds)
    rounds, warmup = (1, 0) if args.quick else (args.rounds, args.warmup)
    anyio.run(bench.main, rounds, warmup, backend_options={"use_uvloop": True})
    return bench.report(rounds, warmup)


# --- the player ---------------------------------------------------------------------------------


class _Player:
    """An HTTP client timing each exchange: a player's first frame waits for them all."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.steps: dict[str, float] = {}
        self._started = self._last = time.perf_counter()

    async def send(self, step: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        now = time.perf_counter()
        self.steps[step] = (now - self._last) * 1000
        self._last = now
        return response

    async def first_segment(self, playlist_url: str, *, seek: bool, prefix: str = "") -> None:
        """Media playlist, init segment, then segment 0 (or the one at 75% for a seek)."""
        playlist = (await self.send(f"{prefix}playlist", "GET", playlist_url)).text
        [init] = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
        await self.send(f"{prefix}init", "GET", _join(playlist_url, init))
        n = _segment_at(_durations(playlist), SEEK_AT) if seek else 0
        await self.send(f"{prefix}segment", "GET", _join(playlist_url, _uris(playlist)[n]))

    def timed(self) -> _Timed:
        return _Timed((self._last - self._started) * 1000, dict(self.steps))


@dataclass(frozen=True, slots=True)
class _Timed:
    ms: float
    steps: dict[str, float]


def _segment_at(durations: list[float], fraction: float) -> int:
    """The segment holding ``fraction`` of the duration, found as a player finds it."""
    target, elapsed = sum(durations) * fraction, 0.0
    for n, duration in enumerate(durations):
        elapsed += duration
        if elapsed > target:
            return n
    return len(durations) - 1


def _frames(*parts: bytes) -> int:
    """Video frames in an MP4 (or an init segment and its CMAF segments), by demuxing."""
    with av.open(io.BytesIO(b"".join(parts)), "r") as container:
        return len([p for p in container.demux(container.streams.video[0]) if p.size])


# --- Reelbox ------------------------------------------------------------------------------------


class _ColdCache:
    """The production segment cache, emptied between measurements so that each is cold."""

    def __init__(self, max_bytes: int = 512 << 20) -> None:
        self._max = max_bytes
        self._inner = MemorySegmentCache(max_bytes)

    async def get(self, key: SegmentKey) -> bytes | None:
        return await self._inner.get(key)

    async def put(self, key: SegmentKey, data: bytes) -> None:
        await self._inner.put(key, data)

    def statistics(self) -> CacheStatistics:
        return self._inner.statistics()

    def clear(self) -> None:
        self._inner = MemorySegmentCache(self._max)


@dataclass(frozen=True, slots=True)
class _Rung:
    """What the transcode measurements need from a Reelbox session of the clip."""

    encoding: VideoEncoding
    durations: list[float]  # of the rung's segments, from its media playlist


@dataclass(slots=True)
class _Reelbox:
    url: str
    item_id: int
    playback: Playback
    workers: SegmentWorkers
    cache: _ColdCache
    decisions: dict[str, str] = field(default_factory=dict)

    def body(self, mode: str, rung: int) -> dict[str, Any]:
        """``POST /api/playback``'s body; for a transcode, the user picked the rung's quality."""
        body: dict[str, Any] = {"item_id": self.item_id, "profile": "chromium"}
        if mode == "transcode":
            body["max_height"] = rung
        return body

    async def start(self, client: httpx.AsyncClient, mode: str, rung: int) -> dict[str, Any]:
        response = await client.post(f"{self.url}/api/playback", json=self.body(mode, rung))
        response.raise_for_status()
        started: dict[str, Any] = response.json()
        self.decisions[mode] = started["method"]
        return started

    async def quiesce(self, client: httpx.AsyncClient, session: str) -> None:
        """End the session, wait out a segment it may still be prefetching, empty the cache."""
        (await client.delete(f"{self.url}/api/playback/{session}")).raise_for_status()
        with anyio.fail_after(300):
            while self.workers.statistics().in_flight:  # noqa: ASYNC110 (no event to wait on)
                await anyio.sleep(0.01)
        self.cache.clear()

    async def play(self, mode: str, variant: str, rung: int, *, seek: bool) -> _Timed:
        """A start, or a cold seek to 75% (a new session; the player knows the master
        playlist), timed exchange by exchange; then the audio, timed apart."""
        async with httpx.AsyncClient(timeout=300) as client:
            player = _Player(client)
            body = self.body(mode, rung)
            session = (
                await player.send("session", "POST", f"{self.url}/api/playback", json=body)
            ).json()
            self.decisions[mode] = session["method"]
            master_url = f"{self.url}{session['master_url']}"
            if not seek:
                await player.send("master", "GET", master_url)
            await player.first_segment(_join(master_url, variant), seek=seek)
            video = player.timed()
            master = (await client.get(master_url)).text
            [audio] = re.findall(r'TYPE=AUDIO[^\n]*URI="([^"]+)"', master)
            listener = _Player(client)
            await listener.first_segment(_join(master_url, audio), seek=seek, prefix="audio_")
            await self.quiesce(client, session["session_id"])
        return _Timed(video.ms, {**video.steps, **listener.steps})  # audio: not in the total

    async def rung(self, variant: str, rung: int) -> _Rung:
        async with httpx.AsyncClient(timeout=300) as client:
            session = await self.start(client, "transcode", rung)
            playlist_url = _join(f"{self.url}{session['master_url']}", variant)
            playlist = (await client.get(playlist_url)).text
            plan = self.playback.session(session["session_id"]).plan
            encoding = plan.rendition(variant.split("/", maxsplit=1)[0]).encoding
            await self.quiesce(client, session["session_id"])
        assert isinstance(encoding, VideoEncoding)
        return _Rung(encoding, _durations(playlist))

    async def transcode_span(self, variant: str, rung: int, segments: int) -> tuple[float, int]:
        """The first ``segments`` transcoded segments, fetched in order as a player fetches
        them: (seconds from the first request to the last byte, frames served)."""
        async with httpx.AsyncClient(timeout=300) as client:
            session = await self.start(client, "transcode", rung)
            playlist_url = _join(f"{self.url}{session['master_url']}", variant)
            playlist = (await client.get(playlist_url)).text
            init = (await client.get(_join(playlist_url, "init.mp4"))).content
            parts: list[bytes] = []
            begun = time.perf_counter()
            for uri in _uris(playlist)[:segments]:
                response = await client.get(_join(playlist_url, uri))
                response.raise_for_status()
                parts.append(response.content)
            took = time.perf_counter() - begun
            await self.quiesce(client, session["session_id"])
        return took, _frames(init, *parts)


@asynccontextmanager
async def _reelbox(source: Path, encoders: int) -> AsyncIterator[_Reelbox]:
    """Reelbox as ``reelbox serve`` runs it, over a fresh catalog holding the scanned clip."""
    with tempfile.TemporaryDirectory(prefix="reelbox-bench-") as tmp:
        db = open_database(f"sqlite+aiosqlite:///{tmp}/catalog.db")
        try:
            await migrate.upgrade(db)
            async with db.begin() as conn:
                library = await library_queries.create_library(conn, "Bench", LibraryKind.MOVIES)
                await library_queries.add_local_source(conn, library.id, str(source.parent))
            summary = await Scanner(db, SourceOpener({})).scan(library.id)
            if summary.failed or not summary.probed:
                raise RuntimeError(f"the clip did not scan: {summary.as_dict()}")
            async with db.connect() as conn:
                [item] = await item_queries.list_items(conn, library_id=library.id)
            cache = _ColdCache()
            workers = SegmentWorkers(cache, encoders=encoders)
            playback = Playback(db, workers)
            app = create_app(Services(version=describe()["reelbox"], playback=playback))
            async with _serving(app, workers.run, playback.run) as url:
                yield _Reelbox(url, item.id, playback, workers, cache)
        finally:
            await db.dispose()


# --- the baseline: Jellyfin's HLS streaming -----------------------------------------------------


@dataclass(slots=True)
class _Job:
    """One playback's transcoding job: a folder and the ffmpeg process writing into it."""

    folder: Path
    copy: bool
    segment_s: int
    process: Process | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    def path(self, n: int) -> Path:
        return self.folder / f"main{n}.mp4"  # Jellyfin's <playlist>%d.mp4; the init is main-1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def current_index(self) -> int | None:
        """GetCurrentTranscodingIndex: the newest segment file of a running job."""
        if not self.running:
            return None
        newest = max(
            (p for p in self.folder.glob("main*.mp4") if p.stem != "main-1"),
            key=lambda p: p.stat().st_mtime_ns,
            default=None,
        )
        return None if newest is None else int(newest.stem.removeprefix("main"))

    async def kill(self) -> None:
        if self.process is not None:
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            self.process = None


class Jellyfin:
    """Jellyfin's DynamicHlsController where it decides when a player gets its bytes:
    GetDynamicSegment (start ffmpeg, restart it on a seek) and GetSegmentResult (wait for the
    next segment's file), with its ffmpeg arguments (GetCommandLineArguments)."""

    def __init__(self, source: Path, duration: float, work: Path, rung: VideoEncoding) -> None:
        self.source = source
        self.duration = duration
        self.work = work
        self.rung = rung  # what the client asked for when transcoding: size and bit rate
        self.jobs: dict[str, _Job] = {}
        self.commands: dict[str, str] = {}  # one of each kind, for the report
        self.starts: dict[str, int] = {}  # ffmpeg processes started, by kind

    def app(self) -> Quart:
        app = Quart("jellyfin-baseline")

        @app.get("/healthz")
        async def healthz() -> ResponseReturnValue:
            return "ok"

        @app.post("/Items/PlaybackInfo")
        async def playback_info() -> ResponseReturnValue:
            body = await request.get_json()
            session = uuid.uuid4().hex
            await anyio.Path(self.work / session).mkdir()
            copy = body["mode"] == "remux"
            self.jobs[session] = _Job(self.work / session, copy, 6 if copy else 3)
            return jsonify(session_id=session, master_url=f"/Videos/{session}/master.m3u8"), 201

        @app.delete("/Videos/<session>")
        async def stop(session: str) -> ResponseReturnValue:
            job = self.jobs.pop(session)
            await job.kill()
            await anyio.to_thread.run_sync(shutil.rmtree, job.folder)
            return "", 204

        @app.get("/Videos/<session>/master.m3u8")
        async def master(session: str) -> ResponseReturnValue:
            _ = self.jobs[session]  # an unknown session fails
            return _playlist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=8500000\nmain.m3u8\n")

        @app.get("/Videos/<session>/main.m3u8")
        async def main(session: str) -> ResponseReturnValue:
            lengths = _segment_lengths(self.duration, self.jobs[session].segment_s)
            lines = [
                "#EXTM3U",
                "#EXT-X-PLAYLIST-TYPE:VOD",
                "#EXT-X-VERSION:7",
                f"#EXT-X-TARGETDURATION:{math.ceil(max(lengths))}",
                "#EXT-X-MEDIA-SEQUENCE:0",
                '#EXT-X-MAP:URI="hls1/main/-1.mp4"',
            ]
            for n, length in enumerate(lengths):
                lines += [f"#EXTINF:{length:.6f}, nocache", f"hls1/main/{n}.mp4"]
            return _playlist("\n".join([*lines, "#EXT-X-ENDLIST", ""]))

        @app.get("/Videos/<session>/hls1/main/<segment>.mp4")
        async def segment(session: str, segment: str) -> ResponseReturnValue:
            return await self._dynamic_segment(self.jobs[session], int(segment))

        return app

    async def _dynamic_segment(self, job: _Job, n: int) -> Response:
        path = job.path(n)
        if await anyio.Path(path).exists():
            return await self._segment_result(job, path, n)
        async with job.lock:
            if await anyio.Path(path).exists():
                return await self._segment_result(job, path, n)
            current = job.current_index()
            restart = n == -1 or current is None or n < current
            restart = restart or (
                current is not None and n - current > RESTART_GAP_S // job.segment_s
            )
            n = max(n, 0)  # the init (-1) starts the transcode at segment 0
            if restart:
                await job.kill()
                command = self.command(job, n)
                kind = f"{'remux' if job.copy else 'transcode'}_{'seek' if n else 'start'}"
                self.starts[kind] = self.starts.get(kind, 0) + 1
                shown = " ".join(command).replace(str(job.folder), "<playback>")
                self.commands.setdefault(kind, shown)
                job.process = await anyio.open_process(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                # TranscodeManager.StartFfMpeg waits for the requested file to appear
                while job.running and not await anyio.Path(path).exists():  # noqa: ASYNC110
                    await anyio.sleep(POLL_S)  # Jellyfin polls, so the baseline does
        return await self._segment_result(job, path, n)

    async def _segment_result(self, job: _Job, path: Path, n: int) -> Response:
        exists = await anyio.Path(path).exists()
        if exists:
            current = job.current_index()
            if not job.running or (current is not None and n < current):
                return await _file(path)
        following = anyio.Path(job.path(n + 1))
        while job.running:
            # "To be considered ready, the segment file has to exist AND either the transcoding
            # job should be done or next segment should also exist."
            if exists:
                if await following.exists():
                    return await _file(path)
            else:
                exists = await anyio.Path(path).exists()
                if exists:
                    continue
            await anyio.sleep(POLL_S)
        return await _file(path)

    def command(self, job: _Job, start: int) -> list[str]:
        """ffmpeg's arguments as GetCommandLineArguments writes them for fMP4 segments."""
        seconds = start * job.segment_s
        seek = ["-ss", str(seconds)] if seconds else []
        if job.copy:
            seek += ["-noaccurate_seek"] if seconds else []
            video = ["-codec:v:0", "copy", "-start_at_zero"]
            audio = ["-codec:a:0", "copy"]
        else:
            r = self.rung
            gop = str(math.ceil(job.segment_s * (r.frame_rate or 25)))
            video = [
                "-codec:v:0", "libx264", "-preset", "veryfast", "-profile:v:0", "high",
                "-b:v", str(r.bit_rate), "-maxrate", str(r.max_rate),
                "-bufsize", str(r.buffer_size),
                "-force_key_frames:0", f"expr:gte(t,{seconds}+n_forced*{job.segment_s})",
                "-g:v:0", gop, "-keyint_min:v:0", gop, "-sc_threshold:v:0", "0",
                "-vf", f"scale={r.width}:{r.height},format=yuv420p",
            ]  # fmt: skip
            audio = ["-codec:a:0", "aac", "-ac", "2", "-ab", "128000"]
        return [
            "ffmpeg", "-v", "error", "-nostdin", *seek, "-i", str(self.source),
            "-map_metadata", "-1", "-map_chapters", "-1", "-threads", "0",
            "-map", "0:v:0", "-map", "0:a:0", *video, *audio,
            "-copyts", "-avoid_negative_ts", "disabled", "-max_muxing_queue_size", "2048",
            "-f", "hls", "-max_delay", "5000000", "-hls_time", str(job.segment_s),
            "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "main-1.mp4",
            "-start_number", str(start), "-hls_segment_filename", str(job.folder / "main%d.mp4"),
            "-hls_playlist_type", "vod", "-hls_list_size", "0", "-y", str(job.folder / "main.m3u8"),
        ]  # fmt: skip


def _segment_lengths(duration: float, segment_s: int) -> list[float]:
    """GetSegmentLengthsInternal: equal segments, then a shorter last one."""
    whole, rest = divmod(duration, segment_s)
    return [float(segment_s)] * int(whole) + ([rest] if rest > 1e-6 else [])


def _playlist(text: str) -> Response:
    return Response(text, content_type="application/vnd.apple.mpegurl")


async def _file(path: Path) -> Response:
    if not await anyio.Path(path).exists():
        return Response("transcoding quit before the segment was written", status=404)
    return Response(await anyio.Path(path).read_bytes(), content_type="video/mp4")


async def _baseline_play(url: str, mode: str) -> tuple[_Timed, _Timed]:
    """A start, then a seek to 75% in the same playback: ffmpeg killed and started again."""
    async with httpx.AsyncClient(timeout=300) as client:
        player = _Player(client)
        session = (
            await player.send("session", "POST", f"{url}/Items/PlaybackInfo", json={"mode": mode})
        ).json()
        master_url = f"{url}{session['master_url']}"
        master = (await player.send("master", "GET", master_url)).text
        playlist_url = _join(master_url, _uris(master)[0])
        await player.first_segment(playlist_url, seek=False)
        seeker = _Player(client)
        await seeker.first_segment(playlist_url, seek=True)
        (await client.delete(f"{url}/Videos/{session['session_id']}")).raise_for_status()
    return player.timed(), seeker.timed()


def _ffmpeg_transcode(source: Path, rung: _Rung, segments: int, out: Path) -> tuple[float, int]:
    """The ffmpeg CLI with Reelbox's encoder settings over the same span: (seconds, frames)."""
    e = rung.encoding
    starts = [sum(rung.durations[:k]) for k in range(segments)]
    command = [
        "ffmpeg", "-v", "error", "-nostdin", "-i", str(source),
        "-t", f"{sum(rung.durations[:segments]):.6f}", "-map", "0:v:0", "-an", "-sn",
        "-vf", f"scale={e.width}:{e.height}:flags=bicubic,format={e.pix_fmt}",
        "-c:v", e.encoder, "-preset", e.preset, "-profile:v", e.profile,
        "-level", f"{e.level // 10}.{e.level % 10}", "-b:v", str(e.bit_rate),
        "-maxrate", str(e.max_rate), "-bufsize", str(e.buffer_size),
        "-forced-idr", "1", "-x264-params", X264_PARAMS,
        "-force_key_frames", ",".join(f"{s:.6f}" for s in starts),
        "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-y", str(out),
    ]  # fmt: skip
    begun = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - begun, _frames(out.read_bytes())


# --- the run ------------------------------------------------------------------------------------


@asynccontextmanager
async def _serving(
    app: Quart, *services: Callable[..., Coroutine[Any, Any, None]]
) -> AsyncIterator[str]:
    """``app`` under Hypercorn on a loopback port, with ``services`` started beside it. The
    socket listens before Hypercorn starts, so requests can be sent at once (they queue)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        config = Config()
        config.bind = [f"fd://{os.dup(listener.fileno())}"]  # Hypercorn closes its own
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")  # through structlog, as serve
        stop, stopped = anyio.Event(), anyio.Event()

        async def http() -> None:
            await serve(app, config, shutdown_trigger=stop.wait)
            stopped.set()

        async with anyio.create_task_group() as tg:
            for service in services:
                await tg.start(service)
            tg.start_soon(http)
            try:
                yield f"http://127.0.0.1:{listener.getsockname()[1]}"
            finally:
                stop.set()  # Hypercorn drains its connections, then the rest stops
                with anyio.fail_after(15):
                    await stopped.wait()
                tg.cancel_scope.cancel()


class _Bench:
    def __init__(self, source: Path, spec: ClipSpec, encoders: int, fps_seconds: float) -> None:
        self.source = source
        self.spec = spec
        self.encoders = encoders
        self.fps_seconds = fps_seconds
        with av.open(str(source)) as container:
            self.duration = float(container.duration or 0) / av.time_base
            self.bit_rate = container.bit_rate
        self.times: dict[str, dict[str, list[float]]] = {
            name: {"reelbox": [], "baseline": []} for name in TARGETS
        }
        self.steps: dict[str, dict[str, list[dict[str, float]]]] = {}
        self.frames: dict[str, int] = {}
        self.span_s = 0.0
        self.decisions: dict[str, str] = {}
        self.commands: dict[str, str] = {}
        self.ffmpeg_starts: dict[str, int] = {}

    async def main(self, rounds: int, warmup: int) -> None:
        spec = self.spec
        async with _reelbox(self.source, self.encoders) as reelbox:
            async with httpx.AsyncClient() as client:  # the renditions, as a player sees them
                session = await reelbox.start(client, "remux", spec.rung)
                master = (await client.get(f"{reelbox.url}{session['master_url']}")).text
                await reelbox.quiesce(client, session["session_id"])
            variants = {
                "remux": _variant(master, spec.height),
                "transcode": _variant(master, spec.rung),
            }
            rung = await reelbox.rung(variants["transcode"], spec.rung)
            durations = rung.durations
            segments = next(
                (
                    n + 1
                    for n in range(len(durations))
                    if sum(durations[: n + 1]) >= self.fps_seconds
                ),
                len(durations),
            )
            self.span_s = sum(durations[:segments])
            with tempfile.TemporaryDirectory(prefix="reelbox-bench-jellyfin-") as work:
                jellyfin = Jellyfin(self.source, self.duration, Path(work), rung.encoding)
                async with _serving(jellyfin.app()) as url:
                    for n in range(warmup + rounds):
                        recorded = n >= warmup
                        if n % 2 == 0:  # alternate which side goes first
                            await self._reelbox_round(reelbox, variants, recorded)
                        await self._baseline_round(url, recorded)
                        if n % 2:
                            await self._reelbox_round(reelbox, variants, recorded)
                        if recorded:
                            await self._throughput(
                                reelbox, variants["transcode"], rung, segments, n
                            )
                        assert not jellyfin.jobs, "a baseline playback was left running"
                self.commands = dict(jellyfin.commands)
                self.ffmpeg_starts = dict(jellyfin.starts)
            self.decisions = dict(reelbox.decisions)

    async def _reelbox_round(
        self, reelbox: _Reelbox, variants: dict[str, str], recorded: bool
    ) -> None:
        for mode in MODES:
            for seek in (False, True):
                timed = await reelbox.play(mode, variants[mode], self.spec.rung, seek=seek)
                if recorded:
                    self._record(f"{mode}_{'seek' if seek else 'start'}_ms", "reelbox", timed)

    async def _baseline_round(self, url: str, recorded: bool) -> None:
        for mode in MODES:
            start, seek = await _baseline_play(url, mode)
            if recorded:
                self._record(f"{mode}_start_ms", "baseline", start)
                self._record(f"{mode}_seek_ms", "baseline", seek)

    async def _throughput(
        self, reelbox: _Reelbox, variant: str, rung: _Rung, segments: int, n: int
    ) -> None:
        async def ours() -> None:
            took, frames = await reelbox.transcode_span(variant, self.spec.rung, segments)
            self.times["transcode_fps"]["reelbox"].append(frames / took)
            self.frames["reelbox"] = frames

        async def theirs() -> None:
            with tempfile.TemporaryDirectory(prefix="reelbox-bench-ffmpeg-") as tmp:
                took, frames = await anyio.to_thread.run_sync(
                    _ffmpeg_transcode, self.source, rung, segments, Path(tmp) / "out.mp4"
                )
            self.times["transcode_fps"]["baseline"].append(frames / took)
            self.frames["baseline"] = frames

        for side in (theirs, ours) if n % 2 else (ours, theirs):
            await side()

    def _record(self, name: str, side: str, timed: _Timed) -> None:
        self.times[name][side].append(timed.ms)
        self.steps.setdefault(name, {}).setdefault(side, []).append(timed.steps)

    def report(self, rounds: int, warmup: int) -> dict[str, Any]:
        result: dict[str, Any] = {"scenario": "stream"}
        targets: dict[str, Any] = {}
        for name, goal in TARGETS.items():
            ours = statistics.median(self.times[name]["reelbox"])
            theirs = statistics.median(self.times[name]["baseline"])
            ratio = ours / theirs if name.endswith("_fps") else theirs / ours
            result[name] = {
                "reelbox": round(ours, 1),
                "baseline": round(theirs, 1),
                "ratio": round(ratio, 2),
            }
            targets[name] = {"ratio_at_least": goal, "met": ratio >= goal}
        result["targets"] = targets
        result["breakdown_ms"] = {
            name: {
                side: {step: round(statistics.median(s[step] for s in runs), 1) for step in runs[0]}
                for side, runs in sides.items()
            }
            for name, sides in self.steps.items()
        }
        result["runs"] = {
            name: {side: [round(x, 1) for x in values] for side, values in sides.items()}
            for name, sides in self.times.items()
        }
        result["clip"] = {
            "seconds": round(self.duration, 3),
            "width": self.spec.width,
            "height": self.spec.height,
            "fps": self.spec.fps,
            "gop_frames": self.spec.gop,
            "video": "h264",
            "audio": "aac",
            "bit_rate": self.bit_rate,
        }
        result["settings"] = {
            "rounds": rounds,
            "warmup_rounds": warmup,
            "seek_to": SEEK_AT,
            "transcode_to": f"{self.spec.rung}p",
            "reelbox_encoders": self.encoders,
            "reelbox_decisions": self.decisions,
            "fps_span_s": round(self.span_s, 3),
            "fps_frames": self.frames,
            "baseline_poll_s": POLL_S,
            "baseline_ffmpeg_starts": self.ffmpeg_starts,  # warm-up rounds included
            "baseline_commands": self.commands,
        }
        result["machine"] = describe()
        return result

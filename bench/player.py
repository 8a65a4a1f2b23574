"""A simulated HLS player: many of them run in one event loop against a Reelbox server.

A player does what hls.js does, on one keep-alive HTTP/1.1 connection of its own:

- ``POST /api/playback`` (the item and the ``chromium`` profile; for a transcode, the quality
  picked: ``max_height``), the master playlist, the video variant's and the audio rendition's
  media playlists and init segments;
- segments from a random starting position, video then audio for each: the first three back to
  back (the prefetch a player does at start), then one more each time the playhead enters a
  new segment, so three stay buffered ahead and the fetching runs at real-time pace;
- a **stall** is a segment arriving after the playhead reached its start (the buffer ran dry):
  the playhead then waits for it, as a player freezes;
- a seeker jumps once, at a random moment, to a random segment: the buffer is dropped and the
  prefetch starts again there (seek latency: from the jump to that segment's arrival);
- a progress report every 10 s (``POST /api/playback/<id>/progress``) and ``DELETE`` at the end;
- past the last segment it goes on from the first (a next title, for the server).

The client is a few lines of HTTP/1.1 over anyio streams rather than httpx: with hundreds of
players on two cores the load generator's own CPU is the limit of what can be measured, and
reading a body in large chunks and dropping it costs a fraction of a full client. A ``429`` is
retried after its ``Retry-After`` (counted as ``rejected``); any other failure is an error, and
the segment is tried again, three times at most.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc

from bench import hls

PREFETCH = 3  # segments a player fetches ahead at start, and keeps ahead
PROGRESS_EVERY_S = 10.0
ATTEMPTS = 3
_READ = 1 << 20


class HttpError(Exception):
    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes  # empty when the body was only counted
    size: int


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed an idle one."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._stream: anyio.abc.SocketStream | None = None
        self._buffer = bytearray()

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()
            self._stream = None

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        keep: bool = True,
    ) -> Reply:
        """The reply to one request; with ``keep=False`` the body is read and counted only."""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        reused = self._stream is not None
        try:
            return await self._exchange(data, keep)
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
            await self.aclose()
            if not reused:
                raise
        return await self._exchange(data, keep)  # the server had closed the idle connection

    async def _exchange(self, data: bytes, keep: bool) -> Reply:
        if self._stream is None:
            self._stream = await anyio.connect_tcp(self._host, self._port)
            self._buffer.clear()
        await self._stream.send(data)
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._buffer += await self._stream.receive(_READ)
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunked()
            size = len(content)
        else:
            size = int(headers.get("content-length", "0"))
            content = await self._exactly(size, keep)
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return Reply(status, headers, content if keep else b"", size)

    async def _exactly(self, size: int, keep: bool) -> bytes:
        assert self._stream is not None
        parts: list[bytes] = []
        left = size
        while left > 0:
            if not self._buffer:
                self._buffer += await self._stream.receive(min(_READ, max(left, 65536)))
            take = min(left, len(self._buffer))
            if keep:
                parts.append(bytes(self._buffer[:take]))
            del self._buffer[:take]
            left -= take
        return b"".join(parts)

    async def _chunked(self) -> bytes:
        assert self._stream is not None
        parts: list[bytes] = []
        while True:
            while (end := self._buffer.find(b"\r\n")) < 0:
                self._buffer += await self._stream.receive(_READ)
            size = int(self._buffer[:end].split(b";")[0], 16)
            del self._buffer[: end + 2]
            parts.append(await self._exactly(size, True))
            await self._exactly(2, False)  # the CRLF after the chunk
            if size == 0:
                return b"".join(parts)


@dataclass(slots=True)
class Tally:
    """What every player of one run saw, merged."""

    segment_ms: list[float] = field(default_factory=list)  # video segments, request to last byte
    audio_ms: list[float] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)  # POST /api/playback to the 1st segment
    seek_ms: list[float] = field(default_factory=list)
    segments: int = 0  # video + audio segments received
    bytes: int = 0
    stalls: int = 0
    stall_s: float = 0.0
    stalled_players: int = 0
    players: int = 0
    seeks: int = 0
    rejected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "players": self.players,
            "players_started": len(self.start_ms),
            "segments": self.segments,
            "mbytes": round(self.bytes / 1e6, 1),
            "segment_p50_ms": percentile(self.segment_ms, 50),
            "segment_p99_ms": percentile(self.segment_ms, 99),
            "segment_max_ms": round(max(self.segment_ms), 1) if self.segment_ms else None,
            "audio_p99_ms": percentile(self.audio_ms, 99),
            "start_p50_ms": percentile(self.start_ms, 50),
            "start_p99_ms": percentile(self.start_ms, 99),
            "seeks": self.seeks,
            "seek_p50_ms": percentile(self.seek_ms, 50),
            "seek_p99_ms": percentile(self.seek_ms, 99),
            "stalls": self.stalls,
            "stalled_players": self.stalled_players,
            "stall_s": round(self.stall_s, 2),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "rejected_429": self.rejected,
            "methods": dict(self.methods),
        }


def percentile(values: list[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 1)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one player does."""

    item: int
    until: float  # perf_counter time at which it stops
    transcode_height: int | None  # None: the original (direct stream, a remux)
    seek_at: float | None  # perf_counter time of its one seek, if it seeks
    rng_seed: int


class Player:
    def __init__(self, url: str, auth: dict[str, str], plan: Plan, tally: Tally) -> None:
        self._url = url
        self._auth = auth
        self._plan = plan
        self._tally = tally
        self._rng = random.Random(plan.rng_seed)
        self._http = Connection(url)
        self._stalled = False
        self._next_report = 0.0

    async def run(self) -> None:
        self._tally.players += 1
        try:
            await self._play()
        except Exception as exc:  # one player's failure is a result, not the run's end
            self._tally.errors[_kind(exc)] += 1
        finally:
            if self._stalled:
                self._tally.stalled_players += 1
            await self._http.aclose()

    async def _get(self, target: str, *, keep: bool = True, what: str = "") -> Reply:
        while True:
            reply = await self._http.request("GET", target, keep=keep)
            if reply.status == 429 and time.perf_counter() < self._plan.until:
                await self._rejected(reply)
                continue
            if reply.status >= 400:
                raise HttpError(reply.status, what or urlsplit(target).path.rsplit("/", 1)[-1])
            return reply

    async def _rejected(self, reply: Reply) -> None:
        self._tally.rejected += 1
        await anyio.sleep(min(float(reply.headers.get("retry-after", "1")), 5.0))

    async def _play(self) -> None:
        plan = self._plan
        begun = time.perf_counter()
        body: dict[str, Any] = {"item_id": plan.item, "profile": "chromium"}
        if plan.transcode_height is not None:
            body["max_height"] = plan.transcode_height
        reply = await self._json("POST", "/api/playback", body)
        session = reply["session_id"]
        self._tally.methods[reply["method"]] += 1
        master_url = reply["master_url"]
        token = reply.get("stream_token")
        master = (await self._get(master_url, what="master")).body.decode()
        height = plan.transcode_height or _top_height(master)
        video_url = hls.join(self._url + master_url, hls.variant(master, height))
        audio_url = hls.join(self._url + master_url, hls.audio_uri(master))
        video = (await self._get(_target(video_url), what="playlist")).body.decode()
        audio = (await self._get(_target(audio_url), what="playlist")).body.decode()
        await self._get(_target(hls.join(video_url, hls.init_uri(video))), what="init")
        await self._get(_target(hls.join(audio_url, hls.init_uri(audio))), what="init")
        tracks = _Tracks(
            hls.durations(video),
            [_target(hls.join(video_url, u)) for u in hls.uris(video)],
            [_target(hls.join(audio_url, u)) for u in hls.uris(audio)],
        )
        try:
            await self._stream(tracks, session, begun)
        finally:
            with anyio.move_on_after(10, shield=True):
                headers = {**self._auth} if token is None else {}
                target = f"/api/playback/{session}" + (f"?token={token}" if token else "")
                await self._http.request("DELETE", target, headers=headers)

    async def _stream(self, tracks: _Tracks, session: str, begun: float) -> None:
        """Play from a random segment at real-time pace until the plan's end; seek once."""
        count = len(tracks.durations)
        seek_at = self._plan.seek_at
        latencies = self._tally.start_ms
        self._next_report = begun + PROGRESS_EVERY_S
        while await self._pass(
            tracks, session, self._rng.randrange(count), begun, latencies, seek_at=seek_at
        ):
            self._tally.seeks += 1
            seek_at = None
            begun = time.perf_counter()
            latencies = self._tally.seek_ms

    async def _pass(
        self,
        tracks: _Tracks,
        session: str,
        first: int,
        wanted_at: float,
        latencies: list[float],
        *,
        seek_at: float | None,
    ) -> bool:
        """Segments from ``first`` on, until the end (False) or the seek (True)."""
        until = self._plan.until
        count = len(tracks.durations)
        played_from: float | None = None  # when the first segment arrived
        stall = 0.0  # seconds the playhead waited so far
        starts: list[float] = []  # media offset of each fetched segment from the first
        offset = 0.0
        while True:
            k = len(starts)
            if k >= PREFETCH and played_from is not None:
                due = played_from + starts[k - PREFETCH] + stall  # the buffer drops below 3
                wake = min(due, until, seek_at or until, self._next_report)
                now = time.perf_counter()
                if wake > now:
                    await anyio.sleep(wake - now)
                    now = time.perf_counter()
                if now >= until:
                    return False
                if now >= self._next_report:
                    played = max(0.0, now - played_from - stall)
                    position = sum(tracks.durations[:first]) + played
                    await self._progress(session, int(position * 1e6))
                    self._next_report = now + PROGRESS_EVERY_S
                    continue
                if seek_at is not None and now >= seek_at:
                    return True
                if now < due:
                    continue
            elif time.perf_counter() >= until:
                return False
            await self._segment(tracks, (first + k) % count)
            arrived = time.perf_counter()
            starts.append(offset)
            if played_from is None:
                played_from = arrived
                latencies.append((arrived - wanted_at) * 1000)
            else:
                late = arrived - (played_from + offset + stall)
                if late > 0:
                    self._tally.stalls += 1
                    self._tally.stall_s += late
                    self._stalled = True
                    stall += late
            offset += tracks.durations[(first + k) % count]

    async def _segment(self, tracks: _Tracks, n: int) -> None:
        for urls, times in (
            (tracks.video, self._tally.segment_ms),
            (tracks.audio, self._tally.audio_ms),
        ):
            for attempt in range(ATTEMPTS):
                sent = time.perf_counter()
                try:
                    reply = await self._get(urls[n], keep=False, what="segment")
                except (HttpError, OSError, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                    self._tally.errors[_kind(exc)] += 1
                    await self._http.aclose()
                    if attempt + 1 == ATTEMPTS:
                        raise
                    await anyio.sleep(0.5)
                    continue
                times.append((time.perf_counter() - sent) * 1000)
                self._tally.segments += 1
                self._tally.bytes += reply.size
                break

    async def _progress(self, session: str, position_us: int) -> None:
        try:
            await self._json(
                "POST", f"/api/playback/{session}/progress", {"position_us": position_us}, 204
            )
        except (HttpError, OSError) as exc:
            self._tally.errors[f"progress {_kind(exc)}"] += 1

    async def _json(self, method: str, target: str, body: dict[str, Any], ok: int = 201) -> Any:
        headers = {**self._auth, "Content-Type": "application/json"}
        while True:
            reply = await self._http.request(
                method, target, headers=headers, body=json.dumps(body).encode()
            )
            if reply.status == 429 and time.perf_counter() < self._plan.until:
                await self._rejected(reply)
                continue
            if reply.status != ok:
                raise HttpError(reply.status, target.rsplit("/", 1)[-1])
            return json.loads(reply.body) if reply.body else None


@dataclass(frozen=True, slots=True)
class _Tracks:
    durations: list[float]
    video: list[str]
    audio: list[str]


def _target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _top_height(master: str) -> int:
    return max(int(h) for h in re.findall(r"RESOLUTION=\d+x(\d+)", master))


def _kind(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return str(exc)
    return type(exc).__name__

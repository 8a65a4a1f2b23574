"""Streaming routes: start a playback session, then its HLS and DASH playlists and segments.

Thin: each route parses, calls ``Playback``, and sets the HTTP details (content types, caching;
CORS is the app's). Errors go through ``web.errors`` (an unknown session is 404, a busy server 429).

With authentication configured (``auth``), starting a session needs a login, the item must be
one the user may see (404 otherwise), and the session's URLs carry a stream token
(``?token=``): players that cannot send headers (hls.js, AVPlayer, TVs) follow the playlists'
URIs, so every URI written into a playlist or manifest carries the token it was fetched with. A
session's routes answer its owner (by login or by its stream token) and admins; to anyone else
the session does not exist (404). Without ``auth`` (component tests, benchmarks) they are open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, ParamSpec, TypeVar
from urllib.parse import urlencode

import anyio
from pydantic import Field, JsonValue, field_validator
from quart import Blueprint, Response, redirect, request, send_file
from quart.typing import ResponseReturnValue
from quart_schema import document_response, validate_request
from werkzeug.datastructures import Range
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from engine.errors import NotFound
from engine.segmenter.playlists import dash_manifest, hls_master, hls_media, hls_subtitles
from engine.segmenter.renditions import RenditionKind
from engine.sessions.decision import Method
from engine.sessions.profiles import BUILT_IN, Limits
from web.api.cache import json_response
from web.api.context import viewer_of
from web.api.openapi import errors, no_content
from web.api.schemas import Body, Id, Out
from web.auth.principal import (
    Principal,
    allow_stream_token,
    optional_principal,
    require_login,
)
from web.auth.service import Auth
from web.playback import Playback, PlaybackSession

PLAYLIST = "application/vnd.apple.mpegurl"
WEBVTT = "text/vtt; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
DIRECT_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "ts": "video/mp2t",
}


Count = Annotated[int, Field(ge=0, le=2**63 - 1)]


class PlaybackStart(Body):
    item_id: Id
    profile: str = Field(
        default="chromium",
        description="the device's profile: what it plays without help",
        json_schema_extra={"enum": list[JsonValue](sorted(BUILT_IN))},
    )
    max_height: Count | None = Field(default=None, description="pixels; null: the profile's")
    max_bitrate: Count | None = Field(default=None, description="bit/s; null: the profile's")
    audio_stream: Count | None = Field(default=None, description="the source's audio stream")

    @field_validator("profile")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in BUILT_IN:
            raise ValueError(f"profile must be one of {', '.join(sorted(BUILT_IN))}")
        return value


class PlaybackStarted(Out):
    """A playback session: the decision, and where to fetch what it serves."""

    session_id: str
    stream_token: str | None = Field(description="carried by the URLs below; null without logins")
    method: str = Field(description="direct_play, direct_stream or transcode")
    video: str | None
    audio: str | None
    reasons: list[str] = Field(description="why the source is not played as it is")
    renditions: list[str]
    master_url: str
    dash_url: str
    direct_url: str | None


class ProgressReport(Body):
    position_us: Count
    paused: bool = False


P = ParamSpec("P")
R = TypeVar("R")
View = Callable[P, Awaitable[R]]


def streaming_routes(playback: Playback, auth: Auth | None = None) -> Blueprint:
    routes = Blueprint("streaming", __name__)

    def login(view: View[P, R]) -> View[P, R]:
        return view if auth is None else require_login(view)

    def owner_or_token(view: View[P, R]) -> View[P, R]:
        return view if auth is None else allow_stream_token("session_id")(view)

    def session_of(session_id: str) -> PlaybackSession:
        """The session, if the caller may use it (404 otherwise, as for an unknown one)."""
        session = playback.session(session_id)
        principal = optional_principal() if auth is not None else None
        if principal is not None and not _owns(principal, session):
            raise NotFound(f"no playback session {session_id!r} (it may have ended)")
        return session

    @routes.post("/api/playback")
    @login
    @validate_request(PlaybackStart)
    @document_response(PlaybackStarted, 201)
    @errors(404, 429)
    async def start(data: PlaybackStart) -> Response:
        """Start playing an item: the decision, with the URLs of its playlists and file."""
        principal = optional_principal() if auth is not None else None
        session = await playback.create(
            data.item_id,
            BUILT_IN[data.profile],
            audio_stream=data.audio_stream,
            limits=Limits(max_bitrate=data.max_bitrate, max_height=data.max_height),
            user_id=principal.user_id if principal else None,
            viewer=None if principal is None else viewer_of(principal),
        )
        base = f"/stream/{session.id}"
        decision = session.decision
        token = None
        if auth is not None and principal is not None:
            token = (await auth.stream_token(principal, session.id)).token
        query = _query(token=token)
        started = PlaybackStarted(
            stream_token=token,
            session_id=session.id,
            method=decision.method.value,
            video=decision.video.value if decision.video else None,
            audio=decision.audio.value if decision.audio else None,
            reasons=[r.value for r in decision.reasons],
            renditions=[r.id for r in session.plan.renditions],
            master_url=f"{base}/master.m3u8{query}",
            dash_url=f"{base}/manifest.mpd{query}",
            direct_url=f"{base}/file{query}" if decision.method is Method.DIRECT_PLAY else None,
        )
        return json_response(started, 201)

    @routes.delete("/api/playback/<session_id>")
    @owner_or_token
    @no_content()
    async def stop(session_id: str) -> ResponseReturnValue:
        """End a playback session."""
        await playback.close(session_of(session_id).id)
        return "", 204

    @routes.post("/api/playback/<session_id>/progress")
    @owner_or_token
    @validate_request(ProgressReport)
    @no_content()
    async def progress(session_id: str, data: ProgressReport) -> ResponseReturnValue:
        """Where the player is: kept as the user's resume position."""
        session_of(session_id)
        playback.progress(session_id, data.position_us, paused=data.paused)
        return "", 204

    @routes.get("/stream/<session_id>/file")
    @owner_or_token
    async def direct(session_id: str) -> ResponseReturnValue:
        """Direct play: the file itself, with HTTP Range requests (206) for seeking."""
        session = session_of(session_id)
        if session.local_path is None:
            # An S3 object: the client fetches it (with its own ranges) from the store itself.
            assert session.presign is not None
            response = redirect(await session.presign(), code=307)
            response.headers["Cache-Control"] = "private, no-store"
            return response
        mimetype = DIRECT_TYPES.get(session.decision.container, "application/octet-stream")
        wanted = request.range
        if wanted is not None and len(wanted.ranges) == 1 and wanted.ranges[0][0] < 0:
            # A suffix range ("the last N bytes", how some players find an MP4's trailing
            # moov): Quart's file body cannot take one, so resolve it against the size here.
            return await _file_slice(session.local_path, wanted, mimetype)
        return await send_file(session.local_path, mimetype=mimetype, conditional=True)

    @routes.get("/stream/<session_id>/master.m3u8")
    @owner_or_token
    async def master(session_id: str) -> ResponseReturnValue:
        plan = session_of(session_id).plan
        query = _query(token=request.args.get("token"))
        text = hls_master(plan.renditions, uri=lambda r: f"{r.id}/index.m3u8{query}")
        return _text(text, PLAYLIST)

    @routes.get("/stream/<session_id>/<rendition_id>/index.m3u8")
    @owner_or_token
    async def media(session_id: str, rendition_id: str) -> ResponseReturnValue:
        plan = session_of(session_id).plan
        rendition = plan.rendition(rendition_id)  # 404 for an unknown rendition
        query = _query(token=request.args.get("token"))
        if rendition.kind is RenditionKind.SUBTITLE:
            text = hls_subtitles(
                plan.boundaries,
                time_base=plan.time_base,
                segment_uri=lambda n: f"{n}.vtt{query}",
            )
            return _text(text, PLAYLIST)
        ts = request.args.get("container") == "ts"
        suffix = "ts" if ts else "m4s"
        text = hls_media(
            plan.boundaries,
            time_base=plan.time_base,
            segment_uri=lambda n: f"{n}.{suffix}{query}",
            init_uri=None if ts else f"init.mp4{query}",
        )
        return _text(text, PLAYLIST)

    @routes.get("/stream/<session_id>/manifest.mpd")
    @owner_or_token
    async def manifest(session_id: str) -> ResponseReturnValue:
        plan = session_of(session_id).plan
        query = _query(token=request.args.get("token"))
        text = dash_manifest(
            plan.renditions,
            plan.boundaries,
            time_base=plan.time_base,
            initialization=f"$RepresentationID$/init.mp4{query}",
            media=f"$RepresentationID$/$Number$.m4s{query}",
        )
        return _text(text, "application/dash+xml")

    @routes.get("/stream/<session_id>/<rendition_id>/init.mp4")
    @owner_or_token
    async def init(session_id: str, rendition_id: str) -> ResponseReturnValue:
        data = await playback.segment(session_of(session_id).id, rendition_id, None)
        return _segment(data, "video/mp4")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.m4s")
    @owner_or_token
    async def fragment(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_of(session_id).id, rendition_id, n)
        return _segment(data, "video/iso.segment")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.ts")
    @owner_or_token
    async def transport(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_of(session_id).id, rendition_id, n, "mpegts")
        return _segment(data, "video/mp2t")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.vtt")
    @owner_or_token
    async def subtitles(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_of(session_id).id, rendition_id, n, "webvtt")
        return _segment(data, WEBVTT)

    return routes


async def _file_slice(path: str, wanted: Range, mimetype: str) -> Response:
    size = (await anyio.Path(path).stat()).st_size
    span = wanted.range_for_length(size)
    if span is None:
        raise RequestedRangeNotSatisfiable(size)
    start, stop = span

    async def body() -> AsyncIterator[bytes]:
        async with await anyio.open_file(path, "rb") as handle:
            await handle.seek(start)
            left = stop - start
            while left > 0:
                chunk = await handle.read(min(left, 1 << 20))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    return Response(
        body(),
        status=206,
        content_type=mimetype,
        headers={
            "Content-Range": f"bytes {start}-{stop - 1}/{size}",
            "Content-Length": str(stop - start),
            "Accept-Ranges": "bytes",
        },
    )


def _owns(principal: Principal, session: PlaybackSession) -> bool:
    if principal.method == "stream":
        return principal.may_stream(session.id)
    return principal.is_admin or session.user_id == principal.user_id


def _query(**params: str | None) -> str:
    """``?a=b`` for the parameters that have a value, else nothing."""
    present = {k: v for k, v in params.items() if v}
    return f"?{urlencode(present)}" if present else ""


def _text(text: str, content_type: str) -> Response:
    return Response(text, content_type=content_type, headers={"Cache-Control": "no-cache"})


def _segment(data: bytes, content_type: str) -> Response:
    return Response(data, content_type=content_type, headers={"Cache-Control": IMMUTABLE})

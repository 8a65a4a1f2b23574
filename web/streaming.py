"""Streaming routes: start a playback session, then its HLS and DASH playlists and segments.

Thin: each route parses, calls ``Playback``, and sets the HTTP details (content types, caching,
CORS). Errors go through ``web.errors`` (an unknown session is 404, a busy server 429). The API
issue wraps these in authentication.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from quart import Blueprint, Response, jsonify, redirect, request, send_file
from quart.typing import ResponseReturnValue
from werkzeug.datastructures import Range
from werkzeug.exceptions import BadRequest, RequestedRangeNotSatisfiable

from engine.segmenter.playlists import dash_manifest, hls_master, hls_media, hls_subtitles
from engine.segmenter.renditions import RenditionKind
from engine.sessions.decision import Method
from engine.sessions.profiles import BUILT_IN, Limits
from web.playback import Playback

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


def streaming_routes(playback: Playback) -> Blueprint:
    routes = Blueprint("streaming", __name__)

    @routes.after_request
    async def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @routes.post("/api/playback")
    async def start() -> ResponseReturnValue:
        body = await request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest('send a JSON object: {"item_id": 1, "profile": "chromium"}')
        item_id = _int(body, "item_id", required=True)
        name = body.get("profile", "chromium")
        profile = BUILT_IN.get(name) if isinstance(name, str) else None
        if profile is None:
            raise BadRequest(f"profile must be one of {', '.join(sorted(BUILT_IN))}")
        limits = Limits(max_bitrate=_int(body, "max_bitrate"), max_height=_int(body, "max_height"))
        assert item_id is not None
        session = await playback.create(
            item_id, profile, audio_stream=_int(body, "audio_stream"), limits=limits
        )
        base = f"/stream/{session.id}"
        decision = session.decision
        return jsonify(
            session_id=session.id,
            method=decision.method.value,
            video=decision.video.value if decision.video else None,
            audio=decision.audio.value if decision.audio else None,
            reasons=[r.value for r in decision.reasons],
            renditions=[r.id for r in session.plan.renditions],
            master_url=f"{base}/master.m3u8",
            dash_url=f"{base}/manifest.mpd",
            direct_url=f"{base}/file" if decision.method is Method.DIRECT_PLAY else None,
        ), 201

    @routes.delete("/api/playback/<session_id>")
    async def stop(session_id: str) -> ResponseReturnValue:
        await playback.close(session_id)
        return "", 204

    @routes.post("/api/playback/<session_id>/progress")
    async def progress(session_id: str) -> ResponseReturnValue:
        body = await request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest('send a JSON object: {"position_us": 12000000, "paused": false}')
        position = _int(body, "position_us", required=True)
        assert position is not None
        playback.progress(session_id, position, paused=bool(body.get("paused", False)))
        return "", 204

    @routes.get("/stream/<session_id>/file")
    async def direct(session_id: str) -> ResponseReturnValue:
        """Direct play: the file itself, with HTTP Range requests (206) for seeking."""
        session = playback.session(session_id)
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
    async def master(session_id: str) -> ResponseReturnValue:
        plan = playback.session(session_id).plan
        text = hls_master(plan.renditions, uri=lambda r: f"{r.id}/index.m3u8")
        return _text(text, PLAYLIST)

    @routes.get("/stream/<session_id>/<rendition_id>/index.m3u8")
    async def media(session_id: str, rendition_id: str) -> ResponseReturnValue:
        plan = playback.session(session_id).plan
        rendition = plan.rendition(rendition_id)  # 404 for an unknown rendition
        if rendition.kind is RenditionKind.SUBTITLE:
            text = hls_subtitles(
                plan.boundaries, time_base=plan.time_base, segment_uri=lambda n: f"{n}.vtt"
            )
            return _text(text, PLAYLIST)
        ts = request.args.get("container") == "ts"
        text = hls_media(
            plan.boundaries,
            time_base=plan.time_base,
            segment_uri=(lambda n: f"{n}.ts") if ts else (lambda n: f"{n}.m4s"),
            init_uri=None if ts else "init.mp4",
        )
        return _text(text, PLAYLIST)

    @routes.get("/stream/<session_id>/manifest.mpd")
    async def manifest(session_id: str) -> ResponseReturnValue:
        plan = playback.session(session_id).plan
        text = dash_manifest(
            plan.renditions,
            plan.boundaries,
            time_base=plan.time_base,
            initialization="$RepresentationID$/init.mp4",
            media="$RepresentationID$/$Number$.m4s",
        )
        return _text(text, "application/dash+xml")

    @routes.get("/stream/<session_id>/<rendition_id>/init.mp4")
    async def init(session_id: str, rendition_id: str) -> ResponseReturnValue:
        data = await playback.segment(session_id, rendition_id, None)
        return _segment(data, "video/mp4")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.m4s")
    async def fragment(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_id, rendition_id, n)
        return _segment(data, "video/iso.segment")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.ts")
    async def transport(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_id, rendition_id, n, "mpegts")
        return _segment(data, "video/mp2t")

    @routes.get("/stream/<session_id>/<rendition_id>/<int:n>.vtt")
    async def subtitles(session_id: str, rendition_id: str, n: int) -> ResponseReturnValue:
        data = await playback.segment(session_id, rendition_id, n, "webvtt")
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


def _int(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer")
    return value


def _text(text: str, content_type: str) -> Response:
    return Response(text, content_type=content_type, headers={"Cache-Control": "no-cache"})


def _segment(data: bytes, content_type: str) -> Response:
    return Response(data, content_type=content_type, headers={"Cache-Control": IMMUTABLE})

"""Streaming routes: start a playback session, then its HLS and DASH playlists and segments.

Thin: each route parses, calls ``Playback``, and sets the HTTP details (content types, caching,
CORS). Errors go through ``web.errors`` (an unknown session is 404, a busy server 429). The API
issue wraps these in authentication.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from engine.segmenter.playlists import dash_manifest, hls_master, hls_media
from engine.sessions.profiles import BUILT_IN, Limits
from web.playback import Playback

PLAYLIST = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=31536000, immutable"


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

    @routes.get("/stream/<session_id>/master.m3u8")
    async def master(session_id: str) -> ResponseReturnValue:
        plan = playback.session(session_id).plan
        text = hls_master(plan.renditions, uri=lambda r: f"{r.id}/index.m3u8")
        return _text(text, PLAYLIST)

    @routes.get("/stream/<session_id>/<rendition_id>/index.m3u8")
    async def media(session_id: str, rendition_id: str) -> ResponseReturnValue:
        plan = playback.session(session_id).plan
        plan.rendition(rendition_id)  # 404 for an unknown rendition
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

    return routes


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

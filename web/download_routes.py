"""Download routes: a title as one MP4 file at a quality (``web.downloads``).

    GET /api/items/<id>/downloads             the qualities offered, with estimated sizes
    GET /api/items/<id>/download?quality=...  the file: ``original`` or ``<height>p``

Both need a login and an item the user may see (404 otherwise, as when browsing). The file is
streamed as it is made; errors found before its first bytes (an unknown quality, encoders busy:
429 with Retry-After) are answered as errors, a failure later cuts the download short.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, ParamSpec, TypeVar
from urllib.parse import quote

from pydantic import Field, StringConstraints
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from ingest.catalog.browse import Viewer
from web import downloads
from web.api.cache import json_response
from web.api.context import viewer_of
from web.api.openapi import binary, errors
from web.api.schemas import Out, Query
from web.auth.principal import optional_principal, require_login
from web.auth.service import Auth
from web.playback import Playback

P = ParamSpec("P")
R = TypeVar("R")


class DownloadQuery(Query):
    quality: Annotated[str, StringConstraints(pattern=r"^(original|[1-9][0-9]{2,3}p)$")] = Field(
        default=downloads.ORIGINAL, description="original, or a height such as 720p"
    )


class DownloadQuality(Out):
    quality: str = Field(description="what to ask for: original, or a height such as 720p")
    width: int | None
    height: int | None
    bit_rate: int = Field(description="video and audio, bits per second (average)")
    size_bytes: int | None = Field(description="an estimate, from the bit rate and duration")
    transcoded: bool


class DownloadList(Out):
    item_id: int
    qualities: list[DownloadQuality] = Field(description="best first")


def download_routes(playback: Playback, auth: Auth | None = None) -> Blueprint:
    routes = Blueprint("downloads", __name__)

    def login(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        return view if auth is None else require_login(view)

    def viewer() -> tuple[Viewer | None, int | None]:
        principal = optional_principal() if auth is not None else None
        if principal is None:
            return None, None
        return viewer_of(principal), principal.user_id

    @routes.get("/api/items/<id:item_id>/downloads")
    @login
    @document_response(DownloadList)
    async def offered(item_id: int) -> Response:
        """The qualities this title can be downloaded at, best first."""
        seen, _ = viewer()
        found, duration_us = await playback.download_qualities(item_id, viewer=seen)
        return json_response(
            DownloadList(
                item_id=item_id,
                qualities=[
                    DownloadQuality(
                        quality=q.quality,
                        width=q.rendition.width,
                        height=q.rendition.height,
                        bit_rate=q.rendition.average_bandwidth
                        + (q.audio.average_bandwidth if q.audio else 0),
                        size_bytes=downloads.size_estimate(q, duration_us),
                        transcoded=q.transcoded,
                    )
                    for q in found
                ],
            )
        )

    @routes.get("/api/items/<id:item_id>/download")
    @login
    @validate_querystring(DownloadQuery)
    @binary("video/mp4")
    @errors(429)
    async def download(item_id: int, query_args: DownloadQuery) -> Response:
        """The title as one MP4 file (video and the default audio), made as it is sent."""
        seen, user_id = viewer()
        made = await playback.download(item_id, query_args.quality, viewer=seen, user_id=user_id)
        parts = downloads.stream(made.plan, made.quality, made.segments)
        first = await anext(parts)  # errors before the first bytes are answers, not cut files

        async def body() -> AsyncIterator[bytes]:
            yield first
            async for part in parts:
                yield part

        response = Response(body(), mimetype="video/mp4")
        response.headers["Content-Disposition"] = _attachment(
            f"{made.title} - {made.quality.quality}.mp4"
        )
        response.headers["Cache-Control"] = "private, no-store"
        if estimate := downloads.size_estimate(made.quality, made.duration_us):
            response.headers["X-Size-Estimate"] = str(estimate)
        return response

    return routes


def _attachment(name: str) -> str:
    """``Content-Disposition`` naming the file, in ASCII for old clients and UTF-8 (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\/' else "_" for c in ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"

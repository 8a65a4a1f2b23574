"""Images, resized on request.

    GET /api/items/<id>/images/<kind>     an item's image (else its series' or album's primary)
    GET /api/series/<id>/images/<kind>    a series' image
    GET /api/albums/<id>/images/<kind>    an album's image
        ?width=&height=   the box to fit in (either or both; never larger than the original)
        ?format=          webp (default), jpeg or png

The stored image (WebP, from ``ingest.artwork``) is resized with Pillow in a worker thread, at
most ``RESIZERS`` at a time. Requested widths snap up to one of ``SIZES``, so an image has at most
``len(SIZES) x 3`` renditions, which the cache keeps (``Cache`` port, under the stored key, which
changes whenever the image does). The ETag is a hash of the bytes; a current If-None-Match gets
304. Visibility is checked on every request, cached or not: a hidden owner is 404.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import anyio
import anyio.to_thread
from PIL import Image as Pillow
from PIL import ImageOps
from quart import Blueprint, Response
from quart_schema import validate_querystring

from ingest.catalog import browse
from ingest.catalog.images import get_images
from web.api.cache import conditional
from web.api.context import Api, Missing, current_viewer
from web.api.openapi import binary, etagged
from web.api.schemas import ImageQuery
from web.auth.principal import require_login

SIZES = (96, 160, 240, 320, 480, 640, 960, 1280, 1920, 2560, 3840)
KINDS = "poster,cover,photo,thumb,backdrop,logo"
# format -> (Pillow's name, content type)
FORMATS = {
    "webp": ("WEBP", "image/webp"),
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
}
STORED_FORMAT = "webp"
QUALITY = 80
RESIZERS = 2
TTL_S = 86400.0
CACHE_CONTROL = "private, max-age=3600"


@dataclass(frozen=True, slots=True)
class Stored:
    store_key: str
    width: int
    height: int


def fit(width: int, height: int, box_w: int | None, box_h: int | None) -> tuple[int, int]:
    """The size to serve an image of ``width`` x ``height`` at, asked to fit in the box: the
    scaled width snapped up to the next of ``SIZES`` (the original's at most), aspect kept. Pure."""
    width, height = max(1, width), max(1, height)
    scale = 1.0
    if box_w is not None:
        scale = min(scale, box_w / width)
    if box_h is not None:
        scale = min(scale, box_h / height)
    wanted = max(1, math.ceil(width * scale))
    snapped = min(next((s for s in SIZES if s >= wanted), width), width)
    return snapped, max(1, round(height * snapped / width))


def render(data: bytes, size: tuple[int, int], fmt: str) -> bytes:
    """``data`` resized to ``size`` and encoded as ``fmt`` (CPU-bound: run in a thread)."""
    with Pillow.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.size != size:
            image = image.resize(size, Pillow.Resampling.LANCZOS, reducing_gap=3.0)
        if fmt == "jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, FORMATS[fmt][0], **({} if fmt == "png" else {"quality": QUALITY}))
        return out.getvalue()


def image_routes(api: Api) -> Blueprint:
    routes = Blueprint("images", __name__)
    limiter: list[anyio.CapacityLimiter] = []

    async def serve(stored: Stored, query: ImageQuery) -> Response:
        size = fit(stored.width, stored.height, query.width, query.height)
        key = f"img:{stored.store_key}:{size[0]}x{size[1]}.{query.format}"

        async def make() -> tuple[bytes, tuple[str, ...]]:
            try:
                original = await api.images.get(stored.store_key)
            except KeyError:
                raise Missing("the image file is gone; it is made again at the next scan") from None
            if size == (stored.width, stored.height) and query.format == STORED_FORMAT:
                return original, ()
            if not limiter:
                limiter.append(anyio.CapacityLimiter(RESIZERS))
            data = await anyio.to_thread.run_sync(
                render, original, size, query.format, limiter=limiter[0]
            )
            return data, ()

        body, _ = await api.cache.fetch(key, make, ttl_s=TTL_S)
        return conditional(body, content_type=FORMATS[query.format][1], cache_control=CACHE_CONTROL)

    @routes.get(f"/api/items/<id:item_id>/images/<any({KINDS}):kind>")
    @require_login
    @validate_querystring(ImageQuery)
    @binary(*(content_type for _, content_type in FORMATS.values()))
    @etagged
    async def item_image(item_id: int, kind: str, query_args: ImageQuery) -> Response:
        """An item's image (its own, else its series' or album's primary), resized."""
        viewer = current_viewer()
        stored: Stored | None = None
        async with api.database.connect() as conn:
            if not await browse.is_visible(conn, viewer, item_id):
                raise Missing(f"no item {item_id}")
            own = next((i for i in await get_images(conn, item_id) if i.kind == kind), None)
            if own is not None:
                stored = Stored(own.store_key, own.width, own.height)
            else:
                detail = await browse.item_detail(conn, viewer, item_id)
                ref = None if detail is None else detail.summary.image
                if ref is not None and ref.kind == kind:
                    stored = Stored(ref.store_key, ref.width, ref.height)
        if stored is None:
            raise Missing(f"item {item_id} has no {kind} image")
        return await serve(stored, query_args)

    async def group_image(
        found: browse.SeriesDetail | browse.AlbumDetail | None, kind: str, query: ImageQuery
    ) -> Response:
        image = None if found is None else next((i for i in found.images if i.kind == kind), None)
        if image is None:
            raise Missing(f"no {kind} image")
        return await serve(Stored(image.store_key, image.width, image.height), query)

    @routes.get(f"/api/series/<id:series_id>/images/<any({KINDS}):kind>")
    @require_login
    @validate_querystring(ImageQuery)
    @binary(*(content_type for _, content_type in FORMATS.values()))
    @etagged
    async def series_image(series_id: int, kind: str, query_args: ImageQuery) -> Response:
        """A series' image, resized."""
        async with api.database.connect() as conn:
            found = await browse.series_detail(conn, current_viewer(), series_id)
        return await group_image(found, kind, query_args)

    @routes.get(f"/api/albums/<id:album_id>/images/<any({KINDS}):kind>")
    @require_login
    @validate_querystring(ImageQuery)
    @binary(*(content_type for _, content_type in FORMATS.values()))
    @etagged
    async def album_image(album_id: int, kind: str, query_args: ImageQuery) -> Response:
        """An album's image, resized."""
        async with api.database.connect() as conn:
            found = await browse.album_detail(conn, current_viewer(), album_id)
        return await group_image(found, kind, query_args)

    return routes

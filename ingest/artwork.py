"""Images for items already in the catalog: video thumbnails, album covers, resized photos.

Runs after a scan, never in its way: items are browsable before their images exist. Each image is
rendered in a worker thread (WebP + blurhash), written to the image store under a key that carries
the item's version, then recorded in the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import anyio
import structlog

from ingest import images as renderer
from ingest.catalog import images as image_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.catalog.images import ImageTodo
from ingest.errors import ProbeError
from ingest.imagestore import ImageStore
from ingest.models import ItemType
from ingest.scanner import SourceOpener
from ingest.sources.base import Source

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ArtworkStatistics:
    rendered: int
    failed: int
    running: bool


class Artwork:
    def __init__(
        self,
        database: Database,
        open_source: SourceOpener,
        store: ImageStore,
        *,
        concurrency: int = 2,
    ) -> None:
        self._db = database
        self._open_source = open_source
        self._store = store
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._failed: set[tuple[int, str]] = set()  # (item, version) not retried this run
        self._rendered = 0
        self._running = 0

    def statistics(self) -> ArtworkStatistics:
        return ArtworkStatistics(self._rendered, len(self._failed), self._running > 0)

    async def render_library(self, library_id: int) -> int:
        """Render every missing image of a library; returns how many were made."""
        self._running += 1
        try:
            return await self._render_library(library_id)
        finally:
            self._running -= 1

    async def _render_library(self, library_id: int) -> int:
        async with self._db.connect() as conn:
            records = {s.id: s for s in await library_queries.list_sources(conn, library_id)}
        made = 0
        after = 0
        while True:
            async with self._db.connect() as conn:
                todo = await image_queries.items_without_image(conn, library_id, after_id=after)
            if not todo:
                return made
            after = todo[-1].item_id
            by_source: dict[int, list[ImageTodo]] = defaultdict(list)
            for item in todo:
                if (item.item_id, item.version) not in self._failed:
                    by_source[item.source_id].append(item)
            for source_id, batch in by_source.items():
                async with (
                    self._open_source(records[source_id]) as source,
                    anyio.create_task_group() as tg,
                ):
                    for item in batch:
                        tg.start_soon(self._render_one, source, item)
                made += sum(1 for item in batch if (item.item_id, item.version) not in self._failed)

    async def _render_one(self, source: Source, item: ImageTodo) -> None:
        try:
            image = await anyio.to_thread.run_sync(_render, source, item, limiter=self._limiter)
        except (ProbeError, OSError) as exc:
            self._failed.add((item.item_id, item.version))
            log.warning("artwork.failed", item_id=item.item_id, key=item.key, reason=str(exc))
            return
        if image is None:
            self._failed.add((item.item_id, item.version))
            return
        store_key = f"items/{item.item_id}/{image.kind}-{item.version}.webp"
        await self._store.put(store_key, image.data, image.content_type)
        async with self._db.begin() as conn:
            await image_queries.set_image(
                conn,
                item.item_id,
                kind=image.kind,
                store_key=store_key,
                width=image.width,
                height=image.height,
                blurhash=image.blurhash,
            )
        self._rendered += 1


def _render(source: Source, item: ImageTodo) -> renderer.RenderedImage | None:
    with source.open(item.key) as fh:
        if item.type is ItemType.TRACK:
            return renderer.cover_art(fh)
        if item.type is ItemType.PHOTO:
            return renderer.photo_image(fh)
        return renderer.video_thumbnail(fh, duration_us=item.duration_us)

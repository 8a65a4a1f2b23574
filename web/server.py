"""The serving graph: from the catalog, the library sources, the shared state and authentication to
the app and the tasks that serve it (segment workers, playback sessions, the API's scan queue, the
events of the WebSocket). ``reelbox serve`` builds it here, and so do the tests that need the
whole API as served; what differs between them (settings, a cheap password hasher, a scanner kept
to a folder) comes in as arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import TaskStatus
from quart import Blueprint, Quart

from engine.segmenter.cache import MemorySegmentCache
from engine.segmenter.workers import SegmentWorkers
from ingest.artwork import Artwork
from ingest.catalog.database import Database
from ingest.catalog.userdata import UserData
from ingest.imagestore import ImageStore
from ingest.opener import SourcePool
from ingest.scanner import Scanner
from ingest.state import State
from web.api import Api
from web.api.cache import MetadataCache
from web.api.records import user_state
from web.api.scans import ScanQueue
from web.app import Check, Services, create_app
from web.auth.service import Auth
from web.events import Events
from web.metrics import Metrics, MetricSources
from web.playback import Playback
from web.settings import StreamSettings


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Serving:
    app: Quart
    auth: Auth
    playback: Playback
    scans: ScanQueue
    events: Events
    workers: SegmentWorkers
    # What every finished scan runs (images, cache invalidation, events): the scheduler's too.
    after_scan: Callable[[int], Awaitable[None]]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The serving tasks, until cancelled; ``await tg.start(serving.run)``."""
        async with anyio.create_task_group() as tg:
            await tg.start(self.workers.run)
            await tg.start(self.playback.run)
            await tg.start(self.scans.run)
            await tg.start(self.events.run)
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self.events.close()  # WebSockets close (1001) with the tasks that feed them


def build_serving(
    *,
    version: str,
    database: Database,
    scanner: Scanner,
    artwork: Artwork,
    images: ImageStore,
    sources: SourcePool,
    state: State,
    auth: Auth,
    node_id: str,
    blueprints: tuple[Blueprint, ...] = (),
    stream: StreamSettings | None = None,
    render_images: bool = True,
    clustered: bool = False,
    s3_credentials: frozenset[str] = frozenset(),
    libraries_changed: Callable[[], Awaitable[None]] = _nothing,
    metrics_token: str | None = None,
    webapp_dir: Path | None = None,
) -> Serving:
    stream = stream or StreamSettings()
    # The REST API's query cache lives in the shared state; every scan drops what it changed and
    # tells the WebSocket clients (on every node, through the bus).
    metadata = MetadataCache(state.cache)
    events = Events(state.bus, node_id=node_id, peer_window_s=0.25 if clustered else 0.0)

    async def after_scan(library_id: int) -> None:
        if render_images:
            await artwork.render_library(library_id)
        await metadata.library_changed(library_id)
        await events.library_changed(library_id, "scanned")
        stats = scanner.all_statistics().get(library_id)
        if stats is not None:
            await events.scan_progress(library_id, stats.as_dict())

    scans = ScanQueue(scanner, after_scan=after_scan)  # asked for through the API
    api = Api(
        database,
        auth,
        images,
        metadata,
        scans,
        s3_credentials=s3_credentials,
        libraries_changed=libraries_changed,
        user_data_changed=events.user_data_changed,
    )
    segment_cache = MemorySegmentCache(stream.cache_bytes)
    workers = SegmentWorkers(
        segment_cache,
        encoders=stream.encoders,
        max_encodes_per_owner=stream.max_encodes_per_user,
    )

    async def progress_stored(data: UserData) -> None:
        stored = user_state(data).model_dump(mode="json")
        await events.user_data_changed(data.user_id, data.item_id, stored)

    playback = Playback(
        database,
        workers,
        sources=sources,
        on_progress=progress_stored,
        on_session=events.session_event,
    )
    metrics = Metrics(
        MetricSources(
            playback_sessions=lambda: playback.statistics().sessions,
            segment_workers=workers.statistics,
            segment_cache=segment_cache.statistics,
            scans=scanner.all_statistics,
            state=state.statistics,
            events=events.statistics,
            auth=auth.statistics,
        )
    )

    async def catalog() -> None:
        await database.ping()

    async def image_store() -> None:
        await images.exists("readyz-probe")

    async def shared_state() -> None:
        await state.cache.get("readyz-probe")

    checks: Mapping[str, Check] = {
        "database": catalog,
        "images": image_store,
        "state": shared_state,
    }
    app = create_app(
        Services(
            version=version,
            checks=checks,
            scan_status=lambda: [s.as_dict() for s in scanner.all_statistics().values()],
            playback=playback,
            auth=auth,
            blueprints=blueprints,
            api=api,
            events=events,
            metrics=metrics,
            metrics_token=metrics_token,
            webapp_dir=webapp_dir,
        )
    )
    return Serving(app, auth, playback, scans, events, workers, after_scan)

"""Scheduled scans: every library at start-up, again on the interval or when asked."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.demo import synthesize_clip
from ingest.models import LibraryKind
from ingest.opener import SourceOpener
from ingest.scanner import Scanner
from ingest.schedule import ScanScheduler

pytestmark = pytest.mark.anyio


async def _count(db: Database, library_id: int) -> int:
    async with db.connect() as conn:
        return len(await item_queries.list_items(conn, library_id=library_id, status=None))


async def _wait_for(db: Database, library_id: int, count: int) -> None:
    with anyio.fail_after(10):
        while await _count(db, library_id) != count:
            await anyio.sleep(0.05)


async def test_scans_at_start_on_the_interval_and_on_demand(
    database: Database, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    synthesize_clip(media / "One (2001).mp4", seconds=1.0, width=160, height=120)
    async with database.begin() as conn:
        lib = await library_queries.create_library(conn, "Films", LibraryKind.MOVIES)
        await library_queries.add_local_source(conn, lib.id, str(media))
        broken = await library_queries.create_library(conn, "Broken", LibraryKind.MOVIES)
        await library_queries.add_s3_source(conn, broken.id, "bucket", "", "unconfigured")
    scanner = Scanner(database, SourceOpener({}), concurrency=2)
    rendered: list[int] = []

    async def after_scan(library_id: int) -> None:
        rendered.append(library_id)

    scheduler = ScanScheduler(database, scanner, interval_s=0.5, after_scan=after_scan)
    async with anyio.create_task_group() as tg:
        await tg.start(scheduler.run)
        await _wait_for(database, lib.id, 1)  # the start-up scan
        # the library whose source cannot be opened is reported, and does not stop the others
        stats = scanner.statistics(broken.id)
        assert stats is not None and stats.source_errors
        synthesize_clip(media / "Two (2002).mp4", seconds=1.0, width=160, height=120)
        await _wait_for(database, lib.id, 2)  # picked up by the periodic rescan
        synthesize_clip(media / "Three (2003).mp4", seconds=1.0, width=160, height=120)
        scheduler.scan_now()
        await _wait_for(database, lib.id, 3)
        tg.cancel_scope.cancel()
    assert rendered.count(lib.id) >= 3

"""Scheduled scans: every library at start-up, then again every ``interval_s``.

S3 sources have no change notifications, and watchers miss events (network mounts, a queue
overflow), so every library is rescanned on a schedule; an unchanged rescan probes nothing. In a
cluster only the node holding the scan lease runs this loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import structlog
from anyio.abc import TaskStatus

from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.scanner import Scanner

log = structlog.get_logger(__name__)


class ScanScheduler:
    def __init__(
        self,
        database: Database,
        scanner: Scanner,
        *,
        interval_s: float,
        after_scan: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        self._db = database
        self._scanner = scanner
        self._interval_s = interval_s
        self._after_scan = after_scan
        self._wake = anyio.Event()

    def scan_now(self) -> None:
        self._wake.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            self._wake = anyio.Event()
            await self.scan_all()
            with anyio.move_on_after(self._interval_s):
                await self._wake.wait()

    async def scan_all(self) -> None:
        async with self._db.connect() as conn:
            library_ids = [lib.id for lib in await library_queries.list_libraries(conn)]
        for library_id in library_ids:
            try:
                await self._scanner.scan(library_id)
                if self._after_scan is not None:
                    await self._after_scan(library_id)
            except Exception:  # one library's failure must not stop the others' scans
                log.exception("schedule.scan_failed", library_id=library_id)

"""Scans asked for through the API: a bounded queue, worked through by one task of the root task
group (``run``), one library at a time.

A library already waiting is not queued twice; a full queue refuses the request (``Overloaded``:
429 with Retry-After). Each finished scan runs ``after_scan`` (images, cache invalidation: the
composition root decides); a library is ``running`` until they are done too. Progress is the
scanner's own ``statistics()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import anyio
import structlog
from anyio.abc import TaskStatus

from engine.errors import Overloaded
from ingest.scanner import Scanner, ScanStatistics

log = structlog.get_logger(__name__)

State = Literal["idle", "queued", "running", "done", "failed"]


class ScanQueue:
    def __init__(
        self,
        scanner: Scanner,
        *,
        after_scan: Callable[[int], Awaitable[object]] | None = None,
        capacity: int = 64,
    ) -> None:
        self._scanner = scanner
        self._after_scan = after_scan
        self._send, self._receive = anyio.create_memory_object_stream[int](capacity)
        self._queued: set[int] = set()
        self._working: int | None = None  # scanning, or rendering images after its scan

    def request(self, library_id: int) -> None:
        """Queue a scan of ``library_id`` (nothing when one is waiting already)."""
        if library_id in self._queued:
            return
        try:
            self._send.send_nowait(library_id)
        except anyio.WouldBlock:
            raise Overloaded(
                "too many scans are waiting; try again later", retry_after=10.0
            ) from None
        self._queued.add(library_id)

    def state(self, library_id: int) -> State:
        if self._scanner.is_scanning(library_id) or library_id == self._working:
            return "running"
        if library_id in self._queued:
            return "queued"
        stats = self._scanner.statistics(library_id)
        if stats is None:
            return "idle"
        return "failed" if stats.phase == "failed" else "done"

    def statistics(self, library_id: int) -> ScanStatistics | None:
        return self._scanner.statistics(library_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        with self._send, self._receive:  # both ends close with the queue's task
            async for library_id in self._receive:
                self._queued.discard(library_id)
                self._working = library_id
                try:
                    await self._scanner.scan(library_id)
                    if self._after_scan is not None:
                        await self._after_scan(library_id)
                except LookupError:
                    log.info("scans.library_gone", library_id=library_id)
                except Exception:  # one library's failure must not stop the queue
                    log.exception("scans.failed", library_id=library_id)
                finally:
                    self._working = None

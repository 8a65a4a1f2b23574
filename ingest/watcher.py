"""Keeps local libraries current: file-system events become targeted rescans within seconds.

watchfiles (inotify on Linux) reports changed paths, debounced. Paths that map to files of a local
source are re-listed with ``Scanner.scan_keys``; anything the watcher cannot attribute to files (a
folder renamed or removed, an overflowed event queue) falls back to a full scan of that library,
which costs little when almost nothing changed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskStatus
from watchfiles import Change, awatch

from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.scanner import Scanner

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Root:
    library_id: int
    source_id: int
    path: Path


@dataclass(frozen=True, slots=True)
class WatcherStatistics:
    roots: int
    batches: int
    targeted_scans: int
    full_scans: int


class LibraryWatcher:
    def __init__(self, database: Database, scanner: Scanner, *, debounce_ms: int = 1500) -> None:
        self._db = database
        self._scanner = scanner
        self._debounce_ms = debounce_ms
        self._refresh = anyio.Event()
        self._roots: list[_Root] = []
        self._batches = self._targeted = self._full = 0

    def statistics(self) -> WatcherStatistics:
        return WatcherStatistics(len(self._roots), self._batches, self._targeted, self._full)

    def refresh(self) -> None:
        """Libraries or sources changed: re-read them and watch the new set of folders."""
        self._refresh.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        started = False
        while True:
            self._refresh = anyio.Event()
            self._roots = await self._load_roots()
            if not started:
                task_status.started()
                started = True
            existing = [r for r in self._roots if await anyio.Path(r.path).is_dir()]
            if not existing:
                await self._refresh.wait()
                continue
            async for changes in awatch(
                *(r.path for r in existing),
                debounce=self._debounce_ms,
                stop_event=self._refresh,
                recursive=True,
                ignore_permission_denied=True,
            ):
                self._batches += 1
                await self._apply({(change, Path(path)) for change, path in changes})

    async def _load_roots(self) -> list[_Root]:
        roots: list[_Root] = []
        async with self._db.connect() as conn:
            for library in await library_queries.list_libraries(conn):
                for source in await library_queries.list_sources(conn, library.id):
                    if source.kind == "local" and source.path:
                        resolved = Path(await anyio.Path(source.path).resolve())
                        roots.append(_Root(library.id, source.id, resolved))
        return roots

    async def _apply(self, changes: set[tuple[Change, Path]]) -> None:
        targeted: dict[tuple[int, int], set[str]] = defaultdict(set)
        full: set[int] = set()
        for change, path in changes:
            root = self._root_of(path)
            if root is None:
                continue
            if await anyio.Path(path).is_dir() or (change is Change.deleted and not path.suffix):
                full.add(root.library_id)  # a folder came or went: re-list the library
                continue
            if any(part.startswith(".") for part in path.relative_to(root.path).parts):
                continue
            targeted[(root.library_id, root.source_id)].add(
                os.fsdecode(path.relative_to(root.path)).replace(os.sep, "/")
            )
        for library_id in full:
            self._full += 1
            log.info("watch.rescan", library_id=library_id)
            await self._scanner.scan(library_id)
        for (library_id, source_id), keys in targeted.items():
            if library_id in full:
                continue
            self._targeted += 1
            log.info("watch.changed", library_id=library_id, files=len(keys))
            await self._scanner.scan_keys(library_id, source_id, keys)

    def _root_of(self, path: Path) -> _Root | None:
        best: _Root | None = None
        for root in self._roots:
            if path.is_relative_to(root.path) and (
                best is None or len(root.path.parts) > len(best.path.parts)
            ):
                best = root
        return best

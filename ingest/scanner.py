"""The library scanner: discover -> diff -> probe -> upsert -> remove, in phases.

- Discover lists every source of the library. A source that cannot be listed (an unmounted disk, a
  bucket that refuses us) is reported and *nothing of it is removed*: an outage never empties a
  library.
- Diff compares each file's version (a hash of size, mtime or ETag, and its sidecars' fingerprints)
  with the catalog. An unchanged library probes nothing.
- Probe runs in worker threads behind a CapacityLimiter (PyAV releases the GIL); each file is
  opened once, hashed (head and tail) and probed in process; titles come from names, tags or .nfo.
  A file that fails is recorded with its status and reason and the scan goes on.
- Upsert writes outcomes in batches, one transaction each, from a single writer task. A new file
  whose content hash matches a vanished one is a move: the item keeps its id and user data.
- Remove deletes items whose files are gone, then empty series, seasons and albums.

Progress is observable through ``statistics()`` at any time; the CLI's progress bar and the API's
scan endpoints read it.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import anyio.to_process
import structlog
from anyio import BrokenWorkerProcess
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectReceiveStream

from ingest import probe as prober
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.catalog.records import Fingerprint, Library, SourceRecord
from ingest.errors import SourceError
from ingest.fileprobe import (
    CRASHED,
    ProbeJob,
    failure,
    probe_file,
    probe_local_file,
    readable_key,
    stem_of,
)
from ingest.models import Entry, FileRole, ItemWrite, LibraryKind
from ingest.sources.base import Source
from ingest.sources.local import LocalSource

log = structlog.get_logger(__name__)

SourceOpener = Callable[[SourceRecord], AbstractAsyncContextManager[Source]]

# Which files each kind of library takes.
_ROLES: dict[LibraryKind, frozenset[FileRole]] = {
    LibraryKind.MOVIES: frozenset({FileRole.VIDEO}),
    LibraryKind.SHOWS: frozenset({FileRole.VIDEO}),
    LibraryKind.MUSIC: frozenset({FileRole.AUDIO}),
    LibraryKind.PHOTOS: frozenset({FileRole.PHOTO}),
    LibraryKind.MIXED: frozenset({FileRole.VIDEO, FileRole.AUDIO, FileRole.PHOTO}),
}
# Below this many files to probe, worker processes cost more to start than they save.
_PROCESS_THRESHOLD = 64
_JOBS_PER_THREAD_CALL = 4


@dataclass(frozen=True, slots=True)
class ScanStatistics:
    """A snapshot of one scan. Counts are files; times are seconds of anyio's clock."""

    library_id: int
    phase: str = "idle"  # idle, discover, probe, remove, done, failed
    discovered: int = 0
    unchanged: int = 0
    to_probe: int = 0
    probed: int = 0
    failed: int = 0
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    source_errors: tuple[str, ...] = ()
    started_at: float = 0.0
    finished_at: float | None = None
    by_status: Mapping[str, int] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else anyio.current_time()
        return max(0.0, end - self.started_at) if self.started_at else 0.0

    @property
    def files_per_second(self) -> float:
        elapsed = self.elapsed
        return self.probed / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.files_per_second
        if self.phase != "probe" or rate <= 0:
            return None
        return (self.to_probe - self.probed) / rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "library_id": self.library_id,
            "phase": self.phase,
            "discovered": self.discovered,
            "unchanged": self.unchanged,
            "to_probe": self.to_probe,
            "probed": self.probed,
            "failed": self.failed,
            "added": self.added,
            "updated": self.updated,
            "moved": self.moved,
            "removed": self.removed,
            "source_errors": list(self.source_errors),
            "elapsed_s": round(self.elapsed, 3),
            "files_per_s": round(self.files_per_second, 2),
            "by_status": dict(self.by_status),
        }


@dataclass(slots=True)
class _SourceScan:
    """The state of scanning one source: what the catalog knew and which of it went missing."""

    library: Library
    record: SourceRecord
    known: dict[str, Fingerprint]
    vanished: dict[str, Fingerprint]
    # Vanished files by (size, content hash): a new file matching one of them was moved.
    by_hash: dict[tuple[int, str], Fingerprint] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_hash = {
            (f.size, f.content_hash): f for f in self.vanished.values() if f.content_hash
        }


@dataclass(slots=True)
class _Listing:
    media: dict[str, tuple[Entry, FileRole]] = field(default_factory=dict)
    nfo: dict[str, Entry] = field(default_factory=dict)  # media stem path -> nfo entry
    subtitles: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))


class Scanner:
    """Scans libraries into the catalog. One scan per library at a time; scans of different
    libraries may run concurrently."""

    def __init__(
        self,
        database: Database,
        open_source: SourceOpener,
        *,
        concurrency: int = 4,
        batch_size: int = 64,
        processes: int = 0,
        process_threshold: int = _PROCESS_THRESHOLD,
    ) -> None:
        """``concurrency`` threads probe files; for bulk scans of local folders, ``processes``
        worker processes join them (0: threads only)."""
        self._db = database
        self._open_source = open_source
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._processes = anyio.CapacityLimiter(processes) if processes > 0 else None
        self._process_threshold = process_threshold
        self._batch_size = batch_size
        self._locks: dict[int, anyio.Lock] = defaultdict(anyio.Lock)
        self._stats: dict[int, ScanStatistics] = {}

    def statistics(self, library_id: int | None = None) -> ScanStatistics | None:
        """The running or last scan of ``library_id`` (or of the most recent library)."""
        if library_id is None:
            return next(reversed(self._stats.values()), None)
        return self._stats.get(library_id)

    def all_statistics(self) -> dict[int, ScanStatistics]:
        return dict(self._stats)

    def is_scanning(self, library_id: int) -> bool:
        return self._locks[library_id].locked()

    async def scan(self, library_id: int) -> ScanStatistics:
        """Scan every source of a library; waits for a scan of it already running."""
        async with self._locks[library_id]:
            async with self._db.connect() as conn:
                library = await library_queries.get_library(conn, library_id)
                sources = await library_queries.list_sources(conn, library_id)
            if library is None:
                raise LookupError(f"library {library_id} does not exist")
            async with self._db.begin() as conn:
                run_id = await library_queries.start_scan_run(conn, library_id)
            self._set(ScanStatistics(library_id, phase="discover", started_at=anyio.current_time()))
            state = "done"
            try:
                for record in sources:
                    await self._scan_source(library, record, keys=None)
            except BaseException:
                state = "failed"
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await self._finish(library_id, run_id, state)
            stats = self._stats[library_id]
            log.info("scan.done", library=library.name, **stats.as_dict())
            return stats

    async def scan_keys(self, library_id: int, source_id: int, keys: Iterable[str]) -> None:
        """Apply changes to a few files (from the watcher). The source is listed whole, which is
        cheap next to probing, so sidecars are seen exactly as a full scan sees them; only files
        named in ``keys`` (or whose sidecars are) are probed or removed."""
        async with self._locks[library_id]:
            async with self._db.connect() as conn:
                library = await library_queries.get_library(conn, library_id)
                sources = await library_queries.list_sources(conn, library_id)
            record = next((s for s in sources if s.id == source_id), None)
            if library is None or record is None:
                return
            if library_id not in self._stats or self._stats[library_id].phase not in {
                "discover",
                "probe",
                "remove",
            }:
                self._set(
                    ScanStatistics(library_id, phase="discover", started_at=anyio.current_time())
                )
            try:
                await self._scan_source(library, record, keys=set(keys))
            finally:
                self._update(library_id, phase="done", finished_at=anyio.current_time())

    # --- one source -------------------------------------------------------------------------

    async def _scan_source(
        self, library: Library, record: SourceRecord, keys: set[str] | None
    ) -> None:
        lib_id = library.id
        self._update(lib_id, phase="discover")
        async with self._db.connect() as conn:
            known = await item_queries.load_fingerprints(conn, record.id)
        try:
            async with self._open_source(record) as source:
                listing = await self._discover(source)
                if not listing.media and known and keys is None:
                    # An unmounted disk often leaves an empty mount point behind: an empty
                    # listing of a source we know files in is an outage, not a mass deletion.
                    raise SourceError(
                        f"lists no media files, but the catalog has {len(known)} from it; "
                        "nothing was removed (delete the source to empty the library)"
                    )
                self._update_add(lib_id, discovered=len(listing.media))
                work, unchanged, vanished = self._diff(library.kind, listing, known, keys)
                self._update_add(lib_id, unchanged=unchanged, to_probe=len(work))
                self._update(lib_id, phase="probe")
                scan = _SourceScan(library, record, dict(known), vanished)
                await self._probe_and_write(scan, source, work)
        except SourceError as exc:
            reason = f"{record.describe()}: {exc}"
            log.warning("scan.source_unavailable", library=library.name, reason=reason)
            stats = self._stats[lib_id]
            self._update(lib_id, source_errors=(*stats.source_errors, reason))
            return
        self._update(lib_id, phase="remove")
        if vanished:
            async with self._db.begin() as conn:
                removed = await item_queries.delete_items(
                    conn, (f.item_id for f in vanished.values())
                )
                await item_queries.prune_empty_groups(conn, lib_id)
            self._update_add(lib_id, removed=removed)

    async def _discover(self, source: Source) -> _Listing:
        listing = _Listing()
        async for batch in source.discover():
            for entry in batch:
                _file_into(listing, entry)
        return listing

    def _diff(
        self,
        kind: LibraryKind,
        listing: _Listing,
        known: Mapping[str, Fingerprint],
        keys: set[str] | None,
    ) -> tuple[list[ProbeJob], int, dict[str, Fingerprint]]:
        """Files to probe, the number unchanged, and known items whose files are gone."""
        wanted = _ROLES[kind]
        work: list[ProbeJob] = []
        seen: set[str] = set()
        for key, (entry, role) in sorted(listing.media.items()):
            if role not in wanted:
                continue
            seen.add(key)
            name = readable_key(key)
            stem = stem_of(name)
            nfo = listing.nfo.get(stem) or listing.nfo.get(
                posixpath.join(posixpath.dirname(name), "movie")
            )
            subs = tuple(sorted(listing.subtitles.get(stem, ()), key=lambda e: e.key))
            if keys is not None and not keys.intersection(
                [key, *(s.key for s in subs), *([nfo.key] if nfo else [])]
            ):
                continue  # a targeted scan leaves untouched files alone
            version = _version(entry, (nfo,) if nfo else (), subs)
            fingerprint = known.get(key)
            if fingerprint is not None and fingerprint.version == version:
                continue
            work.append(ProbeJob(entry, role, version, nfo.key if nfo else None, subs))
        scope = known.keys() if keys is None else (keys & known.keys())
        vanished = {key: known[key] for key in scope if key not in seen}
        return work, len(seen) - len(work), vanished

    async def _probe_and_write(
        self, scan: _SourceScan, source: Source, work: Sequence[ProbeJob]
    ) -> None:
        if not work:
            return
        send, receive = anyio.create_memory_object_stream[ProbeJob](len(work))
        results_send, results_receive = anyio.create_memory_object_stream[ItemWrite](
            self._batch_size * 2
        )
        for item in work:
            send.send_nowait(item)
        send.close()
        kind = scan.library.kind
        async with anyio.create_task_group() as tg:
            async with results_send:
                for _ in range(max(1, int(self._limiter.total_tokens))):
                    tg.start_soon(
                        self._probe_worker, kind, source, receive.clone(), results_send.clone()
                    )
                if (
                    self._processes is not None
                    and isinstance(source, LocalSource)
                    and len(work) >= self._process_threshold
                ):
                    # Threads start at once; the processes join the same queue when they are
                    # up (~0.5 s of imports) and use the other cores for Python work.
                    for _ in range(int(self._processes.total_tokens)):
                        tg.start_soon(
                            self._process_worker,
                            kind,
                            str(source.root),
                            receive.clone(),
                            results_send.clone(),
                        )
            receive.close()
            tg.start_soon(self._writer, scan, results_receive)

    async def _probe_worker(
        self,
        kind: LibraryKind,
        source: Source,
        receive: MemoryObjectReceiveStream[ProbeJob],
        results: ObjectSendStream[ItemWrite],
    ) -> None:
        async with receive, results:
            async for job in receive:
                # Take a few more queued jobs along: one thread hand-off per few files, not per
                # file, as every hand-off costs the event loop a GIL round trip.
                jobs = [job]
                while len(jobs) < _JOBS_PER_THREAD_CALL:
                    try:
                        jobs.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                outcomes = await anyio.to_thread.run_sync(
                    _probe_files, kind, source, jobs, limiter=self._limiter
                )
                for outcome in outcomes:
                    await results.send(outcome)

    async def _process_worker(
        self,
        kind: LibraryKind,
        root: str,
        receive: ObjectReceiveStream[ProbeJob],
        results: ObjectSendStream[ItemWrite],
    ) -> None:
        async with receive, results:
            async for job in receive:
                try:
                    outcome = await anyio.to_process.run_sync(
                        probe_local_file, kind, root, job, limiter=self._processes
                    )
                except BrokenWorkerProcess:
                    log.warning("scan.probe_crashed", key=job.entry.key)
                    outcome = failure(kind, job, "corrupt", CRASHED)
                await results.send(outcome)

    async def _writer(self, scan: _SourceScan, results: ObjectReceiveStream[ItemWrite]) -> None:
        batch: list[ItemWrite] = []
        async with results:
            async for outcome in results:
                batch.append(outcome)
                if len(batch) >= self._batch_size:
                    await self._write_batch(scan, batch)
                    batch = []
            if batch:
                await self._write_batch(scan, batch)

    async def _write_batch(self, scan: _SourceScan, batch: list[ItemWrite]) -> None:
        added = updated = moved = failed = 0
        statuses: dict[str, int] = defaultdict(int)
        # Shielded: a cancelled scan still commits or rolls back the batch it is writing.
        with anyio.CancelScope(shield=True):
            async with self._db.begin() as conn:
                for write in batch:
                    key = write.entry.key
                    statuses[write.status] += 1
                    failed += write.status != "ok"
                    if key in scan.known:
                        updated += 1
                        continue
                    origin = (
                        scan.by_hash.pop((write.entry.size, write.content_hash), None)
                        if write.status == "ok" and write.content_hash
                        else None
                    )
                    if origin is not None and scan.vanished.pop(origin.key, None) is not None:
                        await item_queries.move_item(
                            conn, origin.item_id, scan.record.id, write.entry, write.version
                        )
                        scan.known[key] = replace(origin, key=key)
                        moved += 1
                    else:
                        added += 1
                await item_queries.write_items(
                    conn, scan.library.id, scan.record.id, batch, scan.known
                )
        lib_id = scan.library.id
        merged = dict(self._stats[lib_id].by_status)
        for status, count in statuses.items():
            merged[status] = merged.get(status, 0) + count
        self._update(lib_id, by_status=merged)
        self._update_add(
            lib_id, probed=len(batch), failed=failed, added=added, updated=updated, moved=moved
        )

    async def _finish(self, library_id: int, run_id: int, state: str) -> None:
        self._update(
            library_id,
            phase=state if state == "failed" else "done",
            finished_at=anyio.current_time(),
        )
        stats = self._stats[library_id]
        try:
            async with self._db.begin() as conn:
                await library_queries.finish_scan_run(
                    conn, run_id, library_id, state, stats.as_dict()
                )
        except Exception:  # the scan's own outcome matters more than its log row
            log.exception("scan.record_failed", library_id=library_id)

    # --- statistics -----------------------------------------------------------------------------

    def _set(self, stats: ScanStatistics) -> None:
        self._stats.pop(stats.library_id, None)
        self._stats[stats.library_id] = stats

    def _update(self, library_id: int, **changes: Any) -> None:
        self._stats[library_id] = replace(self._stats[library_id], **changes)

    def _update_add(self, library_id: int, **increments: int) -> None:
        stats = self._stats[library_id]
        self._update(library_id, **{k: getattr(stats, k) + v for k, v in increments.items()})


# --- pure helpers ----------------------------------------------------------------------------


def _probe_files(kind: LibraryKind, source: Source, jobs: list[ProbeJob]) -> list[ItemWrite]:
    return [probe_file(kind, source, job) for job in jobs]


def _file_into(listing: _Listing, entry: Entry) -> None:
    # Roles and sidecars follow the name as people read it (a non-UTF-8 name's key is base64).
    name = readable_key(entry.key)
    role = prober.classify(name)
    if role is FileRole.IGNORED:
        return
    if role is FileRole.NFO:
        listing.nfo[stem_of(name)] = entry
    elif role is FileRole.SUBTITLE:
        # Movie.srt, Movie.en.srt, Movie.en.forced.srt all belong to Movie.*
        stem = stem_of(name)
        base = posixpath.basename(stem).split(".")[0]
        listing.subtitles[posixpath.join(posixpath.dirname(stem), base)].append(entry)
        if base != posixpath.basename(stem):
            # a media file whose own name contains dots: keep the exact stem too
            listing.subtitles[stem].append(entry)
    else:
        listing.media[entry.key] = (entry, role)


def _version(entry: Entry, nfo: Iterable[Entry], subtitles: Iterable[Entry]) -> str:
    digest = hashlib.sha256()
    for part in (entry, *nfo, *subtitles):
        digest.update(
            f"{part.key}\0{part.size}\0{part.mtime_ns}\0{part.etag}\n".encode(
                "utf-8", "surrogatepass"
            )
        )
    return digest.hexdigest()[:32]

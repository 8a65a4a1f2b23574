"""Segment workers: codec work in threads, and each segment produced once however many ask.

- A segment in the cache is returned at once.
- A segment being produced is joined: the second request waits for the first job (in-flight
  de-duplication), so a prefetch and the player's own request never encode twice.
- Otherwise a job starts in the workers' own task group, not the requester's, so a player that
  goes away does not cancel work another is waiting for. The job runs ``produce`` in a worker
  thread behind a CapacityLimiter: one for encodes (heavy), one for remuxes (light).
- Admission is fail-fast: when every encoder is busy and ``max_queued_encodes`` encodes already
  wait, a new encode raises ``Overloaded`` with a Retry-After estimated from recent encode times.
  An encode also names its owner (the user, or None); with ``max_encodes_per_owner`` one owner's
  encodes in flight (running or queued) are capped, so one user cannot take every encoder. A
  prefetch counts like a request, but a player's request that finds the queue (or its owner)
  full first drops a queued prefetch nobody waits for: players are served before guesses.
- ``prefetch`` starts a job nobody awaits yet; ``cancel`` drops one that has no waiter left (after
  a seek): a job still queued for a thread never runs; one already in its thread finishes into
  the cache (PyAV cannot be interrupted, and the segment is likely wanted soon anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from engine.errors import CorruptSource, EncodeFailed, EngineError, NotFound, Overloaded
from engine.segmenter.cache import SegmentCache, SegmentKey

log = structlog.get_logger(__name__)

Produce = Callable[[], bytes]
_EWMA = 0.2  # weight of the newest encode time in the running estimate


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    hits: int
    joins: int
    produced: int
    failed: int
    rejected: int
    cancelled: int
    in_flight: int
    encoding: int
    waiting_encodes: int
    encoders: int
    mean_encode_s: float


class _Job:
    __slots__ = ("done", "error", "heavy", "key", "owner", "result", "scope", "started", "waiters")

    def __init__(self, key: SegmentKey, heavy: bool, owner: Hashable) -> None:
        self.key = key
        self.heavy = heavy
        self.owner = owner
        self.done = anyio.Event()
        self.result: bytes | None = None
        self.error: BaseException | None = None
        self.waiters = 0
        self.scope = anyio.CancelScope()
        self.started = False  # holds a thread: past cancelling

    @property
    def dropped(self) -> bool:
        return self.scope.cancel_called and not self.started


class SegmentWorkers:
    def __init__(
        self,
        cache: SegmentCache,
        *,
        encoders: int = 2,
        remuxers: int = 8,
        max_queued_encodes: int | None = None,
        max_encodes_per_owner: int = 0,
    ) -> None:
        if max_encodes_per_owner < 0:
            raise ValueError("max_encodes_per_owner must be 0 (no cap) or more")
        self._cache = cache
        self._encoders = anyio.CapacityLimiter(encoders)
        self._remuxers = anyio.CapacityLimiter(remuxers)
        self._max_queued = encoders * 2 if max_queued_encodes is None else max_queued_encodes
        self._per_owner = max_encodes_per_owner
        self._jobs: dict[SegmentKey, _Job] = {}
        self._tg: TaskGroup | None = None
        self._hits = self._joins = self._produced = self._failed = 0
        self._rejected = self._cancelled = 0
        self._mean_encode_s = 1.0  # a first guess, replaced by measurements

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the jobs' task group; start with ``await tg.start(workers.run)``."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self._tg = None

    async def get(
        self, key: SegmentKey, produce: Produce, *, heavy: bool = False, owner: Hashable = None
    ) -> bytes:
        """The segment's bytes: cached, joined, or produced now (for ``owner``)."""
        cached = await self._cache.get(key)
        if cached is not None:
            self._hits += 1
            return cached
        job = self._jobs.get(key)
        if job is None or job.dropped:  # a dropped prefetch is not joined: it will not run
            job = self._start(key, produce, heavy, owner, request=True)
        else:
            self._joins += 1
        job.waiters += 1
        try:
            await job.done.wait()
        finally:
            job.waiters -= 1
        if job.error is not None:
            raise _for_waiter(key, job.error) from job.error
        assert job.result is not None
        return job.result

    def prefetch(
        self, key: SegmentKey, produce: Produce, *, heavy: bool = False, owner: Hashable = None
    ) -> bool:
        """Start producing ``key`` unless it is in flight; False when admission refused it."""
        if key in self._jobs:
            return True
        try:
            self._start(key, produce, heavy, owner, check_cache=True)
        except Overloaded:
            return False
        return True

    def cancel(self, key: SegmentKey) -> bool:
        """Drop the job for ``key`` if nobody waits for it; True when it was cancelled."""
        job = self._jobs.get(key)
        if job is None or job.waiters > 0:
            return False
        job.scope.cancel()
        return True

    def statistics(self) -> WorkerStatistics:
        limiter = self._encoders.statistics()
        return WorkerStatistics(
            hits=self._hits,
            joins=self._joins,
            produced=self._produced,
            failed=self._failed,
            rejected=self._rejected,
            cancelled=self._cancelled,
            in_flight=len(self._jobs),
            encoding=limiter.borrowed_tokens,
            waiting_encodes=limiter.tasks_waiting,
            encoders=int(limiter.total_tokens),
            mean_encode_s=round(self._mean_encode_s, 3),
        )

    # --- internals --------------------------------------------------------------------------

    def _start(
        self,
        key: SegmentKey,
        produce: Produce,
        heavy: bool,
        owner: Hashable,
        *,
        check_cache: bool = False,
        request: bool = False,
    ) -> _Job:
        if self._tg is None:
            raise RuntimeError("SegmentWorkers.run is not running")
        if heavy and self._per_owner and owner is not None:
            self._admit_owner(owner, request=request)
        if heavy:
            stats = self._encoders.statistics()
            queued = [j for j in self._jobs.values() if j.heavy and not j.started and not j.dropped]
            if (
                stats.borrowed_tokens >= stats.total_tokens
                and len(queued) >= self._max_queued
                # A player's request takes the place of a queued prefetch (its owner's first):
                # a guess about what is wanted next never turns a real request away.
                and not (request and _drop_prefetch(queued, owner))
            ):
                self._rejected += 1
                retry = self._mean_encode_s * (len(queued) + 1) / stats.total_tokens
                raise Overloaded(
                    f"all {int(stats.total_tokens)} encoders are busy and "
                    f"{len(queued)} encodes wait",
                    retry_after=max(1.0, retry),
                )
        job = _Job(key, heavy, owner)
        self._jobs[key] = job
        self._tg.start_soon(self._run, job, produce, check_cache, name=f"segment {key}")
        return job

    def _admit_owner(self, owner: Hashable, *, request: bool) -> None:
        mine = [j for j in self._jobs.values() if j.heavy and j.owner == owner and not j.dropped]
        if len(mine) < self._per_owner or (request and _drop_prefetch(mine, owner)):
            return
        self._rejected += 1
        raise Overloaded(
            f"{owner} already has {len(mine)} encodes in flight (the limit per user is "
            f"{self._per_owner})",
            retry_after=max(1.0, self._mean_encode_s),
        )

    async def _run(self, job: _Job, produce: Produce, check_cache: bool) -> None:
        limiter = self._encoders if job.heavy else self._remuxers
        acquired = False
        try:
            # Only the wait is cancellable: a job that holds a thread finishes into the cache,
            # since PyAV cannot be interrupted and its work is likely wanted soon anyway.
            with job.scope:
                if check_cache and (cached := await self._cache.get(job.key)) is not None:
                    job.result = cached
                    return
                await limiter.acquire()
                acquired = job.started = True
            if not acquired:
                self._cancelled += 1
                job.error = EncodeFailed(f"segment {job.key} was cancelled")
                return
            started = anyio.current_time()
            data = await anyio.to_thread.run_sync(produce)
            if job.heavy:
                took = anyio.current_time() - started
                self._mean_encode_s += _EWMA * (took - self._mean_encode_s)
            await self._cache.put(job.key, data)
            job.result = data
            self._produced += 1
        except Exception as exc:  # one segment fails; the workers and the session go on
            self._failed += 1
            job.error = exc
            log.warning("segment.failed", key=str(job.key), error=repr(exc))
        finally:
            if acquired:
                limiter.release()
            if self._jobs.get(job.key) is job:  # a request may have replaced a dropped job
                del self._jobs[job.key]
            job.done.set()


def _drop_prefetch(jobs: list[_Job], owner: Hashable) -> bool:
    """Cancel one job that nobody awaits and that has no thread yet (a prefetch), preferring
    ``owner``'s and then the newest (the furthest guess ahead); False when there is none."""
    spare = [j for j in reversed(jobs) if j.waiters == 0 and not j.started and not j.dropped]
    spare.sort(key=lambda j: j.owner != owner)  # stable: newest first within each group
    if not spare:
        return False
    spare[0].scope.cancel()
    return True


def _for_waiter(key: SegmentKey, error: BaseException) -> EngineError:
    """A fresh error for each waiter (one exception object must not be raised in many tasks)."""
    if isinstance(error, CorruptSource):
        return CorruptSource(str(error))
    if isinstance(error, NotFound):
        return NotFound(str(error))
    if isinstance(error, EncodeFailed):
        return EncodeFailed(str(error))
    return EncodeFailed(f"segment {key} could not be produced: {type(error).__name__}: {error}")

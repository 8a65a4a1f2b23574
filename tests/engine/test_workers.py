"""Segment workers and the segment cache, on asyncio and trio."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import pytest

from engine.errors import CorruptSource, EncodeFailed, Overloaded
from engine.segmenter.cache import MemorySegmentCache, SegmentKey
from engine.segmenter.workers import SegmentWorkers

pytestmark = pytest.mark.anyio


def key(n: int, rendition: str = "720p") -> SegmentKey:
    return SegmentKey("v1", rendition, str(n))


class Gate:
    """A produce function that blocks in its thread until released, and counts its calls."""

    def __init__(self, data: bytes = b"segment") -> None:
        self.data = data
        self.started = anyio.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        anyio.from_thread.run_sync(self.started.set)
        if not self.release.wait(10):
            raise TimeoutError("the test never released the gate")
        return self.data


async def test_cache_lru_by_bytes() -> None:
    cache = MemorySegmentCache(max_bytes=10)
    await cache.put(key(1), b"aaaa")
    await cache.put(key(2), b"bbbb")
    assert await cache.get(key(1)) == b"aaaa"  # 1 is now the most recent
    await cache.put(key(3), b"cccc")  # 12 bytes > 10: the least recent (2) goes
    assert await cache.get(key(2)) is None
    assert await cache.get(key(3)) == b"cccc"
    await cache.put(key(4), b"x" * 11)  # larger than the whole cache: not stored
    assert await cache.get(key(4)) is None
    stats = cache.statistics()
    assert (stats.entries, stats.bytes, stats.evictions) == (2, 8, 1)
    assert (stats.hits, stats.misses) == (2, 2)
    with pytest.raises(ValueError):
        MemorySegmentCache(max_bytes=0)


async def test_one_job_however_many_ask_and_the_cache_after() -> None:
    workers = SegmentWorkers(MemorySegmentCache(), encoders=1)
    gate = Gate(b"the bytes")
    results: list[bytes] = []
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)

        async def ask() -> None:
            results.append(await workers.get(key(0), gate, heavy=True))

        for _ in range(3):
            tg.start_soon(ask)
        await gate.started.wait()
        await anyio.wait_all_tasks_blocked()
        assert workers.statistics().joins == 2
        gate.release.set()
        while len(results) < 3:
            await anyio.sleep(0.01)
        assert await workers.get(key(0), gate, heavy=True) == b"the bytes"  # from the cache
        tg.cancel_scope.cancel()
    assert results == [b"the bytes"] * 3 and gate.calls == 1
    stats = workers.statistics()
    assert (stats.produced, stats.hits, stats.in_flight) == (1, 1, 0)


async def test_a_requester_that_goes_away_does_not_cancel_the_job() -> None:
    workers = SegmentWorkers(MemorySegmentCache())
    gate = Gate()
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        with anyio.move_on_after(0.05):
            await workers.get(key(0), gate, heavy=True)  # the player disconnects
        await gate.started.wait()
        gate.release.set()
        assert await workers.get(key(0), gate, heavy=True) == b"segment"
        tg.cancel_scope.cancel()
    assert gate.calls == 1


async def test_admission_is_fail_fast_with_retry_after() -> None:
    workers = SegmentWorkers(MemorySegmentCache(), encoders=1, max_queued_encodes=0)
    gate = Gate()
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        assert workers.prefetch(key(0), gate, heavy=True)
        await gate.started.wait()
        with pytest.raises(Overloaded) as refused:
            await workers.get(key(1), gate, heavy=True)
        assert refused.value.retry_after >= 1
        assert not workers.prefetch(key(2), gate, heavy=True)
        # joining the encode in flight, and light work, are always admitted
        assert workers.prefetch(key(0), gate, heavy=True)
        assert await workers.get(key(0, "original"), lambda: b"remuxed") == b"remuxed"
        gate.release.set()
        assert await workers.get(key(0), gate, heavy=True) == b"segment"
        tg.cancel_scope.cancel()
    assert workers.statistics().rejected == 2


async def test_one_user_cannot_take_every_encoder() -> None:
    """Two encodes in flight per user: ann's third is refused when both hold a thread, while
    bob, anonymous requests and light work still get through."""
    workers = SegmentWorkers(MemorySegmentCache(), encoders=4, max_encodes_per_owner=2)
    running, queued = Gate(), Gate()
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        tg.start_soon(lambda: workers.get(key(0), running, heavy=True, owner="ann"))
        await running.started.wait()
        assert workers.prefetch(key(1), queued, heavy=True, owner="ann")
        assert not workers.prefetch(key(2), queued, heavy=True, owner="ann")  # at her cap
        await queued.started.wait()  # both hold a thread: nothing can make way for a request
        with pytest.raises(Overloaded, match="ann already has 2 encodes in flight") as refused:
            await workers.get(key(3), queued, heavy=True, owner="ann")
        assert refused.value.retry_after >= 1
        # others, anonymous requests and light work are not held back by ann's cap
        bob = Gate(b"bob")
        bob.release.set()
        assert await workers.get(key(4), bob, heavy=True, owner="bob") == b"bob"
        assert await workers.get(key(5), bob, heavy=True) == b"bob"
        assert await workers.get(key(6), lambda: b"light", owner="ann") == b"light"
        running.release.set()
        queued.release.set()
        assert await workers.get(key(1), queued, heavy=True, owner="ann") == b"segment"
        while workers.statistics().in_flight:
            await anyio.sleep(0.01)
        assert await workers.get(key(3), queued, heavy=True, owner="ann") == b"segment"
        tg.cancel_scope.cancel()


async def test_a_request_at_the_cap_drops_its_owners_queued_prefetch() -> None:
    workers = SegmentWorkers(MemorySegmentCache(), encoders=1, max_encodes_per_owner=2)
    busy, queued, wanted = Gate(), Gate(), Gate(b"wanted")
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        assert workers.prefetch(key(0), busy, heavy=True, owner="ann")
        await busy.started.wait()
        assert workers.prefetch(key(1), queued, heavy=True, owner="ann")  # waits for a thread
        await anyio.wait_all_tasks_blocked()
        # the player seeks: its request takes the queued prefetch's place instead of a 429
        busy.release.set()
        wanted.release.set()
        assert await workers.get(key(9), wanted, heavy=True, owner="ann") == b"wanted"
        tg.cancel_scope.cancel()
    assert queued.calls == 0
    assert workers.statistics().cancelled == 1


async def test_failures_fail_one_request_and_a_retry_works() -> None:
    workers = SegmentWorkers(MemorySegmentCache())
    attempts: list[int] = []

    def flaky() -> bytes:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("x264 ran out of memory")
        return b"second time"

    def corrupt() -> bytes:
        raise CorruptSource("the source is damaged at 12:04")

    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        with pytest.raises(EncodeFailed, match="RuntimeError: x264 ran out of memory"):
            await workers.get(key(0), flaky, heavy=True)
        assert await workers.get(key(0), flaky, heavy=True) == b"second time"
        with pytest.raises(CorruptSource, match="damaged at 12:04"):
            await workers.get(key(1), corrupt)
        tg.cancel_scope.cancel()
    stats = workers.statistics()
    assert (stats.failed, stats.produced) == (2, 1)


async def test_cancel_drops_a_queued_prefetch_but_not_one_someone_awaits() -> None:
    workers = SegmentWorkers(MemorySegmentCache(), encoders=1)
    busy, queued = Gate(), Gate()
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        workers.prefetch(key(0), busy, heavy=True)
        await busy.started.wait()
        workers.prefetch(key(5), queued, heavy=True)  # waits for the only encoder
        await anyio.wait_all_tasks_blocked()
        assert workers.cancel(key(5))  # a seek made it useless
        assert not workers.cancel(key(99))
        busy.release.set()
        await workers.get(key(0), busy, heavy=True)
        tg.cancel_scope.cancel()
    assert queued.calls == 0
    assert workers.statistics().cancelled == 1


async def test_workers_must_be_running() -> None:
    workers = SegmentWorkers(MemorySegmentCache())
    produce: Callable[[], bytes] = lambda: b""  # noqa: E731
    with pytest.raises(RuntimeError, match="not running"):
        await workers.get(key(0), produce)


async def test_a_players_request_is_never_refused_for_a_prefetch() -> None:
    """A seek while the queue holds prefetches: the request takes a prefetch's place (and the
    prefetch of the same segment, dropped, is not joined) instead of a 429."""
    workers = SegmentWorkers(MemorySegmentCache(), encoders=1, max_queued_encodes=2)
    busy, guessed, seek = Gate(), Gate(), Gate(b"seek")
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        assert workers.prefetch(key(0), busy, heavy=True, owner="ann")
        await busy.started.wait()
        assert workers.prefetch(key(1), guessed, heavy=True, owner="ann")
        assert workers.prefetch(key(2), guessed, heavy=True, owner="ann")
        assert not workers.prefetch(key(3), guessed, heavy=True, owner="ann")  # queue full
        seek.release.set()
        busy.release.set()
        guessed.release.set()
        assert await workers.get(key(40), seek, heavy=True, owner="ann") == b"seek"
        # the dropped prefetch (the newest guess, 2) is produced afresh when asked for
        assert await workers.get(key(2), guessed, heavy=True, owner="ann") == b"segment"
        tg.cancel_scope.cancel()
    assert workers.statistics().rejected == 1
    assert workers.statistics().cancelled == 1

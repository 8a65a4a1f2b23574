"""The session actor with real segment workers and real remuxing, on asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import pytest

from engine.actors import Supervisor
from engine.segmenter.cache import MemorySegmentCache
from engine.segmenter.renditions import RenditionKind
from engine.segmenter.workers import SegmentWorkers
from engine.sessions.actor import SessionContext, session_actor
from engine.sessions.plan import PlaybackPlan
from engine.sessions.session import (
    CloseRequested,
    ProgressReported,
    SegmentRequested,
    SessionConfig,
)
from ingest.demo import synthesize_clip
from tests.engine.actors.support import trio_only
from tests.fixtures.media import plan_clip

pytestmark = pytest.mark.anyio
NEVER_IDLE = SessionConfig(prefetch=3, idle_timeout=1e9)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("session") / "clip.mp4"
    return synthesize_clip(path, seconds=40, width=160, height=120, fps=25, gop=50)


@pytest.fixture(scope="module")
def plan(clip: Path) -> PlaybackPlan:
    return plan_clip(clip, target=Fraction(2))


def _video(plan: PlaybackPlan) -> str:
    return next(r.id for r in plan.renditions if r.kind is RenditionKind.VIDEO and r.is_remux)


# Worker threads remux in real time: the tests that wait for them run trio on its real clock
# (a mock clock races ahead of the threads, and its loop spins while they work).
REAL_CLOCKS = pytest.mark.parametrize(
    "anyio_backend", ["asyncio", ("trio", {})], ids=["asyncio", "trio"]
)


async def _until(condition: Callable[[], bool], what: str) -> None:
    with anyio.move_on_after(60):  # a loaded machine may take many seconds
        while not condition():
            await anyio.sleep(0.005)
        return
    raise AssertionError(f"never, in 60 s: {what}")


@dataclass
class Running:
    child: Any
    supervisor: Any
    workers: SegmentWorkers
    cache: MemorySegmentCache
    saved: list[tuple[int, bool]] = field(default_factory=list)


@asynccontextmanager
async def _running(plan: PlaybackPlan, clip: Path) -> AsyncIterator[Running]:
    """A session actor of ``plan`` under a supervisor, with real workers remuxing ``clip``."""
    cache = MemorySegmentCache()
    workers = SegmentWorkers(cache, encoders=1, remuxers=2)
    saved: list[tuple[int, bool]] = []

    async def save(position_us: int, final: bool) -> None:
        saved.append((position_us, final))

    context = SessionContext(plan, lambda: clip, workers, save)
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        supervisor = await tg.start(Supervisor(escalate=False).run)
        child = await supervisor.start_child("session-1", session_actor(context, NEVER_IDLE))
        yield Running(child, supervisor, workers, cache, saved)
        tg.cancel_scope.cancel()


@REAL_CLOCKS
async def test_prefetch_follows_the_player_and_progress_is_saved(
    plan: PlaybackPlan, clip: Path
) -> None:
    video = _video(plan)
    async with _running(plan, clip) as run:
        child, workers, cache = run.child, run.workers, run.cache
        child.mailbox.tell(SegmentRequested(video, 0))
        await _until(lambda: workers.statistics().produced == 3, "three segments prefetched")
        for n in (1, 2, 3):
            assert await cache.get(plan.key(plan.job(video, n))) is not None
        # a seek far ahead: the window moves there
        child.mailbox.tell(SegmentRequested(video, 12))
        await _until(lambda: workers.statistics().produced == 6, "the new window prefetched")
        for n in (13, 14, 15):
            assert await cache.get(plan.key(plan.job(video, n))) is not None
        child.mailbox.tell(ProgressReported(24_500_000, paused=True))
        child.mailbox.tell(CloseRequested())
        await child.wait()
        assert not child.alive
    assert run.saved == [(24_500_000, False), (24_500_000, True)]


@trio_only
async def test_a_silent_player_ends_its_session(plan: PlaybackPlan, clip: Path) -> None:
    workers = SegmentWorkers(MemorySegmentCache())
    saved: list[tuple[int, bool]] = []

    async def save(position_us: int, final: bool) -> None:
        saved.append((position_us, final))

    context = SessionContext(plan, lambda: clip, workers, save)
    config = SessionConfig(prefetch=1, idle_timeout=60.0)
    async with anyio.create_task_group() as tg:
        await tg.start(workers.run)
        supervisor = await tg.start(Supervisor(escalate=False).run)
        child = await supervisor.start_child("session-2", session_actor(context, config))
        child.mailbox.tell(ProgressReported(3_000_000))
        started = anyio.current_time()
        await child.wait()  # virtual time: a minute of silence costs nothing
        assert anyio.current_time() - started >= 60.0
        tg.cancel_scope.cancel()
    assert saved == [(3_000_000, False), (3_000_000, True)]


@REAL_CLOCKS
async def test_subtitle_segments_are_prefetched_as_webvtt(tmp_path: Path) -> None:
    """A player that fetches subtitles (hls.js does, even with captions off) gets the next
    cues prefetched as WebVTT; the session does not fall over asking for them as fMP4."""
    clip = synthesize_clip(
        tmp_path / "subs.mkv", seconds=12, width=160, height=120, fps=25, gop=50, subtitles=True
    )
    plan = plan_clip(clip, target=Fraction(2))
    [subtitles] = [r.id for r in plan.renditions if r.kind is RenditionKind.SUBTITLE]
    async with _running(plan, clip) as run:
        run.child.mailbox.tell(SegmentRequested(subtitles, 0))
        await _until(lambda: run.workers.statistics().produced == 3, "three cues prefetched")
        for n in (1, 2, 3):
            cues = await run.cache.get(plan.key(plan.job(subtitles, n, "webvtt")))
            assert cues is not None and cues.startswith(b"WEBVTT")
        assert run.child.alive and run.supervisor.statistics().restarts == 0
        run.child.mailbox.tell(CloseRequested())
        await run.child.wait()

"""A playback session's actor: the pure session (``engine.sessions.session``) run by the actor
loop, its effects carried out against the segment workers and a progress sink.

The actor steers; it does not serve. A segment request is answered by the web route straight
from ``SegmentWorkers`` (so any node can serve any segment) and then told to the session as a
``SegmentRequested``, from which the session plans prefetch. ``SaveProgress`` goes to the sink
the composition root gives (the catalog's user data).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

from engine.actors import Actor, Mailbox, run_state_machine
from engine.segmenter.executor import produce
from engine.segmenter.remux import Source
from engine.segmenter.renditions import RenditionKind
from engine.segmenter.workers import SegmentWorkers
from engine.sessions.plan import PlaybackPlan, SegmentJob
from engine.sessions.session import (
    CancelPrefetch,
    IdleCheck,
    Message,
    Prefetch,
    SaveProgress,
    SessionConfig,
    start,
    transition,
)

# (position in microseconds, final): the last report of a session is final.
ProgressSink = Callable[[int, bool], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SessionContext:
    plan: PlaybackPlan
    # Opens the media for one job, in the job's worker thread (an S3 reader per job: readers
    # are not shared between threads); a local path may simply be returned.
    open_media: Callable[[], Source]
    workers: SegmentWorkers
    save_progress: ProgressSink
    container: str = "cmaf"
    owner: Hashable = None  # whose encodes these are, for the per-user cap

    def producer(self, job: SegmentJob) -> Callable[[], bytes]:
        def run() -> bytes:
            source = self.open_media()
            try:
                return produce(job, source)
            finally:
                if isinstance(source, io.IOBase):
                    source.close()  # a reader opened for this job alone

        return run


def session_actor(context: SessionContext, config: SessionConfig) -> Actor[Message]:
    """The actor of one playback session, for ``Supervisor.start_child`` or a ``Registry``."""
    plan = context.plan
    kinds = {r.id: r.kind.value for r in plan.renditions}
    # Subtitles are WebVTT whatever the player's container for audio and video.
    containers = {
        r.id: "webvtt" if r.kind is RenditionKind.SUBTITLE else context.container
        for r in plan.renditions
    }

    async def execute(effect: object) -> None:
        if isinstance(effect, Prefetch):
            job = plan.job(effect.rendition, effect.n, containers[effect.rendition])
            context.workers.prefetch(
                plan.key(job),
                context.producer(job),
                heavy=not job.rendition.is_remux,
                owner=context.owner,
            )
        elif isinstance(effect, CancelPrefetch):
            job = plan.job(effect.rendition, effect.n, containers[effect.rendition])
            context.workers.cancel(plan.key(job))
        elif isinstance(effect, SaveProgress):
            await context.save_progress(effect.position_us, effect.final)
        else:
            raise TypeError(f"not a session effect: {effect!r}")

    async def actor(
        mailbox: Mailbox[Message], *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        # start() also returns the first idle timer, but the loop arms timers only from
        # transitions: an IdleCheck, handled first, arms the same one.
        initial, _ = start(kinds, plan.segment_count, anyio.current_time(), config)
        mailbox.tell(IdleCheck())
        await run_state_machine(mailbox, initial, transition, execute, task_status=task_status)

    return actor

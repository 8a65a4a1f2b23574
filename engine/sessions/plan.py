"""A session's playback plan: every segment job it can serve, each one complete in itself.

Pure data. A ``SegmentJob`` carries all an executor needs (the source stream, where to seek and
stop, the timestamp offset, the output container), so any worker on any node can produce any
segment in any order, and the plan's ``key`` names the result in the segment cache.

Timestamps: the first decode times of a stream are often negative (B-frame delay, AAC priming).
Every segment of every rendition is shifted by one **presentation offset**, in seconds: the
largest such delay of the streams served. Each stream gets it in its own ticks, so video and
audio renditions stay in sync (shifting each stream by its own delay would play audio early by
the difference: 59 ms on a typical x264 + AAC file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from engine.errors import NotFound
from engine.segmenter.cache import SegmentKey
from engine.segmenter.planner import SegmentBoundaries, plan_segment, segment_count
from engine.segmenter.renditions import Rendition, RenditionKind

CONTAINERS = ("cmaf", "mpegts")


@dataclass(frozen=True, slots=True)
class StreamClock:
    """A source stream's time base and how far before zero its decode times start (ticks)."""

    time_base: Fraction
    delay: int = 0


@dataclass(frozen=True, slots=True)
class SegmentJob:
    rendition: Rendition
    part: int | None  # None: the init segment
    seek: int | None  # boundaries' ticks; None: from the stream's start
    stop: int | None  # boundaries' ticks; None: to the stream's end
    time_base: Fraction  # of the boundaries
    offset: int  # added to every timestamp, in the source stream's ticks
    container: str  # cmaf, mpegts, webvtt
    offset_seconds: Fraction = Fraction(0)  # the presentation offset: what WebVTT cues add


@dataclass(frozen=True, slots=True)
class PlaybackPlan:
    version: str
    boundaries: SegmentBoundaries
    time_base: Fraction
    renditions: tuple[Rendition, ...]
    clocks: Mapping[int, StreamClock]  # by source stream index

    @property
    def segment_count(self) -> int:
        return segment_count(self.boundaries)

    @property
    def presentation_offset(self) -> Fraction:
        """Seconds added to every timestamp of every rendition: the largest stream delay."""
        served = {r.source_index for r in self.renditions}
        delays = [
            clock.delay * clock.time_base for index, clock in self.clocks.items() if index in served
        ]
        return max(delays, default=Fraction(0))

    def offset_ticks(self, stream_index: int) -> int:
        """The presentation offset in a stream's ticks, rounded up (never below its delay)."""
        clock = self._clock(stream_index)
        return max(clock.delay, math.ceil(self.presentation_offset / clock.time_base))

    def rendition(self, rendition_id: str) -> Rendition:
        for rendition in self.renditions:
            if rendition.id == rendition_id:
                return rendition
        raise NotFound(f"no rendition {rendition_id!r} in this session")

    def job(self, rendition_id: str, part: int | None, container: str = "cmaf") -> SegmentJob:
        """The job for segment ``part`` (None: the init segment) of a rendition."""
        rendition = self.rendition(rendition_id)
        if (rendition.kind is RenditionKind.SUBTITLE) != (container == "webvtt"):
            served = "webvtt" if rendition.kind is RenditionKind.SUBTITLE else "cmaf or mpegts"
            raise NotFound(f"rendition {rendition_id!r} is served as {served}, not {container}")
        if container != "webvtt" and container not in CONTAINERS:
            raise NotFound(f"no {container!r} segments: use one of {', '.join(CONTAINERS)}")
        if part is None:
            if container != "cmaf":
                raise NotFound(f"{container} segments have no init segment")
            seek = stop = None
        else:
            plan = plan_segment(self.boundaries, part, time_base=self.time_base)
            seek, stop = plan.seek, plan.stop
        return SegmentJob(
            rendition=rendition,
            part=part,
            seek=seek,
            stop=stop,
            time_base=self.time_base,
            offset=self.offset_ticks(rendition.source_index),
            container=container,
            offset_seconds=self.presentation_offset,
        )

    def key(self, job: SegmentJob) -> SegmentKey:
        part = "init" if job.part is None else str(job.part)
        return SegmentKey(self.version, job.rendition.id, part, job.container)

    def _clock(self, stream_index: int) -> StreamClock:
        try:
            return self.clocks[stream_index]
        except KeyError:
            raise NotFound(f"no clock for source stream {stream_index}") from None

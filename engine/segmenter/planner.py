"""Segment planning: where segments start and end, and what a writer stamps into each fragment.

Pure and deterministic, standard library only. Every rendition of a media version uses the same
boundaries (so ABR switching lines up), and segment ``n`` of any rendition is a function of the
keyframe index and ``n`` alone: any worker can make any segment, in any order.

Boundaries are ticks of the keyframe index's time base: ``b[0] < b[1] < ... < b[N]``, where
segment ``n`` covers ``[b[n], b[n + 1])``, every boundary but the last is a source keyframe (a
remux must start on one), and ``b[N]`` is the end of the stream. The rules of
``plan_boundaries``:

- From a boundary ``s``, the next one is the candidate nearest ``s + target`` (ties go to the
  earlier, shorter segment). Candidates are the keyframes ``k`` with ``k - s >= minimum`` and
  ``end - k >= minimum``, and the end itself. A GOP is never split: a GOP longer than the
  target is one long segment.
- ``minimum`` defaults to half the target. The end-side condition is the tiny-remainder rule: a
  keyframe that would leave less than ``minimum`` before the end is not a candidate, so the last
  segment absorbs it instead of a 0.2 s segment following. Only a stream shorter than the
  minimum has a segment shorter than the minimum (its only one).
- The first segment aims at ``first_target`` (default: the target) with a minimum of
  ``min(minimum, first_target / 2)``: a short first segment starts playback sooner.

Decode times (``decode_times``) put the boundaries in a rendition's timescale (90 kHz for video,
the sample rate for audio), rounded half up as FFmpeg's ``av_rescale`` does and then up to the
next whole frame for audio (AAC frames are 1024 samples), measured from ``origin``. Fragment
``n`` starts at ``times[n]`` and its samples last exactly ``times[n + 1] - times[n]``: decode
times are continuous across segments and equal across renditions at every boundary.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from math import ceil, floor
from typing import TypeAlias

from engine.errors import CorruptSource, NotFound
from engine.segmenter.keyframes import KeyframeIndex

SegmentBoundaries: TypeAlias = tuple[int, ...]
"""Ascending ticks: ``N + 1`` values for ``N`` segments; see the module docstring."""

DEFAULT_TARGET = Fraction(6)
VIDEO_TIMESCALE = 90_000
AAC_FRAME_SAMPLES = 1024


def plan_boundaries(
    index: KeyframeIndex,
    *,
    target: Fraction = DEFAULT_TARGET,
    minimum: Fraction | None = None,
    first_target: Fraction | None = None,
) -> SegmentBoundaries:
    """The segment boundaries of a stream, in ``index.time_base`` ticks (seconds arguments)."""
    if target <= 0:
        raise ValueError(f"target must be positive, got {target}")
    if minimum is None:
        minimum = target / 2
    if not 0 < minimum <= target:
        raise ValueError(f"minimum must be in (0, target], got {minimum}")
    first_target = target if first_target is None else first_target
    if first_target <= 0:
        raise ValueError(f"first_target must be positive, got {first_target}")
    if not index.pts:
        raise CorruptSource("the keyframe index is empty")
    pts = index.pts
    start = pts[0]
    end = start + index.duration
    if end <= start:
        raise CorruptSource("the stream has no duration after its first keyframe")

    tb = index.time_base
    aim = first_target / tb
    low = min(minimum, first_target / 2) / tb
    tail = minimum / tb  # the least any segment after the chosen boundary may last
    out = [start]
    s = start
    while s < end:
        s = _next_boundary(pts, s, end, aim=s + aim, low=s + low, high=end - tail)
        out.append(s)
        aim, low = target / tb, minimum / tb
    return tuple(out)


def _next_boundary(
    pts: Sequence[int], s: int, end: int, *, aim: Fraction, low: Fraction, high: Fraction
) -> int:
    """The keyframe in ``[low, high]`` or the end, whichever is nearest ``aim``."""
    candidates = [end]
    lo = bisect_left(pts, ceil(low))  # first keyframe >= low
    hi = bisect_right(pts, floor(high))  # past the last keyframe <= high
    if lo < hi:
        split = bisect_left(pts, ceil(aim), lo, hi)  # the first candidate at or above aim
        if split > lo:
            candidates.append(pts[split - 1])
        if split < hi:
            candidates.append(pts[split])
    best = min(candidates, key=lambda k: (abs(k - aim), k))
    assert best > s
    return best


def segment_count(boundaries: SegmentBoundaries) -> int:
    return max(len(boundaries) - 1, 0)


def total_duration(boundaries: SegmentBoundaries, *, time_base: Fraction) -> Fraction:
    """Seconds from the first boundary to the end of the stream."""
    return (boundaries[-1] - boundaries[0]) * time_base if boundaries else Fraction(0)


def segment_durations(
    boundaries: SegmentBoundaries, *, time_base: Fraction
) -> tuple[Fraction, ...]:
    """Each segment's duration in seconds (for playlists)."""
    return tuple((b - a) * time_base for a, b in pairwise(boundaries))


def segment_for_time(boundaries: SegmentBoundaries, ticks: int) -> int:
    """The segment holding the position ``ticks`` (for seeking). A position before the first
    boundary is in segment 0 and one at or past the end is in the last segment: seeks clamp."""
    count = segment_count(boundaries)
    if count == 0:
        raise NotFound("there are no segments")
    return min(max(bisect_right(boundaries, ticks) - 1, 0), count - 1)


def ticks_at(seconds: Fraction, *, time_base: Fraction, boundaries: SegmentBoundaries) -> int:
    """The tick of a playlist position (seconds from the first boundary), rounded down."""
    return boundaries[0] + floor(seconds / time_base)


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """Segment ``index``: ``[start, end)`` in ``time_base`` ticks of the boundaries' stream.

    ``seek`` is where an executor seeks (the boundary keyframe) or None for the first segment,
    which reads from the beginning so nothing before the first keyframe is lost (AAC priming,
    leading frames); ``stop`` is None for the last segment, which runs to the end of the stream.
    """

    index: int
    start: int
    end: int
    time_base: Fraction
    origin: int  # the first boundary: playlist time 0
    is_last: bool

    @property
    def seek(self) -> int | None:
        return None if self.index == 0 else self.start

    @property
    def stop(self) -> int | None:
        return None if self.is_last else self.end

    @property
    def duration(self) -> Fraction:
        """Seconds, for playlists."""
        return (self.end - self.start) * self.time_base

    @property
    def offset(self) -> Fraction:
        """Seconds from playlist time 0 to the segment's start."""
        return (self.start - self.origin) * self.time_base

    def decode_window(
        self, timescale: int, *, frame_duration: int = 1, origin: int = 0
    ) -> tuple[int, int]:
        """The fragment's base media decode time and the next fragment's, as in
        ``decode_times``: the fragment's samples must last exactly the difference."""
        return (
            rescale(self.start, self.time_base, timescale, frame_duration, origin),
            rescale(self.end, self.time_base, timescale, frame_duration, origin),
        )


def plan_segment(boundaries: SegmentBoundaries, n: int, *, time_base: Fraction) -> SegmentPlan:
    count = segment_count(boundaries)
    if not 0 <= n < count:
        raise NotFound(f"segment {n} does not exist (there are {count})")
    return SegmentPlan(
        index=n,
        start=boundaries[n],
        end=boundaries[n + 1],
        time_base=time_base,
        origin=boundaries[0],
        is_last=n == count - 1,
    )


def decode_times(
    boundaries: SegmentBoundaries,
    *,
    time_base: Fraction,
    timescale: int,
    frame_duration: int = 1,
    origin: int = 0,
) -> tuple[int, ...]:
    """Every boundary in ``timescale`` units from ``origin`` ticks: ``times[n]`` is fragment
    ``n``'s base media decode time (tfdt) and the last value is the end. ``origin`` 0 keeps the
    source's own clock (what the remux executor's tfdt carries); ``boundaries[0]`` starts the
    timeline at zero. ``frame_duration`` aligns times to whole frames (1024 for AAC)."""
    return tuple(rescale(b, time_base, timescale, frame_duration, origin) for b in boundaries)


def rescale(
    ticks: int, time_base: Fraction, timescale: int, frame_duration: int = 1, origin: int = 0
) -> int:
    """``ticks`` as ``timescale`` units from ``origin``: rounded half up, then up to a frame."""
    if timescale <= 0 or frame_duration <= 0:
        raise ValueError("timescale and frame duration must be positive")
    exact = (ticks - origin) * time_base * timescale
    units = floor(exact + Fraction(1, 2))
    if units < 0:
        raise ValueError(f"tick {ticks} is before the origin {origin}")
    return -(-units // frame_duration) * frame_duration

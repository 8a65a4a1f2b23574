"""Making a session's ``PlaybackPlan`` from what the catalog knows about a file.

Not pure: it reads the start of each served stream once (``stream_delay``), and measures each
video encoder's B-frame delay (``video_delay``, a trial encode of a few tiny frames), for the
shared presentation offset; so it runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from engine.media import StreamInfo
from engine.segmenter.keyframes import KeyframeIndex
from engine.segmenter.planner import plan_boundaries
from engine.segmenter.remux import Source, stream_delay
from engine.segmenter.renditions import VideoEncoding, plan_renditions
from engine.segmenter.transcode import video_delay
from engine.sessions.plan import PlaybackPlan, StreamClock


def plan_playback(
    source: Source,
    streams: Sequence[StreamInfo],
    keyframes: KeyframeIndex,
    *,
    version: str,
    bit_rate: int | None,
    target: Fraction = Fraction(6),
    first_target: Fraction | None = None,
) -> PlaybackPlan:
    """Renditions, segment boundaries and stream clocks of one file."""
    renditions = plan_renditions(streams, source_bit_rate=bit_rate)
    by_index = {s.index: s for s in streams}
    delays = {index: stream_delay(source, index) for index in {r.source_index for r in renditions}}
    for rendition in renditions:
        # An encoder with B-frames starts its decode times before zero too; the shared offset
        # must cover that, or an MPEG-TS rendition (no negative times) drifts from its audio.
        if isinstance(rendition.encoding, VideoEncoding):
            index = rendition.source_index
            delays[index] = max(delays[index], video_delay(source, index, rendition.encoding))
    clocks = {
        index: StreamClock(by_index[index].time_base or Fraction(1), delays[index])
        for index in sorted(delays)
    }
    return PlaybackPlan(
        version=version,
        boundaries=plan_boundaries(keyframes, target=target, first_target=first_target),
        time_base=keyframes.time_base,
        renditions=tuple(renditions),
        clocks=clocks,
    )

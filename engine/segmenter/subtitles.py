"""Subtitles: one WebVTT segment of a text subtitle stream, read with PyAV.

A segment covers ``[start, end)`` of the timeline in ticks of ``time_base`` (the boundaries',
as for ``remux``). Its cues are those whose display interval overlaps it, a cue that straddles
a boundary landing in both segments. Subtitle packets are sparse, so the demuxer seeks backward
to ``start`` on the subtitle stream (landing on the cue shown at ``start``, if any) and keeps
the cues that end after it. Formatting is ``engine.segmenter.webvtt``'s; this module decides
nothing else. Runs in a worker thread; errors map to the engine's tree.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av.error

from engine.errors import CorruptSource, NotFound
from engine.segmenter.remux import Source, ceil_ticks, open_source, source_stream
from engine.segmenter.webvtt import Cue, ass_text, clean_text, document, overlaps


def subtitle_segment(
    source: Source,
    stream_index: int,
    *,
    start: int | None,
    end: int | None,
    time_base: Fraction,
    offset_s: Fraction,
) -> bytes:
    """The WebVTT segment (UTF-8) of the cues overlapping ``[start, end)``; ``None`` bounds run
    from the stream's start or to its end. ``offset_s`` (the presentation offset, seconds) is
    added to every cue time."""
    lo = None if start is None else start * time_base
    hi = None if end is None else end * time_base
    with open_source(source) as demuxer:
        stream = source_stream(demuxer, stream_index)
        if stream.type != "subtitle":
            raise NotFound(f"stream {stream_index} is not a subtitle stream")
        stb = stream.time_base
        if stb is None:
            raise CorruptSource(f"stream {stream_index} has no time base")
        cues: list[Cue] = []
        try:
            if start is not None:
                target = ceil_ticks(start, time_base, stb)
                demuxer.seek(target, stream=stream, backward=True, any_frame=False)
            for packet in demuxer.demux(stream):
                if packet.pts is None or not packet.size:
                    continue  # the flush packet, or one that cannot be placed
                begin = packet.pts * stb
                if hi is not None and begin >= hi:
                    break
                cue = _cue(stream, packet, begin, stb, hi)
                if cue is not None and overlaps(cue.start, cue.end, lo, hi):
                    cues.append(Cue(cue.start + offset_s, cue.end + offset_s, cue.text))
        except av.error.FFmpegError as exc:
            raise CorruptSource(f"cannot read subtitle stream {stream_index}: {exc}") from exc
    return document(cues).encode()


def _cue(
    stream: Any, packet: Any, begin: Fraction, stb: Fraction, hi: Fraction | None
) -> Cue | None:
    """The cue of one packet, in source seconds; None for a packet with no text."""
    subtitle_set = stream.codec_context.decode2(packet)
    if subtitle_set is None:
        return None  # an empty sample: mov_text writes one to clear the screen
    if packet.duration:
        finish = begin + packet.duration * stb
    elif subtitle_set.end_display_time:
        finish = begin + Fraction(subtitle_set.end_display_time, 1000)
    else:
        finish = hi if hi is not None else begin  # no length known: until the segment ends
    texts = []
    for rect in subtitle_set:
        kind = getattr(rect, "type", b"")
        if kind == b"ass":
            texts.append(clean_text(ass_text(rect.ass.decode("utf-8", "replace"))))
        elif kind == b"text":
            texts.append(clean_text(rect.text.decode("utf-8", "replace")))
    text = "\n".join(t for t in texts if t)
    start = begin + Fraction(subtitle_set.start_display_time, 1000)
    return Cue(start, finish, text) if text else None

"""Remux: one segment of one source stream, copied packet for packet into CMAF or MPEG-TS.

A segment covers ``[start, end)`` of the timeline, given in ticks of ``time_base`` (the
boundaries' time base: the video stream's, since boundaries are its keyframes). Each call opens
its own demuxer and muxer, so any segment can be made alone, in any order, by any worker:

- Video: seek to the keyframe at ``start`` and copy packets whose pts falls before ``end``.
- Audio (a separate rendition): copy the packets whose pts falls in the same interval. Every
  packet lands in exactly one segment, so audio is gapless across segments too.
- CMAF: the mp4 muxer with ``empty_moov`` writes the init segment (ftyp + moov) first and
  ``frag_discont`` puts the source decode time in each fragment's tfdt; the media segment is the
  output from the first ``moof`` on. The init does not depend on the packets: it is the same for
  every segment of a rendition, which ``init_segment`` produces without any.
- MPEG-TS (legacy clients): a self-contained segment; FFmpeg inserts h264/hevc Annex B conversion.

Timestamps: a stream's first decode times are often negative (B-frame reorder delay, AAC
priming); a fragment's tfdt cannot be, and each muxer would shift its own segment on its own.
So every segment of a stream is shifted by one ``offset`` (``stream_delay`` tells the least),
and renditions muxed separately must use offsets equal in seconds, or A/V sync drifts by the
difference: ``engine.sessions.plan`` chooses it. The mp4 muxer keeps each sample's presentation
time (tfdt plus signed composition offsets) exactly at source time plus offset; note that
FFmpeg's own mp4 demuxer, reading such fragments back, reports video later by its reorder
delay, which players that read tfdt and trun (hls.js, Safari, ExoPlayer) do not.

Runs in a worker thread (PyAV releases the GIL in demux and mux calls). Errors map to the engine's
tree: a source that cannot be read as indexed is ``CorruptSource``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Literal

import av
import av.error

from engine.errors import CorruptSource
from engine.segmenter import demuxers

CMAF_OPTIONS = {"movflags": "cmaf+frag_keyframe+empty_moov+default_base_moof+frag_discont"}
Container = Literal["cmaf", "mpegts"]
Source = str | Path | IO[bytes]


@dataclass(frozen=True, slots=True)
class Segment:
    """A produced segment: its bytes, and what went into it (for tests and statistics)."""

    data: bytes
    packets: int
    first_pts: int | None  # in the stream's own time base
    end_pts: int | None


def init_segment(source: Source, stream_index: int) -> bytes:
    """The CMAF init segment (ftyp + moov) of one stream: the same for all of its segments."""
    with _reading(source, pooled=True) as borrowed:
        stream = source_stream(borrowed.container, stream_index)
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="mp4", options=CMAF_OPTIONS) as out:
            out.add_stream_from_template(stream)
            out.start_encoding()  # writes the header; PyAV otherwise waits for a packet
        data = buffer.getvalue()
    return init_part(data)


def remux_segment(
    source: Source,
    stream_index: int,
    *,
    start: int | None,
    end: int | None,
    time_base: Fraction,
    container: Container = "cmaf",
    offset: int = 0,
) -> Segment:
    """Copy the packets of ``stream_index`` whose pts is in ``[start, end)`` (``time_base``
    ticks). ``start=None`` (the first segment) runs from the stream's first packet, so nothing
    before the first boundary is lost (AAC priming, frames before the first keyframe);
    ``end=None`` runs to the end of the stream.

    ``offset`` (the stream's ticks) is added to every timestamp. Pass the same value for every
    segment of a stream, at least ``stream_delay``: then no muxer sees a negative decode time,
    and none shifts a segment on its own (the MPEG-TS muxer would, breaking continuity)."""
    with _reading(source, pooled=True) as borrowed:
        demuxer = borrowed.container
        stream = source_stream(demuxer, stream_index)
        stb = stream.time_base
        if stb is None:
            raise CorruptSource(f"stream {stream_index} has no time base")
        # [start, end) in the stream's ticks, rounded so no packet is counted twice or lost.
        lo = None if start is None else ceil_ticks(start, time_base, stb)
        hi = None if end is None else ceil_ticks(end, time_base, stb)
        buffer = io.BytesIO()
        if container == "cmaf":
            out = av.open(buffer, "w", format="mp4", options=CMAF_OPTIONS)
        else:
            out = av.open(buffer, "w", format="mpegts")
        packets = 0
        first: int | None = None
        last_end: int | None = None
        try:
            with out:
                ostream = out.add_stream_from_template(stream)
                if lo is not None:
                    demuxer.seek(lo, stream=stream, backward=True, any_frame=False)
                elif borrowed.reused:
                    # A demuxer read before: back to before the stream's first sample (the
                    # pooled MP4 and Matroska demuxers clamp that to the first one).
                    demuxer.seek(_BEFORE_ANY_SAMPLE, stream=stream, backward=True, any_frame=False)
                for packet in demuxer.demux(stream):
                    pts = packet.pts
                    if packet.dts is None or pts is None or not packet.size:
                        continue  # the flush packet, or a packet that cannot be placed
                    if hi is not None and pts >= hi:
                        if packet.is_keyframe or stream.type != "video":
                            break
                        continue  # a B-frame shown before the boundary but decoded after
                    if lo is not None and pts < lo:
                        continue
                    first = pts if first is None else min(first, pts)
                    last_end = max(last_end or 0, pts + (packet.duration or 0))
                    if offset:
                        packet.pts = pts + offset
                        packet.dts = packet.dts + offset
                    packet.stream = ostream
                    out.mux(packet)
                    packets += 1
        except av.error.FFmpegError as exc:
            raise CorruptSource(f"cannot remux stream {stream_index}: {exc}") from exc
    if packets == 0:
        # Every planned segment spans at least one keyframe interval of real media: none at all
        # means the file is cut short or damaged there (changed since it was scanned).
        raise CorruptSource(
            f"stream {stream_index} has no packets between {start} and {end} "
            f"({time_base} s ticks): the source is cut short or damaged there"
        )
    data = buffer.getvalue()
    if container == "cmaf":
        data = media_part(data)
    return Segment(data=data, packets=packets, first_pts=first, end_pts=last_end)


_BEFORE_ANY_SAMPLE = -(1 << 60)


def init_part(data: bytes) -> bytes:
    """The init segment (ftyp + moov) of a muxer's CMAF output: everything before the first
    ``moof``."""
    cut = first_box(data, b"moof")
    return data if cut is None else data[:cut]


def media_part(data: bytes) -> bytes:
    """The media segment of a muxer's CMAF output: everything from the first ``moof`` on (the
    init segment before it is served once, from ``init_segment``)."""
    cut = first_box(data, b"moof")
    return b"" if cut is None else data[cut:]


def stream_delay(source: Source, stream_index: int) -> int:
    """How far before zero the stream's decode times start, in its ticks (0 when they do not):
    the B-frame reorder delay of video, the encoder priming of AAC. Read once per stream."""
    with open_source(source) as demuxer:
        stream = source_stream(demuxer, stream_index)
        try:
            for packet in demuxer.demux(stream):
                if packet.dts is not None and packet.size:
                    first: int = min(packet.dts, packet.pts if packet.pts is not None else 0)
                    return max(0, -first)
        except av.error.FFmpegError as exc:
            raise CorruptSource(f"cannot read stream {stream_index}: {exc}") from exc
    return 0


def ceil_ticks(ticks: int, from_base: Fraction, to_base: Fraction) -> int:
    """``ticks`` of ``from_base`` in ``to_base``, rounded up: the first tick at or after it."""
    num = ticks * from_base.numerator * to_base.denominator
    den = from_base.denominator * to_base.numerator
    return -((-num) // den)


def first_box(data: bytes, kind: bytes) -> int | None:
    """Offset of the first top-level ISO-BMFF box of ``kind`` (walking box headers, not
    searching bytes, which could match inside another box)."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        box = data[pos + 4 : pos + 8]
        if box == kind:
            return pos
        if size == 1 and pos + 16 <= len(data):
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            return None
        pos += size
    return None


class open_source:
    """``av.open`` for reading, with the engine's error mapping."""

    def __init__(self, source: Source) -> None:
        self._source: Any = str(source) if isinstance(source, Path) else source
        self._container: Any = None

    def __enter__(self) -> Any:
        if not isinstance(self._source, str):
            self._source.seek(0)  # a reader read before (another stream's pass) starts over
        try:
            self._container = av.open(self._source, "r")
        except (av.error.FFmpegError, OSError) as exc:
            raise CorruptSource(f"cannot open the source: {exc}") from exc
        return self._container

    def __exit__(self, *exc_info: object) -> None:
        self._container.close()


@contextmanager
def _reading(source: Source, *, pooled: bool) -> Iterator[demuxers.Borrowed]:
    """A demuxer of ``source``: borrowed from the shared pool for a local file when ``pooled``,
    else opened for this use alone."""
    if pooled and isinstance(source, str | Path):
        with demuxers.shared.borrow(str(source)) as borrowed:
            yield borrowed
        return
    with open_source(source) as container:
        yield demuxers.Borrowed(container, reused=False)


def source_stream(container: Any, index: int) -> Any:
    try:
        return container.streams[index]
    except IndexError:
        raise CorruptSource(f"the source has no stream {index}") from None


# The names these helpers had while only this module used them.
_open, _stream, _ceil_ticks, _first_box = open_source, source_stream, ceil_ticks, first_box

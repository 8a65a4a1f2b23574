"""Transcode: one segment of one video stream, decoded, scaled and encoded alone.

Like the remux executor, every call opens its own demuxer, decoder, encoder and muxer, so any
segment of a rendition can be made alone, in any order, by any worker, and the segments still
assemble into one valid, continuous stream:

- Decode from the boundary keyframe (a backward seek to ``start``), drop the frames shown before
  ``start`` (an open GOP's leading pictures) and stop at the first frame shown at ``end``.
- Scale to the rendition's size with one swscale context per segment (bicubic, like FFmpeg's
  ``scale`` filter), in the encoding's pixel format (yuv420p).
- Encode with a fresh encoder whose first frame is forced to an IDR: ``pict_type = I`` on the
  first frame and ``NONE`` on every other (decoded frames carry their source picture type, and
  libx264 obeys it: a source I frame would become an I frame mid-segment), ``forced-idr=1`` so a
  forced I is an IDR even where x264 would make a recovery-point I, and x264's
  ``keyint=infinite:scenecut=0`` so no other keyframe appears: one closed GOP per segment.
- Timestamps: every output frame keeps its source pts (``+ offset``) in the source stream's own
  time base, which is also the encoder's and the muxer's. So the boundaries of every rendition,
  remuxed or transcoded, fall on exactly the same ticks; nothing is rescaled or rounded.

CMAF: the mp4 muxer (the remux executor's flags plus ``skip_trailer``) writes the init segment
first; with ``frag_discont`` each fragment's tfdt is its first pts (+ offset) and x264's B-frame
delay goes into negative composition offsets (a version 1 ``trun``), so decode times are
continuous across segments. The init holds the encoder's extradata (SPS/PPS): libx264 makes it
from the settings alone (size, profile, level, preset, rate control, keyint, time base and
frame rate, colour tags), not from the pictures or the thread count, so ``video_init_segment``
writes it without encoding anything and it is byte-identical to the one beside every segment.
That is why keyint is a fixed ``infinite`` rather than the segment's length: keyint sets the
SPS's frame-number width. x264 also puts its version-and-options SEI in front of each segment's
first frame (a few hundred bytes); decoders ignore it.

MPEG-TS: self-contained segments (x264 repeats SPS/PPS before each IDR). A TS decode time may
not be negative, so ``offset`` must cover the encoder's B-frame delay (``video_delay``), which
the session adds to the source's own (``remux.stream_delay``) when it chooses one offset for
all renditions.

Hardware encoders (NVENC, Quick Sync, AMF) are used when ``available_video_encoders`` finds
one that opens; none is ever required. Runs in a worker thread (PyAV releases the GIL in codec
calls). Errors: a source that cannot be demuxed or decoded is ``CorruptSource``; an encoder or
muxer that fails is ``EncodeFailed`` (that segment only).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import av
import av.codec.hwaccel
import av.error
from av.video.frame import PictureType, VideoFrame
from av.video.reformatter import Interpolation, VideoReformatter

from engine.errors import CorruptSource, EncodeFailed
from engine.segmenter.remux import (
    CMAF_OPTIONS,
    Container,
    Segment,
    Source,
    ceil_ticks,
    first_box,
    open_source,
    source_stream,
)
from engine.segmenter.renditions import VideoEncoding

SEGMENT_CMAF_OPTIONS = {"movflags": CMAF_OPTIONS["movflags"] + "+skip_trailer"}
X264_PARAMS = "keyint=infinite:scenecut=0:open-gop=0"
_HARDWARE = (("h264_nvenc", "cuda"), ("h264_qsv", "qsv"), ("h264_amf", "amf"))
_HARDWARE_GOP = 1 << 20  # frames: far longer than any segment, so only forced IDRs occur
_ENCODER_ERRORS = (av.error.FFmpegError, ValueError, OSError, RuntimeError)


def transcode_video_segment(
    source: Source,
    stream_index: int,
    *,
    start: int | None,
    end: int | None,
    time_base: Fraction,
    encoding: VideoEncoding,
    offset: int = 0,
    container: Container = "cmaf",
    threads: int = 0,
    with_init: bool = False,
) -> Segment:
    """Encode the frames of ``stream_index`` shown in ``[start, end)`` (``time_base`` ticks)
    as one segment starting with an IDR. ``start=None`` (the first segment) runs from the
    stream's first frame, ``end=None`` to its last. ``offset`` (the stream's ticks) is added to
    every timestamp; pass the same value for every segment of every rendition. ``threads`` is
    the encoder's thread count (0: the encoder chooses, one per core and a half for x264).
    ``with_init`` keeps the init segment in front of a CMAF segment: a file playable alone."""
    with open_source(source) as demuxer:
        stream = _video_stream(demuxer, stream_index)
        stb: Fraction = stream.time_base
        lo = None if start is None else ceil_ticks(start, time_base, stb)
        hi = None if end is None else ceil_ticks(end, time_base, stb)
        buffer = io.BytesIO()
        with _encoder_step("open the muxer"):
            out = _open_output(buffer, container)
        packets = 0
        first: int | None = None
        last_end: int | None = None
        try:
            ostream = _add_video(out, stream, encoding, threads)
            with _encoder_step(f"open {encoding.encoder} (or write the header)"):
                out.start_encoding()
            scaler = VideoReformatter()
            previous: int | None = None
            for frame in _decoded(demuxer, stream, lo, hi):
                pts: int = frame.pts
                if previous is not None and pts <= previous:
                    continue  # a repeated timestamp: x264 refuses non-increasing pts
                previous = pts
                with _encoder_step("scale a frame"):
                    picture = scaler.reformat(
                        frame,
                        width=encoding.width,
                        height=encoding.height,
                        format=ostream.codec_context.pix_fmt,
                        interpolation=Interpolation.BICUBIC,
                    )
                picture.pts = pts + offset
                picture.time_base = stb
                picture.duration = frame.duration
                picture.pict_type = PictureType.I if first is None else PictureType.NONE
                if first is None:
                    first = pts
                last_end = pts + (frame.duration or 0)
                packets += _mux(out, ostream, picture)
            packets += _mux(out, ostream, None)
        finally:
            with _encoder_step("finish the segment"):
                out.close()
    data = buffer.getvalue()
    if container == "cmaf" and not with_init:
        cut = first_box(data, b"moof")
        data = b"" if cut is None else data[cut:]
    return Segment(data=data, packets=packets, first_pts=first, end_pts=last_end)


def video_init_segment(source: Source, stream_index: int, encoding: VideoEncoding) -> bytes:
    """The CMAF init segment (ftyp + moov) of a transcoded rendition, identical to the one
    written beside each of its segments; it needs the source stream's time base, frame rate
    and colour tags, not its pictures."""
    with open_source(source) as demuxer:
        stream = _video_stream(demuxer, stream_index)
        buffer = io.BytesIO()
        with _encoder_step("write the init segment"):
            with av.open(buffer, "w", format="mp4", options=SEGMENT_CMAF_OPTIONS) as out:
                _add_video(out, stream, encoding, threads=1)
                out.start_encoding()
            data = buffer.getvalue()
    cut = first_box(data, b"moof")
    return data if cut is None else data[:cut]


def video_delay(source: Source, stream_index: int, encoding: VideoEncoding) -> int:
    """How far the encoder's decode times trail its presentation times, in the source stream's
    ticks: x264's B-frame (pyramid) delay at the stream's frame rate, 0 without B-frames. A
    trial encode of a few tiny frames, since the delay follows from the preset."""
    with open_source(source) as demuxer:
        stream = _video_stream(demuxer, stream_index)
        stb: Fraction = stream.time_base
        rate = _frame_rate(stream, encoding)
        step = max(round(1 / (rate * stb)), 1)
    tiny = VideoEncoding(
        width=64,
        height=64,
        bit_rate=100_000,
        max_rate=150_000,
        buffer_size=200_000,
        level=encoding.level,
        frame_rate=rate,
        encoder=encoding.encoder,
        profile=encoding.profile,
        preset=encoding.preset,
        pix_fmt=encoding.pix_fmt,
    )
    with _encoder_step("measure the encoder delay"):
        context: Any = av.CodecContext.create(tiny.encoder, "w")
        _configure(context, tiny, stb, rate, threads=1)
        context.open()
        pictures = [VideoFrame(64, 64, context.pix_fmt) for _ in range(16)]
        for n, picture in enumerate(pictures):
            for plane in picture.planes:
                plane.update(bytes(plane.buffer_size))
            picture.pts = n * step
            picture.time_base = stb
            picture.pict_type = PictureType.I if n == 0 else PictureType.NONE
        for packet in _encoded(context, [*pictures, None]):
            if packet.pts is not None and packet.dts is not None:
                return max(0, int(packet.pts) - int(packet.dts))
    return 0


@functools.cache
def available_video_encoders() -> tuple[str, ...]:
    """H.264 encoders that open on this machine, hardware first; libx264 is always last.
    Trial-opens each hardware encoder whose device type FFmpeg was built with (without the
    device, NVENC raises PermissionError and the others an FFmpegError: silently skipped)."""
    built = set(av.codec.hwaccel.hwdevices_available())
    found = [name for name, device in _HARDWARE if device in built and _opens(name)]
    return (*found, "libx264")


def _opens(name: str) -> bool:
    try:
        context: Any = av.CodecContext.create(name, "w")
        context.width, context.height = 640, 360
        context.pix_fmt = context.codec.video_formats[0].name
        context.time_base = Fraction(1, 25)
        context.framerate = Fraction(25)
        context.open()
    except (av.error.FFmpegError, ValueError, OSError):
        return False
    return True


def _video_stream(demuxer: Any, index: int) -> Any:
    stream = source_stream(demuxer, index)
    if stream.type != "video":
        raise CorruptSource(f"stream {index} is {stream.type}, not video")
    if stream.time_base is None:
        raise CorruptSource(f"stream {index} has no time base")
    return stream


def _open_output(buffer: io.BytesIO, container: Container) -> Any:
    if container == "cmaf":
        return av.open(buffer, "w", format="mp4", options=SEGMENT_CMAF_OPTIONS)
    return av.open(buffer, "w", format="mpegts")


def _frame_rate(stream: Any, encoding: VideoEncoding) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or encoding.frame_rate
    return Fraction(rate) if rate else Fraction(25)


def _add_video(out: Any, stream: Any, encoding: VideoEncoding, threads: int) -> Any:
    """The output stream and its encoder, configured from the encoding and the source stream's
    container-level facts only, so every segment's encoder (and SPS) is the same."""
    rate = _frame_rate(stream, encoding)
    with _encoder_step(f"set up {encoding.encoder}"):
        ostream = out.add_stream(encoding.encoder, rate=rate)
        ostream.time_base = stream.time_base
        _configure(ostream.codec_context, encoding, stream.time_base, rate, threads)
        source = stream.codec_context
        for tag in ("color_primaries", "color_trc", "colorspace", "color_range"):
            setattr(ostream.codec_context, tag, getattr(source, tag))
    return ostream


def _configure(
    context: Any, encoding: VideoEncoding, time_base: Fraction, rate: Fraction, threads: int
) -> None:
    context.width, context.height = encoding.width, encoding.height
    context.pix_fmt = _pixel_format(context, encoding.pix_fmt)
    context.time_base = time_base
    context.framerate = rate
    context.thread_count = threads
    context.options = _encoder_options(encoding)


def _pixel_format(context: Any, wanted: str) -> str:
    """The encoding's pixel format, or the encoder's first one (Quick Sync takes only nv12)."""
    formats = [f.name for f in context.codec.video_formats or ()]
    return wanted if not formats or wanted in formats else str(formats[0])


def _encoder_options(encoding: VideoEncoding) -> dict[str, str]:
    options = {
        "b": str(encoding.bit_rate),
        "maxrate": str(encoding.max_rate),
        "bufsize": str(encoding.buffer_size),
    }
    if encoding.encoder == "libx264":
        return {
            **options,
            "preset": encoding.preset,
            "profile": encoding.profile,
            "level": f"{encoding.level // 10}.{encoding.level % 10}",
            "forced-idr": "1",
            "x264-params": X264_PARAMS,
        }
    options["g"] = str(_HARDWARE_GOP)
    if encoding.encoder == "h264_nvenc":
        options |= {"forced-idr": "1", "no-scenecut": "1", "profile": encoding.profile}
    elif encoding.encoder == "h264_qsv":
        options |= {"forced_idr": "1"}
    return options


def _decoded(demuxer: Any, stream: Any, lo: int | None, hi: int | None) -> Iterator[Any]:
    """Decoded frames shown in ``[lo, hi)``, from the keyframe at or before ``lo``."""
    stream.thread_type = "AUTO"
    try:
        if lo is not None:
            demuxer.seek(lo, stream=stream, backward=True, any_frame=False)
        for frame in demuxer.decode(stream):
            if frame.pts is None:
                continue  # cannot be placed on the timeline
            if lo is not None and frame.pts < lo:
                continue  # before the boundary: leading pictures of an open GOP
            if hi is not None and frame.pts >= hi:
                return  # frames come out in presentation order
            yield frame
    except av.error.FFmpegError as exc:
        raise CorruptSource(f"cannot decode stream {stream.index}: {exc}") from exc


def _mux(out: Any, ostream: Any, picture: Any) -> int:
    with _encoder_step("encode"):
        packets = ostream.encode(picture)
        out.mux(packets)
    return len(packets)


def _encoded(context: Any, pictures: Iterable[Any]) -> Iterator[Any]:
    for picture in pictures:
        yield from context.encode(picture)


@contextmanager
def _encoder_step(what: str) -> Iterator[None]:
    try:
        yield
    except EncodeFailed:
        raise
    except CorruptSource:
        raise
    except _ENCODER_ERRORS as exc:
        raise EncodeFailed(f"cannot {what}: {exc}") from exc

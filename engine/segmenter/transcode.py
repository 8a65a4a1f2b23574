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

Audio (``transcode_audio_segment``): AAC on the output's 1024-sample grid; a segment holds
the frames between its boundaries rounded up to whole frames (``planner.decode_times``), and is
encoded with real pre-roll and post-roll whose packets (the encoder's priming among them) are
dropped, so boundaries have no gap and no click. Only the stream's very first frame, which has
no predecessor to overlap with, decodes imperfectly (its first ~10 ms).

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
from av.audio.frame import AudioFrame
from av.video.frame import PictureType, VideoFrame
from av.video.reformatter import Interpolation, VideoReformatter

from engine.errors import CorruptSource, EncodeFailed
from engine.segmenter.planner import AAC_FRAME_SAMPLES, rescale
from engine.segmenter.remux import (
    CMAF_OPTIONS,
    Container,
    Segment,
    Source,
    ceil_ticks,
    init_part,
    media_part,
    open_source,
    source_stream,
)
from engine.segmenter.renditions import AudioEncoding, VideoEncoding

SEGMENT_CMAF_OPTIONS = {"movflags": CMAF_OPTIONS["movflags"] + "+skip_trailer"}
X264_PARAMS = "keyint=infinite:scenecut=0:open-gop=0"
_HARDWARE = (("h264_nvenc", "cuda"), ("h264_qsv", "qsv"), ("h264_amf", "amf"))
_HARDWARE_GOP = 1 << 20  # frames: far longer than any segment, so only forced IDRs occur
AUDIO_PREROLL = 2 * AAC_FRAME_SAMPLES  # encoded before the segment, then dropped
AUDIO_POSTROLL = AAC_FRAME_SAMPLES  # encoded after it, so its last frame sees what follows
_DECODER_WARMUP = 2 * AAC_FRAME_SAMPLES  # decoded and discarded after a seek
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
        data = media_part(data)
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
    return init_part(data)


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


def transcode_audio_segment(
    source: Source,
    stream_index: int,
    *,
    start: int | None,
    end: int | None,
    time_base: Fraction,
    encoding: AudioEncoding,
    offset: int = 0,
    container: Container = "cmaf",
    with_init: bool = False,
) -> Segment:
    """Encode the audio of ``[start, end)`` (``time_base`` ticks, the video boundaries) as AAC
    frames on the output's own 1024-sample grid. The segment holds exactly the frames whose
    decode times ``planner.decode_times`` gives (boundaries rounded up to whole frames, from the
    source clock's zero), so segments tile the timeline without gap or overlap.

    Gapless: the encoder starts ``AUDIO_PREROLL`` samples early and runs ``AUDIO_POSTROLL``
    late on the real signal (silence before the stream's start); the packets outside the
    segment, priming included, are dropped. So the frames on either side of a boundary, from two
    encoders, were made from the same samples and their MDCT windows overlap-add as one
    encoder's would. ``offset`` is in the source stream's ticks, as for video.
    ``first_pts``/``end_pts`` of the result are output samples (without the offset)."""
    rate = encoding.sample_rate
    lo = 0 if start is None else rescale(start, time_base, rate, AAC_FRAME_SAMPLES)
    hi = None if end is None else rescale(end, time_base, rate, AAC_FRAME_SAMPLES)
    with open_source(source) as demuxer:
        stream = source_stream(demuxer, stream_index)
        if stream.type != "audio" or stream.time_base is None:
            raise CorruptSource(f"stream {stream_index} is not a readable audio stream")
        stb: Fraction = stream.time_base
        shift = ceil_ticks(offset, stb, Fraction(1, rate))
        first_sample = lo - AUDIO_PREROLL
        last_sample = None if hi is None else hi + AUDIO_POSTROLL
        seek = first_sample - _DECODER_WARMUP
        buffer = io.BytesIO()
        with _encoder_step("open the muxer"):
            out = _open_output(buffer, container)
        packets = 0
        try:
            ostream = _add_audio(out, encoding)
            with _encoder_step(f"open {encoding.encoder} (or write the header)"):
                out.start_encoding()
            samples = _resampled(demuxer, stream, encoding, seek if seek > 0 else None)
            keep = (lo + shift, None if hi is None else hi + shift)
            position = first_sample
            for chunk in _on_grid(samples, encoding, first_sample, last_sample):
                chunk.pts = position + shift
                chunk.time_base = Fraction(1, rate)
                position += chunk.samples
                packets += _mux_audio(out, ostream, chunk, keep)
            packets += _mux_audio(out, ostream, None, keep)
        finally:
            with _encoder_step("finish the segment"):
                out.close()
    data = buffer.getvalue()
    if container == "cmaf" and not with_init:
        data = media_part(data)
    end_sample = position if hi is None else hi
    return Segment(data=data, packets=packets, first_pts=lo, end_pts=end_sample)


def audio_init_segment(source: Source, stream_index: int, encoding: AudioEncoding) -> bytes:
    """The CMAF init segment of a transcoded audio rendition (the same beside every segment)."""
    with open_source(source) as demuxer:
        stream = source_stream(demuxer, stream_index)
        if stream.type != "audio":
            raise CorruptSource(f"stream {stream_index} is {stream.type}, not audio")
    buffer = io.BytesIO()
    with _encoder_step("write the init segment"):
        with av.open(buffer, "w", format="mp4", options=SEGMENT_CMAF_OPTIONS) as out:
            _add_audio(out, encoding)
            out.start_encoding()
        data = buffer.getvalue()
    return init_part(data)


def _add_audio(out: Any, encoding: AudioEncoding) -> Any:
    with _encoder_step(f"set up {encoding.encoder}"):
        ostream = out.add_stream(encoding.encoder, rate=encoding.sample_rate)
        context = ostream.codec_context
        context.layout = "stereo" if encoding.channels == 2 else "mono"
        context.format = "fltp"
        context.bit_rate = encoding.bit_rate
        context.time_base = Fraction(1, encoding.sample_rate)
        ostream.time_base = Fraction(1, encoding.sample_rate)
    return ostream


def _resampled(
    demuxer: Any, stream: Any, encoding: AudioEncoding, seek_sample: int | None
) -> Iterator[Any]:
    """Decoded audio in the output's format, layout and rate, from ``seek_sample`` (output
    samples) or the start; frame pts are output samples (1/rate)."""
    layout = "stereo" if encoding.channels == 2 else "mono"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=encoding.sample_rate)
    try:
        if seek_sample is not None:
            target = seek_sample * stream.time_base.denominator
            target //= encoding.sample_rate * stream.time_base.numerator
            demuxer.seek(target, stream=stream, backward=True, any_frame=False)
        for frame in demuxer.decode(stream):
            yield from resampler.resample(frame)
        yield from resampler.resample(None)
    except av.error.FFmpegError as exc:
        raise CorruptSource(f"cannot decode stream {stream.index}: {exc}") from exc


def _on_grid(
    frames: Iterable[Any], encoding: AudioEncoding, first: int, last: int | None
) -> Iterator[Any]:
    """1024-sample frames of output samples ``[first, last)``: trimmed where the decoded audio
    starts earlier, silence where it starts later (before the stream's first sample)."""
    fifo = av.AudioFifo()
    head = first  # the output sample the fifo receives next
    sent = first  # the output sample the next yielded frame starts at
    for frame in frames:
        pts = head if frame.pts is None else int(frame.pts)
        if pts + frame.samples <= head:
            continue
        if pts > head:
            fifo.write(_silence(encoding, pts - head))
            head = pts
        frame.pts = None  # the fifo counts samples from here on
        kept = _drop_front(frame, head - pts) if pts < head else frame
        fifo.write(kept)
        head += kept.samples
        while fifo.samples >= AAC_FRAME_SAMPLES and (last is None or sent < last):
            size = AAC_FRAME_SAMPLES if last is None else min(AAC_FRAME_SAMPLES, last - sent)
            yield fifo.read(size)
            sent += size
        if last is not None and sent >= last:
            return
    remaining = fifo.samples if last is None else min(fifo.samples, last - sent)
    if remaining:
        yield fifo.read(remaining)  # the stream's end: a short last frame


def _drop_front(frame: Any, count: int) -> Any:
    trim = av.AudioFifo()
    trim.write(frame)
    trim.read(count)
    return trim.read(frame.samples - count)


def _silence(encoding: AudioEncoding, samples: int) -> AudioFrame:
    layout = "stereo" if encoding.channels == 2 else "mono"
    frame = AudioFrame(format="fltp", layout=layout, samples=samples)
    frame.sample_rate = encoding.sample_rate
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    return frame


def _mux_audio(out: Any, ostream: Any, chunk: Any, keep: tuple[int, int | None]) -> int:
    """Encode; keep only the packets inside the segment (drops priming and pre/post-roll)."""
    lo, hi = keep
    with _encoder_step("encode"):
        kept = [
            p
            for p in ostream.encode(chunk)
            if p.pts is not None and p.pts >= lo and (hi is None or p.pts < hi)
        ]
        out.mux(kept)
    return len(kept)


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

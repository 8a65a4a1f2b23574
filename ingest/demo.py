"""Synthetic media made with PyAV: the test suite's fixtures, the demo library and the benchmark.

Video is a moving test pattern from an FFmpeg source filter (``testsrc2``/``smptebars``/...),
audio a sine tone, subtitles a few text cues; encoders are configured for exact GOPs so tests
know where every keyframe is. Nothing here shells out to the ffmpeg CLI.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import structlog
from av.audio.stream import AudioStream
from av.subtitles.stream import SubtitleStream
from av.subtitles.subtitle import SubtitleSet
from av.video.frame import PictureType
from av.video.stream import VideoStream
from PIL import Image

from ingest.models import LibraryKind

log = structlog.get_logger(__name__)

_AUDIO_RATE = 48000

# Output format per suffix: the muxer, the subtitle codec it accepts (None: no text subtitles).
_CONTAINERS: dict[str, tuple[str, str | None]] = {
    ".mp4": ("mp4", "mov_text"),
    ".m4v": ("mp4", "mov_text"),
    ".mov": ("mov", "mov_text"),
    ".mkv": ("matroska", "subrip"),
    ".webm": ("webm", "webvtt"),
    ".ts": ("mpegts", None),
}
_AUDIO_FORMATS: dict[str, tuple[str, str, int, str]] = {
    # suffix: muxer, encoder, samples per frame, sample format
    ".m4a": ("mp4", "aac", 1024, "fltp"),
    ".mp3": ("mp3", "libmp3lame", 1152, "fltp"),
    ".flac": ("flac", "flac", 4608, "s16"),
}

# Text subtitle encoders need an ASS header even when they write SubRip or mov_text.
_ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n"
    b"[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    b"OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    b"Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0"
    b"\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, "
    b"Text\n"
)


@dataclass(frozen=True, slots=True)
class _ClipSpec:
    seconds: float
    width: int
    height: int
    fps: int
    gop: int
    video_codec: str
    audio: bool
    subtitles: bool
    black_lead_s: float
    bit_rate: int | None
    preset: str = "veryfast"
    pattern: str = "testsrc2"
    tone_hz: int = 440
    chapters: int = 2


def synthesize_clip(
    path: Path,
    *,
    seconds: float = 4.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    gop: int = 25,
    video_codec: str = "libx264",
    audio: bool = True,
    subtitles: bool = False,
    tags: Mapping[str, str] | None = None,
    black_lead_s: float = 0.0,
    bit_rate: int | None = None,
    preset: str = "veryfast",
) -> Path:
    """Write a clip with a keyframe exactly every ``gop`` frames; the container follows the suffix.
    (``preset="ultrafast"`` makes H.264 without B-frames, as cameras and screen recorders do.)

    ``.webm`` wants ``video_codec="libvpx-vp9"`` and gets Opus audio; the others get AAC.
    """
    spec = _ClipSpec(
        seconds=seconds,
        width=width,
        height=height,
        fps=fps,
        gop=gop,
        video_codec=video_codec,
        audio=audio,
        subtitles=subtitles,
        black_lead_s=black_lead_s,
        bit_rate=bit_rate,
        preset=preset,
    )
    _write_clip(path, spec, tags or {})
    return path


def synthesize_subtitle_only(path: Path, *, seconds: float = 3.0) -> Path:
    """A Matroska file with a single subtitle stream: a container with nothing to play."""
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("subrip")
        stream.codec_context.subtitle_header = _ASS_HEADER
        _write_cues(out, stream, seconds)
    return path


def synthesize_audio(
    path: Path,
    *,
    seconds: float = 3.0,
    tags: Mapping[str, str] | None = None,
    cover: bytes | None = None,
) -> Path:
    """Write a stereo 48 kHz tone (.m4a AAC, .mp3, .flac) with tags and an optional JPEG cover.

    The cover becomes an ``attached_pic`` stream; all three muxers accept one (for .m4a only
    the generic mp4 muxer does, the ``ipod`` muxer chosen by the suffix refuses mjpeg).
    """
    suffix = path.suffix.lower()
    if suffix not in _AUDIO_FORMATS:
        raise ValueError(f"no audio format for {suffix!r}; use .m4a, .mp3 or .flac")
    muxer, encoder, frame_size, sample_fmt = _AUDIO_FORMATS[suffix]
    with av.open(str(path), "w", format=muxer) as out:
        out.metadata.update(dict(tags or {}))
        stream = out.add_stream(encoder, rate=_AUDIO_RATE)
        assert isinstance(stream, AudioStream)
        stream.layout = "stereo"
        if cover is not None:
            _mux_cover(out, cover)
        graph, sink = _tone_graph(seconds, 440, frame_size, sample_fmt)
        for frame in _drain(sink):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        del graph
    return path


def synthesize_photo(
    path: Path,
    *,
    width: int = 640,
    height: int = 480,
    taken_at: datetime | None = None,
    camera: tuple[str, str] | None = None,
    orientation: int = 1,
) -> Path:
    """Write a JPEG (or PNG, by suffix) gradient with EXIF date, camera make/model, orientation."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = Image.merge("RGB", (red, green, blue))
    exif = Image.Exif()
    exif[0x0112] = orientation
    if camera is not None:
        exif[0x010F], exif[0x0110] = camera
    if taken_at is not None:
        stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        exif[0x0132] = stamp  # DateTime (IFD0)
        exif.get_ifd(0x8769)[0x9003] = stamp  # DateTimeOriginal (Exif IFD)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    image.save(path, fmt, exif=exif.tobytes())
    return path


def cover_jpeg(size: int = 64, colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A small solid-colour JPEG, for covers and posters."""
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, "JPEG")
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class _DemoMovie:
    folder: str
    pattern: str
    seconds: float
    tone_hz: int
    subtitles: bool


_DEMO_MOVIES = (
    _DemoMovie("Colour Bars (2024)", "smptebars", 40, 440, False),
    _DemoMovie("Test Signal (2023)", "testsrc2", 45, 523, True),
    _DemoMovie("Moving Grid (2022)", "testsrc", 30, 659, False),
)


def generate_demo_library(root: Path) -> dict[LibraryKind, Path]:
    """Write a small library to press play on; files that already exist are left alone.

    Each file is written under a hidden temporary name and renamed, so an interrupted run never
    leaves a half-written file that a later run would skip.
    """
    movies, shows = root / "Movies", root / "Shows"
    music, photos = root / "Music", root / "Photos"
    for movie in _DEMO_MOVIES:
        spec = _ClipSpec(
            seconds=movie.seconds,
            width=854,
            height=480,
            fps=25,
            gop=50,  # 2 s
            video_codec="libx264",
            audio=True,
            subtitles=movie.subtitles,
            black_lead_s=0.0,
            bit_rate=None,
            preset="ultrafast",
            pattern=movie.pattern,
            tone_hz=movie.tone_hz,
            chapters=3,
        )
        target = movies / movie.folder / f"{movie.folder}.mp4"
        _once(target, lambda tmp, s=spec, t=movie.folder: _write_clip(tmp, s, {"title": t}))

    season = shows / "Test Pattern Show" / "Season 01"
    for number, name in ((1, "Pilot"), (2, "The Second One")):
        spec = _ClipSpec(
            seconds=20,
            width=640,
            height=360,
            fps=25,
            gop=50,
            video_codec="libx264",
            audio=True,
            subtitles=number == 1,
            black_lead_s=0.0,
            bit_rate=None,
            preset="ultrafast",
            pattern="testsrc2",
            tone_hz=330 + 110 * number,
        )
        target = season / f"Test Pattern Show - S01E{number:02d} - {name}.mkv"
        _once(target, lambda tmp, s=spec, t=name: _write_clip(tmp, s, {"title": t}))

    album = music / "Demo Artist" / "Demo Album"
    cover = cover_jpeg(256)
    for number, name in ((1, "Tone A"), (2, "Tone B")):
        tags = {
            "title": name,
            "artist": "Demo Artist",
            "album_artist": "Demo Artist",
            "album": "Demo Album",
            "track": f"{number}/2",
            "disc": "1/1",
            "date": "2024",
            "genre": "Electronic",
        }
        target = album / f"{number:02d} - {name}.m4a"
        _once(target, lambda tmp, t=tags: synthesize_audio(tmp, seconds=20, tags=t, cover=cover))

    for number, (when, camera) in enumerate(
        (
            (datetime(2024, 6, 1, 9, 30), ("Canon", "EOS R5")),
            (datetime(2024, 6, 2, 18, 5), ("NIKON CORPORATION", "NIKON Z 6")),
            (datetime(2024, 7, 14, 12, 0), ("Apple", "iPhone 15")),
        ),
        start=1,
    ):
        target = photos / f"IMG_{number:04d}.jpg"
        _once(target, lambda tmp, w=when, c=camera: synthesize_photo(tmp, taken_at=w, camera=c))

    return {
        LibraryKind.MOVIES: movies,
        LibraryKind.SHOWS: shows,
        LibraryKind.MUSIC: music,
        LibraryKind.PHOTOS: photos,
    }


def _once(target: Path, write: Any) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    write(tmp)
    os.replace(tmp, target)
    log.info("demo_file_written", path=str(target))


def _write_clip(path: Path, spec: _ClipSpec, tags: Mapping[str, str]) -> None:
    suffix = path.suffix.lower()
    if suffix not in _CONTAINERS:
        raise ValueError(f"no container for {suffix!r}; use one of {sorted(_CONTAINERS)}")
    muxer, subtitle_codec = _CONTAINERS[suffix]
    with av.open(str(path), "w", format=muxer) as out:
        out.metadata.update(dict(tags))
        video = _add_video(out, spec)
        audio: AudioStream | None = None
        if spec.audio:
            codec = "libopus" if muxer == "webm" else "aac"
            added = out.add_stream(codec, rate=_AUDIO_RATE)
            assert isinstance(added, AudioStream)
            added.layout = "stereo"
            added.metadata["language"] = "eng"
            audio = added
        subtitle: SubtitleStream | None = None
        if spec.subtitles:
            if subtitle_codec is None:
                raise ValueError(f"{muxer} takes no text subtitles")
            added_sub = out.add_stream(subtitle_codec)
            assert isinstance(added_sub, SubtitleStream)
            added_sub.metadata["language"] = "eng"
            # Text encoders are opened when muxing starts and refuse to open without a header.
            added_sub.codec_context.subtitle_header = _ASS_HEADER
            subtitle = added_sub
        if spec.chapters and muxer in ("mp4", "mov", "matroska", "webm"):
            out.set_chapters(_chapters(spec.seconds, spec.chapters))

        vgraph, vsink = _pattern_graph(spec)
        agraph, asink = _tone_graph(
            spec.seconds, spec.tone_hz, 960 if muxer == "webm" else 1024, "fltp"
        )
        audio_frames = _drain(asink) if audio is not None else iter(())
        pending = next(audio_frames, None)
        for frame in _drain(vsink):
            # Interleave by time so the muxer writes evenly mixed chunks/clusters.
            now = _frame_time(frame)
            while audio is not None and pending is not None and _frame_time(pending) <= now:
                out.mux(audio.encode(pending))
                pending = next(audio_frames, None)
            # Source filters mark every frame as I; x264 would honour that and make all IDRs.
            frame.pict_type = PictureType.NONE
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            while pending is not None:
                out.mux(audio.encode(pending))
                pending = next(audio_frames, None)
            out.mux(audio.encode(None))
        if subtitle is not None:
            _write_cues(out, subtitle, spec.seconds)
        del vgraph, agraph


def _add_video(out: av.container.OutputContainer, spec: _ClipSpec) -> VideoStream:
    options: dict[str, str] = {}
    gop = str(spec.gop)
    if spec.video_codec == "libx264":
        options = {
            "preset": spec.preset,
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
    elif spec.video_codec == "libx265":
        options = {
            "preset": spec.preset,
            "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error",
        }
    elif spec.video_codec == "libvpx-vp9":
        options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    stream = out.add_stream(spec.video_codec, rate=spec.fps, options=options)
    assert isinstance(stream, VideoStream)
    stream.width, stream.height = spec.width, spec.height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = spec.gop
    if spec.video_codec == "libvpx-vp9":
        stream.codec_context.options = {**options, "keyint_min": gop}
    if spec.bit_rate is not None:
        stream.bit_rate = spec.bit_rate
    return stream


def _pattern_graph(spec: _ClipSpec) -> tuple[av.filter.Graph, av.filter.context.FilterContext]:
    graph = av.filter.Graph()
    size = f"{spec.width}x{spec.height}"
    source = graph.add(spec.pattern, f"size={size}:rate={spec.fps}:duration={spec.seconds}")
    chain = [source]
    if spec.pattern == "smptebars":
        # Static bars would make a frozen picture: scroll a timestamp over them.
        chain.append(graph.add("drawbox", "x=mod(t*80\\,iw):y=0:w=40:h=ih:color=white:t=fill"))
    if spec.black_lead_s > 0:
        chain.append(
            graph.add(
                "drawbox",
                f"x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,{spec.black_lead_s})'",
            )
        )
    chain.append(graph.add("format", "pix_fmts=yuv420p"))
    chain.append(graph.add("buffersink"))
    for upstream, downstream in itertools.pairwise(chain):
        upstream.link_to(downstream)
    graph.configure()
    return graph, chain[-1]


def _tone_graph(
    seconds: float, hz: int, frame_size: int, sample_fmt: str
) -> tuple[av.filter.Graph, av.filter.context.FilterContext]:
    graph = av.filter.Graph()
    chain = [
        graph.add("sine", f"frequency={hz}:sample_rate={_AUDIO_RATE}:duration={seconds}"),
        graph.add("aformat", f"sample_fmts={sample_fmt}:channel_layouts=stereo"),
        # Encoders without variable frame size (AAC, MP3, Opus) need exact frame lengths.
        graph.add("asetnsamples", f"n={frame_size}:p=0"),
        graph.add("abuffersink"),
    ]
    for upstream, downstream in itertools.pairwise(chain):
        upstream.link_to(downstream)
    graph.configure()
    return graph, chain[-1]


def _drain(sink: av.filter.context.FilterContext) -> Iterator[Any]:
    # The caller keeps the graph alive: a sink whose graph is collected raises "unallocated".
    while True:
        try:
            yield sink.pull()
        except av.error.EOFError:
            return


def _frame_time(frame: Any) -> Fraction:
    pts: int = frame.pts
    time_base: Fraction = frame.time_base
    return pts * time_base


def _chapters(seconds: float, count: int) -> list[av.container.Chapter]:
    total_ms = int(seconds * 1000)
    step = total_ms // count
    return [
        {
            "id": i + 1,
            "start": i * step,
            "end": total_ms if i == count - 1 else (i + 1) * step,
            "time_base": Fraction(1, 1000),
            "metadata": {"title": f"Chapter {i + 1}"},
        }
        for i in range(count)
    ]


def _write_cues(out: av.container.OutputContainer, stream: Any, seconds: float) -> None:
    context = stream.codec_context
    total_ms = int(seconds * 1000)
    starts = [total_ms * i // 4 for i in range(3)]
    for number, start in enumerate(starts, start=1):
        duration = min(1000, total_ms - start)
        text = f"0,0,Default,,0,0,0,,Cue {number}".encode()
        packet = context.encode_subtitle(SubtitleSet.create(text, 0, duration, pts=start * 1000))
        packet.stream = stream
        packet.time_base = Fraction(1, 1000)
        packet.pts = packet.dts = start
        packet.duration = duration
        out.mux(packet)


def _mux_cover(out: av.container.OutputContainer, cover: bytes) -> None:
    with Image.open(io.BytesIO(cover)) as img:
        width, height = img.size
    stream = out.add_stream("mjpeg")
    assert isinstance(stream, VideoStream)
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuvj420p"
    stream.disposition = av.stream.Disposition.attached_pic
    stream.metadata["comment"] = "Cover (front)"
    # The JPEG is muxed as is: one packet, never encoded.
    packet = av.Packet(cover)
    packet.stream = stream
    packet.time_base = Fraction(1, 90000)
    packet.pts = packet.dts = 0
    packet.is_keyframe = True
    out.mux(packet)

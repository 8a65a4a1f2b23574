"""Renditions: what a media version is offered as, decided from its probed streams.

Pure, standard library only. The rules of ``plan_renditions``:

- Video: the original as a remux when CMAF can carry its codec (H.264, HEVC, AV1, VP9), else an
  H.264 transcode at the source size; then an H.264 ladder of the rungs strictly smaller than
  the source. A rung is a box (1920x1080, 1280x720 ...): the source is scaled to fit it, keeping
  its aspect ratio, with even sides (so a 1920x800 film's "720p" is 1280x534 and it gets no
  "1080p"). A rung's bit rate is capped at the source's video bit rate.
- Audio, for each audio stream: AAC is kept as it is (a remux); anything else becomes AAC stereo
  (mono stays mono). AC-3 and E-AC-3 are kept too, in their own group, for surround clients. Each
  group has exactly one default: the source's default stream, else the first.
- Subtitles: text streams (SubRip, ASS/SSA, mov_text, WebVTT) become WebVTT; bitmap ones
  (PGS, DVD) cannot and are left out.
- Bandwidth: ``bandwidth`` is a peak (HLS BANDWIDTH), ``average_bandwidth`` the mean. Transcodes
  peak at their VBV max rate (1.5 x the target); a remux is taken to peak at 1.5 x its average,
  which is its probed bit rate, the container's minus the audio, or 0.1 bit per pixel.

The engine does not import ingest: streams are anything shaped like ``ingest.models.StreamInfo``
(``StreamFacts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from math import floor
from typing import Protocol

from engine.segmenter import codecs
from engine.segmenter.planner import AAC_FRAME_SAMPLES, VIDEO_TIMESCALE

REMUX_VIDEO = frozenset({"h264", "hevc", "av1", "vp9"})
TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})
PASSTHROUGH_AUDIO = frozenset({"ac3", "eac3"})
_PEAK = Fraction(3, 2)
_BITS_PER_PIXEL = Fraction(1, 10)
_AUDIO_FRAMES = {"aac": AAC_FRAME_SAMPLES, "ac3": 1536, "eac3": 1536, "opus": 960}
_COPY_AUDIO_RATES = {"aac": 128_000, "ac3": 448_000, "eac3": 640_000}


class RenditionKind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    SUBTITLE = "subtitle"


class StreamFacts(Protocol):
    """The probed facts of one source stream (``ingest.models.StreamInfo`` has them all)."""

    @property
    def index(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def codec(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def level(self) -> int | None: ...
    @property
    def bit_depth(self) -> int | None: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def fps(self) -> Fraction | None: ...
    @property
    def bit_rate(self) -> int | None: ...
    @property
    def channels(self) -> int | None: ...
    @property
    def sample_rate(self) -> int | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def is_default(self) -> bool: ...
    @property
    def is_forced(self) -> bool: ...
    @property
    def is_attached_pic(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class LadderRung:
    name: str
    width: int  # the box the source is scaled to fit
    height: int
    bit_rate: int


DEFAULT_LADDER = (
    LadderRung("1080p", 1920, 1080, 5_000_000),
    LadderRung("720p", 1280, 720, 3_000_000),
    LadderRung("480p", 854, 480, 1_500_000),
    LadderRung("360p", 640, 360, 800_000),
)


@dataclass(frozen=True, slots=True)
class VideoEncoding:
    """Encoder settings of a video transcode. Every output segment starts with a forced IDR at
    its boundary (the executor's job), so renditions align."""

    width: int
    height: int
    bit_rate: int
    max_rate: int
    buffer_size: int
    level: int  # H.264 level as FFmpeg numbers it (31 for 3.1)
    frame_rate: Fraction | None
    encoder: str = "libx264"
    codec: str = "h264"
    profile: str = "high"
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"


@dataclass(frozen=True, slots=True)
class AudioEncoding:
    bit_rate: int
    channels: int
    sample_rate: int
    encoder: str = "aac"
    codec: str = "aac"
    profile: str = "LC"


@dataclass(frozen=True, slots=True)
class SubtitleEncoding:
    format: str = "webvtt"


Encoding = VideoEncoding | AudioEncoding | SubtitleEncoding


@dataclass(frozen=True, slots=True)
class Rendition:
    """One way of offering one source stream. ``encoding`` None means a remux (copy)."""

    id: str
    kind: RenditionKind
    source_index: int
    codec: str  # RFC 6381 ("avc1.64001f", "mp4a.40.2"); "wvtt" for WebVTT
    bandwidth: int  # peak bits per second
    average_bandwidth: int
    group_id: str | None = None  # the audio or subtitle group it belongs to
    name: str | None = None
    language: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: Fraction | None = None
    channels: int | None = None
    sample_rate: int | None = None
    is_default: bool = False
    is_forced: bool = False
    encoding: Encoding | None = None

    @property
    def is_remux(self) -> bool:
        return self.encoding is None

    @property
    def timescale(self) -> int:
        """Ticks per second of its fragments: 90 kHz video, the sample rate for audio."""
        if self.kind is RenditionKind.AUDIO:
            return self.sample_rate or 48_000
        return VIDEO_TIMESCALE if self.kind is RenditionKind.VIDEO else 1000

    @property
    def frame_duration(self) -> int:
        """Decode times of its fragments are multiples of this (1024 samples for AAC)."""
        if self.kind is not RenditionKind.AUDIO:
            return 1
        codec = "aac" if self.codec.startswith("mp4a.40") else self.codec.lower().replace("-", "")
        return _AUDIO_FRAMES.get({"ec3": "eac3"}.get(codec, codec), 1)


def plan_renditions(
    streams: Sequence[StreamFacts],
    *,
    source_bit_rate: int | None,
    ladder: Sequence[LadderRung] = DEFAULT_LADDER,
    audio_bit_rate: int = 128_000,
    passthrough: Iterable[str] = PASSTHROUGH_AUDIO,
    preset: str = "veryfast",
) -> tuple[Rendition, ...]:
    """Video renditions (original first, then the ladder downwards), audio, then subtitles.
    ``source_bit_rate`` is the container's, used when the video stream's is unknown."""
    video = next(
        (s for s in streams if s.kind == "video" and not s.is_attached_pic and s.width), None
    )
    audio = [s for s in streams if s.kind == "audio"]
    out: list[Rendition] = []
    if video is not None:
        known_audio = sum(s.bit_rate or 0 for s in audio)
        out += _video(video, source_bit_rate, known_audio, ladder, preset)
    out += _audio(audio, audio_bit_rate, frozenset(passthrough))
    subtitles = [s for s in streams if s.kind == "subtitle" and s.codec in TEXT_SUBTITLES]
    for number, stream in enumerate(subtitles):
        out.append(
            Rendition(
                id=f"s{number}",
                kind=RenditionKind.SUBTITLE,
                source_index=stream.index,
                codec="wvtt",
                bandwidth=1000,
                average_bandwidth=1000,
                group_id="subs",
                name=_unique(_label(stream, f"Subtitles {number + 1}"), out, "subs"),
                language=stream.language,
                is_default=stream.is_default,
                is_forced=stream.is_forced,
                encoding=SubtitleEncoding(),
            )
        )
    return tuple(out)


def _video(
    stream: StreamFacts,
    source_bit_rate: int | None,
    audio_bit_rate: int,
    ladder: Sequence[LadderRung],
    preset: str,
) -> list[Rendition]:
    width, height = stream.width or 0, stream.height or 0
    fps = stream.fps
    rate = stream.bit_rate
    if rate is None and source_bit_rate and source_bit_rate > audio_bit_rate:
        rate = source_bit_rate - audio_bit_rate
    out: list[Rendition] = []
    codec = codecs.codec_string(stream.codec, stream.profile, stream.level, stream.bit_depth)
    if codec is not None and stream.codec in REMUX_VIDEO:
        average = rate or max(floor(width * height * (fps or 30) * _BITS_PER_PIXEL), 1)
        out.append(
            Rendition(
                id="v0",
                kind=RenditionKind.VIDEO,
                source_index=stream.index,
                codec=codec,
                bandwidth=floor(average * _PEAK),
                average_bandwidth=average,
                width=width,
                height=height,
                frame_rate=fps,
            )
        )
    else:  # CMAF cannot carry it: the top rendition is a transcode at the source size
        fitting = [r.bit_rate for r in ladder if r.width >= width and r.height >= height]
        top = min(fitting) if fitting else max((r.bit_rate for r in ladder), default=5_000_000)
        out.append(
            _transcode("v0", stream, width, height, bit_rate=min(top, rate or top), preset=preset)
        )
    seen = {height}
    for rung in ladder:
        scale = min(Fraction(rung.width, width), Fraction(rung.height, height))
        if scale >= 1:
            continue
        w, h = _even(width * scale), _even(height * scale)
        if h in seen:
            continue
        seen.add(h)
        bit_rate = min(rung.bit_rate, rate) if rate else rung.bit_rate
        out.append(_transcode(rung.name, stream, w, h, bit_rate=bit_rate, preset=preset))
    return out


def _transcode(
    rendition_id: str, stream: StreamFacts, width: int, height: int, *, bit_rate: int, preset: str
) -> Rendition:
    level = codecs.avc_level(width, height, stream.fps)
    encoding = VideoEncoding(
        width=width,
        height=height,
        bit_rate=bit_rate,
        max_rate=floor(bit_rate * _PEAK),
        buffer_size=bit_rate * 2,
        level=level,
        frame_rate=stream.fps,
        preset=preset,
    )
    return Rendition(
        id=rendition_id,
        kind=RenditionKind.VIDEO,
        source_index=stream.index,
        codec=codecs.avc("high", level),
        bandwidth=encoding.max_rate,
        average_bandwidth=bit_rate,
        width=width,
        height=height,
        frame_rate=stream.fps,
        encoding=encoding,
    )


def _audio(
    streams: Sequence[StreamFacts], bit_rate: int, passthrough: frozenset[str]
) -> list[Rendition]:
    out: list[Rendition] = []
    for number, stream in enumerate(streams):
        name = _label(stream, f"Audio {number + 1}")
        copy = Rendition(
            id=f"a{number}",
            kind=RenditionKind.AUDIO,
            source_index=stream.index,
            codec=codecs.codec_string(stream.codec, stream.profile) or "",
            bandwidth=stream.bit_rate or _COPY_AUDIO_RATES.get(stream.codec or "", 640_000),
            average_bandwidth=stream.bit_rate or _COPY_AUDIO_RATES.get(stream.codec or "", 640_000),
            group_id="aac",
            language=stream.language,
            channels=stream.channels or 2,
            sample_rate=stream.sample_rate or 48_000,
            is_default=stream.is_default,
        )
        if stream.codec == "aac":
            out.append(replace(copy, name=_unique(name, out, "aac")))
            continue
        rate = stream.sample_rate if stream.sample_rate in (44_100, 48_000) else 48_000
        channels = min(stream.channels or 2, 2)
        encoded = bit_rate if channels == 2 else bit_rate // 2
        encoding = AudioEncoding(bit_rate=encoded, channels=channels, sample_rate=rate)
        out.append(
            replace(
                copy,
                codec="mp4a.40.2",
                bandwidth=encoded,
                average_bandwidth=encoded,
                name=_unique(name, out, "aac"),
                channels=channels,
                sample_rate=rate,
                encoding=encoding,
            )
        )
        if stream.codec in passthrough and copy.codec:
            group = stream.codec or ""
            out.append(
                replace(
                    copy, id=f"a{number}-{group}", group_id=group, name=_unique(name, out, group)
                )
            )
    return _one_default_per_group(out)


def _one_default_per_group(renditions: list[Rendition]) -> list[Rendition]:
    chosen: dict[str | None, str] = {}
    for r in renditions:
        if r.is_default:
            chosen.setdefault(r.group_id, r.id)
    for r in renditions:
        chosen.setdefault(r.group_id, r.id)
    return [replace(r, is_default=chosen[r.group_id] == r.id) for r in renditions]


def _label(stream: StreamFacts, fallback: str) -> str:
    return stream.title or stream.language or fallback


def _unique(name: str, renditions: Sequence[Rendition], group: str) -> str:
    """HLS wants NAME unique within a group."""
    taken = {r.name for r in renditions if r.group_id == group}
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def _even(value: Fraction) -> int:
    return max(2, 2 * floor(value / 2 + Fraction(1, 2)))

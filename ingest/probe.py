"""In-process probing: what a file contains, read with PyAV (or Pillow for photos), no ffprobe.

Everything here is synchronous and blocking: the scanner runs it in worker threads. Files may be
local paths or file objects doing ranged reads (S3), so probing reads as little as it can: the
container header, and for MP4/MOV the sample table that is already in the header. Every failure
leaves as one of ingest's ``ProbeError`` classes; no PyAV or Pillow exception escapes.

The keyframe index comes from the container's own index where it is complete (MP4/MOV: one
entry per sample) and otherwise from demuxed packet flags (Matroska writes cues only per
cluster; MPEG-TS has no index). Nothing is decoded.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import av
import av.error
import structlog
from av.container import InputContainer
from av.stream import Disposition, Stream
from PIL import Image, UnidentifiedImageError

from engine.segmenter.keyframes import KeyframeIndex
from ingest.errors import EmptyFile, NoPlayableStream, NotMedia, ProbeError, Truncated, Unreadable
from ingest.models import ChapterInfo, FileRole, ProbeResult, StreamInfo

log = structlog.get_logger(__name__)

_ROLES: dict[str, FileRole] = {}
for _role, _exts in (
    (FileRole.VIDEO, "mkv mp4 m4v mov avi ts m2ts webm wmv flv mpg mpeg ogv 3gp"),
    (FileRole.AUDIO, "mp3 m4a aac flac ogg oga opus wav wma alac aiff ape"),
    (FileRole.PHOTO, "jpg jpeg png webp gif heic tif tiff bmp"),
    (FileRole.SUBTITLE, "srt ass ssa vtt sub"),
    (FileRole.NFO, "nfo"),
):
    _ROLES.update(dict.fromkeys(_exts.split(), _role))

_US = 1_000_000
_HASH_CHUNK = 64 * 1024
# A demuxed stream that ends this much before the container's declared duration was cut short.
_TRUNCATION_SLACK_US = 1_000_000
# Cues further apart than this make poor segment boundaries: demux the keyframes instead.
_MAX_CUE_GAP_US = 10_000_000
# MP4/MOV keyframes whose pts offset is checked by a seek when reading the sample table.
_OFFSET_SAMPLES = 2

# FFmpeg's AVColorTransferCharacteristic values that matter for HDR and tone mapping decisions.
_TRANSFERS = {
    1: "bt709",
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    17: "smpte428",
    18: "arib-std-b67",
}

_PHOTO_CODECS = {"JPEG": "mjpeg", "MPO": "mjpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_PHOTO_CODECS |= {"TIFF": "tiff", "BMP": "bmp", "HEIF": "hevc"}

_FFMPEG_PHOTOS = {".heic", ".heif", ".avif"}

# EXIF tags (IFD0 and the Exif sub-IFD).
_EXIF_IFD = 0x8769
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011


def classify(key: str) -> FileRole:
    """What a file is to the scanner, by its extension alone (case-insensitive)."""
    suffix = PurePosixPath(key).suffix.lower().lstrip(".")
    return _ROLES.get(suffix, FileRole.IGNORED)


def probe_media(
    file: BinaryIO | str | Path, *, name: str, role: FileRole, size: int
) -> ProbeResult:
    """Read a media file's container, streams, chapters, tags and keyframe index.

    ``name`` is only used in messages. ``size`` is the file's size as listed: zero raises
    ``EmptyFile`` without reading. Raises ``NotMedia``, ``Truncated``, ``NoPlayableStream`` or
    ``Unreadable``.
    """
    if size == 0:
        raise EmptyFile(f"{name} is empty (0 bytes)")
    if role is FileRole.PHOTO:
        try:
            return _probe_photo(file, name)
        except NotMedia:
            # HEIC and friends: Pillow lacks a decoder but FFmpeg's demuxer knows the container.
            # Not for other photos: FFmpeg's image2 demuxer "opens" any file named .jpg.
            if PurePosixPath(name).suffix.lower() not in _FFMPEG_PHOTOS:
                raise
            _rewind(file)
    with _mapped_errors(name, file), _open(file) as container:
        return _probe_container(container, name=name, role=role, size=size)


def content_hash(file: BinaryIO, size: int) -> str:
    """A fingerprint that follows a file across renames and moves: size, head and tail.

    Two reads of 64 KiB at most, so it is cheap on S3; not a checksum of the whole content.
    """
    digest = hashlib.sha256(str(size).encode())
    try:
        file.seek(0)
        digest.update(file.read(_HASH_CHUNK))
        if size > _HASH_CHUNK:
            file.seek(max(_HASH_CHUNK, size - _HASH_CHUNK))
            digest.update(file.read(_HASH_CHUNK))
    except OSError as exc:
        raise Unreadable(f"cannot read for hashing: {exc}") from exc
    return digest.hexdigest()[:32]


# --- containers -----------------------------------------------------------------------------


@contextmanager
def _open(file: BinaryIO | str | Path) -> Iterator[InputContainer]:
    source: Any = str(file) if isinstance(file, Path) else file
    container = av.open(source, "r")
    try:
        yield container
    finally:
        container.close()


def _probe_container(
    container: InputContainer, *, name: str, role: FileRole, size: int
) -> ProbeResult:
    streams = tuple(_stream_info(s) for s in container.streams)
    playable = [
        s
        for s in streams
        if s.kind in ("video", "audio") and s.codec not in (None, "none") and not s.is_attached_pic
    ]
    if not playable:
        kinds = ", ".join(f"{s.kind}:{s.codec}" for s in streams) or "no streams"
        raise NoPlayableStream(f"{name} has no audio or video stream ({kinds})")
    duration_us = container.duration if container.duration and container.duration > 0 else None
    keyframes: KeyframeIndex | None = None
    keyframe_stream: int | None = None
    main = _main_video(container)
    if main is not None and role is not FileRole.AUDIO:
        keyframes = _keyframe_index(container, main, size=size, duration_us=duration_us, name=name)
        keyframe_stream = main.index
    return ProbeResult(
        container=container.format.name,
        duration_us=duration_us,
        bit_rate=container.bit_rate or None,
        streams=streams,
        chapters=_chapters(container),
        tags={k.lower(): v for k, v in container.metadata.items()},
        keyframes=keyframes,
        keyframe_stream=keyframe_stream,
    )


def _stream_info(stream: Stream) -> StreamInfo:
    ctx: Any = stream.codec_context
    codec: str | None = None
    if ctx is not None and ctx.codec is not None:
        # The canonical name ("mp3"), not the decoder's ("mp3float").
        codec = ctx.codec.canonical_name
    info: dict[str, Any] = {
        "index": stream.index,
        "kind": stream.type,
        "codec": codec,
        "time_base": stream.time_base,
        "language": _language(stream.metadata.get("language")),
        "title": stream.metadata.get("title") or None,
        "is_default": bool(stream.disposition & Disposition.default),
        "is_forced": bool(stream.disposition & Disposition.forced),
        "is_attached_pic": bool(stream.disposition & Disposition.attached_pic),
    }
    if ctx is not None:
        info["profile"] = ctx.profile or None
        info["bit_rate"] = ctx.bit_rate or None
    if stream.type == "video" and ctx is not None:
        level = ctx.level
        info["level"] = level if level is not None and level > 0 else None
        info["pix_fmt"] = ctx.pix_fmt
        fmt = ctx.format
        if fmt is not None and fmt.components:
            info["bit_depth"] = max(c.bits for c in fmt.components)
        info["color_transfer"] = _TRANSFERS.get(ctx.color_trc)
        info["width"] = ctx.width or None
        info["height"] = ctx.height or None
        rate = stream.average_rate or stream.guessed_rate
        info["fps"] = Fraction(rate) if rate else None
    elif stream.type == "audio" and ctx is not None:
        info["channels"] = ctx.channels or None
        layout = ctx.layout
        info["channel_layout"] = layout.name if layout is not None and ctx.channels else None
        info["sample_rate"] = ctx.sample_rate or None
    return StreamInfo(**info)


def _language(value: str | None) -> str | None:
    return None if not value or value == "und" else value


def _main_video(container: InputContainer) -> Stream | None:
    videos = [
        s
        for s in container.streams.video
        if not s.disposition & Disposition.attached_pic and s.codec_context is not None
    ]
    if not videos:
        return None
    return next((s for s in videos if s.disposition & Disposition.default), videos[0])


def _chapters(container: InputContainer) -> tuple[ChapterInfo, ...]:
    out = []
    for number, chapter in enumerate(container.chapters()):
        tb = chapter["time_base"] or Fraction(1, _US)
        out.append(
            ChapterInfo(
                index=number,
                start_us=_to_us(chapter["start"], tb),
                end_us=_to_us(chapter["end"], tb),
                title=chapter["metadata"].get("title") or None,
            )
        )
    return tuple(out)


def _to_us(ticks: int, time_base: Fraction) -> int:
    return ticks * time_base.numerator * _US // time_base.denominator


# --- keyframes ------------------------------------------------------------------------------


def _keyframe_index(
    container: InputContainer, stream: Stream, *, size: int, duration_us: int | None, name: str
) -> KeyframeIndex | None:
    tb = stream.time_base
    if tb is None:
        return None
    if container.format.name.startswith("mov,"):
        index = _index_from_sample_table(container, stream, size=size, name=name)
        if index is not None:
            return index
        container.seek(0)
    elif "matroska" in container.format.name and duration_us:
        index = _index_from_cues(container, stream, size=size, duration_us=duration_us, name=name)
        if index is not None:
            return index
        container.seek(0)
    return _index_from_packets(container, stream, duration_us=duration_us, name=name)


def _index_from_cues(
    container: InputContainer, stream: Stream, *, size: int, duration_us: int, name: str
) -> KeyframeIndex | None:
    """Matroska/WebM: the Cues element indexes keyframes by pts and byte position.

    FFmpeg parses the Cues on the first seek, which reads only the Cues themselves, so an S3
    object is not read through. Muxers write a cue per keyframe or per cluster; either is a
    sound set of segment boundaries when it is dense, so accept it only when it runs from the
    start to near the end without a gap of more than ``_MAX_CUE_GAP_US``, and otherwise demux.
    A file cut short loses the Cues written at its end, and falls back to the packet scan, which
    reports it.
    """
    tb = stream.time_base
    assert tb is not None
    container.seek(max(0, duration_us - _US), backward=True, any_frame=False)
    # The seek landed in the last cluster: its packets give the video's own end (the container's
    # duration is the longest stream's, often the audio's).
    end: int | None = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            packet_end = packet.pts + (packet.duration or 0)
            end = packet_end if end is None else max(end, packet_end)
    start = stream.start_time or 0
    if end is not None and _to_us(end - start, tb) < duration_us - _TRUNCATION_SLACK_US:
        raise Truncated(
            f"{name} is cut short: its video stops at {_to_us(end - start, tb) / _US:.1f} s "
            f"of {duration_us / _US:.1f} s"
        )
    entries = [e for e in stream.index_entries if e.is_keyframe]
    if end is None or len(entries) < 2 or any(e.pos + e.size > size for e in entries):
        return None
    pts = sorted({e.timestamp for e in entries})
    gaps = [b - a for a, b in itertools.pairwise([*pts, end])]
    if _to_us(pts[0] - start, tb) > _US or _to_us(max(gaps), tb) > _MAX_CUE_GAP_US:
        return None
    return KeyframeIndex(time_base=tb, pts=tuple(pts), duration=max(0, end - pts[0]))


def _index_from_sample_table(
    container: InputContainer, stream: Stream, *, size: int, name: str
) -> KeyframeIndex | None:
    """MP4/MOV: the sample table lists every sample with its keyframe flag, read with the header.

    Its timestamps are decode times: a keyframe's pts is its dts plus a composition offset that
    the table does not expose. Read the first keyframe's packet, and seek to a few more, to learn
    that offset; when they disagree (unusual GOP structures) return None and demux instead.
    """
    entries = stream.index_entries
    keys = [e for e in entries if e.is_keyframe]
    if not keys:
        return None
    last = max(entries, key=lambda e: e.pos)
    if last.pos + last.size > size:
        raise Truncated(f"{name} is cut short: its sample table points past the end of file")
    # The container was just opened: its first video packet is the first keyframe.
    first_offset = _pts_offset(container, stream, keys[0].timestamp, seek_to=None)
    if first_offset is None:
        return None
    # The first keyframe may differ (an IDR before open GOPs); the later ones must agree. MP4
    # seeks take presentation times, so aim at dts + offset and check where it landed.
    later = keys[1:]
    checked = later if len(later) <= _OFFSET_SAMPLES else [later[0], later[-1]]
    offsets = {
        _pts_offset(container, stream, k.timestamp, seek_to=k.timestamp + first_offset)
        for k in checked
    }
    later_offset = offsets.pop() if len(offsets) == 1 else first_offset if not offsets else None
    if later_offset is None:
        return None
    pts = [keys[0].timestamp + first_offset]
    pts.extend(k.timestamp + later_offset for k in keys[1:])
    if any(b <= a for a, b in itertools.pairwise(pts)):
        return None
    start = stream.start_time or 0
    if stream.duration:
        end = start + stream.duration
    else:
        last_entry = entries[len(entries) - 1]
        end = last_entry.timestamp + later_offset + 1
    return KeyframeIndex(
        time_base=stream.time_base or Fraction(1), pts=tuple(pts), duration=max(0, end - pts[0])
    )


def _pts_offset(
    container: InputContainer, stream: Stream, dts: int, *, seek_to: int | None
) -> int | None:
    """pts - dts of the keyframe packet at ``dts``: one seek and one small read; None if missed."""
    if seek_to is not None:
        container.seek(seek_to, stream=stream, backward=True, any_frame=False)
    for packet in container.demux(stream):
        if packet.dts is None or packet.pts is None or not packet.size:
            continue
        if packet.dts != dts:
            return None
        return packet.pts - packet.dts
    return None


def _index_from_packets(
    container: InputContainer, stream: Stream, *, duration_us: int | None, name: str
) -> KeyframeIndex | None:
    """Demux the stream's packets and keep the keyframes' pts: flags only, nothing decoded."""
    tb = stream.time_base
    assert tb is not None
    for other in container.streams:
        if other.index != stream.index:
            # Skipped streams are still read from disk but not copied into packets.
            other.discard = av.stream.Discard.all
    pts: set[int] = set()
    end: int | None = None
    for packet in container.demux(stream):
        # The flush packet at the end is empty; packets without pts cannot start a segment.
        if packet.pts is None or not packet.size:
            continue
        packet_end = packet.pts + (packet.duration or 0)
        end = packet_end if end is None else max(end, packet_end)
        if packet.is_keyframe:
            pts.add(packet.pts)
    if duration_us is not None:
        demuxed_us = 0 if end is None else _to_us(end - (stream.start_time or 0), tb)
        if demuxed_us < duration_us - _TRUNCATION_SLACK_US:
            raise Truncated(
                f"{name} is cut short: its video stops at {demuxed_us / _US:.1f} s "
                f"of {duration_us / _US:.1f} s"
            )
    if not pts or end is None:
        return None
    ordered = sorted(pts)
    return KeyframeIndex(time_base=tb, pts=tuple(ordered), duration=max(0, end - ordered[0]))


# --- photos ---------------------------------------------------------------------------------


def _probe_photo(file: BinaryIO | str | Path, name: str) -> ProbeResult:
    try:
        with Image.open(file) as image:
            width, height = image.size
            fmt = image.format or "unknown"
            exif = _exif(image)
    except UnidentifiedImageError as exc:
        raise NotMedia(f"{name} is not an image Pillow recognises") from exc
    except OSError as exc:
        raise Unreadable(f"cannot read {name}: {exc}") from exc
    except (ValueError, SyntaxError) as exc:  # Pillow's plugins raise these on damaged headers
        raise Truncated(f"{name} has a damaged image header: {exc}") from exc
    stream = StreamInfo(
        index=0, kind="video", codec=_PHOTO_CODECS.get(fmt, fmt.lower()), width=width, height=height
    )
    return ProbeResult(
        container=fmt.lower(), duration_us=None, bit_rate=None, streams=(stream,), exif=exif
    )


def _exif(image: Image.Image) -> dict[str, str]:
    raw = image.getexif()
    sub = raw.get_ifd(_EXIF_IFD)
    out: dict[str, str] = {}
    taken = _exif_datetime(sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL))
    taken = taken or _exif_datetime(raw.get(_DATETIME), None)
    if taken:
        out["taken_at"] = taken
    for key, tag in (("make", _MAKE), ("model", _MODEL)):
        value = raw.get(tag)
        if isinstance(value, str) and value.strip("\x00 "):
            out[key] = value.strip("\x00 ")
    orientation = raw.get(_ORIENTATION)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        out["orientation"] = str(orientation)
    return out


def _exif_datetime(value: object, offset: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")
    if isinstance(offset, str) and offset.strip("\x00 "):
        text += offset.strip("\x00 ")
    for fmt in ("%Y:%m:%d %H:%M:%S%z", "%Y:%m:%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return None


# --- errors ---------------------------------------------------------------------------------

# Leading bytes of containers FFmpeg would recognise: a file that starts like one but does not
# open is damaged (a truncated download), not something that was never media.
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # EBML: Matroska, WebM
    (0, b"RIFF"),  # AVI, WAV
    (0, b"OggS"),
    (0, b"fLaC"),
    (0, b"ID3"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),  # ASF: WMV, WMA
)


def _looks_like_media(head: bytes) -> bool:
    if any(head[at : at + len(magic)] == magic for at, magic in _MAGIC):
        return True
    # MPEG-TS: a sync byte every 188 bytes.
    return len(head) >= 377 and head[0] == head[188] == head[376] == 0x47


def _read_head(file: BinaryIO | str | Path) -> bytes:
    try:
        if isinstance(file, (str, Path)):
            with open(file, "rb") as handle:
                return handle.read(512)
        file.seek(0)
        return file.read(512)
    except (OSError, ValueError):
        return b""


def _rewind(file: BinaryIO | str | Path) -> None:
    if not isinstance(file, (str, Path)):
        file.seek(0)


_ACCESS_ERRNOS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR})


@contextmanager
def _mapped_errors(name: str, file: BinaryIO | str | Path) -> Iterator[None]:
    """Map PyAV's and the file object's exceptions to ingest's error tree, once, here."""
    try:
        yield
    except ProbeError:
        raise
    except av.error.InvalidDataError as exc:
        if _looks_like_media(_read_head(file)):
            raise Truncated(
                f"{name} looks like a media container but is damaged or cut short"
            ) from exc
        raise NotMedia(f"{name} is not a media file FFmpeg recognises") from exc
    except (av.error.EOFError, av.error.UndefinedError, av.error.PatchWelcomeError) as exc:
        raise Truncated(f"{name} ends early or is damaged: {exc}") from exc
    except av.error.FFmpegError as exc:
        # PyAV's errors also inherit the builtin one: FileNotFoundError, PermissionError ...
        if isinstance(exc, OSError) and exc.errno in _ACCESS_ERRNOS:
            raise Unreadable(f"cannot read {name}: {exc}") from exc
        if isinstance(exc, OSError):
            # A failing read of a Python file object surfaces as that object's own exception;
            # an EIO coming from inside FFmpeg (matroska's "read error") means the data stops
            # or breaks where the container says more follows.
            raise Truncated(f"{name} ends early or is damaged: {exc.strerror or exc}") from exc
        raise NotMedia(f"{name} could not be read as media: {exc}") from exc
    except OSError as exc:
        raise Unreadable(f"cannot read {name}: {exc}") from exc
    except (ValueError, RuntimeError) as exc:
        log.warning("probe_failed", name=name, error=repr(exc))
        raise NotMedia(f"{name} could not be read as media: {exc}") from exc

"""Plain data that flows through ingest: what a source lists, what a probe finds, what titles say.

Frozen dataclasses, standard library only. Media times are integer microseconds (``*_us``) or
ticks with a ``Fraction`` time base; nothing here is a float second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from engine.media import StreamInfo
from engine.segmenter.keyframes import KeyframeIndex

# StreamInfo is the engine's (engine/media.py); ingest re-exports it with its own models.
__all__ = [
    "ChapterInfo",
    "Entry",
    "FileRole",
    "ItemType",
    "ItemWrite",
    "LibraryKind",
    "Person",
    "ProbeResult",
    "StreamInfo",
    "Titles",
]


class LibraryKind(StrEnum):
    MOVIES = "movies"
    SHOWS = "shows"
    MUSIC = "music"
    PHOTOS = "photos"
    MIXED = "mixed"


class ItemType(StrEnum):
    MOVIE = "movie"
    EPISODE = "episode"
    VIDEO = "video"
    TRACK = "track"
    PHOTO = "photo"
    UNKNOWN = "unknown"


class FileRole(StrEnum):
    """What a discovered file is to the scanner, decided by its extension alone."""

    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    SUBTITLE = "subtitle"  # a sidecar: attached to the media file with the same stem
    NFO = "nfo"  # a sidecar: Kodi-style metadata overriding guessed fields
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Entry:
    """One file as a source lists it. ``key`` is a POSIX relative path or an S3 object key."""

    key: str
    size: int
    mtime_ns: int | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class ChapterInfo:
    index: int
    start_us: int
    end_us: int
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything read from one file's container, without decoding a frame."""

    container: str
    duration_us: int | None
    bit_rate: int | None
    streams: tuple[StreamInfo, ...]
    chapters: tuple[ChapterInfo, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    # The keyframe index of the main video stream (``keyframe_stream``), None for audio/photos.
    keyframes: KeyframeIndex | None = None
    keyframe_stream: int | None = None
    # Photos: EXIF fields already decoded (taken_at, camera make/model, orientation).
    exif: dict[str, str] = field(default_factory=dict)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video" and not s.is_attached_pic), None)


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    role: str  # actor, director, writer, composer ...
    character: str | None = None


@dataclass(frozen=True, slots=True)
class Titles:
    """What a file is called and where it belongs, from its name, tags, EXIF or a .nfo file."""

    type: ItemType
    title: str
    original_title: str | None = None
    year: int | None = None
    overview: str | None = None
    series_title: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    episode_number_end: int | None = None
    album: str | None = None
    album_artist: str | None = None
    artist: str | None = None
    track_number: int | None = None
    disc_number: int | None = None
    taken_at: datetime | None = None
    official_rating: str | None = None
    community_rating: float | None = None
    genres: tuple[str, ...] = ()
    people: tuple[Person, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemWrite:
    """One file's outcome in a scan: probed (``status == "ok"``) or failed with a reason."""

    entry: Entry
    status: str
    error_reason: str | None
    titles: Titles
    version: str
    probe: ProbeResult | None = None
    content_hash: str | None = None
    sidecar_subtitles: tuple[StreamInfo, ...] = ()

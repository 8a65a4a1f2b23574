"""Rows as frozen dataclasses: what the catalog's query functions return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.models import ItemType, LibraryKind


@dataclass(frozen=True, slots=True)
class Library:
    id: int
    name: str
    kind: LibraryKind
    settings: dict[str, Any]
    last_scan_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: int
    library_id: int
    kind: str  # local | s3
    path: str | None
    bucket: str | None
    prefix: str
    credentials_ref: str | None

    def describe(self) -> str:
        if self.kind == "local":
            return str(self.path)
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the scanner compares a listed file against."""

    item_id: int
    key: str
    size: int
    mtime_ns: int | None
    etag: str | None
    status: str
    content_hash: str | None
    version: str

    def matches(self, size: int, mtime_ns: int | None, etag: str | None) -> bool:
        if self.size != size:
            return False
        if etag is not None or self.etag is not None:
            return etag == self.etag
        return mtime_ns == self.mtime_ns


@dataclass(frozen=True, slots=True)
class MediaItem:
    id: int
    library_id: int
    source_id: int
    key: str
    type: ItemType
    status: str
    error_reason: str | None
    title: str
    sort_title: str
    original_title: str | None
    year: int | None
    overview: str | None
    size: int
    version: str
    container: str | None
    duration_us: int | None
    bit_rate: int | None
    width: int | None
    height: int | None
    series_id: int | None
    season_number: int | None
    episode_number: int | None
    album_id: int | None
    artist: str | None
    track_number: int | None
    disc_number: int | None
    taken_at: datetime | None
    official_rating: str | None
    community_rating: float | None
    added_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str | None
    display_name: str | None
    provider: str
    subject: str | None
    password_hash: str | None
    roles: tuple[str, ...]
    settings: dict[str, Any]
    max_parental_rating: int | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: int
    item_id: int | None
    kind: str
    store_key: str
    width: int
    height: int
    blurhash: str | None


@dataclass(frozen=True, slots=True)
class ScanRun:
    id: int
    library_id: int
    started_at: datetime
    finished_at: datetime | None
    state: str
    stats: dict[str, Any]

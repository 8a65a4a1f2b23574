"""The work a scan does for one file: open it, hash it, probe it, name it.

Kept apart from the scanner so that worker processes can import it without the catalog's
database drivers: a bulk scan of a local folder runs ``probe_local_file`` in worker processes
(each with its own GIL, and a crash in FFmpeg costs one file, not the server), while small scans
and S3 sources run ``probe_file`` in threads.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

import structlog

from ingest import nfo as nfo_parser
from ingest import probe as prober
from ingest.errors import EmptyFile, ProbeError, Unreadable
from ingest.models import Entry, FileRole, ItemType, ItemWrite, LibraryKind, StreamInfo, Titles
from ingest.sources.base import Source
from ingest.sources.local import B64_PREFIX, LocalSource, decode_key
from ingest.titles import parse_titles

log = structlog.get_logger(__name__)

_SUBTITLE_CODECS = {
    ".srt": "subrip",
    ".ass": "ass",
    ".ssa": "ass",
    ".vtt": "webvtt",
    ".sub": "microdvd",
}
_NFO_MAX_BYTES = 1 << 20
# Exit status of a worker process that died on a file: recorded as that file's failure.
CRASHED = "the probe crashed on this file (FFmpeg aborted the worker process)"


@dataclass(frozen=True, slots=True)
class ProbeJob:
    """One file to probe, with its sidecars."""

    entry: Entry
    role: FileRole
    version: str
    nfo_key: str | None
    subtitles: tuple[Entry, ...]


def stem_of(key: str) -> str:
    """'Films/Heat (1995)/Heat (1995).mkv' -> 'Films/Heat (1995)/Heat (1995)'."""
    root, _ext = posixpath.splitext(key)
    return root


def readable_key(key: str) -> str:
    """The key as a person reads it. Names that are not UTF-8 (kept under a reversible base64
    key) are read as Windows-1252, the usual encoding of such names on old shares and discs."""
    if not key.startswith(B64_PREFIX):
        return key
    raw = decode_key(key)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def probe_local_file(kind: LibraryKind, root: str, job: ProbeJob) -> ItemWrite:
    """``probe_file`` for a file under a local folder, in a worker process."""
    return probe_file(kind, LocalSource(0, Path(root)), job)


def _sidecar_stream(index: int, media_key: str, entry: Entry) -> StreamInfo:
    name = readable_key(entry.key)
    ext = posixpath.splitext(name)[1].lower()
    tail = posixpath.basename(name)[len(posixpath.basename(stem_of(readable_key(media_key)))) :]
    parts = [p for p in tail.lower().split(".") if p and "." + p != ext]
    language = next((p for p in parts if p.isalpha() and 2 <= len(p) <= 3), None)
    return StreamInfo(
        index=index,
        kind="subtitle",
        codec=_SUBTITLE_CODECS.get(ext),
        language=language,
        is_forced="forced" in parts,
        is_default="default" in parts,
        external_key=entry.key,
    )


def probe_file(kind: LibraryKind, source: Source, job: ProbeJob) -> ItemWrite:
    """Open, hash, probe and name one file. Runs in a worker thread; never raises ProbeError."""
    entry = job.entry
    nfo = None
    if job.nfo_key is not None:
        try:
            with source.open(job.nfo_key) as fh:
                nfo = nfo_parser.parse_nfo(fh.read(_NFO_MAX_BYTES))
        except (ProbeError, OSError) as exc:
            log.warning("scan.nfo_unreadable", key=job.nfo_key, reason=str(exc))
    try:
        if entry.size == 0:
            raise EmptyFile("the file is empty (0 bytes)")
        with source.open(entry.key, entry.size) as fh:
            content_hash = prober.content_hash(fh, entry.size)
            fh.seek(0)
            local = native_path(source, entry.key)
            # A local file goes to FFmpeg by path: it then reads in C without taking the GIL
            # per read, where a Python file object calls back into Python for every one.
            probe = prober.probe_media(
                fh if local is None else local, name=entry.key, role=job.role, size=entry.size
            )
    except ProbeError as exc:
        return failure(kind, job, exc.status, str(exc) or type(exc).__name__)
    except OSError as exc:
        return failure(kind, job, Unreadable.status, f"{type(exc).__name__}: {exc}")
    subtitles = tuple(
        _sidecar_stream(1000 + i, entry.key, sub) for i, sub in enumerate(job.subtitles)
    )
    return ItemWrite(
        entry=entry,
        status="ok",
        error_reason=None,
        titles=parse_titles(readable_key(entry.key), kind, probe, nfo),
        version=job.version,
        probe=probe,
        content_hash=content_hash,
        sidecar_subtitles=subtitles,
    )


def native_path(source: Source, key: str) -> str | None:
    """An absolute path FFmpeg can open itself, or None (S3 objects; names that are not UTF-8,
    which FFmpeg's URL handling cannot take)."""
    path = source.local_path(key)
    if path is None:
        return None
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text if text.startswith("/") else None


def failure(kind: LibraryKind, job: ProbeJob, status: str, reason: str) -> ItemWrite:
    readable = readable_key(job.entry.key)
    title = posixpath.basename(stem_of(readable)) or readable
    return ItemWrite(
        entry=job.entry,
        status=status,
        error_reason=reason,
        titles=Titles(type=ItemType.UNKNOWN, title=title),
        version=job.version,
    )

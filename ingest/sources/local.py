"""``LocalSource``: a library in a folder on this machine.

Keys are POSIX paths relative to the root. A name that is not valid UTF-8 (possible on Linux,
where a name is any bytes) cannot be stored in a PostgreSQL ``text`` column, so its key is
``/b64/`` followed by the URL-safe base64 of the raw relative path bytes: reversible, and never
confused with a normal relative key, which has no leading ``/``.

The walk runs in worker threads over ``bytes`` paths, so odd names never go through a lossy
decode. Hidden names (leading ``.``) are skipped, directories already visited (by device and
inode) are skipped, which breaks symlink loops.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat as stat_mod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread
import structlog

from ingest.errors import SourceError, Unreadable
from ingest.models import Entry
from ingest.sources.base import DISCOVER_BATCH, SourceStatistics

log = structlog.get_logger(__name__)

B64_PREFIX = "/b64/"
# A worker-thread hop returns after this many directories even when the batch is not full, so
# a folder tree of empty directories still lets the event loop see cancellation.
_DIRS_PER_HOP = 256


def encode_key(relative: bytes) -> str:
    """The catalog key for a relative path given as raw bytes."""
    try:
        return relative.decode("utf-8")
    except UnicodeDecodeError:
        return B64_PREFIX + base64.urlsafe_b64encode(relative).decode("ascii")


def decode_key(key: str) -> bytes:
    """The raw relative path bytes of ``key``; ValueError when it is not a key under a root."""
    if key.startswith(B64_PREFIX):
        try:
            raw = base64.urlsafe_b64decode(key[len(B64_PREFIX) :].encode("ascii"))
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError(f"malformed key {key!r}") from exc
    else:
        try:
            raw = key.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise ValueError(f"key {key!r} is not valid text") from exc
    parts = raw.split(b"/")
    if not raw or raw.startswith(b"/") or b"\0" in raw or b".." in parts or b"" in parts:
        raise ValueError(f"key {key!r} is not a relative path inside the root")
    return raw


class _Walk:
    """One discover run: a stack of folders still to list. Only one thread touches it at a time."""

    def __init__(self, source: LocalSource) -> None:
        self._source = source
        self._root = source.root_bytes
        self._stack: list[bytes] = []  # relative folder paths; b"" is the root
        self._seen: set[tuple[int, int]] = set()
        self._started = False

    @property
    def done(self) -> bool:
        return self._started and not self._stack

    def start(self) -> None:
        """List nothing yet, but fail loudly when the root itself is unusable."""
        self._started = True
        try:
            st = os.stat(self._root)
        except OSError as exc:
            raise SourceError(f"{self._source.describe_root()}: {exc.strerror or exc}") from exc
        if not stat_mod.S_ISDIR(st.st_mode):
            raise SourceError(f"{self._source.describe_root()}: not a directory")
        self._seen.add((st.st_dev, st.st_ino))
        self._stack.append(b"")

    def next_batch(self) -> list[Entry]:
        """List folders until a batch is full or the walk ends. Blocking: run in a thread."""
        if not self._started:
            self.start()
        entries: list[Entry] = []
        hops = 0
        while self._stack and len(entries) < DISCOVER_BATCH and hops < _DIRS_PER_HOP:
            relative = self._stack.pop()
            hops += 1
            self._list(relative, entries)
        return entries

    def _list(self, relative: bytes, entries: list[Entry]) -> None:
        folder = self._root + b"/" + relative if relative else self._root
        source = self._source
        try:
            with os.scandir(folder) as it:
                children = list(it)
        except OSError as exc:
            if not relative:
                raise SourceError(f"{source.describe_root()}: {exc.strerror or exc}") from exc
            source.count_skip()
            log.warning(
                "source.folder_unlistable", path=source.describe_raw(relative), error=str(exc)
            )
            return
        source.count_listing()
        for child in children:
            name = child.name
            if name.startswith(b"."):
                continue
            child_rel = relative + b"/" + name if relative else name
            try:
                if child.is_dir():
                    st = child.stat()
                    ident = (st.st_dev, st.st_ino)
                    if ident in self._seen:
                        source.count_skip()
                        log.info("source.folder_seen", path=source.describe_raw(child_rel))
                        continue
                    self._seen.add(ident)
                    self._stack.append(child_rel)
                elif child.is_file():
                    st = child.stat()
                    if stat_mod.S_ISREG(st.st_mode):
                        entries.append(Entry(encode_key(child_rel), st.st_size, st.st_mtime_ns))
                        source.count_entry()
                elif child.is_symlink():
                    source.count_skip()
                    log.info("source.dangling_link", path=source.describe_raw(child_rel))
            except OSError as exc:  # vanished between listing and stat, or unreadable
                source.count_skip()
                log.warning(
                    "source.entry_skipped", path=source.describe_raw(child_rel), error=str(exc)
                )


class LocalSource:
    """A folder tree on a local or mounted file system."""

    def __init__(
        self, source_id: int, root: Path, *, limiter: anyio.CapacityLimiter | None = None
    ) -> None:
        self.source_id = source_id
        self.root = Path(os.path.abspath(root))
        self.root_bytes = os.fsencode(self.root).rstrip(b"/") or b"/"
        self._limiter = limiter
        self._listings = 0
        self._entries = 0
        self._skipped = 0
        self._opened = 0

    # --- counters (written from worker threads; plain int updates under the GIL) ---

    def count_listing(self) -> None:
        self._listings += 1

    def count_entry(self) -> None:
        self._entries += 1

    def count_skip(self) -> None:
        self._skipped += 1

    def statistics(self) -> SourceStatistics:
        return SourceStatistics(self._listings, self._entries, self._skipped, self._opened)

    # --- keys and paths (pure) ---

    def _abs(self, key: str) -> bytes:
        return self.root_bytes.rstrip(b"/") + b"/" + decode_key(key)

    def describe_root(self) -> str:
        return self.root_bytes.decode("utf-8", "backslashreplace")

    def describe_raw(self, relative: bytes) -> str:
        full = self.root_bytes.rstrip(b"/") + b"/" + relative
        return full.decode("utf-8", "backslashreplace")

    def describe(self, key: str) -> str:
        """The absolute path, readable and storable as text even for non-UTF-8 names. Pure."""
        return self.describe_raw(decode_key(key))

    def local_path(self, key: str) -> Path:
        """The absolute path (surrogate-escaped for non-UTF-8 names, as ``os`` accepts). Pure."""
        return Path(os.fsdecode(self._abs(key)))

    def key_for(self, path: str | os.PathLike[str]) -> str | None:
        """The key of an absolute path below the root, or None (outside, hidden). Pure."""
        raw = os.fsencode(os.path.abspath(path))
        prefix = self.root_bytes.rstrip(b"/") + b"/"
        if not raw.startswith(prefix) or raw == prefix:
            return None
        relative = raw[len(prefix) :]
        if any(part.startswith(b".") for part in relative.split(b"/")):
            return None
        return encode_key(relative)

    # --- I/O ---

    async def discover(self) -> AsyncIterator[list[Entry]]:
        """Walk the tree in worker threads, one hop per batch; see ``Source.discover``."""
        walk = _Walk(self)
        while not walk.done:
            batch = await anyio.to_thread.run_sync(walk.next_batch, limiter=self._limiter)
            if batch:
                yield batch

    async def stat(self, key: str) -> Entry | None:
        """Stat in a worker thread. None when gone or not a regular file; SourceError when the
        root itself is gone; Unreadable on other errors (permissions)."""
        return await anyio.to_thread.run_sync(self._stat_sync, key, limiter=self._limiter)

    def _stat_sync(self, key: str) -> Entry | None:
        try:
            st = os.stat(self._abs(key))
        except (FileNotFoundError, NotADirectoryError):
            if not os.path.isdir(self.root_bytes):
                raise SourceError(f"{self.describe_root()}: root folder is missing") from None
            return None
        except OSError as exc:
            raise Unreadable(f"{self.describe(key)}: {exc.strerror or exc}") from exc
        if not stat_mod.S_ISREG(st.st_mode):
            return None
        return Entry(key, st.st_size, st.st_mtime_ns)

    def open(self, key: str, size: int | None = None) -> BinaryIO:
        """Open for reading. Blocking: call in a worker thread. ``size`` is not needed here.

        Opens with O_NONBLOCK and checks the type first, so a FIFO named like a film cannot
        hang the worker.
        """
        try:
            path = self._abs(key)
        except ValueError as exc:
            raise Unreadable(str(exc)) from exc
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise Unreadable(f"{self.describe(key)}: {exc.strerror or exc}") from exc
        try:
            if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
                raise Unreadable(f"{self.describe(key)}: not a regular file")
            os.set_blocking(fd, True)
            file = os.fdopen(fd, "rb")
            # for error messages downstream (otherwise the name is the bare descriptor)
            file.raw.name = self.describe(key)  # type: ignore[attr-defined]
        except BaseException:
            os.close(fd)
            raise
        self._opened += 1
        return file

    async def aclose(self) -> None:
        """Nothing to release."""

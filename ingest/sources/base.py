"""The ``Source`` port: where a library's files live (a local folder, an S3 prefix).

A source lists files, says whether one still exists, and opens one for reading. Keys are what
the catalog stores: a POSIX path relative to the library root (or to the S3 prefix). Adapters
live beside this module: ``local.py`` and ``s3.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ingest.models import Entry

#: How many entries ``discover`` yields at most in one batch.
DISCOVER_BATCH = 500


@dataclass(frozen=True, slots=True)
class SourceStatistics:
    """Counters since the source was created (all discover runs together)."""

    listings: int  # directories listed (local) or result pages fetched (S3)
    entries: int  # files yielded by discover
    skipped: int  # per-file problems logged and skipped (vanished, unlistable folder, loop)
    opened: int  # files opened for reading


class Source(Protocol):
    """A library's storage. Adapters: ``LocalSource``, ``S3Source``.

    Blocking semantics are written on each method: the async ones never block the event loop,
    ``open`` blocks and must run in a worker thread.
    """

    source_id: int

    def describe(self, key: str) -> str:
        """Where ``key`` lives, for logs and error reasons (absolute path or ``s3://...``).

        Pure: no I/O.
        """
        ...

    def discover(self) -> AsyncIterator[list[Entry]]:
        """Yield every regular file under the root, recursively, in batches.

        Listing work runs off the event loop (worker threads or async I/O). Raises
        ``SourceError`` when the root itself cannot be listed, so the caller must not treat
        the result as "the library is empty". Problems with single files or subfolders are
        logged, counted in ``statistics().skipped`` and skipped.
        """
        ...

    async def stat(self, key: str) -> Entry | None:
        """The current entry for ``key``, or None when it no longer exists.

        Does not block the event loop. Raises ``SourceError`` when the root is gone (so a
        missing mount is not mistaken for a deleted file).
        """
        ...

    def open(self, key: str, size: int | None = None) -> BinaryIO:
        """Open ``key`` for reading: a readable, seekable binary file object.

        SYNCHRONOUS and blocking: call it, and read the result, inside a worker thread started
        with ``anyio.to_thread.run_sync``. ``size`` (from a previous listing) saves a request
        where the adapter would otherwise ask for it. Raises ``Unreadable`` with the reason.
        The caller closes the file.
        """
        ...

    def local_path(self, key: str) -> Path | None:
        """The file's path on this machine, for the file watcher and direct play; None for S3.

        Pure: no I/O.
        """
        ...

    def statistics(self) -> SourceStatistics:
        """Counters; pure and cheap."""
        ...

    async def aclose(self) -> None:
        """Release what the source owns. Does not close clients it was given."""
        ...

"""Open demuxers kept between segment requests of the same file.

Opening a long MP4 parses its whole sample index: ~13 ms for a 10-minute 1080p film, more than
copying one segment's packets out of the page cache. Remuxing seeks before it reads, so a demuxer
left by one request serves the next as well as a fresh one: the pool lends idle demuxers of a
file, one borrower at a time (a PyAV container is not thread-safe), and takes them back when the
work succeeded (a failure closes it: its state is unknown).

A file is known by its path, size and modification time: a file changed in place gets fresh
demuxers, and the old ones are closed as they come back. Only local paths are pooled; readers
(S3) are opened per job by their owners. ``statistics()`` counts opens and reuses.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import av

from engine.errors import CorruptSource

_Key = tuple[str, int, int]  # path, size, mtime in ns
# Demuxers whose seeks go through a sample index, and so land the same after any earlier read
# (MPEG-TS seeks by scanning timestamps, and refuses some after a read to the end).
POOLABLE = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})


@dataclass(frozen=True, slots=True)
class Borrowed:
    container: Any
    reused: bool  # read before: seek before reading


@dataclass(frozen=True, slots=True)
class DemuxerPoolStatistics:
    opened: int
    reused: int
    idle: int
    discarded: int


class DemuxerPool:
    def __init__(self, *, max_idle: int = 16, per_file: int = 4) -> None:
        if max_idle < 0 or per_file < 1:
            raise ValueError("max_idle must be 0 or more and per_file at least 1")
        self._max_idle = max_idle
        self._per_file = per_file
        self._idle: OrderedDict[_Key, list[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._opened = self._reused = self._discarded = 0

    @contextmanager
    def borrow(self, path: str) -> Iterator[Borrowed]:
        """An open demuxer of ``path``, for this thread alone until the block ends."""
        key = _identity(path)
        container = self._take(key)
        reused = container is not None
        if container is None:
            try:
                container = av.open(path, "r")
            except (av.error.FFmpegError, OSError) as exc:
                raise CorruptSource(f"cannot open the source: {exc}") from exc
            with self._lock:
                self._opened += 1
        try:
            yield Borrowed(container, reused)
        except BaseException:
            container.close()
            with self._lock:
                self._discarded += 1
            raise
        self._give_back(key, container)

    def close(self) -> None:
        with self._lock:
            idle = [c for group in self._idle.values() for c in group]
            self._idle.clear()
        for container in idle:
            container.close()

    def statistics(self) -> DemuxerPoolStatistics:
        with self._lock:
            idle = sum(len(group) for group in self._idle.values())
            return DemuxerPoolStatistics(self._opened, self._reused, idle, self._discarded)

    def _take(self, key: _Key) -> Any | None:
        stale: list[Any] = []
        with self._lock:
            for old in [k for k in self._idle if k[0] == key[0] and k != key]:
                stale += self._idle.pop(old)  # the file changed since these were opened
            self._discarded += len(stale)
        for container in stale:
            container.close()
        with self._lock:
            group = self._idle.get(key)
            if not group:
                return None
            container = group.pop()
            if not group:
                del self._idle[key]
            self._reused += 1
            return container

    def _give_back(self, key: _Key, container: Any) -> None:
        closing: list[Any] = []
        with self._lock:
            if _changed(key) or container.format.name not in POOLABLE:
                closing.append(container)
            else:
                group = self._idle.setdefault(key, [])
                self._idle.move_to_end(key)
                group.append(container)
                if len(group) > self._per_file:
                    closing.append(group.pop(0))
                while sum(len(g) for g in self._idle.values()) > self._max_idle:
                    oldest, members = next(iter(self._idle.items()))
                    closing.append(members.pop(0))
                    if not members:
                        del self._idle[oldest]
            self._discarded += len(closing)
        for stale in closing:
            stale.close()


def _identity(path: str) -> _Key:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise CorruptSource(f"cannot open the source: {exc}") from exc
    return (path, info.st_size, info.st_mtime_ns)


def _changed(key: _Key) -> bool:
    try:
        return _identity(key[0]) != key
    except CorruptSource:
        return True


# The process's pool: segment workers of every session share it.
shared = DemuxerPool()

"""The segment cache: a port and its single-node adapter.

Segments are immutable (their key names the media version), so a cache needs no invalidation:
only a size bound. ``MemorySegmentCache`` is the embedded default: an LRU bounded by bytes. The
cluster adds an S3-backed adapter behind the same port.

Blocking semantics: ``get`` and ``put`` may wait on I/O in other adapters; the memory adapter never
waits. ``put`` of an entry larger than the whole cache stores nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SegmentKey:
    """What names a produced segment: the source's version, the rendition, which part."""

    version: str  # the media item's version: changes whenever its bytes may have
    rendition: str  # a rendition id ("v0", "720p", "a0", "s0")
    part: str  # "init", or the segment number as text
    container: str = "cmaf"  # cmaf, mpegts, webvtt

    def __str__(self) -> str:
        return f"{self.version}/{self.rendition}/{self.part}.{self.container}"


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class SegmentCache(Protocol):
    async def get(self, key: SegmentKey) -> bytes | None: ...

    async def put(self, key: SegmentKey, data: bytes) -> None: ...

    def statistics(self) -> CacheStatistics: ...


class MemorySegmentCache:
    """An in-process LRU of segments, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._max = max_bytes
        self._entries: OrderedDict[SegmentKey, bytes] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0

    async def get(self, key: SegmentKey) -> bytes | None:
        data = self._entries.get(key)
        if data is None:
            self._misses += 1
            return None
        self._entries.move_to_end(key)
        self._hits += 1
        return data

    async def put(self, key: SegmentKey, data: bytes) -> None:
        if len(data) > self._max:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = data
        self._bytes += len(data)
        while self._bytes > self._max:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)
            self._evictions += 1

    def statistics(self) -> CacheStatistics:
        return CacheStatistics(
            entries=len(self._entries),
            bytes=self._bytes,
            max_bytes=self._max,
            hits=self._hits,
            misses=self._misses,
            evictions=self._evictions,
        )

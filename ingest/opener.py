"""Turns a catalog source record into a live ``Source`` adapter, chosen once from configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio

from ingest.catalog.records import SourceRecord
from ingest.errors import SourceError
from ingest.sources import LocalSource, S3Config, S3Source, Source, open_s3_client


class SourceOpener:
    """``async with opener(record) as source``: local folders directly, S3 with the credentials
    the record names (``None`` names the default endpoint)."""

    def __init__(self, s3: Mapping[str | None, S3Config]) -> None:
        self._s3 = dict(s3)

    @asynccontextmanager
    async def __call__(self, record: SourceRecord) -> AsyncIterator[Source]:
        source: Source
        if record.kind == "local":
            if record.path is None:
                raise SourceError(f"local source {record.id} has no path")
            source = LocalSource(record.id, Path(record.path))
            try:
                yield source
            finally:
                await source.aclose()
            return
        config = self._s3.get(record.credentials_ref)
        if config is None or record.bucket is None:
            raise SourceError(
                f"source {record.id} names S3 credentials {record.credentials_ref!r}, "
                "which are not configured"
            )
        async with open_s3_client(config) as client:
            source = S3Source(record.id, client, record.bucket, record.prefix)
            try:
                yield source
            finally:
                await source.aclose()


class SourcePool:
    """Live sources kept open for a server's lifetime, for playback, which reads items long after
    their scan: one S3 client per credentials name, opened on first use and shared by every
    source that names it; local sources are cheap and made on each call.

    ``async with SourcePool(configs) as pool: source = await pool.get(record)``. Sources made
    here belong to the pool; readers opened from them must be used in worker threads of the
    event loop that entered the pool.
    """

    def __init__(self, s3: Mapping[str | None, S3Config]) -> None:
        self._s3 = dict(s3)
        self._stack = AsyncExitStack()
        self._clients: dict[str | None, object] = {}
        self._sources: dict[int, S3Source] = {}
        self._lock = anyio.Lock()
        self._open = False

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self._sources.clear()
        self._clients.clear()
        await self._stack.__aexit__(exc_type, exc, tb)

    async def get(self, record: SourceRecord) -> Source:
        if record.kind == "local":
            if record.path is None:
                raise SourceError(f"local source {record.id} has no path")
            return LocalSource(record.id, Path(record.path))
        if not self._open:
            raise RuntimeError("SourcePool is not entered")
        async with self._lock:
            source = self._sources.get(record.id)
            if source is not None:
                return source
            config = self._s3.get(record.credentials_ref)
            if config is None or record.bucket is None:
                raise SourceError(
                    f"source {record.id} names S3 credentials {record.credentials_ref!r}, "
                    "which are not configured"
                )
            client = self._clients.get(record.credentials_ref)
            if client is None:
                client = await self._stack.enter_async_context(open_s3_client(config))
                self._clients[record.credentials_ref] = client
            source = S3Source(record.id, client, record.bucket, record.prefix)
            self._sources[record.id] = source
            return source

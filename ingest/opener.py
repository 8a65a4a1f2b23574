"""Turns a catalog source record into a live ``Source`` adapter, chosen once from configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

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

"""Where library files live: the ``Source`` port and its local and S3 adapters."""

from __future__ import annotations

from ingest.sources.base import Source, SourceStatistics
from ingest.sources.local import LocalSource
from ingest.sources.s3 import S3Config, S3Source, open_s3_client

__all__ = [
    "LocalSource",
    "S3Config",
    "S3Source",
    "Source",
    "SourceStatistics",
    "open_s3_client",
]


def _adapters_conform(local: LocalSource, s3: S3Source) -> tuple[Source, Source]:
    """Never called: mypy checks here that both adapters implement the port."""
    return local, s3

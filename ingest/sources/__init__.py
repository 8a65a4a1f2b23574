"""Where library files live: the ``Source`` port and its local and S3 adapters."""

from __future__ import annotations

from ingest.sources.base import Source, SourceStatistics
from ingest.sources.local import LocalSource

__all__ = ["LocalSource", "Source", "SourceStatistics"]

"""Ingest's error tree.

    IngestError
    +-- SourceError                  a source cannot be listed (folder gone, bucket denied):
    |                                the scan removes nothing of that source
    +-- ProbeError                   one file could not be turned into a catalog item
    |   +-- EmptyFile                zero bytes
    |   +-- NotMedia                 no demuxer recognises it
    |   +-- Truncated                the container is cut short or its index is damaged
    |   +-- NoPlayableStream         no audio or video stream, or only unknown codecs
    |   +-- Unreadable (OSError)     an I/O error while reading (permissions, S3 GET failed)
    +-- CatalogError
        +-- DatabaseAhead            the database was migrated by a newer Reelbox
        +-- DatabaseBehind           migrations are pending: run ``reelbox db upgrade``

A ``ProbeError`` carries ``status``: the value stored in ``media_items.status`` beside its message,
so a failed file is recorded with the reason and the scan goes on.
"""

from __future__ import annotations

from typing import ClassVar


class IngestError(Exception):
    pass


class SourceError(IngestError):
    pass


class ProbeError(IngestError):
    status: ClassVar[str] = "error"


class EmptyFile(ProbeError):
    status = "empty"


class NotMedia(ProbeError):
    status = "not_media"


class Truncated(ProbeError):
    status = "corrupt"


class NoPlayableStream(ProbeError):
    status = "unsupported"


class Unreadable(ProbeError, OSError):
    status = "unreadable"


class CatalogError(IngestError):
    pass


class DatabaseAhead(CatalogError):
    pass


class DatabaseBehind(CatalogError):
    pass

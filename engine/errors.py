"""The engine's error tree. Every error the engine raises derives from ``EngineError``.

    EngineError
    +-- NotFound (LookupError)            an item, session or rendition that does not exist
    +-- SessionClosed                     the client ended the session; a new one is needed
    +-- SessionLost                       the session actor died or was evicted; recreate it
    +-- Overloaded                        admission refused; retry after ``retry_after`` seconds
    +-- CorruptSource (ValueError)        the media cannot be demuxed or decoded as indexed
    +-- EncodeFailed                      one segment could not be produced; the client may retry

``web/errors.py`` maps these, once, to HTTP status codes and JSON bodies. Errors that have a
matching builtin also inherit it, so generic callers can catch ``LookupError`` or ``ValueError``.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error raised by the engine."""


class NotFound(EngineError, LookupError):
    pass


class SessionClosed(EngineError):
    pass


class SessionLost(EngineError):
    pass


class Overloaded(EngineError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CorruptSource(EngineError, ValueError):
    pass


class EncodeFailed(EngineError):
    pass

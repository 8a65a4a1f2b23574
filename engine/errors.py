"""The engine's error tree. Every error the engine raises derives from ``EngineError``.

    EngineError
    +-- NotFound (LookupError)            an item, session or rendition that does not exist
    +-- SessionClosed                     the client ended the session; a new one is needed
    +-- SessionLost                       the session actor died or was evicted; recreate it
    |   +-- ActorDied                     an actor crashed before it replied (it may be restarting)
    |   +-- MailboxClosed                 the actor was stopped or evicted; its address is dead
    +-- ActorTimeout (TimeoutError)       an actor did not reply to an ``ask`` in time
    +-- TooManyRestarts                   a child crashed too often within the window; give up
    +-- Overloaded                        admission refused; retry after ``retry_after`` seconds
    |   +-- MailboxFull                   an urgent message found even the mailbox's reserve full
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


class ActorDied(SessionLost):
    """The actor crashed while the message was queued or being handled: the caller's ``ask`` fails
    at once instead of waiting for a reply that will never come. Its supervisor may restart it
    (with empty state), so the same address can answer later."""


class MailboxClosed(SessionLost):
    """The actor was stopped, evicted, gave up after too many restarts or ended normally."""


class ActorTimeout(EngineError, TimeoutError):
    """No reply within the ``ask`` timeout; the actor is alive but slow (or stuck)."""


class TooManyRestarts(EngineError):
    """A supervised child crashed more than ``max_restarts`` times within ``window`` seconds."""

    def __init__(self, message: str, *, child: str, restarts: int, window: float) -> None:
        super().__init__(message)
        self.child = child
        self.restarts = restarts
        self.window = window


class Overloaded(EngineError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MailboxFull(Overloaded):
    """Even an urgent message could not be queued: the actor is far behind its senders."""


class CorruptSource(EngineError, ValueError):
    pass


class EncodeFailed(EngineError):
    pass

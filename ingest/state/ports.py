"""The ports for state that nodes share: a cache, an event bus, a session store and a rate
limiter. Each has an in-process adapter (``memory``: the real single-node implementation, the
embedded default) and a Redis adapter (``redis``: what a cluster of nodes shares), chosen once at
start-up by the composition root.

Blocking semantics (every method is a coroutine; none blocks the event loop):

- ``Cache``: a miss is ``None``, never an error. ``set`` with a TTL; ``delete`` of an absent key
  is a no-op. Tags group keys for invalidation: ``invalidate(tag)`` drops every key set with that
  tag (library changed -> drop every cached query over it). Values are bytes; callers serialise.
- ``Bus``: at-most-once fan-out of small JSON-able events to every subscriber on every node.
  ``publish`` returns once the event is handed over (not delivered). ``subscribe`` is an async
  context manager yielding an async iterator; a subscriber that falls behind loses the oldest
  events (counted in ``statistics()``), it never slows the publisher.
- ``SessionStore``: login sessions (a refresh token's hash -> user, expiry) and revocation. A
  lookup of a revoked or expired session is ``None``. ``revoke_user`` revokes every session of a
  user ("log out everywhere") at once, for every node. Entries expire by themselves.
- ``RateLimiter``: ``hit(key, limit, window_s)`` counts one attempt and returns how long to wait
  (0.0 when the attempt is allowed): a sliding-window (or GCRA) limit per key, shared by nodes.

A Redis that restarts or drops the connection must be survived: adapters reconnect, and a call
made while Redis is unreachable raises ``StateUnavailable`` (mapped to 503 at the web edge),
never hangs past its timeout and never corrupts local state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

JSONValue = Any  # what json.dumps accepts


class StateUnavailable(Exception):
    """The shared state store (Redis) did not answer; the request may be retried."""


@dataclass(frozen=True, slots=True)
class Event:
    topic: str  # e.g. "library", "scan", "userdata:42", "session:42", "remote:42"
    data: Mapping[str, JSONValue]
    origin: str = ""  # the node id that published it


@dataclass(frozen=True, slots=True)
class LoginSession:
    id: str  # an opaque id, also the ``sid`` claim of access tokens
    user_id: int
    expires_at: datetime
    device_name: str | None = None
    client: str | None = None


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(
        self, key: str, value: bytes, *, ttl_s: float, tags: tuple[str, ...] = ()
    ) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def invalidate(self, tag: str) -> None: ...


class Bus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]: ...


class SessionStore(Protocol):
    async def put(self, session: LoginSession) -> None: ...

    async def get(self, session_id: str) -> LoginSession | None: ...

    async def revoke(self, session_id: str) -> None: ...

    async def revoke_user(self, user_id: int) -> None: ...

    async def list_user(self, user_id: int) -> list[LoginSession]: ...


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_s: float) -> float: ...

    async def reset(self, key: str) -> None: ...

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

Details both adapters share:

- ``Cache.set`` needs ``ttl_s > 0`` (``ValueError`` otherwise). Invalidation never drops less than
  the keys set with the tag; the Redis adapter may drop a key that was re-set without it.
- ``Bus.subscribe(*topics)``: a topic matches itself; a pattern ending in ``*`` matches every topic
  that starts with what precedes it (``"session:*"``); no topics at all receives every event.
  ``publish`` stamps ``origin`` with the publishing node's id unless the event carries one, and
  ``data`` must be JSON-encodable (``TypeError`` otherwise, on one node as on many): subscribers
  receive it as decoded JSON (lists, str keys). Closing the bus ends every subscriber's iteration.
- ``LoginSession.expires_at`` must be timezone-aware (``ValueError`` otherwise); it is returned in
  UTC. Expiry is wall-clock time, so it means the same on every node.
- ``RateLimiter.hit`` needs ``limit >= 1`` and ``window_s > 0``: ``limit`` attempts pass at once,
  then one more every ``window_s / limit`` seconds (GCRA); a refused attempt is not counted.

Each adapter has ``statistics()`` returning the record of its port below: counters since it was
made, for this node only. A count the adapter cannot know (live entries in Redis) is ``None``.
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


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    hits: int
    misses: int
    sets: int
    deletes: int
    invalidations: int  # calls of ``invalidate``
    invalidated: int  # keys those calls dropped
    evictions: int  # dropped to stay within the size bound (memory; Redis evicts on its own)
    failures: int  # calls that raised ``StateUnavailable``
    entries: int | None  # live and not yet purged entries (memory only)


@dataclass(frozen=True, slots=True)
class BusStatistics:
    subscribers: int  # on this node
    published: int  # events this node handed over
    delivered: int  # events queued to a local subscriber
    dropped: int  # queued events a slow local subscriber lost (the oldest first)
    lost: int  # events of other nodes this node never received (a gap while Redis was away)
    failures: int  # publishes that raised ``StateUnavailable``
    connected: bool  # whether events from other nodes can arrive right now
    reconnects: int  # times the subscription to Redis was re-established


@dataclass(frozen=True, slots=True)
class SessionStatistics:
    puts: int
    found: int
    missing: int  # lookups of absent, expired or revoked sessions
    revocations: int  # calls of ``revoke`` and ``revoke_user``
    failures: int
    sessions: int | None  # live sessions held (memory only)


@dataclass(frozen=True, slots=True)
class RateLimitStatistics:
    allowed: int
    limited: int
    resets: int
    failures: int
    keys: int | None  # keys with a live limit (memory only)

"""State shared between nodes: cache, event bus, session store, rate limiter (see ``ports``).

``open_state`` is the one place that chooses the adapters: in-process ones (``memory``) for a
single node, Redis ones (``redis``) for a cluster, sharing one client and connection pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from ingest.state.memory import MemoryBus, MemoryCache, MemoryRateLimiter, MemorySessionStore
from ingest.state.ports import (
    Bus,
    BusStatistics,
    Cache,
    CacheStatistics,
    Event,
    LoginSession,
    RateLimiter,
    RateLimitStatistics,
    SessionStatistics,
    SessionStore,
    StateUnavailable,
)
from ingest.state.redis import (
    DEFAULT_PREFIX,
    RedisBus,
    RedisCache,
    RedisRateLimiter,
    RedisSessionStore,
    connect,
)

__all__ = [
    "Bus",
    "BusStatistics",
    "Cache",
    "CacheStatistics",
    "Event",
    "LoginSession",
    "MemoryBus",
    "MemoryCache",
    "MemoryRateLimiter",
    "MemorySessionStore",
    "RateLimitStatistics",
    "RateLimiter",
    "RedisBus",
    "RedisCache",
    "RedisRateLimiter",
    "RedisSessionStore",
    "SessionStatistics",
    "SessionStore",
    "State",
    "StateStatistics",
    "StateUnavailable",
    "connect",
    "open_state",
]


@dataclass(frozen=True, slots=True)
class StateStatistics:
    cache: CacheStatistics
    bus: BusStatistics
    sessions: SessionStatistics
    limiter: RateLimitStatistics


@dataclass(frozen=True, slots=True)
class State:
    """The adapters a node uses, each satisfying its port (``Cache``, ``Bus`` ...)."""

    cache: MemoryCache | RedisCache
    bus: MemoryBus | RedisBus
    sessions: MemorySessionStore | RedisSessionStore
    limiter: MemoryRateLimiter | RedisRateLimiter

    def statistics(self) -> StateStatistics:
        return StateStatistics(
            self.cache.statistics(),
            self.bus.statistics(),
            self.sessions.statistics(),
            self.limiter.statistics(),
        )


@asynccontextmanager
async def open_state(
    redis_url: str | None,
    *,
    node_id: str,
    prefix: str = DEFAULT_PREFIX,
    bus_buffer: int = 256,
) -> AsyncIterator[State]:
    """The node's shared state for as long as the block runs: in-process when ``redis_url`` is
    None, else on Redis, with the bus's subscription running in a task of its own. Entering
    raises ``StateUnavailable`` when Redis does not answer; leaving ends every bus subscriber's
    iteration and closes the Redis client. ``prefix`` namespaces every Redis key and channel;
    ``bus_buffer`` is how many events each bus subscriber may fall behind."""
    if redis_url is None:
        bus = MemoryBus(node_id, buffer=bus_buffer)
        try:
            yield State(MemoryCache(), bus, MemorySessionStore(), MemoryRateLimiter())
        finally:
            await bus.aclose()
        return
    client = connect(redis_url)
    try:
        redis_bus = RedisBus(client, node_id=node_id, prefix=prefix, buffer=bus_buffer)
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            try:
                await tg.start(redis_bus.run)
                yield State(
                    RedisCache(client, prefix=prefix),
                    redis_bus,
                    RedisSessionStore(client, prefix=prefix),
                    RedisRateLimiter(client, prefix=prefix),
                )
            except Exception as exc:
                error = exc  # re-raised as itself below, not wrapped by the task group
            finally:
                tg.cancel_scope.cancel()
                await redis_bus.aclose()
        if error is not None:
            raise error
    finally:
        with anyio.move_on_after(2, shield=True):
            await client.aclose()

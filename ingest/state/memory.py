"""The in-process adapters of the shared-state ports: the real single-node implementation.

Everything lives in this process and is lost when it stops, which is what one node needs. No
method waits on anything; they are coroutines only to match the ports. Written against anyio alone
(no asyncio), so they run on asyncio and trio alike. Monotonic time comes from
``anyio.current_time()`` (cache TTLs, rate limits); session expiry is wall-clock UTC.

``LocalFanOut`` (bounded per-subscriber queues that drop their oldest event when full) is the
delivery half of both buses: ``MemoryBus`` feeds it directly, ``RedisBus`` from its subscription.
"""

from __future__ import annotations

import heapq
import json
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ingest.state.ports import (
    BusStatistics,
    CacheStatistics,
    Event,
    LoginSession,
    RateLimitStatistics,
    SessionStatistics,
)

# --- what both adapters of each port count -----------------------------------------------------


@dataclass(slots=True)
class CacheCounts:
    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    invalidations: int = 0
    invalidated: int = 0
    evictions: int = 0

    def looked_up(self, value: bytes | None) -> bytes | None:
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def statistics(self, *, failures: int = 0, entries: int | None = None) -> CacheStatistics:
        return CacheStatistics(**asdict(self), failures=failures, entries=entries)


@dataclass(slots=True)
class BusCounts:
    published: int = 0
    lost: int = 0
    reconnects: int = 0

    def statistics(
        self, fanout: LocalFanOut, *, failures: int = 0, connected: bool = True
    ) -> BusStatistics:
        return BusStatistics(
            **asdict(self),
            subscribers=fanout.subscribers,
            delivered=fanout.delivered,
            dropped=fanout.dropped,
            failures=failures,
            connected=connected,
        )


@dataclass(slots=True)
class SessionCounts:
    puts: int = 0
    found: int = 0
    missing: int = 0
    revocations: int = 0

    def looked_up(self, session: LoginSession | None) -> LoginSession | None:
        if session is None:
            self.missing += 1
        else:
            self.found += 1
        return session

    def statistics(self, *, failures: int = 0, sessions: int | None = None) -> SessionStatistics:
        return SessionStatistics(**asdict(self), failures=failures, sessions=sessions)


@dataclass(slots=True)
class LimitCounts:
    allowed: int = 0
    limited: int = 0
    resets: int = 0

    def waited(self, wait_us: int) -> float:
        """The wait in seconds, counted as allowed (0) or limited."""
        if wait_us > 0:
            self.limited += 1
            return wait_us / 1_000_000
        self.allowed += 1
        return 0.0

    def statistics(self, *, failures: int = 0, keys: int | None = None) -> RateLimitStatistics:
        return RateLimitStatistics(**asdict(self), failures=failures, keys=keys)


# --- cache ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    expires_at: float  # anyio.current_time()
    tags: tuple[str, ...]


class MemoryCache:
    """An LRU bounded by entries and bytes, with a TTL per entry and tags for invalidation."""

    def __init__(self, *, max_entries: int = 10_000, max_bytes: int = 64 << 20) -> None:
        if max_entries <= 0 or max_bytes <= 0:
            raise ValueError("max_entries and max_bytes must be positive")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._tagged: dict[str, set[str]] = {}
        self._bytes = 0
        self._counts = CacheCounts()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= anyio.current_time():
            self._drop(key)
            entry = None
        if entry is not None:
            self._entries.move_to_end(key)
        return self._counts.looked_up(None if entry is None else entry.value)

    async def set(
        self, key: str, value: bytes, *, ttl_s: float, tags: tuple[str, ...] = ()
    ) -> None:
        check_ttl(ttl_s)
        self._counts.sets += 1
        self._drop(key)
        if len(value) > self._max_bytes:
            return  # larger than the whole cache: storing it would only evict everything else
        self._entries[key] = _Entry(value, anyio.current_time() + ttl_s, tags)
        self._bytes += len(value)
        for tag in tags:
            self._tagged.setdefault(tag, set()).add(key)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))
            self._counts.evictions += 1

    async def delete(self, key: str) -> None:
        self._counts.deletes += 1
        self._drop(key)

    async def invalidate(self, tag: str) -> None:
        self._counts.invalidations += 1
        for key in self._tagged.pop(tag, set()):
            self._counts.invalidated += self._drop(key)

    def statistics(self) -> CacheStatistics:
        return self._counts.statistics(entries=len(self._entries))

    def _drop(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._bytes -= len(entry.value)
        for tag in entry.tags:
            keys = self._tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[tag]
        return True


def check_ttl(ttl_s: float) -> None:
    if not ttl_s > 0:
        raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")


# --- bus --------------------------------------------------------------------------------------


def topic_matches(patterns: tuple[str, ...], topic: str) -> bool:
    """No pattern matches everything; ``"session:*"`` matches every topic starting ``session:``."""
    return not patterns or any(
        pattern == topic or (pattern.endswith("*") and topic.startswith(pattern[:-1]))
        for pattern in patterns
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Subscriber:
    topics: tuple[str, ...]
    send: MemoryObjectSendStream[Event]
    receive: MemoryObjectReceiveStream[Event]


class LocalFanOut:
    """Hands each event to every matching subscriber of this process without ever waiting: a
    subscriber whose queue is full loses its oldest event instead."""

    def __init__(self, buffer: int = 256) -> None:
        if buffer <= 0:
            raise ValueError("buffer must be positive")
        self._buffer = buffer
        self._subscribers: list[_Subscriber] = []
        self._closed = False
        self.delivered = 0
        self.dropped = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Event]]:
        send, receive = anyio.create_memory_object_stream[Event](self._buffer)
        subscriber = _Subscriber(topics, send, receive)
        if self._closed:
            send.close()  # iteration ends at once
        else:
            self._subscribers.append(subscriber)
        try:
            yield receive
        finally:
            self._remove(subscriber)
            receive.close()

    def deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            if not topic_matches(subscriber.topics, event.topic):
                continue
            try:
                try:
                    subscriber.send.send_nowait(event)
                except anyio.WouldBlock:
                    subscriber.receive.receive_nowait()  # the oldest event makes room
                    subscriber.send.send_nowait(event)
                    self.dropped += 1
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._remove(subscriber)  # it closed its stream without leaving
                continue
            self.delivered += 1

    def close(self) -> None:
        """End every subscriber's iteration (after what is queued); later subscribers get none."""
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.send.close()
        self._subscribers.clear()

    def _remove(self, subscriber: _Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
        subscriber.send.close()


class MemoryBus:
    """The event bus of a single node: publishing is delivering to this process's subscribers."""

    def __init__(self, node_id: str = "local", *, buffer: int = 256) -> None:
        self._node_id = node_id
        self._fanout = LocalFanOut(buffer)
        self._counts = BusCounts()

    async def publish(self, event: Event) -> None:
        # Through JSON as on Redis, so what works on one node works on many (and later changes
        # to the publisher's dict are not seen by subscribers).
        data = json.loads(json.dumps(dict(event.data)))
        self._counts.published += 1
        self._fanout.deliver(Event(event.topic, data, event.origin or self._node_id))

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._fanout.subscribe(*topics)

    def statistics(self) -> BusStatistics:
        return self._counts.statistics(self._fanout)

    async def aclose(self) -> None:
        self._fanout.close()


# --- sessions ---------------------------------------------------------------------------------


def in_utc(session: LoginSession) -> LoginSession:
    if session.expires_at.tzinfo is None:
        raise ValueError("LoginSession.expires_at must be timezone-aware")
    return replace(session, expires_at=session.expires_at.astimezone(UTC))


class MemorySessionStore:
    """Login sessions of a single node; expired ones are purged as time passes."""

    def __init__(self) -> None:
        self._sessions: dict[str, LoginSession] = {}
        self._by_user: defaultdict[int, set[str]] = defaultdict(set)
        self._expiry: list[tuple[datetime, str]] = []  # a heap; stale entries are skipped
        self._counts = SessionCounts()

    async def put(self, session: LoginSession) -> None:
        session = in_utc(session)
        self._counts.puts += 1
        self._purge()
        self._drop(session.id)
        if session.expires_at <= datetime.now(UTC):
            return
        self._sessions[session.id] = session
        self._by_user[session.user_id].add(session.id)
        heapq.heappush(self._expiry, (session.expires_at, session.id))

    async def get(self, session_id: str) -> LoginSession | None:
        self._purge()
        return self._counts.looked_up(self._sessions.get(session_id))

    async def revoke(self, session_id: str) -> None:
        self._counts.revocations += 1
        self._drop(session_id)

    async def revoke_user(self, user_id: int) -> None:
        self._counts.revocations += 1
        for session_id in list(self._by_user.get(user_id, ())):
            self._drop(session_id)

    async def list_user(self, user_id: int) -> list[LoginSession]:
        self._purge()
        sessions = [self._sessions[i] for i in self._by_user.get(user_id, ())]
        return sorted(sessions, key=lambda s: (s.expires_at, s.id))

    def statistics(self) -> SessionStatistics:
        return self._counts.statistics(sessions=len(self._sessions))

    def _purge(self) -> None:
        now = datetime.now(UTC)
        while self._expiry and self._expiry[0][0] <= now:
            _, session_id = heapq.heappop(self._expiry)
            session = self._sessions.get(session_id)
            if session is not None and session.expires_at <= now:
                self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        ids = self._by_user[session.user_id]
        ids.discard(session_id)
        if not ids:
            del self._by_user[session.user_id]


# --- rate limiter -----------------------------------------------------------------------------


def gcra_parameters(limit: int, window_s: float) -> tuple[int, int]:
    """(emission interval, window) in microseconds. The interval rounds down so that ``limit``
    attempts always fit in one window."""
    if limit < 1 or not window_s > 0:
        raise ValueError(f"need limit >= 1 and window_s > 0, not {limit!r} and {window_s!r}")
    window_us = max(1, round(window_s * 1_000_000))
    return max(1, window_us // limit), window_us


def gcra(tat_us: int | None, now_us: int, interval_us: int, window_us: int) -> tuple[int, int]:
    """The generic cell rate algorithm: from the key's theoretical arrival time (None: unknown),
    return ``(new_tat, 0)`` when the attempt is allowed, else ``(tat, microseconds to wait)``.
    ``RedisRateLimiter`` runs the same steps in Lua."""
    tat = now_us if tat_us is None else max(tat_us, now_us)
    new_tat = tat + interval_us
    allow_at = new_tat - window_us
    if now_us < allow_at:
        return tat, allow_at - now_us
    return new_tat, 0


class MemoryRateLimiter:
    """GCRA limits of a single node, one theoretical arrival time per key."""

    _SWEEP_EVERY_US = 60_000_000

    def __init__(self) -> None:
        self._tat: dict[str, int] = {}
        self._next_sweep = 0
        self._counts = LimitCounts()

    async def hit(self, key: str, *, limit: int, window_s: float) -> float:
        interval_us, window_us = gcra_parameters(limit, window_s)
        now_us = round(anyio.current_time() * 1_000_000)
        if now_us >= self._next_sweep:
            # A key whose arrival time has passed is as good as absent: forget it.
            self._tat = {k: tat for k, tat in self._tat.items() if tat > now_us}
            self._next_sweep = now_us + self._SWEEP_EVERY_US
        tat, wait_us = gcra(self._tat.get(key), now_us, interval_us, window_us)
        if not wait_us:
            self._tat[key] = tat
        return self._counts.waited(wait_us)

    async def reset(self, key: str) -> None:
        self._counts.resets += 1
        self._tat.pop(key, None)

    def statistics(self) -> RateLimitStatistics:
        return self._counts.statistics(keys=len(self._tat))
